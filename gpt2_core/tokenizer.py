"""GPT-2's byte-level BPE in pure Python (stdlib + ``regex``), so it runs in Pyodide too.

1. Split the text into words with GPT-2's pattern (contractions, letters, numbers, other, spaces).
2. Map each word's UTF-8 bytes to printable characters (GPT-2's byte-to-unicode table).
3. Merge adjacent symbols by rank, lowest first, until no known merge is left.
4. Look each symbol up in the vocabulary.

The tests prove it gives the same ids as the Hugging Face ``tokenizers`` package. Every step costs
O(n log n) or less in the length of the text, so a hostile paste (40,000 characters of one "word")
costs about what prose of that length does; and a vocabulary or merge table that cannot be right is
refused when the tokenizer is built, not on some later prompt.
"""

from __future__ import annotations

import heapq
import json
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np
import regex

from .errors import PromptError, WeightsError

END_OF_TEXT = "<|endoftext|>"
VOCAB_FILE, MERGES_FILE = "vocab.json", "merges.txt"

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

# The word cache keeps prose fast (prose repeats its words) in bounded memory: words longer than this are
# not kept (they rarely repeat, and a pasted blob would pin its size), and a full cache starts over.
LONGEST_CACHED_WORD = 256
CACHED_WORDS = 10_000


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
    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], special_tokens: dict[str, int] | None = None,
                 *, vocab_source: str = VOCAB_FILE, merges_source: str = MERGES_FILE):
        """``vocab_source`` and ``merges_source`` name where the two tables came from, for the error messages
        that refuse a table that cannot be right (a ``WeightsError``)."""
        check_vocabulary(vocab, vocab_source)
        check_merges(merges, vocab, merges_source, vocab_source)
        if special_tokens is None:
            special_tokens = {END_OF_TEXT: vocab[END_OF_TEXT]} if END_OF_TEXT in vocab else {}
        check_special_tokens(special_tokens, vocab, vocab_source)
        self.vocab = vocab
        self.id_to_token = {token_id: token for token, token_id in vocab.items()}
        self.merge_ranks = {tuple(pair): rank for rank, pair in enumerate(merges)}
        self.special_tokens = special_tokens
        self.id_to_token.update({token_id: token for token, token_id in special_tokens.items()})
        # Longest first, so that a special token that begins another one never hides it.
        alternatives = sorted(special_tokens, key=len, reverse=True)
        self.special_pattern = (regex.compile("(" + "|".join(regex.escape(t) for t in alternatives) + ")")
                                if special_tokens else None)
        self.byte_to_char = bytes_to_unicode()
        self.char_to_byte = {char: byte for byte, char in self.byte_to_char.items()}
        self._byte_translation = str.maketrans({chr(byte): char for byte, char in self.byte_to_char.items()})
        self._word_cache: dict[str, list[int]] = {}

    @classmethod
    def from_files(cls, vocab_path: str | Path, merges_path: str | Path) -> "Tokenizer":
        """GPT-2's tokenizer from its vocab.json and merges.txt (see ``tokenizer_from_file_contents``)."""
        return tokenizer_from_file_contents(Path(vocab_path).read_bytes(), Path(merges_path).read_bytes(),
                                            vocab_source=str(vocab_path), merges_source=str(merges_path))

    @property
    def vocab_size(self) -> int:
        return max(self.id_to_token) + 1

    @property
    def end_of_text_id(self) -> int | None:
        return self.special_tokens.get(END_OF_TEXT)

    # -- text -> ids ---------------------------------------------------------------------------

    def bpe(self, word: str) -> tuple[str, ...]:
        """Merge the byte-characters of one word into vocabulary symbols: the best-ranked adjacent pair
        first, the leftmost one among equals, as Hugging Face's BPE does.

        In O(n log n) for a word of n characters, rather than a search of every pair after each merge:

        - the symbols form a doubly linked list (``before[i]``, ``after[i]``: the positions of the symbol at
          ``i``'s neighbours), so a merge joins two symbols without moving the rest;
        - a heap holds the adjacent pairs that have a merge, keyed (rank, position of the left symbol): its
          top is the best pair, the leftmost among equals;
        - a merge changes only the two pairs that touch the new symbol, so only those are pushed. An entry
          whose pair has changed since it was pushed (one of its symbols has since merged with another) is
          skipped when it comes to the top, rather than searched for and removed: it is stale when the pair
          that now stands at its position has another rank (each rank is one pair's) or none.
        """
        end = len(word)
        symbols = list(word)  # symbols[i]: the symbol that begins at character i, "" once merged into its left
        before = list(range(-1, end - 1))
        after = list(range(1, end + 1))  # ``end`` past the last symbol
        ranks = self.merge_ranks
        candidates = [(ranks[pair], i) for i, pair in enumerate(zip(word, word[1:])) if pair in ranks]
        heapq.heapify(candidates)
        while candidates:
            rank, left = heapq.heappop(candidates)
            right = after[left]
            if not symbols[left] or right == end or ranks.get((symbols[left], symbols[right])) != rank:
                continue  # stale
            symbols[left] += symbols[right]
            symbols[right] = ""
            after[left] = after[right]
            if after[left] != end:
                before[after[left]] = left
            for first, second in ((before[left], left), (left, after[left])):
                if first >= 0 and second != end:
                    rank = ranks.get((symbols[first], symbols[second]))
                    if rank is not None:
                        heapq.heappush(candidates, (rank, first))
        return tuple(symbol for symbol in symbols if symbol)

    def _word_ids(self, word: str) -> list[int]:
        """The ids of one pre-tokenized word, cached if it is short (see ``LONGEST_CACHED_WORD``)."""
        ids = self._word_cache.get(word)
        if ids is None:
            # UTF-8 bytes read as latin-1 are one character per byte, which the table maps to GPT-2's characters.
            byte_chars = word.encode("utf-8").decode("latin-1").translate(self._byte_translation)
            ids = [self.vocab[symbol] for symbol in self.bpe(byte_chars)]
            if len(word) <= LONGEST_CACHED_WORD:
                if len(self._word_cache) >= CACHED_WORDS:
                    self._word_cache.clear()
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


# -- reading and checking the two tables -----------------------------------------------------------

def tokenizer_from_file_contents(vocab_json: bytes, merges_txt: bytes, *, vocab_source: str = VOCAB_FILE,
                                 merges_source: str = MERGES_FILE) -> Tokenizer:
    """The one reader of GPT-2's tokenizer files, vocab.json and merges.txt, from their bytes (read from a folder,
    the Hugging Face cache or a browser's fetch), checked well enough to fail here, clearly, rather than on some
    later prompt: a ``WeightsError`` that names the file (``vocab_source``, ``merges_source``) and what is wrong."""
    return Tokenizer(parse_vocabulary(vocab_json, vocab_source), parse_merges(merges_txt, merges_source),
                     vocab_source=vocab_source, merges_source=merges_source)


def parse_vocabulary(vocab_json: bytes, source: str):
    """vocab.json's JSON (checked to be a vocabulary by the ``Tokenizer``)."""
    try:
        return json.loads(bytes(vocab_json))
    except ValueError as error:  # not JSON, or not UTF-8
        raise WeightsError(f"cannot read the tokenizer vocabulary: the tokenizer file {source} is not valid JSON "
                           f"({error})") from None


def parse_merges(merges_txt: bytes, source: str) -> list[tuple[str, str]]:
    """merges.txt: an optional ``#version`` line, then one merge a line, two symbols separated by one space."""
    try:
        lines = bytes(merges_txt).decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise WeightsError(f"cannot read the tokenizer merges: the tokenizer file {source} is not UTF-8 text "
                           f"({error})") from None
    merges = []
    for number, line in enumerate(lines, 1):
        if not line or line.startswith("#version"):
            continue
        pair = tuple(line.split(" "))
        if len(pair) != 2 or not all(pair):
            raise WeightsError(f"{source} line {number} is not a merge (two symbols separated by one space): {line!r}")
        merges.append(pair)
    return merges


def check_vocabulary(vocab, source: str) -> None:
    """Refuse a vocabulary that is not token -> id, with ids that are non-negative integers, each given to one
    token, and all 256 byte symbols among the tokens (so that any text can be encoded)."""
    if not isinstance(vocab, dict) or not vocab:
        raise WeightsError(f"{source} is not a GPT-2 vocabulary: expected a JSON object mapping each token to its id")
    malformed = [(token, token_id) for token, token_id in vocab.items()
                 if not isinstance(token, str) or type(token_id) is not int or token_id < 0]
    if malformed:
        (token, token_id), others = malformed[0], len(malformed) - 1
        raise WeightsError(f"{source} gives token {token!r} the id {token_id!r}" + (f" (and {others} more are wrong)"
                           if others else "") + ": a token is a string and its id a non-negative integer")
    if len(set(vocab.values())) < len(vocab):
        tokens_of = defaultdict(list)
        for token, token_id in vocab.items():
            tokens_of[token_id].append(token)
        shared = sorted((token_id, tokens) for token_id, tokens in tokens_of.items() if len(tokens) > 1)
        (token_id, tokens), others = shared[0], len(shared) - 1
        raise WeightsError(f"{source} gives the id {token_id} to {len(tokens)} tokens ({', '.join(map(repr, tokens[:3]))})"
                           + (f", and {others} more ids to more than one" if others else "")
                           + ": each token needs an id of its own, or decoding would turn one into another")
    missing_bytes = [char for char in bytes_to_unicode().values() if char not in vocab]
    if missing_bytes:
        raise WeightsError(f"{source} is not a byte-level BPE vocabulary: it lacks {len(missing_bytes)} of the 256 "
                           f"byte symbols (e.g. {missing_bytes[0]!r}); GPT-2's tokenizer needs all of them")


def check_merges(merges, vocab: dict[str, int], source: str, vocab_source: str) -> None:
    """Refuse a merge that is not two symbols, or whose symbols or result the vocabulary lacks: encoding a
    word that needs it would fail."""
    for number, pair in enumerate(merges, 1):
        left, right = pair if isinstance(pair, (tuple, list)) and len(pair) == 2 else (None, None)
        if not (isinstance(left, str) and isinstance(right, str) and left and right):
            raise WeightsError(f"merge {number} in {source} is not two symbols: {pair!r}")
        if left not in vocab or right not in vocab or left + right not in vocab:
            lacking = next(symbol for symbol in (left, right, left + right) if symbol not in vocab)
            role = "makes" if lacking == left + right else "uses"
            raise WeightsError(f"merge {number} in {source}, {left!r} + {right!r}, {role} {lacking!r}, which "
                               f"{vocab_source} lacks: the two files are not from the same tokenizer")


def check_special_tokens(special_tokens: dict[str, int], vocab: dict[str, int], vocab_source: str) -> None:
    for token, token_id in special_tokens.items():
        if type(token_id) is not int or token_id < 0:
            raise WeightsError(f"the special token {token!r} has the id {token_id!r}, not a non-negative integer")
        if vocab.get(token, token_id) != token_id:
            raise WeightsError(f"the special token {token!r} has the id {token_id}, but {vocab_source} gives it "
                               f"{vocab[token]}")
    taken = {token_id: token for token, token_id in vocab.items() if token not in special_tokens}
    clashes = [(token, token_id) for token, token_id in special_tokens.items() if token_id in taken]
    if clashes:
        token, token_id = clashes[0]
        raise WeightsError(f"the special token {token!r} has the id {token_id}, which {vocab_source} gives to "
                           f"{taken[token_id]!r}")


# -- display -------------------------------------------------------------------------------------

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
