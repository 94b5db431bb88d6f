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
WORD_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

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
        self.special_pattern = (regex.compile("(" + "|".join(regex.escape(t) for t in special_tokens) + ")")
                                if special_tokens else None)
        self.byte_to_char = bytes_to_unicode()
        self.char_to_byte = {char: byte for byte, char in self.byte_to_char.items()}
        self._bpe_cache: dict[str, tuple[str, ...]] = {}

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
        """Merge the byte-characters of one word into vocabulary symbols, best-ranked pair first."""
        if word in self._bpe_cache:
            return self._bpe_cache[word]
        symbols = list(word)
        while len(symbols) > 1:
            pairs = zip(symbols, symbols[1:])
            best = min(pairs, key=lambda pair: self.merge_ranks.get(pair, float("inf")))
            if best not in self.merge_ranks:
                break
            merged, i = [], 0
            while i < len(symbols):
                if i < len(symbols) - 1 and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        if len(self._bpe_cache) < 100_000:
            self._bpe_cache[word] = tuple(symbols)
        return tuple(symbols)

    def _encode_ordinary(self, text: str) -> list[int]:
        ids = []
        for word in WORD_PATTERN.findall(text):
            byte_chars = "".join(self.byte_to_char[b] for b in word.encode("utf-8"))
            ids.extend(self.vocab[symbol] for symbol in self.bpe(byte_chars))
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
