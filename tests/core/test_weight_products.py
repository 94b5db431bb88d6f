"""The weight products the popovers draw: computed from the model's weights, each equals the trace's hook (to float32
rounding: a weight read in the wrong layout would not), in both kernel layouts, and names the hooks it is."""

from __future__ import annotations

import numpy as np
import pytest
from weight_product_checks import assert_float32_equal, expected_hook

from transformer_explainer.gpt2_core import kernels, load_model
from transformer_explainer.gpt2_core.weight_products import KINDS, weight_product

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def trace(tiny_model):
    return tiny_model.run_with_trace(PROMPT)


@pytest.mark.parametrize("kind", KINDS)
def test_y_equals_the_traces_hook_and_x_is_the_hook_it_names(kind, tiny_model, trace):
    position = trace.n_tokens - 1 if kind == "output" else 2
    product = weight_product(kind, trace, 1, position, tiny_model.params)
    assert_float32_equal(product.y, expected_hook(kind, trace, 1, position))
    np.testing.assert_array_equal(product.expected, expected_hook(kind, trace, 1, position))
    np.testing.assert_array_equal(product.x, trace[product.x_name][position])
    n_in, n_out = product.w.shape
    assert product.x.shape == (n_in,) and product.y.shape == (n_out,)
    assert product.y.dtype == np.float32 and product.w.dtype == np.float32
    np.testing.assert_allclose(product.x @ product.w + (0 if product.b is None else product.b), product.y,
                               rtol=1e-4, atol=1e-4 * float(np.abs(product.y).max()))
    assert (product.b is None) == (kind == "output")  # GPT-2's unembedding has no bias
    assert product.position == position and product.layer == (None if kind == "output" else 1)


def test_mlp_up_carries_gelu_of_y_which_is_the_traces_hook_post(tiny_model, trace):
    product = weight_product("mlp_up", trace, 0, 3, tiny_model.params)
    assert product.post_name == "blocks.0.mlp.hook_post"
    assert_float32_equal(product.post, trace["blocks.0.mlp.hook_post"][3])
    np.testing.assert_array_equal(product.expected_post, trace["blocks.0.mlp.hook_post"][3])
    assert weight_product("mlp_down", trace, 0, 3, tiny_model.params).post is None


def test_w_is_the_named_parameter_as_in_by_out(tiny_model, trace):
    product = weight_product("mlp_down", trace, 1, 0, tiny_model.params)
    params = tiny_model.params["blocks"][1]["mlp"]["c_proj"]
    assert (product.x_name, product.w_name, product.b_name, product.y_name) == (
        "blocks.1.mlp.hook_post", "blocks.1.mlp.c_proj.w", "blocks.1.mlp.c_proj.b", "blocks.1.hook_mlp_out")
    np.testing.assert_array_equal(product.w, kernels.as_in_out(params["w"]))
    assert product.w.shape == (4 * 64, 64)
    assert product.shape_text == "[1 × 256] · [256 × 64] + [64] = [1 × 64]"
    qkv = weight_product("qkv", trace, 0, 0, tiny_model.params)
    assert qkv.hook_text == "blocks.0.attn.hook_q, hook_k, hook_v" and qkv.w.shape == (64, 3 * 64)


@pytest.mark.parametrize("kind", KINDS)
def test_the_product_is_right_in_the_pyodide_kernels_weight_layout(kind, tiny_checkpoint, monkeypatch):
    """The einsum kernel stores weights [out, in]: the product must read them through as_in_out."""
    monkeypatch.setattr(kernels, "kernel", kernels.EinsumKernel)
    model = load_model(tiny_checkpoint)
    assert model.params["blocks"][0]["mlp"]["c_fc"]["w"].shape == (4 * 64, 64)
    trace = model.run_with_trace("The capital of France is", all_logits=True)
    product = weight_product(kind, trace, 0, 1, model.params)
    assert_float32_equal(product.y, expected_hook(kind, trace, 0, 1))


def test_output_logits_of_an_earlier_position_need_a_trace_that_kept_them(tiny_model, trace):
    assert weight_product("output", trace, None, 1, tiny_model.params).expected is None
    full = tiny_model.run_with_trace(trace.token_ids, all_logits=True)
    product = weight_product("output", full, None, 1, tiny_model.params)
    assert_float32_equal(product.y, full["unembed.hook_logits"][1])


def test_positions_count_from_the_end_like_python(tiny_model, trace):
    last = weight_product("mlp_down", trace, 0, None, tiny_model.params)
    assert last.position == trace.n_tokens - 1 == weight_product("mlp_down", trace, 0, -1, tiny_model.params).position


def test_bad_arguments_are_refused(tiny_model, trace):
    with pytest.raises(ValueError, match="kind"):
        weight_product("mlp", trace, 0, 0, tiny_model.params)
    with pytest.raises(IndexError, match="position 99"):
        weight_product("qkv", trace, 0, 99, tiny_model.params)
    with pytest.raises(IndexError, match="layer 5"):
        weight_product("qkv", trace, 5, 0, tiny_model.params)
    with pytest.raises(IndexError, match="layer None"):
        weight_product("qkv", trace, None, 0, tiny_model.params)
