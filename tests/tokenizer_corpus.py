"""A deterministic corpus of varied strings for proving the tokenizer against Hugging Face ``tokenizers``.

Every string is generated here from a seed: no network, and nothing copied from ../shared. Each
category aims at a place where a byte-level BPE can go wrong: the word-splitting pattern (letters,
numbers, "other", whitespace, contractions), multi-byte UTF-8 characters split across tokens,
the special ``<|endoftext|>`` token, and very long words.

``build_corpus(seed)`` gives {category: [strings]}; ``corpus_strings(seed)`` the flat, de-duplicated
list; ``prose(n_words, seed)`` a long English text for timing ``encode``.
"""

from __future__ import annotations

import json
import random
import unicodedata

END_OF_TEXT = "<|endoftext|>"

# -- building blocks -----------------------------------------------------------------------------

WORDS = """
the of and to in is was that for it with as his on be at by had are but from or have an they which one
you were her all she there would their we him been has when who will more no if out so said what up its
about into than them can only other new some could time these two may then do first any my now such like
our over man me even most made after also did many before must through back years where much your way
well down should because each just those people how too little state good very make world still own see
men work long get here between both life being under never day same another know while last might us
great old year off come since against go came right used take three attention transformer token model
layer residual stream embedding vector matrix softmax probability logit prediction sequence position
head query key value weight bias gradient training data network neural language learning research
scientist engineer student teacher library museum river mountain ocean forest village city country
government economy market company product customer service quality history culture music painting
theatre garden kitchen window morning evening winter summer autumn spring coffee breakfast journey
bicycle railway station harbour lighthouse telescope microscope experiment hypothesis observation
measurement temperature pressure velocity acceleration electricity magnetism photosynthesis
interpretability visualization understanding representation extraordinary counterintuitive
nevertheless approximately unfortunately independently simultaneously characteristically
quick brown fox jumps lazy dog bright dark quiet loud gentle sudden careful curious ancient modern
small large heavy light warm cold early late simple complex strange familiar beautiful terrible
run walk read write speak listen think believe remember forget build break open close carry follow
explain describe compare measure predict generate sample compute transform encode decode split merge
""".split()

NAMES = ["Alice", "Bob", "Charlotte", "Dmitri", "Émile", "Fatima", "Guo", "Hiroshi", "Inés", "José",
         "Kwame", "Łukasz", "Maëlle", "Nguyễn", "Olúwaségun", "Paris", "France", "London", "OpenAI",
         "GPT", "Python", "JavaScript", "McDonald", "O'Brien", "iPhone", "NASA", "UNESCO", "Zürich"]

CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
CONTRACTED = ["it's", "don't", "can't", "won't", "isn't", "they're", "we're", "you're", "I've", "we've",
              "I'm", "I'll", "you'll", "she'll", "I'd", "he'd", "they'd", "John's", "cat's", "Paris's"]

CHINESE = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴"
HIRAGANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんがぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽゃゅょっ"
KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンガギグゲゴザジズゼゾダヂヅデドバビブベボパピプペポャュョッー"
KANJI = "日本語東京大学生先時間電車食事水火木金土山川花鳥風月人口入出上下左右中外前後年月何私今会社"
JAPANESE_PHRASES = ["こんにちは", "ありがとうございます", "トランスフォーマー", "東京タワー", "日本語の文章",
                    "すみません", "お元気ですか", "機械学習", "ニューラルネットワーク", "カタカナ"]
KOREAN_WORDS = ["안녕하세요", "감사합니다", "한국어", "트랜스포머", "인공지능", "서울", "학교", "사랑",
                "컴퓨터", "언어", "모델", "데이터", "오늘", "날씨가", "좋네요", "읽기"]

ARABIC_WORDS = ["مرحبا", "بالعالم", "السلام", "عليكم", "اللغة", "العربية", "كتاب", "مدرسة", "الذكاء",
                "الاصطناعي", "شكرا", "جزيلا", "مُحَمَّد", "كَتَبَ", "الْعَرَبِيَّةُ", "بِسْمِ", "اللَّهِ"]
PERSIAN_URDU = ["سلام", "دنیا", "کتاب", "پاکستان", "اردو", "فارسی", "یک", "گچ"]
HEBREW_WORDS = ["שלום", "עולם", "עברית", "ספר", "בית", "ירושלים", "תודה", "רבה", "שָׁלוֹם", "בְּרֵאשִׁית",
                "אֱלֹהִים", "מחשב", "שפה"]
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"

VIETNAMESE = ["Tiếng Việt", "Xin chào thế giới", "Cảm ơn bạn rất nhiều", "Hà Nội", "Thành phố Hồ Chí Minh",
              "người", "được", "những", "trường học", "Phở bò", "Nguyễn Văn Anh", "ước mơ", "đường phố"]
DEVANAGARI = ["नमस्ते", "हिन्दी", "भारत", "संस्कृतम्", "क्षत्रिय", "धन्यवाद", "प्रकृति", "विज्ञान", "ज्ञान",
              "मैं", "हूँ", "दुनिया", "आप कैसे हैं"]
OTHER_SCRIPTS = ["ภาษาไทย", "สวัสดีครับ", "ქართული", "Հայերեն", "ελληνικά", "Ελλάδα", "Привет", "мир",
                 "Українська", "ᏣᎳᎩ", "ᐃᓄᒃᑎᑐᑦ", "ܫܠܡܐ", "ދިވެހި", "ሰላም", "ខ្មែរ", "ພາສາລາວ", "မြန်မာ",
                 "ꦗꦮ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐁𝐨𝐥𝐝", "ⓒⓘⓡⓒⓛⓔ", "ｆｕｌｌｗｉｄｔｈ"]
COMBINING_MARKS = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u030a", "\u0327", "\u0328",
                   "\u0331", "\u0336", "\u0345", "\u035c", "\u0361", "\u20dd", "\u20e3", "\u0489"]

EMOJI = ["😀", "😂", "🥲", "🤗", "🤔", "🙃", "😍", "🥳", "😭", "🔥", "✨", "🎉", "🚀", "🌍", "🍕", "🐍",
         "🦀", "💡", "📚", "🧠", "❤️", "❤", "♥", "☕", "⚡", "⭐", "✅", "❌", "🫨", "🫎", "🪿", "🫠", "🫶"]
SKIN_TONES = ["\U0001F3FB", "\U0001F3FC", "\U0001F3FD", "\U0001F3FE", "\U0001F3FF"]
TONABLE = ["👍", "👋", "🙏", "💪", "🤝", "👶", "🧑", "👩", "👨", "✌", "🫱"]
ZWJ_SEQUENCES = ["👩\u200d👩\u200d👧\u200d👦", "👨\u200d👩\u200d👧", "👩\u200d💻", "🧑\u200d🚀",
                 "👨\u200d🍳", "🏳\ufe0f\u200d🌈", "🏳\ufe0f\u200d⚧\ufe0f", "❤\ufe0f\u200d🔥",
                 "🧑🏽\u200d🤝\u200d🧑🏻", "👩🏿\u200d🔬", "🐻\u200d❄\ufe0f", "😮\u200d💨", "🫱🏻\u200d🫲🏿"]
FLAGS = ["FR", "DE", "JP", "US", "GB", "CN", "KR", "IL", "SA", "IN", "BR", "NG", "UA", "VN", "EU", "UN"]
TAG_FLAGS = ["🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F",  # England
             "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"]  # Scotland
KEYCAPS = [f"{c}\ufe0f\u20e3" for c in "0123456789#*"]

UNICODE_SPACES = ["\u00a0", "\u1680", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006",
                  "\u2007", "\u2008", "\u2009", "\u200a", "\u202f", "\u205f", "\u3000", "\u2028", "\u2029",
                  "\x85", "\x0b", "\x0c"]
NOT_QUITE_SPACES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad"]
PUNCTUATION = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + [
    "…", "—", "–", "‐", "‘", "’", "“", "”", "„", "«", "»", "‹", "›", "¿", "¡", "§", "¶", "†", "‡", "•", "·",
    "°", "′", "″", "€", "£", "¥", "₹", "₿", "©", "®", "™", "±", "×", "÷", "≠", "≤", "≥", "∞", "∑", "∫", "√",
    "→", "←", "⇒", "↔", "★", "☆", "♪", "、", "。", "「", "」", "『", "』", "【", "】", "！", "？", "，", "：",
    "؟", "،", "؛", "׃", "।", "॥"]


def _sentence(rng: random.Random, n_words: int | None = None) -> str:
    n_words = n_words or rng.randint(4, 18)
    words = [rng.choice(NAMES) if rng.random() < 0.08 else rng.choice(WORDS) for _ in range(n_words)]
    if rng.random() < 0.15:
        words[rng.randrange(n_words)] = rng.choice(CONTRACTED)
    if rng.random() < 0.3:
        i = rng.randrange(1, n_words) if n_words > 1 else 0
        words[i] += rng.choice([",", ";", ":", " —", " -"])
    text = " ".join(words)
    text = text[0].upper() + text[1:]
    return text + rng.choice([".", ".", ".", "!", "?", "...", "", ".\"", "?)"])


def _identifier(rng: random.Random) -> str:
    parts = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
    style = rng.randrange(4)
    if style == 0:
        return "_".join(parts)
    if style == 1:
        return parts[0] + "".join(p.capitalize() for p in parts[1:])
    if style == 2:
        return "".join(p.capitalize() for p in parts)
    return "_".join(parts).upper()


# -- categories ----------------------------------------------------------------------------------

def english_prose(rng: random.Random) -> list[str]:
    out = [_sentence(rng) for _ in range(220)]
    out += [" ".join(_sentence(rng) for _ in range(rng.randint(2, 6))) for _ in range(60)]
    out += ["\n\n".join(_sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(30)]
    out += [" " + _sentence(rng) for _ in range(20)]  # a leading space, as after a previous chunk
    out += [f"\"{_sentence(rng)}\" {rng.choice(NAMES)} said. '{_sentence(rng, 3)}'" for _ in range(20)]
    out += ["Hello world", "The capital of France is", " Paris", "Artificial Intelligence is transforming the",
            "The quick brown fox jumps over the lazy dog.", "Data visualization empowers users to"]
    return out


def code(rng: random.Random) -> list[str]:
    out = []
    for _ in range(50):
        name, arg, other = _identifier(rng), _identifier(rng), _identifier(rng)
        n = rng.randint(0, 99999)
        indent = rng.choice(["    ", "\t", "  ", "        "])
        out.append(f"def {name}({arg}, {other}={n}):\n{indent}\"\"\"{_sentence(rng, 5)}\"\"\"\n"
                   f"{indent}return {arg} ** 2 + {other}  # {rng.choice(WORDS)}\n")
        out.append(f"for i in range(len({arg})):\n{indent}if {arg}[i] != {other}[i - 1]:\n{indent * 2}"
                   f"print(f\"{{i}}: {{{arg}[i]!r}}\")\n")
        out.append(f"const {name} = ({arg}) => {{ return {arg}.map(x => x * {n}).filter(Boolean); }};")
        out.append(f"<div class=\"{rng.choice(WORDS)}-{rng.choice(WORDS)}\" id='{name}'>\n  <p>"
                   f"{_sentence(rng, 6)}</p>\n  <a href=\"https://example.com/{arg}?q={n}&amp;x=1\">link</a>\n</div>")
        obj = {_identifier(rng): rng.choice([n, -n / 7, None, True, _sentence(rng, 3), [1, 2.5, "x"],
                                             {"nested": rng.choice(CHINESE) + rng.choice(EMOJI)}])
               for _ in range(rng.randint(1, 5))}
        out.append(json.dumps(obj, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2, 4])))
    out += ["SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
            "#!/usr/bin/env bash\nset -euo pipefail\necho \"$HOME\" | grep -E '^/h(ome)?' && exit 0\n",
            "x=[1,2,3];y={'a':1};z=(x,y)", "if(a&&b||!c){return a?b:c;}", "i++; j--; k **= 2; m //= 3;",
            "    \n    pass\n", "\tfoo()\n\t\tbar()\n", "```python\nprint('hi')\n```", "a->b->c; p::q; r=>s",
            "@media (max-width: 600px) { .x { color: #ff00aa; margin: 0 auto; } }", "<!-- comment -->",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "{\"key\": \"value\", \"n\": 1e-9}", "λx.x",
            "import numpy as np\n\nx = np.zeros((3, 4), dtype=np.float32)\n", "#include <stdio.h>\nint main(){}"]
    return out


def numbers_and_dates(rng: random.Random) -> list[str]:
    out = []
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December"]
    for _ in range(30):
        y, m, d = rng.randint(1000, 2099), rng.randint(1, 12), rng.randint(1, 28)
        hh, mm, ss = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
        out += [f"{y}-{m:02d}-{d:02d}", f"{d}/{m}/{y}", f"{months[m - 1]} {d}, {y}", f"{d}. {months[m - 1]} {y}",
                f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z", f"{hh}:{mm:02d} {rng.choice(['am', 'pm', 'AM'])}"]
    for _ in range(80):
        digits = rng.randint(1, 25)
        n = rng.randint(10 ** (digits - 1), 10 ** digits)
        out += [str(n), f"{n:,}", f" {n}", f"-{n}.{rng.randint(0, 999)}", f"{n / 10 ** rng.randint(1, 8)}"]
    for _ in range(30):
        x = rng.uniform(-1e6, 1e6)
        out += [f"{x:.3e}", f"${abs(x):,.2f}", f"€{abs(x):.2f}", f"{rng.randint(0, 100)}%", f"0x{rng.getrandbits(32):08X}",
                f"v{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}", f"+1 ({rng.randint(200, 999)}) 555-{rng.randint(1000, 9999)}"]
    out += ["".join(rng.choice(ARABIC_DIGITS) for _ in range(rng.randint(1, 8))) for _ in range(10)]
    out += ["".join(rng.choice(PERSIAN_DIGITS) for _ in range(rng.randint(1, 8))) for _ in range(5)]
    out += ["１２３４５", "४२", "๓๔", "Ⅻ", "ⅷ", "²³", "x²+y²=z²", "½ + ¼ = ¾", "①②③", "3.14159265358979323846",
            "1e100", "0.000001", "-0", "1,000,000.00", "1.000.000,00", "10^9", "1/3", "2024年3月15日", "12:30:45.123"]
    return out


def cjk(rng: random.Random) -> list[str]:
    out = []
    for _ in range(70):
        out.append("".join(rng.choice(CHINESE) for _ in range(rng.randint(1, 30))) + rng.choice(["", "。", "，", "！", "？"]))
    for _ in range(60):
        parts = [rng.choice(JAPANESE_PHRASES)] + ["".join(rng.choice(pool) for _ in range(rng.randint(1, 6)))
                                                   for pool in rng.sample([HIRAGANA, KATAKANA, KANJI], 2)]
        out.append(rng.choice(["", "、", "。", "\u3000"]).join(parts))
    for _ in range(60):
        out.append(" ".join(rng.choice(KOREAN_WORDS) for _ in range(rng.randint(1, 6))) + rng.choice(["", ".", "?"]))
    out += ["中文", "你好世界", "我爱你", "日本語", "한국어", "「こんにちは」と言った。", "東京\u3000大阪", "全角　スペース",
            "ＡＢＣ１２３", "漢字かなカナ", "Python是一种编程语言", "GPT-2模型", "AI（人工知能）"]
    return out


def emoji(rng: random.Random) -> list[str]:
    out = list(EMOJI) + ZWJ_SEQUENCES + TAG_FLAGS + KEYCAPS
    out += ["".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in flag) for flag in FLAGS]
    out += [t + s for t in TONABLE for s in SKIN_TONES[:3]]
    for _ in range(90):
        pieces = []
        for _ in range(rng.randint(1, 6)):
            kind = rng.randrange(5)
            if kind == 0:
                pieces.append(rng.choice(EMOJI))
            elif kind == 1:
                pieces.append(rng.choice(TONABLE) + rng.choice(SKIN_TONES))
            elif kind == 2:
                pieces.append(rng.choice(ZWJ_SEQUENCES))
            elif kind == 3:
                pieces.append("".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in rng.choice(FLAGS)))
            else:
                pieces.append(rng.choice(WORDS))
        out.append(rng.choice(["", " ", "  "]).join(pieces))
    out += ["I love it 😍😍😍!", "🔥" * 12, "ok👍🏽", "🇺🇸🇬🇧🇫🇷", "\u261d\ufe0f", "☺︎ vs ☺️", "🇦", "🏻", "\ufe0f"]
    return out


def right_to_left(rng: random.Random) -> list[str]:
    out = []
    for _ in range(50):
        out.append(" ".join(rng.choice(ARABIC_WORDS + PERSIAN_URDU) for _ in range(rng.randint(1, 8)))
                   + rng.choice(["", ".", "؟", "،", "!"]))
    for _ in range(45):
        out.append(" ".join(rng.choice(HEBREW_WORDS) for _ in range(rng.randint(1, 8))) + rng.choice(["", ".", "?", "׃"]))
    for _ in range(35):
        rtl = rng.choice(ARABIC_WORDS + HEBREW_WORDS)
        out.append(rng.choice([f"The word {rtl} means {rng.choice(WORDS)}.", f"{rtl} {rng.randint(0, 9999)} {rtl}",
                               f"\u200f{rtl}\u200e abc", f"({rtl})", f"{rtl}-{rng.choice(WORDS)}",
                               f"\u202b{rtl}\u202c", f"{rtl}{rng.randint(0, 99)}"]))
    out += ["مرحبا بالعالم", "שלום עולם", "ﷲ", "ﻻ", "لا", "אבג 123 דהו", "عدد ٣٤٥ و 678"]
    return out


def combining_marks(rng: random.Random) -> list[str]:
    out = ["e\u0301", "é", "cafe\u0301", "café", "Ame\u0301lie", "n\u0303", "ñ", "a\u030a", "å", "o\u0308",
           "\u0301", " \u0301", "\u0301\u0301\u0301", "1\u20e3", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d"]
    out += VIETNAMESE + DEVANAGARI + OTHER_SCRIPTS
    for _ in range(40):
        word = rng.choice(WORDS)
        out.append("".join(c + "".join(rng.choice(COMBINING_MARKS) for _ in range(rng.randint(0, 3))) for c in word))
    for _ in range(40):
        text = _sentence(rng, 4) + " " + rng.choice(NAMES + VIETNAMESE)
        out.append(unicodedata.normalize(rng.choice(["NFD", "NFKD"]), text))
    for _ in range(30):
        out.append(" ".join(rng.choice(DEVANAGARI + VIETNAMESE + OTHER_SCRIPTS) for _ in range(rng.randint(2, 6))))
    return out


def whitespace(rng: random.Random) -> list[str]:
    out = [" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\n ", " \t ", "\t\t", "\r\n\r\n", "\u00a0",
           "\u3000", "hello ", "hello  ", "hello \n", " hello", "  hello", "a  b", "a   b", "a \n b", "a\n\nb",
           "a\r\nb", "a\u00a0b", "a \u00a0b", "a\u3000b", "end.   ", "x\t\ty", "x \t y", "\n\n\nz", "  \n  \n"]
    out += [c for c in UNICODE_SPACES] + [f"a{c}b" for c in UNICODE_SPACES + NOT_QUITE_SPACES]
    out += [f"a {c} b" for c in UNICODE_SPACES] + [f"{c}{c}x" for c in UNICODE_SPACES]
    pieces = [" ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2009"]
    for _ in range(120):
        runs = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(1, 4))]
        words = [rng.choice(WORDS + NAMES + ["123", "!", "中文", "😀"]) for _ in range(len(runs))]
        text = "".join(w + r for w, r in zip(words, runs))
        out.append(text if rng.random() < 0.5 else rng.choice(runs) + text)
    for _ in range(40):
        out.append(" " * rng.randint(1, 40) + rng.choice(WORDS) + " " * rng.randint(0, 40))
    for _ in range(20):
        out.append(_sentence(rng) + rng.choice(["  ", "\n", " \n", "\n\n", "\t", "   \r\n"]))
    return out


def contractions(rng: random.Random) -> list[str]:
    out = []
    for c in CONTRACTIONS:
        upper = c.upper()
        out += [f"he{c}", f"HE{upper}", f"He{upper}", f" {c}", c, upper, f"{c} go", f"x{c}{c}", f"1{c}",
                f"''{c[1:]}", f"he\u2019{c[1:]}", f"'{c}'", f"he {c}", f"{c}{c}"]
    for _ in range(70):
        sentence = _sentence(rng)
        if rng.random() < 0.5:
            sentence = sentence.upper()
        out.append(sentence)
    out += ["I'm sure they'd say you've got what we'll need, and it's what she's done; don't you'd've?",
            "I'M SURE THEY'D SAY YOU'VE GOT WHAT WE'LL NEED, AND IT'S WHAT SHE'S DONE.",
            "rock 'n' roll", "'tis", "'twas the night", "y'all'd've", "O'Neill's", "the '90s", "'''quoted'''",
            "'", "''", "'s's's", "'S'T'RE'VE'M'LL'D", "Rock'N'Roll", "'Ll", "'lL"]
    return out


def end_of_text(rng: random.Random) -> list[str]:
    e = END_OF_TEXT
    out = [e, e + e, e * 5, f"{e}Hello", f"Hello{e}", f"Hello {e} world", f"Hello{e}world", f" {e} ",
           f"\n{e}\n", f"{e}\n\nThe", f"text.{e}", f"a{e}{e}b", f"<|endoftext|", f"<|endoftext", "endoftext",
           f"<{e}>", f"<|{e}|>", "<|ENDOFTEXT|>", "< |endoftext|>", "<| endoftext |>", "<|endoftext|>>",
           f"{e[:-1]}{e}", f"{e}|>", "<|im_start|>", "<|endoftext |>", f"😀{e}😀", f"中{e}文", f"'s{e}'s"]
    for _ in range(80):
        parts = [_sentence(rng, rng.randint(1, 8)) for _ in range(rng.randint(1, 4))]
        glue = [rng.choice([e, f" {e} ", f"{e}\n", f"\n\n{e}", f"{e} "]) for _ in range(len(parts) - 1)]
        text = parts[0] + "".join(g + p for g, p in zip(glue, parts[1:]))
        if rng.random() < 0.3:
            text = e + text
        if rng.random() < 0.3:
            text += e
        out.append(text)
    return out


def punctuation(rng: random.Random) -> list[str]:
    out = list(PUNCTUATION)
    for _ in range(120):
        run = "".join(rng.choice(PUNCTUATION) for _ in range(rng.randint(1, 12)))
        out.append(rng.choice([run, f"{rng.choice(WORDS)}{run}", f"{run} {rng.choice(WORDS)}", f" {run}",
                               f"{rng.choice(WORDS)} {run} {rng.choice(WORDS)}"]))
    out += ["!!!", "???", "?!?!", "...", "…", "--", "---", "***", "###", "====", "____", "~~~", ">>>", "<<<",
            "(!)", "[...]", "{{}}", ":-)", ";-)", "¯\\_(ツ)_/¯", "(╯°□°)╯︵ ┻━┻", "\"\"\"", "''''", "!?.,;:"]
    return out


def mixed_scripts(rng: random.Random) -> list[str]:
    pools = [WORDS, CHINESE, KOREAN_WORDS, JAPANESE_PHRASES, ARABIC_WORDS, HEBREW_WORDS, OTHER_SCRIPTS,
             DEVANAGARI, VIETNAMESE, EMOJI, [str(n) for n in range(0, 2000, 37)], PUNCTUATION]
    out = []
    for _ in range(150):
        chosen = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(2, 8))]
        out.append(rng.choice(["", " ", "-", "_", "/"]).join(chosen))
    out += ["abc123def", "x1y2z3", "Hello世界", "GPT2とTransformer", "iPhone15Pro", "Ωmega", "Pаypal",  # Cyrillic а
            "Straße", "İstanbul", "ǅungla", "ΣΊΣΥΦΟΣ", "ﬁne ﬂow", "Å Å", "ÆØÅ æøå", "ß ẞ", "ŉ", "ǰ"]
    return out


def long_words(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    base64 = letters + letters.upper() + "0123456789+/"
    out = ["a" * 100, "ab" * 150, "A" * 257, "x" * 1000, "1" * 300, "9" * 1001, " " * 300, "\n" * 120, "!" * 200,
           "😀" * 50, "中" * 200, "é" * 80, "Supercalifragilisticexpialidocious", "Pneumonoultramicroscopicsilicovolcanoconiosis",
           "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz", "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
           "https://www.example.com/some/very/long/path/with-many-segments?and=query&params=1#fragment"]
    for _ in range(40):
        out.append("".join(rng.choice(letters) for _ in range(rng.randint(20, 400))))
    for _ in range(15):
        out.append("".join(rng.choice(base64) for _ in range(rng.randint(40, 300))) + "==")
    for _ in range(15):
        out.append("".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30))))
    for _ in range(10):
        out.append(f"{rng.getrandbits(256):064x}")
    return out


def edge_cases(rng: random.Random) -> list[str]:
    out = ["", " ", "a", "A", "0", "'", "<", "|", "\x00", "\x7f", "\ufeff", "\ufffc", "\ue000", "\U0010ffff",
           "\U0001d11e", "\ufeffHello", "\x00\x00", "a\x00b", "\x1b[31mred\x1b[0m", "\x07bell", "\x08\x08",
           "\u0378", "\U00011f04\U00011f05", "\U0001e4d0\U0001e4d1", "\U00010d50\U00010d51", "\U0001fae9", "\U0001fadf",
           # letters and numbers of Unicode 16.0, and of later versions than Hugging Face's regex engine knows
           "a\U00010d50b", "a\U00016d43", "\U000105c0\U000105c1", "\U00011bc0", "a\u0558b", "a\U000323b0b",
           "x\U00011db0\U00011de0", "1\U00012550", "\U0001e6c0 \U0001e6c1", "\U0003d000\U0003d001"]
    out += [chr(c) for c in range(0x20, 0x7f)]  # every printable ASCII character alone
    out += [chr(c) for c in range(0x00, 0x20)] + [chr(c) for c in range(0x80, 0xa0)]  # C0 and C1 controls
    out += [f"x{chr(c)}y" for c in range(0x00, 0x20)] + [f"x {chr(c)} y" for c in range(0x80, 0xa0, 3)]
    out += [chr(c) for c in range(0xa1, 0x250, 3)]  # Latin-1 and Latin Extended letters, one by one
    for _ in range(60):  # random code points from every plane that holds characters, surrogates excluded
        while True:
            c = rng.choice([rng.randint(0x80, 0x7ff), rng.randint(0x800, 0xffff), rng.randint(0x10000, 0x3ffff),
                            rng.randint(0xe0000, 0xe01ef)])
            if not 0xd800 <= c <= 0xdfff and c != 0xfffd:
                break
        out.append(rng.choice([chr(c), f"a{chr(c)}", f" {chr(c)}{chr(c)}", f"{chr(c)} z"]))
    return out


CATEGORIES = {
    "english prose": english_prose, "code": code, "numbers and dates": numbers_and_dates, "CJK": cjk,
    "emoji": emoji, "right-to-left": right_to_left, "combining marks and other scripts": combining_marks,
    "whitespace": whitespace, "contractions": contractions, "<|endoftext|>": end_of_text,
    "punctuation": punctuation, "mixed scripts": mixed_scripts, "long words": long_words,
    "empty, single and control characters": edge_cases,
}


def build_corpus(seed: int = 0) -> dict[str, list[str]]:
    """{category: strings}; the same seed gives the same corpus on every machine."""
    return {name: make(random.Random(f"{seed}:{name}")) for name, make in CATEGORIES.items()}


def corpus_strings(seed: int = 0) -> list[str]:
    """Every string of the corpus once, in a stable order."""
    return list(dict.fromkeys(text for texts in build_corpus(seed).values() for text in texts))


def prose(n_words: int = 5000, seed: int = 0) -> str:
    """English-like paragraphs of ``n_words`` words, for timing ``encode``."""
    rng = random.Random(f"{seed}:prose")
    sentences, count = [], 0
    while count < n_words:
        sentence = _sentence(rng)
        sentences.append(sentence)
        count += len(sentence.split())
    paragraphs = [" ".join(sentences[i:i + 6]) for i in range(0, len(sentences), 6)]
    return "\n\n".join(paragraphs)
