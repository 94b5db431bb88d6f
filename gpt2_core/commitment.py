"""Where the model commits to its answer: the logit lens at every position, and the first block whose top token is
already the final one.

The logit lens reads the residual stream after block ``L`` as the model reads its last one: final LayerNorm, then
the unembedding (lens.py does it for one position). Here it runs for every position at once, keeping only each
block's top-``k`` tokens, so that the cost is one product of ``[n_layer * pos, d]`` by ``[d, V]``, done a block at a
time (one ``[pos, V]`` block of logits in memory at once).

For position ``p``, the final top token is the last block's top token (the model's own prediction after ``p``);
the **commitment block** is the first block ``L`` whose top token is that token. It always exists (the last block
agrees with itself). The lens may agree at ``L``, change its mind and agree again later: **settled block** is
the first block from which every later block agrees. Ties go to the lower token id (``np.argmax``'s rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels
from .hooks import NO_HOOKS
from .model import layer_norm

MAX_POSITIONS = 32  # the last 32 tokens of a longer prompt: each one costs n_layer·d·V multiply-adds


@dataclass(frozen=True)
class LensTop:
    """The logit lens's top tokens at ``positions``: ``ids``, ``probabilities``, ``logits`` are
    ``[n_layer, n_positions, k]``, best first (``probabilities`` are each block's softmax over the whole
    vocabulary)."""

    positions: np.ndarray  # [n_positions]: indices into the trace's tokens
    ids: np.ndarray
    probabilities: np.ndarray
    logits: np.ndarray

    @property
    def top_ids(self) -> np.ndarray:  # [n_layer, n_positions]
        return self.ids[..., 0]


def lens_positions(n_tokens: int, max_positions: int = MAX_POSITIONS) -> np.ndarray:
    return np.arange(max(0, n_tokens - max_positions), n_tokens)


def lens_top_tokens(params: dict, config, trace, k: int = 5, max_positions: int = MAX_POSITIONS) -> LensTop:
    positions = lens_positions(trace.n_tokens, max_positions)
    eps = np.float32(config.layer_norm_epsilon)
    per_block = []
    for layer in range(config.n_layer):
        resid = trace[f"blocks.{layer}.hook_resid_post"][positions]  # [P, d]
        logits = kernels.matmul(layer_norm(resid, **params["ln_f"], eps=eps, hook=NO_HOOKS), params["lm_head"])  # [P, V]
        per_block.append(top_k(logits, k))
    ids, probabilities, logits = (np.stack(parts) for parts in zip(*per_block))  # [n_layer, P, k] each
    return LensTop(positions, ids, probabilities, logits)


def top_k(logits: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # [P, V] -> 3 × [P, k]
    """Each row's ``k`` largest logits, largest first (ties: lower id first), their ids and softmax probabilities."""
    k = min(k, logits.shape[-1])
    best = np.argpartition(-logits, k - 1, axis=-1)[:, :k]  # [P, k], unordered
    best_logits = np.take_along_axis(logits, best, axis=-1)
    order = np.lexsort((best, -best_logits), axis=-1)  # by logit, then by id
    ids = np.take_along_axis(best, order, axis=-1)
    top_logits = np.take_along_axis(best_logits, order, axis=-1)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_total = np.log(np.exp(shifted, dtype=np.float64).sum(axis=-1, keepdims=True))  # [P, 1]
    probabilities = np.exp(top_logits - logits.max(axis=-1, keepdims=True) - log_total)
    return ids, probabilities.astype(np.float32), top_logits


def commitment_blocks(top_ids: np.ndarray) -> np.ndarray:  # [n_layer, P] -> [P]
    """For each position, the first block whose top token equals the last block's."""
    return (top_ids == top_ids[-1]).argmax(axis=0)  # the last row always matches, so argmax finds a True


def settled_blocks(top_ids: np.ndarray) -> np.ndarray:  # [n_layer, P] -> [P]
    """For each position, the first block from which every later block's top token is the last block's."""
    differs = top_ids != top_ids[-1]  # [n_layer, P]
    n_layer = top_ids.shape[0]
    last_differing = n_layer - 1 - differs[::-1].argmax(axis=0)  # the last block that differs (where one does)
    return np.where(differs.any(axis=0), last_differing + 1, 0)
