"""What each attention head measurably does: three scores read from its attention pattern (``hook_pattern``).

A pattern ``A`` of one head is ``[pos, pos]``: row ``i`` is how query ``i`` spreads its attention over the keys
``0..i`` (each row sums to 1). Each score is an average weight, so it lies in [0, 1] and the three compare:

- **previous-token score**: the mean over queries ``i = 1..pos-1`` of ``A[i, i-1]``, how much a token looks at
  the token just before it. Query 0 has no previous token and is left out.
- **first-token score** (the "attention sink"): the mean over queries ``i = 1..pos-1`` of ``A[i, 0]``, how much a
  token looks at the first token of the text. Query 0 can only look at itself (``A[0, 0] = 1`` always), so it is
  left out too. Both scores are NaN for a one-token prompt (no query to average over).
- **induction score**: measured on a probe, not on the student's prompt: ``L`` random token ids (a fixed seed)
  written twice, ``t_0 .. t_{L-1} t_0 .. t_{L-1}``. In the second half, the token at ``i`` last occurred at
  ``i - L``, and the token after that occurrence is at ``i - L + 1``: an induction head looks there (it predicts
  that what followed last time follows again). The score is the mean over ``i = L..2L-1`` of ``A[i, i-L+1]``.
  Random tokens leave no other reason to look there (the standard probe, as in Olsson et al. 2022 and
  TransformerLens's tutorials).

The first two are read from any trace; the induction score needs one extra forward pass over the probe, the same
for every prompt (the app computes it once per model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROLES = ("previous", "first", "induction")  # the scores' names, in the order every view lists them
PROBE_LENGTH = 50  # L: the repeated sequence is 2L = 100 tokens
PROBE_SEED = 0


def patterns(trace) -> np.ndarray:  # -> [n_layer, h, pos, pos]
    return np.stack([trace[f"blocks.{layer}.attn.hook_pattern"] for layer in range(trace.config.n_layer)])


def previous_token_scores(pattern: np.ndarray) -> np.ndarray:  # [..., pos, pos] -> [...]
    n = pattern.shape[-1]
    below_diagonal = pattern[..., np.arange(1, n), np.arange(0, n - 1)]  # [..., pos-1]: A[i, i-1]
    return mean_or_nan(below_diagonal)


def first_token_scores(pattern: np.ndarray) -> np.ndarray:  # [..., pos, pos] -> [...]
    return mean_or_nan(pattern[..., 1:, 0])  # [..., pos-1]: A[i, 0] for i >= 1


def induction_scores_on_probe(pattern: np.ndarray, length: int) -> np.ndarray:  # [..., 2L, 2L] -> [...]
    queries = np.arange(length, 2 * length)
    return mean_or_nan(pattern[..., queries, queries - length + 1])  # [..., L]: A[i, i-L+1]


def mean_or_nan(values: np.ndarray) -> np.ndarray:  # [..., n] -> [...], float32; NaN where n = 0
    if values.shape[-1] == 0:
        return np.full(values.shape[:-1], np.nan, dtype=np.float32)
    return values.mean(axis=-1, dtype=np.float32)


def probe_length(n_ctx: int) -> int:
    """L for a model that reads ``n_ctx`` tokens: PROBE_LENGTH, or less when 2L would not fit."""
    return min(PROBE_LENGTH, n_ctx // 2)


def induction_probe(n_vocab: int, length: int, seed: int = PROBE_SEED) -> list[int]:  # -> 2L ids
    """``length`` random token ids, written twice."""
    half = np.random.default_rng(seed).integers(0, n_vocab, size=length)
    return [int(i) for i in np.concatenate([half, half])]


def induction_scores(model, seed: int = PROBE_SEED) -> np.ndarray:  # -> [n_layer, h]
    """Every head's induction score, from one pass of ``model`` over the probe (no head silenced: the score says
    what the model's head does, whatever the student has switched off)."""
    config = model.config
    length = probe_length(config.n_ctx)
    n_vocab = model.tokenizer.vocab_size if model.tokenizer is not None else config.n_vocab
    seen: dict[int, np.ndarray] = {}

    def keep(layer):
        return lambda pattern: seen.__setitem__(layer, pattern)  # returns None: the pass goes on unchanged

    hooks = {f"blocks.{layer}.attn.hook_pattern": keep(layer) for layer in range(config.n_layer)}
    model.run_with_hooks(induction_probe(n_vocab, length, seed), hooks, all_logits=False)
    return induction_scores_on_probe(np.stack([seen[layer] for layer in range(config.n_layer)]), length)


@dataclass(frozen=True)
class HeadScores:
    """The three scores of every head, ``[n_layer, h]`` each (float32; NaN where a score is undefined)."""

    previous: np.ndarray
    first: np.ndarray
    induction: np.ndarray

    def __getitem__(self, role: str) -> np.ndarray:
        if role not in ROLES:
            raise KeyError(f"no head score named {role!r}: the scores are {', '.join(ROLES)}")
        return getattr(self, role)

    def strongest_role(self) -> np.ndarray:  # -> [n_layer, h] of role names
        """Each head's highest score's role (NaN scores count as 0)."""
        stacked = np.nan_to_num(np.stack([self[role] for role in ROLES]), nan=0.0)  # [3, n_layer, h]
        return np.asarray(ROLES)[stacked.argmax(axis=0)]


def head_scores(trace, induction: np.ndarray) -> HeadScores:
    """The previous-token and first-token scores of ``trace``'s heads, with ``induction`` (from the probe)."""
    pattern = patterns(trace)
    return HeadScores(previous_token_scores(pattern), first_token_scores(pattern), np.asarray(induction, np.float32))


def heads_above(scores: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """The (layer, head) pairs whose score is above ``threshold``, layer by layer (NaN is never above)."""
    above = np.nan_to_num(scores, nan=-np.inf) > threshold
    return [(int(layer), int(head)) for layer, head in zip(*np.nonzero(above))]
