"""One token's vector times one of the model's weight matrices: the products the weight popovers animate.

For the token at ``position`` of a ``Trace`` and the model's parameters (``GPT2.params``, in the kernel's layout):

- ``qkv``:      ``ln1.hook_out[pos] · c_attn.w + c_attn.b`` = ``[q | k | v]`` (``attn.hook_q/k/v[pos]``, every head)
- ``mlp_up``:   ``ln2.hook_out[pos] · c_fc.w + c_fc.b`` = ``mlp.hook_pre[pos]``; GELU of it = ``mlp.hook_post[pos]``
- ``mlp_down``: ``mlp.hook_post[pos] · mlp.c_proj.w + mlp.c_proj.b`` = ``hook_mlp_out[pos]``
- ``output``:   ``ln_final.hook_out[pos] · wteᵀ`` = ``unembed.hook_logits[pos]`` (GPT-2's unembedding has no bias)

Each product is computed as the forward pass computes it (``model.linear``, ``kernels.matmul``), so ``y`` equals the
trace's hook to float32 rounding: a weight read in the wrong layout would not.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from . import kernels
from .model import gelu, linear
from .trace import Trace

KINDS = ("qkv", "mlp_up", "mlp_down", "output")


@dataclass(frozen=True)
class WeightProduct:
    """``y = x · w (+ b)`` for one token, with the name of each part (a hook or a parameter). ``expected``: the trace's
    value ``y`` must equal (None where the trace does not keep it: the logits of an earlier position)."""
    kind: str
    layer: int | None  # None for the output
    position: int
    x: np.ndarray  # [n_in]
    w: np.ndarray  # [n_in, n_out]: a view of the kernel-layout weight
    b: np.ndarray | None  # [n_out]; None: no bias
    y: np.ndarray  # [n_out]
    expected: np.ndarray | None  # [n_out]
    x_name: str
    w_name: str
    b_name: str | None
    y_name: str
    post: np.ndarray | None = None  # mlp_up: GELU(y) [n_out]
    expected_post: np.ndarray | None = None  # mlp_up: mlp.hook_post[pos] [n_out]
    post_name: str | None = None

    @property
    def hook_text(self) -> str:
        """The hook(s) y is, as a reader would look them up."""
        return f"{self.y_name}.hook_q, hook_k, hook_v" if self.kind == "qkv" else self.y_name

    @property
    def shape_text(self) -> str:
        n_in, n_out = self.w.shape
        bias = f" + [{n_out:,}]" if self.b is not None else ""
        return f"[1 × {n_in:,}] · [{n_in:,} × {n_out:,}]{bias} = [1 × {n_out:,}]"


def weight_product(kind: str, trace: Trace, layer: int | None, position: int | None,
                   params: Mapping) -> WeightProduct:
    """The product of ``kind`` (one of ``KINDS``) for the token at ``position`` (None or -1: the last) in block
    ``layer`` (ignored for the output)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    pos = token_position(position, trace.n_tokens)
    if kind == "output":
        return output_product(trace, pos, params["lm_head"])
    layer = block_index(layer, trace.config.n_layer)
    return BLOCK_PRODUCTS[kind](trace, layer, pos, params["blocks"][layer])


def qkv_product(trace: Trace, layer: int, pos: int, block: Mapping) -> WeightProduct:  # [d] -> [3d]
    name = f"blocks.{layer}"
    expected = np.concatenate([trace[f"{name}.attn.hook_{part}"][pos].ravel() for part in "qkv"])  # [3 * h * dh]
    return linear_product("qkv", layer, pos, trace, f"{name}.ln1.hook_out", block["attn"]["c_attn"],
                          f"{name}.attn.c_attn", f"{name}.attn", expected)


def mlp_up_product(trace: Trace, layer: int, pos: int, block: Mapping) -> WeightProduct:  # [d] -> [4d]
    name = f"blocks.{layer}"
    product = linear_product("mlp_up", layer, pos, trace, f"{name}.ln2.hook_out", block["mlp"]["c_fc"],
                             f"{name}.mlp.c_fc", f"{name}.mlp.hook_pre", trace[f"{name}.mlp.hook_pre"][pos])
    return replace(product, post=gelu(product.y), expected_post=trace[f"{name}.mlp.hook_post"][pos],
                   post_name=f"{name}.mlp.hook_post")


def mlp_down_product(trace: Trace, layer: int, pos: int, block: Mapping) -> WeightProduct:  # [4d] -> [d]
    name = f"blocks.{layer}"
    return linear_product("mlp_down", layer, pos, trace, f"{name}.mlp.hook_post", block["mlp"]["c_proj"],
                          f"{name}.mlp.c_proj", f"{name}.hook_mlp_out", trace[f"{name}.hook_mlp_out"][pos])


BLOCK_PRODUCTS = {"qkv": qkv_product, "mlp_up": mlp_up_product, "mlp_down": mlp_down_product}


def linear_product(kind: str, layer: int, pos: int, trace: Trace, x_name: str, weights: Mapping, weights_name: str,
                   y_name: str, expected: np.ndarray) -> WeightProduct:
    """``trace[x_name][pos]`` through the linear layer ``weights`` (its ``w`` and ``b``)."""
    x = trace[x_name][pos]  # [n_in]
    y = linear(x[None, :], **weights)[0]  # [1, n_in] -> [1, n_out] -> [n_out]
    return WeightProduct(kind, layer, pos, x, kernels.as_in_out(weights["w"]), weights["b"], y, expected,
                         x_name, f"{weights_name}.w", f"{weights_name}.b", y_name)


def output_product(trace: Trace, pos: int, lm_head: np.ndarray) -> WeightProduct:  # [d] -> [V]
    x = trace["ln_final.hook_out"][pos]  # [d]
    y = kernels.matmul(x[None, :], lm_head)[0]  # [1, d] -> [1, V] -> [V]
    logits = trace["unembed.hook_logits"]  # [n, V], or [1, V]: the last position's only
    last = trace.n_tokens - 1
    expected = logits[pos] if logits.shape[0] == trace.n_tokens else (logits[-1] if pos == last else None)
    return WeightProduct("output", None, pos, x, kernels.as_in_out(lm_head), None, y, expected,
                         "ln_final.hook_out", "lm_head", None, "unembed.hook_logits")


def token_position(position: int | None, n_tokens: int) -> int:
    """A token position, Python style (None = the last token, -1 = the last)."""
    position = n_tokens - 1 if position is None else int(position)
    if position < 0:
        position += n_tokens
    if not 0 <= position < n_tokens:
        raise IndexError(f"position {position} is outside the prompt's {n_tokens} tokens")
    return position


def block_index(layer: int | None, n_layer: int) -> int:
    if layer is None or not 0 <= int(layer) < n_layer:
        raise IndexError(f"layer {layer} is outside the model's {n_layer} blocks (0..{n_layer - 1})")
    return int(layer)
