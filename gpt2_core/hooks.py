"""Hook points: how every intermediate value leaves the forward pass, and how a user changes one.

The forward pass calls ``hook(name, value)`` at each point listed in ``hook_names`` and carries
on with whatever comes back. ``Hooks`` decides what happens there: nothing (a plain forward),
keep a reference (a trace), or call user functions that may return a replacement (interventions).
Names follow TransformerLens (see the project's HOOKS.md).
"""

from __future__ import annotations

import difflib
from typing import Callable

import numpy as np

from .errors import HookError

LAYER_NORM_POINTS = ("hook_scale", "hook_normalized", "hook_out")
ATTENTION_POINTS = ("hook_q", "hook_k", "hook_v", "hook_attn_raw", "hook_attn_scores",
                    "hook_pattern", "hook_z", "hook_result")
OPTIONAL_POINTS = ("hook_result",)  # computed only when a hook or a trace asks for it

HookFunction = Callable[[np.ndarray], "np.ndarray | None"]


def block_hook_names(layer: int) -> list[str]:
    """The hook points of one transformer block, in the order the forward pass reaches them."""
    block = f"blocks.{layer}"
    return [
        f"{block}.hook_resid_pre",
        *(f"{block}.ln1.{point}" for point in LAYER_NORM_POINTS),
        *(f"{block}.attn.{point}" for point in ATTENTION_POINTS),
        f"{block}.hook_attn_out",
        f"{block}.hook_resid_mid",
        *(f"{block}.ln2.{point}" for point in LAYER_NORM_POINTS),
        f"{block}.mlp.hook_pre",
        f"{block}.mlp.hook_post",
        f"{block}.hook_mlp_out",
        f"{block}.hook_resid_post",
    ]


def hook_names(n_layer: int) -> list[str]:
    """Every hook point of an ``n_layer`` GPT-2, in forward order."""
    return [
        "hook_embed",
        "hook_pos_embed",
        *(name for layer in range(n_layer) for name in block_hook_names(layer)),
        *(f"ln_final.{point}" for point in LAYER_NORM_POINTS),
        "unembed.hook_logits",
    ]


def is_optional(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in OPTIONAL_POINTS


def check_hook_names(names, n_layer: int) -> None:
    """Raise a HookError naming each unknown point, with the closest valid names."""
    valid = hook_names(n_layer)
    valid_set = set(valid)
    for name in names:
        if not isinstance(name, str) or name not in valid_set:
            close = difflib.get_close_matches(str(name), valid, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise HookError(f"unknown hook point {name!r} for a {n_layer}-layer model{hint}")


class Hooks:
    """What happens at each hook point during one forward pass.

    ``record``: a dict that receives every value passed through (a trace), or None.
    ``functions``: {name: fn}; fn(value) may return a replacement of the same shape.
    ``optional``: optional points (``hook_result``) to compute even without a function there.
    """

    def __init__(self, functions: dict[str, HookFunction] | None = None,
                 record: dict[str, np.ndarray] | None = None, optional: set[str] | frozenset = frozenset(),
                 prefix: str = ""):
        self.functions = functions or {}
        self.record = record
        self.optional = set(optional) | {name for name in self.functions if is_optional(name)}
        self.prefix = prefix

    def at(self, scope: str) -> "Hooks":
        """The same hooks, seen from inside ``scope`` (e.g. ``blocks.3``): names become relative."""
        child = Hooks.__new__(Hooks)
        child.functions, child.record, child.optional = self.functions, self.record, self.optional
        child.prefix = f"{self.prefix}{scope}."
        return child

    def wants(self, name: str) -> bool:
        """Should the pass compute the optional point ``name``?"""
        return self.prefix + name in self.optional

    def __call__(self, name: str, value: np.ndarray) -> np.ndarray:
        full_name = self.prefix + name
        function = self.functions.get(full_name)
        if function is not None:
            replacement = function(value)
            if replacement is not None:
                value = _checked_replacement(full_name, value, replacement)
        if self.record is not None:
            self.record[full_name] = value
        return value


NO_HOOKS = Hooks()


def _checked_replacement(name: str, original: np.ndarray, replacement) -> np.ndarray:
    replacement = np.asarray(replacement)
    if replacement.shape != original.shape:
        raise HookError(f"hook at {name} returned shape {replacement.shape}, expected {original.shape}")
    return replacement.astype(original.dtype, copy=False)
