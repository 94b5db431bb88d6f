"""The pure-Python GPT-2 tokenizer gives the same ids as Hugging Face ``tokenizers``, and shows tokens legibly.

The reference is built the way GPT-2 is: a BPE model from the same vocab.json and merges.txt, the
byte-level pre-tokenizer without a prefix space (its ``use_regex`` default is GPT-2's pattern), the
byte-level decoder, and ``<|endoftext|>`` as a special token. Parity runs twice: with the real GPT-2
files from ../shared (skipped where absent) and with a tiny BPE trained here (always runs).

Hostile input: words thousands of characters long get the same ids as from the reference (the heap BPE
also merges exactly as the simple quadratic algorithm, kept here as ``simple_bpe``); the word cache stays
bounded; and tables that cannot be right (shared ids, merges the vocabulary cannot hold) are refused.
The speed of long words is measured by scripts/bench_tokenizer.py, not here.
"""

from __future__ import annotations

import base64
import os
import random
import string
from functools import lru_cache
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import tokenizers
from tokenizers import decoders, models, pre_tokenizers

from transformer_explainer.gpt2_core.checkpoints import train_tiny_bpe, write_tokenizer_files
from transformer_explainer.gpt2_core.errors import PromptError, WeightsError
from transformer_explainer.gpt2_core.tokenizer import (CACHED_WORDS, END_OF_TEXT, LONGEST_CACHED_WORD, NEWER_THAN_UNICODE_16, WORD_PATTERN,
                                 Tokenizer, bytes_to_unicode, display_bytes)
from tokenizer_corpus import build_corpus, corpus_strings

CORPUS = corpus_strings()
PRE_TOKENIZER = pre_tokenizers.ByteLevel(add_prefix_space=False)


@lru_cache(maxsize=None)
def load_pair(directory: Path) -> tuple[Tokenizer, tokenizers.Tokenizer]:
    """Ours and the Hugging Face reference, from the same vocab.json and merges.txt."""
    vocab, merges = directory / "vocab.json", directory / "merges.txt"
    reference = tokenizers.Tokenizer(models.BPE.from_file(str(vocab), str(merges)))
    reference.pre_tokenizer = PRE_TOKENIZER
    reference.decoder = decoders.ByteLevel()
    reference.add_special_tokens([END_OF_TEXT])
    return Tokenizer.from_files(vocab, merges), reference


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("tiny-bpe")
    write_tokenizer_files(directory, *train_tiny_bpe())
    return directory


@pytest.fixture(scope="module", params=["real-gpt2", "tiny-bpe"])
def pair(request) -> tuple[Tokenizer, tokenizers.Tokenizer]:
    fixture = "gpt2_tokenizer_dir" if request.param == "real-gpt2" else "tiny_dir"
    return load_pair(request.getfixturevalue(fixture))


@pytest.fixture(scope="module")
def real(gpt2_tokenizer_dir) -> Tokenizer:
    return load_pair(gpt2_tokenizer_dir)[0]


@pytest.fixture(scope="module")
def tiny(tiny_dir) -> Tokenizer:
    return load_pair(tiny_dir)[0]


@pytest.fixture(scope="module")
def encodings(pair) -> list[list[int]]:
    ours, _ = pair
    return [ours.encode(text) for text in CORPUS]


def reference_split(text: str) -> list[str]:
    """The words of ``text`` as Hugging Face's GPT-2 pre-tokenizer splits them, in byte characters."""
    return [word for word, _ in PRE_TOKENIZER.pre_tokenize_str(text)]


def our_split(text: str) -> list[str]:
    table = bytes_to_unicode()
    return ["".join(table[b] for b in word.encode("utf-8")) for word in WORD_PATTERN.findall(text)]


def differences(texts, expected, got, limit: int = 5) -> str:
    """The first few strings where two results differ, with both, for an assertion message."""
    lines = [f"{text!r}\n    reference {want}\n    ours      {have}"
             for text, want, have in zip(texts, expected, got) if want != have]
    return f"{len(lines)} of {len(texts)} strings differ; the first {min(limit, len(lines))}:\n" + "\n".join(lines[:limit])


# -- the corpus ----------------------------------------------------------------------------------

def test_corpus_is_deterministic_large_and_covers_every_category():
    corpus = build_corpus()
    assert corpus == build_corpus(), "the same seed must give the same corpus"
    assert corpus_strings(seed=1) != CORPUS, "the seed must matter"
    assert len(CORPUS) >= 2000 and len(set(CORPUS)) == len(CORPUS)
    small = {name: len(texts) for name, texts in corpus.items() if len(texts) < 90}
    assert not small, f"categories with too few strings: {small}"
    for must_have in ["", END_OF_TEXT, "e\u0301", "\r\n", "a\u00a0b", "a\u3000b", "HE'LL", "he'll", "\x00",
                      "👩\u200d💻", "🇫🇷", "👍🏻", "مرحبا بالعالم", "שלום עולם", "नमस्ते", "你好世界", "한국어", "x" * 1000]:
        assert must_have in CORPUS, must_have
    assert not any("\ufffd" in text for text in CORPUS), "U+FFFD in the text would hide a display bug"


# -- the reference is GPT-2 ----------------------------------------------------------------------

def test_reference_gives_the_known_gpt2_ids(gpt2_tokenizer_dir):
    _, reference = load_pair(gpt2_tokenizer_dir)
    assert reference.encode("Hello world").ids == [15496, 995]
    assert reference.encode("The capital of France is").ids == [464, 3139, 286, 4881, 318]
    assert reference.encode(" Paris").ids == [6342]
    assert reference.encode(END_OF_TEXT).ids == [50256]


def test_reference_pre_tokenizer_uses_gpt2_pattern_by_default():
    assert PRE_TOKENIZER.use_regex is True and PRE_TOKENIZER.add_prefix_space is False
    assert reference_split("I'll  go\n\nnow") == ["I", "'ll", "Ġ", "Ġgo", "Ċ", "Ċ", "now"]
    without_pattern = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    assert [word for word, _ in without_pattern.pre_tokenize_str("I'll  go")] == ["I'llĠĠgo"]


def test_words_split_exactly_like_hugging_face_byte_level_pre_tokenizer():
    """Stricter than comparing ids: a wrong split can give the same ids when no merge spans it."""
    expected = [reference_split(text) for text in CORPUS]
    got = [our_split(text) for text in CORPUS]
    assert got == expected, differences(CORPUS, expected, got)


def test_letters_newer_than_the_reference_unicode_split_like_other_symbols():
    """``regex`` may know a newer Unicode than tokenizers' Oniguruma (16.0); the reference splits the newer
    letters and numbers as "other" symbols, and so must we, for every range the tokenizer lists."""
    code_points = [cp for first, last in NEWER_THAN_UNICODE_16 for cp in (first, (first + last) // 2, last)]
    code_points += [0x10D50, 0x16D43, 0x105C0, 0x11BC0]  # letters new in Unicode 16.0 stay letters
    texts = [f"a{chr(cp)}1{chr(cp)}. x{chr(cp)}" for cp in code_points]
    expected = [reference_split(text) for text in texts]
    got = [our_split(text) for text in texts]
    assert got == expected, differences(texts, expected, got)
    assert WORD_PATTERN.findall("a\U000323B0") == ["a", "\U000323B0"]  # CJK Extension J: Unicode 17.0
    assert WORD_PATTERN.findall("a\U00010D50") == ["a\U00010D50"]  # Garay: Unicode 16.0


@pytest.mark.skipif(not os.environ.get("TE_FULL_UNICODE_SCAN"),
                    reason="takes a minute: set TE_FULL_UNICODE_SCAN=1 after upgrading regex or tokenizers")
def test_every_code_point_splits_like_hugging_face():
    mismatches = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        char = chr(cp)
        for text in (f"a{char}1{char}.", f" {char}{char} x", f"a {char} "):
            expected, got = reference_split(text), our_split(text)
            if got != expected:
                mismatches.append(f"U+{cp:04X} in {text!r}: reference {expected}, ours {got}")
                break
    assert not mismatches, f"{len(mismatches)} code points split differently:\n" + "\n".join(mismatches[:20])


# -- ids -----------------------------------------------------------------------------------------

def test_ids_match_hugging_face_on_every_corpus_string(pair, encodings):
    _, reference = pair
    expected = [encoding.ids for encoding in reference.encode_batch(CORPUS)]
    assert encodings == expected, differences(CORPUS, expected, encodings)


def test_known_gpt2_ids(real):
    assert real.encode("Hello world") == [15496, 995]
    assert real.encode("The capital of France is") == [464, 3139, 286, 4881, 318]
    assert real.encode(" Paris") == [6342]
    assert real.encode(END_OF_TEXT) == [50256]
    assert real.end_of_text_id == 50256 and real.vocab_size == 50257


def test_tiny_bpe_has_its_457_tokens_with_end_of_text_last(tiny):
    assert tiny.vocab_size == 457 and tiny.end_of_text_id == 456
    assert tiny.encode(END_OF_TEXT) == [456]


def test_end_of_text_is_one_special_id_wherever_it_stands(tiny):
    eot = tiny.end_of_text_id
    assert tiny.encode(f"a{END_OF_TEXT}b") == tiny.encode("a") + [eot] + tiny.encode("b")
    assert tiny.encode(f" {END_OF_TEXT}{END_OF_TEXT}\n") == tiny.encode(" ") + [eot, eot] + tiny.encode("\n")
    for near_miss in ["<|endoftext|", "<|ENDOFTEXT|>", "< |endoftext|>", "endoftext"]:
        assert eot not in tiny.encode(near_miss), near_miss


def test_uppercase_contractions_are_not_split_off_as_contractions():
    assert WORD_PATTERN.findall("he'll it's I'M WE'LL") == ["he", "'ll", " it", "'s", " I", "'", "M", " WE", "'", "LL"]
    for suffix in ["s", "t", "re", "ve", "m", "ll", "d"]:
        assert WORD_PATTERN.findall(f"x'{suffix}") == ["x", f"'{suffix}"]
        assert WORD_PATTERN.findall(f"X'{suffix.upper()}") == ["X", "'", suffix.upper()]


def test_a_run_of_spaces_leaves_its_last_space_to_the_next_word():
    assert WORD_PATTERN.findall("a   b") == ["a", "  ", " b"]
    assert WORD_PATTERN.findall("a \n b") == ["a", " \n", " b"]
    assert WORD_PATTERN.findall("end.  ") == ["end", ".", "  "]
    assert WORD_PATTERN.findall("a\n\nb") == ["a", "\n", "\n", "b"]  # only " " may begin a word
    assert WORD_PATTERN.findall("a\u3000\u3000b") == ["a", "\u3000", "\u3000", "b"]


# -- decoding and bytes --------------------------------------------------------------------------

def test_decode_inverts_encode_on_every_corpus_string(pair, encodings):
    ours, _ = pair
    decoded = [ours.decode(ids) for ids in encodings]
    assert decoded == CORPUS, differences(CORPUS, CORPUS, decoded)


def test_decoding_ids_cut_mid_character_matches_hugging_face(pair, encodings):
    """Prefixes and suffixes of the ids of every string with multi-byte characters: where a cut splits
    a character, both decoders must put the same U+FFFD characters in the same places."""
    ours, reference = pair
    pieces = []
    for text, ids in zip(CORPUS, encodings):
        if len(text.encode("utf-8")) > len(text):
            for k in range(1, len(ids), max(1, len(ids) // 8)):
                pieces += [ids[:k], ids[k:]]
    expected = reference.decode_batch(pieces, skip_special_tokens=False)
    got = [ours.decode(ids) for ids in pieces]
    assert got == expected, differences(pieces, expected, got)
    assert sum("\ufffd" in text for text in got) > 100, "many cuts should fall inside a character"


def test_token_bytes_of_the_ids_concatenate_to_the_utf8_of_the_text(pair, encodings):
    ours, _ = pair
    joined = [b"".join(ours.token_bytes(i) for i in ids) for ids in encodings]
    expected = [text.encode("utf-8") for text in CORPUS]
    assert joined == expected, differences(CORPUS, expected, joined)


def test_decode_shows_ids_the_vocabulary_lacks_as_replacement_characters(tiny):
    the = tiny.encode(" the")
    assert tiny.decode([*the, 457, *the]) == " the\ufffd the"


# -- display -------------------------------------------------------------------------------------

def test_display_shows_a_leading_space_newline_tab_and_carriage_return(tiny):
    assert tiny.display_tokens(tiny.encode(" the")) == ["␣the"]
    assert tiny.display_tokens(tiny.encode("\n\t\r")) == ["↵", "⇥", "␍"]
    assert tiny.display_tokens(tiny.encode("  \n")) == ["␣", "␣", "↵"]
    assert tiny.display(tiny.end_of_text_id) == END_OF_TEXT


def test_display_shows_gpt2_tokens_with_visible_spaces(real):
    assert real.display(6342) == "␣Paris"
    assert real.display_tokens(real.encode("Hello world\n\tok")) == ["Hello", "␣world", "↵", "⇥", "ok"]
    assert real.display(50256) == END_OF_TEXT


def test_display_shows_each_byte_of_a_character_split_into_byte_tokens_as_hex(tiny):
    assert tiny.display_tokens(tiny.encode("é")) == ["<0xC3>", "<0xA9>"]
    assert tiny.display_tokens(tiny.encode("😀")) == ["<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]


def test_display_shows_the_bytes_of_gpt2_tokens_that_split_a_character_as_hex(real):
    assert real.display_tokens(real.encode("😀")) == ["<0xF0><0x9F><0x98>", "<0x80>"]
    assert real.display_tokens(real.encode("中文")) == ["中", "<0xE6><0x96>", "<0x87>"]
    assert real.display_tokens(real.encode("é")) == ["é"]


def test_display_never_shows_a_silent_replacement_character(pair, encodings):
    ours, _ = pair
    shown = {i: ours.display(i) for i in {i for ids in encodings for i in ids}}
    bad = sorted((i, text) for i, text in shown.items() if "\ufffd" in text)
    assert not bad, f"tokens displayed with U+FFFD: {bad[:10]}"


def test_display_shows_an_id_the_vocabulary_lacks_as_id_n(tiny):
    assert tiny.display_tokens([258, 457, -1, np.int64(258)]) == ["␣the", "<id 457>", "<id -1>", "␣the"]
    assert tiny.knows(np.int64(456)) and not tiny.knows(457) and not tiny.knows("5")


def test_display_shows_ids_past_gpt2_vocabulary_as_id_n(real):
    assert real.display_tokens([15496, 50257]) == ["Hello", "<id 50257>"]  # a model may have more rows than tokens


def test_display_bytes_marks_controls_and_incomplete_characters():
    assert display_bytes(b"\x00a\x7f") == "<U+0000>a<U+007F>"
    assert display_bytes("\u00a0".encode()) == "<U+00A0>"
    assert display_bytes(b"\xe4\xb8") == "<0xE4><0xB8>"
    assert display_bytes("a\u200d😀".encode()) == "a\u200d😀"


# -- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["\ud800", "abc\udfff", "😀\udc00x"])
def test_a_lone_surrogate_is_a_clear_prompt_error(tiny, text):
    index = next(i for i, char in enumerate(text) if 0xD800 <= ord(char) <= 0xDFFF)
    with pytest.raises(PromptError, match=f"lone surrogate .* at index {index}"):
        tiny.encode(text)


@pytest.mark.parametrize("value", [b"hello", None, 42, ["hello"], 3.5])
def test_text_that_is_not_a_str_is_a_prompt_error(tiny, value):
    with pytest.raises(PromptError, match=r"takes text \(str\)"):
        tiny.encode(value)


def test_token_bytes_of_an_unknown_id_is_a_prompt_error(tiny):
    with pytest.raises(PromptError, match="457 is not in the vocabulary"):
        tiny.token_bytes(457)


# -- long words: the heap BPE merges exactly as the simple one, and as Hugging Face ----------------

def simple_bpe(merge_ranks: dict[tuple[str, str], int], word: str) -> tuple[str, ...]:
    """The textbook algorithm (quadratic in the word's length): merge the best-ranked adjacent pair, the
    leftmost among equals, until no pair has a merge."""
    symbols = list(word)
    while True:
        ranked = [(merge_ranks[pair], i) for i, pair in enumerate(zip(symbols, symbols[1:])) if pair in merge_ranks]
        if not ranked:
            return tuple(symbols)
        _, i = min(ranked)
        symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]


def random_words(tokenizer: Tokenizer, count: int, seed: int = 0) -> list[str]:
    """Words in byte characters where many merges apply and overlap: runs of a few characters ('aaaa',
    'abab'), and words glued from the vocabulary's own tokens, which the merges built and will rebuild."""
    rng = random.Random(seed)
    tokens = [token for token in tokenizer.vocab if token not in tokenizer.special_tokens]
    alphabets = ["a", "ab", "01", "etaoinĠ", "Ġthe", string.ascii_lowercase]
    words = []
    for _ in range(count):
        if rng.random() < 0.5:
            words.append("".join(rng.choices(rng.choice(alphabets), k=rng.randint(1, 40))))
        else:
            words.append("".join(rng.choices(tokens, k=rng.randint(1, 8))))
    return words


def test_heap_bpe_merges_like_the_simple_algorithm_on_random_words(pair):
    ours, _ = pair
    words = random_words(ours, 3000)
    expected = [simple_bpe(ours.merge_ranks, word) for word in words]
    got = [ours.bpe(word) for word in words]
    assert got == expected, differences(words, expected, got)
    assert sum(len(symbols) < len(word) for word, symbols in zip(words, got)) > len(words) / 2, "most should merge"


def test_overlapping_and_competing_merges_on_every_word_of_a_and_b_up_to_ten_letters():
    """A hand-made table where merges overlap ('aaa' has two 'aa' pairs), tie, make a pair that outranks the
    ones waiting, and make one token two ways ('aab' as 'a' + 'ab' and as 'aa' + 'b'): every word of up to
    ten letters of a and b merges as the simple algorithm and as Hugging Face do."""
    merges = [("a", "b"), ("a", "a"), ("b", "a"), ("ab", "a"), ("aa", "aa"), ("b", "b"), ("ab", "ab"),
              ("a", "ab"), ("aaaa", "a"), ("ba", "b"), ("aa", "b"), ("bb", "bb")]
    vocab = {char: i for i, char in enumerate(bytes_to_unicode().values())}
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    ours = Tokenizer(vocab, merges)
    reference = tokenizers.Tokenizer(models.BPE(vocab=vocab, merges=merges))
    reference.pre_tokenizer = PRE_TOKENIZER
    words = ["".join(letters) for length in range(1, 11) for letters in product("ab", repeat=length)]
    expected = [reference.encode(word).ids for word in words]
    got = [ours.encode(word) for word in words]
    assert got == expected, differences(words, expected, got)
    assert [ours.bpe(word) for word in words] == [simple_bpe(ours.merge_ranks, word) for word in words]
    assert ours.bpe("aaaaa") == ("aaaaa",) and ours.bpe("aaaaaa") == ("aaaa", "aa")


def long_words() -> dict[str, str]:
    """Texts that are each one word of thousands of characters (what a pasted blob looks like to BPE)."""
    rng = random.Random("long words")
    byte_level = list(bytes_to_unicode().values())
    emoji = ["😀", "👍🏻", "👩\u200d💻", "🇫🇷", "❤\ufe0f", "🦀"]
    return {
        "one letter": "a" * 5000,
        "two letters": "ab" * 3000,
        "after a space": " " + "e" * 5000,
        "random letters": "".join(rng.choices(string.ascii_letters, k=8000)),
        "digits": "".join(rng.choices(string.digits, k=6000)),
        "one digit": "7" * 5000,
        "mixed scripts": "".join(rng.choices("éüñßжщαβγ中文字한국어ءاب", k=4000)),
        "emoji": "".join(rng.choices(emoji, k=3000)),
        "punctuation": "".join(rng.choices("!?.,;:-_=+*/\\|#$%&@^~`<>()[]{}", k=5000)),
        "spaces": " " * 5000,
        "newlines": "\n" * 5000,
        "mixed whitespace": "".join(rng.choices(" \t\n\r\u3000", k=5000)),
        "GPT-2's byte characters": "".join(rng.choices([char for char in byte_level if char.isalpha()], k=5000)),
    }


def long_texts(seed: int = 0) -> dict[str, str]:
    """Long pastes of random bytes, as a hostile client would send them."""
    rng = random.Random(seed)
    random_bytes = bytes(rng.getrandbits(8) for _ in range(30_000))
    return {
        "base64": base64.b64encode(random_bytes).decode("ascii"),
        "random bytes as latin-1": random_bytes[:8000].decode("latin-1"),
        "random bytes as utf-8": random_bytes[:8000].decode("utf-8", errors="replace"),
        "random code points": "".join(chr(rng.choice([rng.randrange(0x20, 0xD800), rng.randrange(0xE000, 0x110000)]))
                                      for _ in range(5000)),
        "random printable ascii": "".join(rng.choices(string.printable, k=20_000)),
    }


def test_each_long_word_is_one_word_of_thousands_of_characters():
    for name, text in long_words().items():
        lengths = sorted(len(word) for word in WORD_PATTERN.findall(text))
        assert lengths[-1] >= 4000 and len(lengths) <= 3, (name, lengths[-3:])


def test_long_words_give_the_ids_hugging_face_gives(pair):
    ours, reference = pair
    texts = {**long_words(), **long_texts()}
    expected = [encoding.ids for encoding in reference.encode_batch(list(texts.values()))]
    got = [ours.encode(text) for text in texts.values()]
    assert got == expected, differences(list(texts), expected, got)
    assert [ours.decode(ids) for ids in got] == list(texts.values())


def test_the_word_cache_keeps_only_short_words_and_at_most_its_size(tiny):
    tiny.encode(" ".join(f"w{i}x" for i in range(CACHED_WORDS + 10)))  # more distinct words than it keeps
    tiny.encode("a" * (LONGEST_CACHED_WORD + 1) + " " + "b" * LONGEST_CACHED_WORD)
    cache = tiny._word_cache
    assert 0 < len(cache) <= CACHED_WORDS
    assert "a" * (LONGEST_CACHED_WORD + 1) not in cache and " " + "b" * LONGEST_CACHED_WORD not in cache
    assert "b" * (LONGEST_CACHED_WORD - 1) not in cache  # (the word is " bbb...": the space belongs to it)
    tiny.encode("c" * LONGEST_CACHED_WORD)
    assert "c" * LONGEST_CACHED_WORD in cache
    assert tiny.encode("a" * (LONGEST_CACHED_WORD + 1)) == tiny.encode("a" * (LONGEST_CACHED_WORD + 1))


# -- tables that cannot be right are refused when the tokenizer is built -------------------------

@pytest.fixture
def tiny_files(tmp_path):
    """Writes the tiny BPE's vocab.json and merges.txt after ``change(vocab, merges)``; gives their paths."""
    def write(change=lambda vocab, merges: None):
        vocab, merges = train_tiny_bpe()
        change(vocab, merges)
        write_tokenizer_files(tmp_path, vocab, merges)
        return tmp_path / "vocab.json", tmp_path / "merges.txt"
    return write


def refusal(vocab_path: Path, merges_path: Path) -> str:
    with pytest.raises(WeightsError) as error:
        Tokenizer.from_files(vocab_path, merges_path)
    return str(error.value)


def test_the_unchanged_tiny_files_load(tiny_files):
    assert Tokenizer.from_files(*tiny_files()).vocab_size == 457


def test_an_id_given_to_two_tokens_is_refused_rather_than_decoded_as_the_other(tiny_files):
    """The bug this prevents: with ' t' and ' the' both 258, ' t' decoded as ' the'."""
    vocab_path, merges_path = tiny_files(lambda vocab, merges: vocab.update({"Ġt": vocab["Ġthe"]}))
    message = refusal(vocab_path, merges_path)
    assert str(vocab_path) in message
    assert "gives the id 258 to 2 tokens" in message and "'Ġt'" in message and "'Ġthe'" in message


def test_a_merge_whose_result_the_vocabulary_lacks_is_refused_rather_than_failing_on_encode(tiny_files):
    vocab_path, merges_path = tiny_files(lambda vocab, merges: merges.append(("Ġthe", "Ġthe")))
    message = refusal(vocab_path, merges_path)
    assert f"merge 201 in {merges_path}, 'Ġthe' + 'Ġthe', makes 'ĠtheĠthe', which {vocab_path} lacks" in message


def test_a_merge_of_a_symbol_the_vocabulary_lacks_is_refused(tiny_files):
    vocab_path, merges_path = tiny_files(lambda vocab, merges: merges.insert(0, ("zq", "e")))
    assert f"merge 1 in {merges_path}, 'zq' + 'e', uses 'zq', which {vocab_path} lacks" in refusal(vocab_path,
                                                                                                  merges_path)


@pytest.mark.parametrize("line", ["Ġ t h", "Ġt", "Ġ  t", " Ġt"])
def test_a_merges_line_that_is_not_two_symbols_is_refused_with_its_line_number(tiny_files, line):
    vocab_path, merges_path = tiny_files()
    lines = merges_path.read_text(encoding="utf-8").splitlines()
    merges_path.write_text("\n".join([*lines[:3], line, *lines[3:]]) + "\n", encoding="utf-8")
    assert f"{merges_path} line 4 is not a merge (two symbols separated by one space): {line!r}" in refusal(
        vocab_path, merges_path)


@pytest.mark.parametrize("bad_id", ["5", 5.0, True, None, [5], -1, -258])
def test_an_id_that_is_not_a_non_negative_integer_is_refused(tiny_files, bad_id):
    vocab_path, merges_path = tiny_files(lambda vocab, merges: vocab.update({"Ġthe": bad_id}))
    message = refusal(vocab_path, merges_path)
    assert f"{vocab_path} gives token 'Ġthe' the id {bad_id!r}: a token is a string and its id a non-negative " \
           f"integer" in message
    assert "more are wrong" not in message


@pytest.mark.parametrize("content, expected", [
    ("{oops", "cannot read the tokenizer vocabulary"),
    ('["a", "b"]', "is not a GPT-2 vocabulary"),
    ("{}", "is not a GPT-2 vocabulary"),
    ('{"a": 0, "b": 1}', "lacks 254 of the 256 byte symbols"),
])
def test_a_vocabulary_file_that_is_not_a_byte_level_vocabulary_is_refused(tiny_files, content, expected):
    vocab_path, merges_path = tiny_files()
    vocab_path.write_text(content, encoding="utf-8")
    message = refusal(vocab_path, merges_path)
    assert str(vocab_path) in message and expected in message


def test_tables_given_in_python_are_checked_too(tiny):
    vocab, merges = dict(tiny.vocab), list(tiny.merge_ranks)
    with pytest.raises(WeightsError, match=r"merge 3 in merges.txt is not two symbols: \('Ġt', 'h', 'e'\)"):
        Tokenizer(vocab, [*merges[:2], ("Ġt", "h", "e"), *merges[2:]])
    with pytest.raises(WeightsError, match=r"vocab.json gives the id 0 to 2 tokens \('Ā', 'extra'\), and 1 more ids"):
        Tokenizer({**vocab, "extra": 0, "more": 1}, merges)
    with pytest.raises(WeightsError, match=r"gives token 'Ġt' the id '256' \(and 1 more are wrong\)"):
        Tokenizer({**vocab, "Ġthe": -1, "Ġt": "256"}, merges)
    with pytest.raises(WeightsError, match="my-vocab gives token 'Ġthe' the id 258.0"):
        Tokenizer({**vocab, "Ġthe": 258.0}, merges, vocab_source="my-vocab")


def test_a_special_token_with_the_id_of_another_token_is_refused(tiny):
    vocab, merges = dict(tiny.vocab), list(tiny.merge_ranks)
    with pytest.raises(WeightsError, match="special token '<|pad|>' has the id 258, which vocab.json gives to 'Ġthe'"):
        Tokenizer(vocab, merges, special_tokens={"<|pad|>": 258})
    with pytest.raises(WeightsError, match=f"special token '{END_OF_TEXT}' has the id 3, but vocab.json gives it 456"):
        Tokenizer(vocab, merges, special_tokens={END_OF_TEXT: 3})
    assert Tokenizer(vocab, merges, special_tokens={"<|pad|>": 999}).encode("<|pad|>") == [999]
