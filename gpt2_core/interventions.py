"""Ready-made hook functions for common interventions, to pass to ``run_with_hooks``/``run_with_trace``."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import numpy as np

from .hooks import HookFunction


def zero_ablate_heads(heads: Iterable[tuple[int, int]]) -> dict[str, HookFunction]:
    """Hooks that silence attention heads: each (layer, head)'s weighted sum ``hook_z`` becomes zero,
    so that head adds nothing to the residual stream (c_proj's bias is still added, as in the model)."""
    heads_by_layer: dict[int, list[int]] = defaultdict(list)
    for layer, head in heads:
        heads_by_layer[int(layer)].append(int(head))

    def silence(head_indices: list[int]) -> HookFunction:
        def hook(z: np.ndarray) -> np.ndarray:  # [pos, h, dh]
            z = z.copy()
            z[:, head_indices, :] = 0
            return z
        return hook

    return {f"blocks.{layer}.attn.hook_z": silence(sorted(set(indices))) for layer, indices in heads_by_layer.items()}


def patch_residual(layer: int, position: int, value: np.ndarray, point: str = "hook_resid_pre") -> dict[str, HookFunction]:
    """A hook that replaces the residual stream of one position at ``blocks.{layer}.{point}`` with ``value``."""
    def hook(resid: np.ndarray) -> np.ndarray:  # [pos, d]
        resid = resid.copy()
        resid[position] = value
        return resid
    return {f"blocks.{layer}.{point}": hook}
