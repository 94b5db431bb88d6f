"""Benchmark the pure-Python GPT-2 tokenizer on texts of 1k, 10k and 100k characters.

For each kind of text (prose, prose whose words never repeat, one long word, one letter repeated, a run
of digits) it prints the best time of several runs of ``encode`` (the run other processes disturbed least),
each with an empty word cache, and the ratio of each time to the one for a tenth of the text: about 10 is
linear, about 100 would be quadratic. Then the goal (issue on hostile input): <= 1 s for 100k characters
of prose in CPython.

Uses the real GPT-2 vocab.json and merges.txt from ../shared/gpt2-tokenizer (or $TE_SHARED_DIR).

    python scripts/bench_tokenizer.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from environment import GPT2_TOKENIZER_DIR  # noqa: E402
from transformer_explainer.gpt2_core.tokenizer import Tokenizer  # noqa: E402
from tokenizer_corpus import prose  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
GOAL_SECONDS = 1.0


def texts_of(n_chars: int, rng: random.Random) -> dict[str, str]:
    """Each kind of text, ``n_chars`` characters long."""
    fresh_words = " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))
                           for _ in range(n_chars // 4))
    return {
        "prose": prose(n_words=n_chars // 3)[:n_chars],
        "prose, no word repeated": fresh_words[:n_chars],
        "one long word (random letters)": "".join(rng.choices(string.ascii_lowercase, k=n_chars)),
        "one letter repeated ('aaaa...')": "a" * n_chars,
        "digits": "".join(rng.choices(string.digits, k=n_chars)),
    }


def best_encode_seconds(tokenizer: Tokenizer, text: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        tokenizer._word_cache.clear()  # cold: every word is new to the tokenizer, the worst case for prose
        start = time.perf_counter()
        tokenizer.encode(text)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    vocab, merges = GPT2_TOKENIZER_DIR / "vocab.json", GPT2_TOKENIZER_DIR / "merges.txt"
    if not vocab.exists():
        sys.exit(f"needs {vocab} (the project's shared data; set TE_SHARED_DIR to its folder)")
    start = time.perf_counter()
    tokenizer = Tokenizer.from_files(vocab, merges)
    print(f"GPT-2 tokenizer from {GPT2_TOKENIZER_DIR}: built (files read and checked) in "
          f"{time.perf_counter() - start:.3f} s; Python {sys.version.split()[0]}; best of {args.repeats} runs, "
          f"each with an empty word cache\n")

    rng = random.Random(0)
    texts = {n_chars: texts_of(n_chars, rng) for n_chars in SIZES}
    header = "".join(f"{n_chars:>10,} chars" for n_chars in SIZES)
    print(f"{'text':34}{header}   time ratio per 10x (10 = linear)")
    seconds = {}
    for kind in texts[SIZES[0]]:
        seconds[kind] = [best_encode_seconds(tokenizer, texts[n_chars][kind], args.repeats) for n_chars in SIZES]
        ratios = [later / earlier for earlier, later in zip(seconds[kind], seconds[kind][1:])]
        print(f"{kind:34}" + "".join(f"{s:>14.4f} s" for s in seconds[kind]) + "   "
              + ", ".join(f"x{ratio:.1f}" for ratio in ratios))

    prose_seconds = seconds["prose"][-1]
    verdict = "met" if prose_seconds <= GOAL_SECONDS else "MISSED"
    print(f"\ngoal: <= {GOAL_SECONDS:g} s for {SIZES[-1]:,} characters of prose: {verdict} ({prose_seconds:.3f} s)")


if __name__ == "__main__":
    main()
