"""Two prompts' next-token distributions side by side, aligned token by token.

The tokens compared are the union of each prompt's ``k`` most likely next tokens; for each, its probability after
prompt A and after prompt B (each over the whole vocabulary, so a token outside one prompt's top ``k`` still has
its real probability there) and the difference ``A - B``. Rows are sorted by that difference, largest first: the
tokens A makes more likely on top, those B makes more likely at the bottom (ties: lower id first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AlignedProbabilities:
    ids: np.ndarray  # [n]: token ids, sorted by ``difference``, largest first
    first: np.ndarray  # [n]: each token's probability after prompt A
    second: np.ndarray  # [n]: after prompt B
    difference: np.ndarray  # [n]: first - second


def most_likely(probabilities: np.ndarray, k: int) -> np.ndarray:  # [V] -> [k] ids, most likely first
    k = min(k, probabilities.size)
    best = np.argpartition(-probabilities, k - 1)[:k]
    return best[np.lexsort((best, -probabilities[best]))]


def aligned_probabilities(first: np.ndarray, second: np.ndarray, k: int = 10) -> AlignedProbabilities:
    """``first`` and ``second``: [V] next-token distributions of the two prompts."""
    ids = np.union1d(most_likely(first, k), most_likely(second, k))  # sorted by id: the tie order
    difference = first[ids] - second[ids]
    order = np.argsort(-difference, kind="stable")
    ids = ids[order]
    return AlignedProbabilities(ids, first[ids], second[ids], difference[order])
