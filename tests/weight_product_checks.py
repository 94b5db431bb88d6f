"""What a weight product must equal, read straight from the trace's hooks (tests/core/test_weight_products.py and
tests/viz/test_popover.py check gpt2_core's products and the popovers that draw them against it)."""

from __future__ import annotations

import numpy as np


def expected_hook(kind, trace, layer, position):
    name = f"blocks.{layer}"
    if kind == "qkv":
        return np.concatenate([trace[f"{name}.attn.hook_{part}"][position].ravel() for part in "qkv"])
    if kind == "mlp_up":
        return trace[f"{name}.mlp.hook_pre"][position]
    if kind == "mlp_down":
        return trace[f"{name}.hook_mlp_out"][position]
    return trace["unembed.hook_logits"][position if trace.all_logits else -1]


def assert_float32_equal(actual, expected):
    """Equal up to float32 rounding of a sum of d products (a gemv against the model's gemm)."""
    expected = np.asarray(expected, np.float32)
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=2e-5 * float(np.abs(expected).max()))
