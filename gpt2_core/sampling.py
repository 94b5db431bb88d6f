"""From logits to the next token: temperature, top-k, top-p, and a seeded draw.

All of it is a pure function of the logits and the settings, over the full vocabulary, so the app
can move the temperature slider without running the model again. Temperature 0 means greedy.
A seed is None (fresh randomness) or a whole number in [0, 2**63); ``check_seed`` is the one place
that says so, for the generation loop and the app alike, and ``rng_from_seed`` makes the generator.
Computed in float64: the probabilities of 50,257 tokens must sum to 1 to within a rounding error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import GPT2CoreError


class SamplingError(GPT2CoreError, ValueError):
    """A sampling setting is out of range, or the logits cannot be sampled from."""


SEED_LIMIT = 2**63  # seeds are whole numbers in [0, SEED_LIMIT): they fit an int64 (a URL, a JS BigInt)


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 1.0  # 0 = always the most likely token
    top_k: int | None = None  # keep the k most likely tokens; None or 0 = all
    top_p: float | None = None  # keep the fewest tokens whose probabilities sum to at least p; None or 1 = all

    def __post_init__(self):
        check_settings(self.temperature, self.top_k, self.top_p)


def check_settings(temperature, top_k, top_p) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating, np.integer)) \
            or not math.isfinite(temperature) or temperature < 0:
        raise SamplingError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0):
        raise SamplingError(f"top_k must be a whole number >= 0 (0 or None = no cutoff), got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float, np.floating))
                              or not math.isfinite(top_p) or not 0 < top_p <= 1):
        raise SamplingError(f"top_p must be in (0, 1] (None or 1 = no cutoff), got {top_p!r}")


def check_seed(seed) -> None:
    """Refuse a seed that is not None or a whole number in [0, 2**63), naming the value."""
    if seed is None:
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < SEED_LIMIT:
        raise SamplingError(f"seed must be None (random) or a whole number from 0 to 2**63 - 1, got {seed!r}")


def rng_from_seed(seed) -> np.random.Generator:
    """The random generator a seed names (checked by ``check_seed``); None gives a fresh, unseeded one."""
    check_seed(seed)
    return np.random.default_rng(None if seed is None else int(seed))


def check_logits(logits) -> np.ndarray:  # -> [V]
    """One finite vector of logits, or a SamplingError saying what is wrong with it."""
    logits = np.asarray(logits)
    if logits.ndim != 1 or logits.size == 0:
        raise SamplingError(f"expected one vector of logits, got shape {logits.shape}")
    if logits.dtype.kind not in "fiu":
        raise SamplingError(f"expected numeric logits, got dtype {logits.dtype}")
    if not np.all(np.isfinite(logits)):
        raise SamplingError("the logits contain NaN or infinite values; the model's weights may be corrupt")
    return logits


def scaled_logits(logits, temperature: float) -> np.ndarray:  # [V] -> [V] float64, max 0
    """Logits divided by the temperature, shifted so the largest is 0 (no overflow at any T)."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits)
    if temperature == 0:
        return np.where(shifted == 0, 0.0, -np.inf)  # greedy: only the maximum survives
    with np.errstate(over="ignore"):  # a tiny T sends the others to -inf, which is what it means
        return shifted / temperature


def top_k_mask(scaled, top_k: int | None) -> np.ndarray:  # [V] -> [V] bool, True = kept
    """Keep every token scoring at least the k-th best (ties at the cutoff are all kept)."""
    if not top_k or top_k >= scaled.size:
        return np.ones(scaled.shape, dtype=bool)
    kth_best = np.partition(scaled, -top_k)[-top_k]
    return scaled >= kth_best


def top_p_mask(probs, top_p: float | None) -> np.ndarray:  # [V] -> [V] bool, True = kept
    """Keep the most likely tokens until their probabilities sum to at least ``top_p``."""
    if top_p is None or top_p >= 1:
        return np.ones(probs.shape, dtype=bool)
    order = np.argsort(-probs, kind="stable")
    mass_before = np.cumsum(probs[order]) - probs[order]  # probability of the tokens ranked above
    keep = np.zeros(probs.shape, dtype=bool)
    keep[order[mass_before < top_p]] = True  # the top token always survives (mass_before = 0)
    return keep


def softmax64(scaled) -> np.ndarray:
    exp = np.exp(scaled - np.max(scaled))
    return exp / exp.sum()


def probabilities(logits, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> np.ndarray:  # [V] -> [V] float64, sums to 1
    """The distribution the next token is drawn from: softmax(logits / T), cut by top-k then top-p."""
    check_settings(temperature, top_k, top_p)
    logits = check_logits(logits)
    scaled = scaled_logits(logits, temperature)
    scaled = np.where(top_k_mask(scaled, top_k), scaled, -np.inf)
    probs = softmax64(scaled)
    kept = top_p_mask(probs, top_p)
    probs = np.where(kept, probs, 0.0)
    return probs / probs.sum()


def sample(probs, rng: np.random.Generator) -> int:
    """Draw one token id from ``probs`` (inverse CDF with one uniform number from ``rng``)."""
    cumulative = np.cumsum(probs)
    token = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(token, len(probs) - 1)


def next_token(logits, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
               rng: np.random.Generator | None = None) -> int:
    """The next token: the argmax at temperature 0, else a draw from ``probabilities``."""
    if temperature == 0:  # the same checks as any temperature, without computing the distribution
        check_settings(temperature, top_k, top_p)
        return int(np.argmax(check_logits(logits)))
    return sample(probabilities(logits, temperature, top_k, top_p), rng or np.random.default_rng())
