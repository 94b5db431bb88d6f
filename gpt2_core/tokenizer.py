"""GPT-2's byte-level BPE in pure Python (stdlib + ``regex``), so it runs in Pyodide too.

1. Split the text into words with GPT-2's pattern (contractions, letters, numbers, other, spaces).
2. Map each word's UTF-8 bytes to printable characters (GPT-2's byte-to-unicode table).
3. Merge adjacent symbols by rank, lowest first, until no known merge is left.
4. Look each symbol up in the vocabulary.

The tests prove it gives the same ids as the Hugging Face ``tokenizers`` package.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import regex

from .errors import PromptError

END_OF_TEXT = "<|endoftext|>"

# Letters (\p{L}) and numbers (\p{N}) as the Hugging Face ``tokenizers`` package knows them: its regex
# engine (Oniguruma) has Unicode 16.0's tables, while ``regex`` may have a newer Unicode's. The reference
# treats characters assigned after 16.0 as "other" symbols, so these code points, which are letters or
# numbers only in a newer Unicode, are left out of both classes here. (Found by splitting every code
# point with both; tests/core/test_tokenizer.py checks each range.)
NEWER_THAN_UNICODE_16 = (
    (0x0558, 0x0558), (0x058B, 0x058C), (0x088F, 0x088F), (0x0C5C, 0x0C5C), (0x0CDC, 0x0CDC),
    (0x208F, 0x208F), (0x209D, 0x209F), (0xA7CE, 0xA7CF), (0xA7D2, 0xA7D2), (0xA7D4, 0xA7D4),
    (0xA7DD, 0xA7F1), (0xAB6C, 0xAB6D), (0x107BB, 0x107BF), (0x10940, 0x10959), (0x10EC5, 0x10EEE),
    (0x11B0A, 0x11B0A), (0x11DB0, 0x11DF1), (0x1246F, 0x1247F), (0x12550, 0x12686),
    (0x16EA0, 0x16ED3), (0x16FF2, 0x16FF6), (0x187F8, 0x187FF), (0x18CD6, 0x18CDA),
    (0x18D09, 0x191D2), (0x1B123, 0x1B128), (0x1B168, 0x1B168), (0x1D6A6, 0x1D6A6),
    (0x1DF1F, 0x1DF24), (0x1DF2B, 0x1DFFF), (0x1E6C0, 0x1E6FF), (0x2B73A, 0x2B73F),
    (0x2B81E, 0x2B81E), (0x2CEA2, 0x2CEAD), (0x323B0, 0x3FC3F),
)
_NEWER = "[" + "".join(f"\\U{first:08X}-\\U{last:08X}" for first, last in NEWER_THAN_UNICODE_16) + "]"
LETTER = rf"[\p{{L}}--{_NEWER}]"
NUMBER = rf"[\p{{N}}--{_NEWER}]"

# GPT-2's pattern: contractions, letters, numbers, other symbols (each optionally after one space), then
# whitespace, whose last space is left to begin the next word. V1 is the ``regex`` syntax with set difference.
WORD_PATTERN = regex.compile(
    rf"""'s|'t|'re|'ve|'m|'ll|'d| ?{LETTER}+| ?{NUMBER}+| ?[^\s{LETTER}{NUMBER}]+|\s+(?!\S)|\s+""", regex.V1)

# How whitespace and control bytes look in a token's display string.
VISIBLE_WHITESPACE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable unicode characters."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


class Tokenizer:
    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], special_tokens: dict[str, int] | None = None):
        self.vocab = vocab
        self.id_to_token = {token_id: token for token, token_id in vocab.items()}
        self.merge_ranks = {pair: rank for rank, pair in enumerate(merges)}
        if special_tokens is None:
            special_tokens = {END_OF_TEXT: vocab[END_OF_TEXT]} if END_OF_TEXT in vocab else {}
        self.special_tokens = special_tokens
        self.id_to_token.update({token_id: token for token, token_id in special_tokens.items()})
        # Longest first, so that a special token that begins another one never hides it.
        alternatives = sorted(special_tokens, key=len, reverse=True)
        self.special_pattern = (regex.compile("(" + "|".join(regex.escape(t) for t in alternatives) + ")")
                                if special_tokens else None)
        self.byte_to_char = bytes_to_unicode()
        self.char_to_byte = {char: byte for byte, char in self.byte_to_char.items()}
        self._byte_translation = str.maketrans({chr(byte): char for byte, char in self.byte_to_char.items()})
        self._no_merge = len(merges)  # ranks above every real merge
        self._word_cache: dict[str, list[int]] = {}

    @classmethod
    def from_files(cls, vocab_path: str | Path, merges_path: str | Path) -> "Tokenizer":
        vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
        lines = Path(merges_path).read_text(encoding="utf-8").splitlines()
        merges = [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]
        return cls(vocab, merges)

    @property
    def vocab_size(self) -> int:
        return max(self.id_to_token) + 1

    @property
    def end_of_text_id(self) -> int | None:
        return self.special_tokens.get(END_OF_TEXT)

    # -- text -> ids ---------------------------------------------------------------------------

    def bpe(self, word: str) -> tuple[str, ...]:
        """Merge the byte-characters of one word into vocabulary symbols: the best-ranked adjacent pair
        first, the leftmost one among equals, as Hugging Face's BPE does."""
        symbols = list(word)
        ranks = [self._rank(a, b) for a, b in zip(symbols, symbols[1:])]  # ranks[i]: the pair at i, i + 1
        while ranks:
            best = min(ranks)
            if best == self._no_merge:
                break
            i = ranks.index(best)
            symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
            del ranks[i]
            # Only the pairs that touch the merged symbol change.
            if i > 0:
                ranks[i - 1] = self._rank(symbols[i - 1], symbols[i])
            if i < len(ranks):
                ranks[i] = self._rank(symbols[i], symbols[i + 1])
        return tuple(symbols)

    def _rank(self, left: str, right: str) -> int:
        return self.merge_ranks.get((left, right), self._no_merge)

    def _word_ids(self, word: str) -> list[int]:
        """The ids of one pre-tokenized word, cached: prose repeats its words."""
        ids = self._word_cache.get(word)
        if ids is None:
            # UTF-8 bytes read as latin-1 are one character per byte, which the table maps to GPT-2's characters.
            byte_chars = word.encode("utf-8").decode("latin-1").translate(self._byte_translation)
            ids = [self.vocab[symbol] for symbol in self.bpe(byte_chars)]
            if len(self._word_cache) < 100_000:
                self._word_cache[word] = ids
        return ids

    def _encode_ordinary(self, text: str) -> list[int]:
        ids = []
        for word in WORD_PATTERN.findall(text):
            ids.extend(self._word_ids(word))
        return ids

    def encode(self, text: str) -> list[int]:
        """Text -> token ids. ``<|endoftext|>`` in the text becomes its special id."""
        if not isinstance(text, str):
            raise PromptError(f"the tokenizer takes text (str), got {type(text).__name__}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise PromptError(f"the text holds a character that is not valid Unicode "
                              f"(a lone surrogate {text[error.start]!r} at index {error.start})") from None
        if self.special_pattern is None:
            return self._encode_ordinary(text)
        ids = []
        for i, piece in enumerate(self.special_pattern.split(text)):
            if i % 2:
                ids.append(self.special_tokens[piece])
            elif piece:
                ids.extend(self._encode_ordinary(piece))
        return ids

    # -- ids -> text ---------------------------------------------------------------------------

    def token_bytes(self, token_id: int) -> bytes:
        """The exact bytes one token stands for (possibly part of a multi-byte character)."""
        try:
            token = self.id_to_token[int(token_id)]
        except (KeyError, ValueError, TypeError):
            raise PromptError(f"token id {token_id!r} is not in the vocabulary (0..{self.vocab_size - 1})") from None
        if token in self.special_tokens:
            return token.encode("utf-8")
        return bytes(self.char_to_byte[char] for char in token)

    def decode(self, ids) -> str:
        """Token ids -> text; bytes that do not form valid UTF-8, and ids the vocabulary lacks (a model
        may have more embedding rows than tokens), become U+FFFD, as in Hugging Face."""
        return b"".join(self.token_bytes(i) if self.knows(i) else "\ufffd".encode() for i in ids).decode(
            "utf-8", errors="replace")

    def knows(self, token_id) -> bool:
        return isinstance(token_id, (int, np.integer)) and int(token_id) in self.id_to_token

    def display(self, token_id: int) -> str:
        """How one token is shown in the views: spaces as ␣, newlines as ↵, and any bytes that are
        only part of a character (an emoji split in two tokens) as <0xF0>, never a silent '�'.
        An id the vocabulary lacks shows as <id N>."""
        if not self.knows(token_id):
            return f"<id {token_id}>"
        return display_bytes(self.token_bytes(token_id))

    def display_tokens(self, ids) -> list[str]:
        return [self.display(i) for i in ids]


def display_bytes(data: bytes) -> str:
    """A legible string for some bytes: valid UTF-8 as text, whitespace made visible, every other byte as <0xNN>."""
    shown, i = [], 0
    while i < len(data):
        char, width = _next_char(data, i)
        if char is None:
            shown.append(f"<0x{data[i]:02X}>")
            i += 1
            continue
        if char in VISIBLE_WHITESPACE:
            shown.append(VISIBLE_WHITESPACE[char])
        elif char.isprintable() or char in "\u200d\ufe0f":
            shown.append(char)
        else:
            shown.append(f"<U+{ord(char):04X}>")
        i += width
    return "".join(shown)


def _next_char(data: bytes, start: int) -> tuple[str | None, int]:
    """The character encoded at ``data[start:]`` and its width in bytes, or (None, 1) if none is complete there."""
    for width in (1, 2, 3, 4):
        try:
            return data[start:start + width].decode("utf-8"), width
        except UnicodeDecodeError:
            continue
    return None, 1
