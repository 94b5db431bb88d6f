"""Ready-made hook functions for common interventions, to pass to ``run_with_hooks``/``run_with_trace``.

Layers, heads and positions are counted from 0; a negative index is refused (it would silently pick
one from the end). Pass ``n_layer``/``n_head`` (``model.config``'s) to have every index checked when
the hooks are built; without them, each hook checks what it can see when it runs (the number of heads,
positions and the residual width), and ``run_with_hooks`` refuses a layer the model does not have.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import numpy as np

from .errors import HookError
from .hooks import HookFunction

RESIDUAL_POINTS = ("hook_resid_pre", "hook_resid_mid", "hook_resid_post", "hook_attn_out", "hook_mlp_out")  # [pos, d]


def index_range(count: int | None) -> str:
    return f"0..{count - 1}" if count else "0 or more"


def check_index(what: str, value, count: int | None, context: str) -> int:
    """``value`` as an int in 0..count-1 (or >= 0 when ``count`` is None), else a HookError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0 \
            or (count is not None and value >= count):
        raise HookError(f"{context}: {what} must be a whole number in {index_range(count)}, got {value!r}")
    return int(value)


def check_count(what: str, count) -> int | None:
    if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1):
        raise HookError(f"{what} must be a whole number >= 1 (the model config's), got {count!r}")
    return None if count is None else int(count)


def zero_ablate_heads(heads: Iterable[tuple[int, int]], *, n_layer: int | None = None,
                      n_head: int | None = None) -> dict[str, HookFunction]:
    """Hooks that silence attention heads: each (layer, head)'s weighted sum ``hook_z`` becomes zero,
    so that head adds nothing to the residual stream (c_proj's bias is still added, as in the model).

    ``n_layer``, ``n_head``: the model's, to refuse a pair outside it now rather than during the pass."""
    n_layer, n_head = check_count("n_layer", n_layer), check_count("n_head", n_head)
    if isinstance(heads, (str, bytes)) or not isinstance(heads, Iterable):
        raise HookError(f"heads must be a list of (layer, head) pairs, got {heads!r}")
    heads_by_layer: dict[int, list[int]] = defaultdict(list)
    for pair in heads:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable) or len(pair := tuple(pair)) != 2:
            raise HookError(f"each ablated head is a (layer, head) pair, got {pair!r}")
        context = f"cannot ablate head {pair!r}"
        layer = check_index("the layer", pair[0], n_layer, context)
        head = check_index("the head", pair[1], n_head, context)
        heads_by_layer[layer].append(head)

    def silence(layer: int, head_indices: list[int]) -> HookFunction:
        def hook(z: np.ndarray) -> np.ndarray:  # [pos, h, dh]
            if head_indices[-1] >= z.shape[1]:  # sorted: the last is the largest
                raise HookError(f"cannot ablate head {(layer, head_indices[-1])!r}: the head must be in "
                                f"{index_range(z.shape[1])} (this model has {z.shape[1]} heads per layer)")
            z = z.copy()
            z[:, head_indices, :] = 0
            return z
        return hook

    return {f"blocks.{layer}.attn.hook_z": silence(layer, sorted(set(indices)))
            for layer, indices in heads_by_layer.items()}


def patch_residual(layer: int, position: int, value: np.ndarray, point: str = "hook_resid_pre", *,
                   n_layer: int | None = None) -> dict[str, HookFunction]:
    """A hook that replaces the residual stream of one position at ``blocks.{layer}.{point}`` with ``value``
    (a vector of the model's width, ``n_embd``). ``point`` is one of ``RESIDUAL_POINTS``."""
    n_layer = check_count("n_layer", n_layer)
    context = f"cannot patch the residual stream at layer {layer!r}, position {position!r}"
    layer = check_index("the layer", layer, n_layer, context)
    position = check_index("the position", position, None, context)
    if point not in RESIDUAL_POINTS:
        raise HookError(f"{context}: point must be one of {', '.join(RESIDUAL_POINTS)}, got {point!r}")
    try:
        value = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise HookError(f"{context}: the value must be a vector of numbers, got {type(value).__name__}") from None
    if value.ndim != 1 or not np.all(np.isfinite(value)):
        raise HookError(f"{context}: the value must be one finite vector of the model's width (n_embd), "
                        f"got shape {value.shape}" + ("" if value.ndim != 1 else " with NaN or infinite values"))

    def hook(resid: np.ndarray) -> np.ndarray:  # [pos, d]
        if position >= resid.shape[0]:
            raise HookError(f"{context}: the position must be in {index_range(resid.shape[0])} "
                            f"(the prompt has {resid.shape[0]} tokens)")
        if value.shape != resid.shape[1:]:
            raise HookError(f"{context}: the value has shape {value.shape}, the residual stream's width is "
                            f"{resid.shape[1]} (expected shape ({resid.shape[1]},))")
        resid = resid.copy()
        resid[position] = value
        return resid
    return {f"blocks.{layer}.{point}": hook}
