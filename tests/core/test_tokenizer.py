"""The pure-Python GPT-2 tokenizer gives the same ids as Hugging Face ``tokenizers``, and shows tokens legibly.

The reference is built the way GPT-2 is: a BPE model from the same vocab.json and merges.txt, the
byte-level pre-tokenizer without a prefix space (its ``use_regex`` default is GPT-2's pattern), the
byte-level decoder, and ``<|endoftext|>`` as a special token. Parity runs twice: with the real GPT-2
files from ../shared (skipped where absent) and with a tiny BPE trained here (always runs).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import tokenizers
from tokenizers import decoders, models, pre_tokenizers

from gpt2_core.checkpoints import train_tiny_bpe, write_tokenizer_files
from gpt2_core.errors import PromptError
from gpt2_core.tokenizer import (END_OF_TEXT, NEWER_THAN_UNICODE_16, WORD_PATTERN, Tokenizer, bytes_to_unicode,
                                 display_bytes)
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
