"""The weight popovers: the product each draws (gpt2_core.weight_products, tested in tests/core) equals the trace's
hook; each step's frames draw it; updates swap it in place; and what is sent stays bounded even for a
vocabulary-wide matrix.
"""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.core.json_encoder import serialize_json
from bokeh.document import Document
from bokeh.models import Div, Paragraph
from weight_product_checks import assert_float32_equal, expected_hook

from transformer_explainer.gpt2_core import kernels
from transformer_explainer.gpt2_core.weight_products import KINDS, weight_product
from transformer_explainer.viz.popover import (MAX_IMAGE_COLS, MAX_IMAGE_ROWS, MAX_STRIP, WeightPopoverView,
                                               pooled_weights, strip_elements)


def popover(kind, trace, layer, position, params):
    """The popover of ``kind``, drawing the product gpt2_core computes, as the app builds it."""
    return WeightPopoverView(weight_product(kind, trace, layer, position, params), trace)


@pytest.mark.parametrize("kind", KINDS)
def test_the_product_equals_the_traces_hook(kind, tiny_model, trace):
    position = trace.n_tokens - 1 if kind == "output" else 2
    view = popover(kind, trace, 1, position, tiny_model.params)
    product = view.product
    assert_float32_equal(product.y, expected_hook(kind, trace, 1, position))
    assert_float32_equal(product.expected, expected_hook(kind, trace, 1, position))
    n_in, n_out = product.w.shape
    assert product.x.shape == (n_in,) and product.y.shape == (n_out,)
    if kind == "mlp_up":
        assert_float32_equal(product.post, trace["blocks.1.mlp.hook_post"][position])
    assert (product.b is None) == (kind == "output")  # GPT-2's unembedding has no bias


def test_each_steps_last_frame_draws_the_result(tiny_model, trace):
    view = popover("mlp_up", trace, 0, 3, tiny_model.params)
    y, post = view.drawn_at(0)
    assert np.isnan(y).all() and np.isnan(post).all()
    y, _ = view.drawn_at(view.last_frame_of(1))  # one output worked through: only y[0]
    assert y[0] == np.float32(view.product.y[0]) and np.isnan(y[1:]).all()
    y, post = view.drawn_at(view.last_frame_of(2))
    np.testing.assert_array_equal(y, view.product.y)
    assert_float32_equal(y, trace["blocks.0.mlp.hook_pre"][3])
    assert np.isnan(post).all()
    _, post = view.drawn_at(view.last_frame_of(3))
    assert_float32_equal(post, trace["blocks.0.mlp.hook_post"][3])


def test_frames_sum_every_row_then_fill_every_column(tiny_model, trace):
    view = popover("qkv", trace, 0, 1, tiny_model.params)
    frames, (n_in, n_out) = view.frames, view.product.w.shape
    steps = list(frames["step"])
    assert steps == sorted(steps) and set(steps) == {0, 1, 2}  # no GELU step but for mlp_up
    detail = [i for i, s in enumerate(steps) if s == 1]  # the rows of x and W summed a chunk at a time, then + b
    sums = detail[:-1]
    assert frames["lo"][sums[0]] == 0 and frames["hi"][sums[-1]] == n_in and 8 <= len(sums) <= 12
    assert all(frames["lo"][b] == frames["hi"][a] for a, b in zip(sums, sums[1:]))
    assert frames["bias"][detail[-1]] == 1 and not any(frames["bias"][i] for i in sums)
    columns = [i for i, s in enumerate(steps) if s == 2]
    assert frames["lo"][columns[0]] == 0 and frames["hi"][columns[-1]] == n_out
    assert all(frames["lo"][b] == frames["hi"][a] for a, b in zip(columns, columns[1:]))
    for i in columns:  # a band of columns at a time, in order
        y, _ = view.drawn_at(i)
        done = frames["hi"][i]
        np.testing.assert_array_equal(y[:done], view.product.y[:done])
        assert np.isnan(y[done:]).all()


def test_the_page_sources_hold_the_real_values(tiny_model, trace):
    view = popover("mlp_down", trace, 1, 0, tiny_model.params)
    product = view.product
    np.testing.assert_array_equal(view.sources["input-source"].data["image"][0][:, 0], trace["blocks.1.mlp.hook_post"][0])
    w = kernels.as_in_out(tiny_model.params["blocks"][1]["mlp"]["c_proj"]["w"])  # [256, 64]: two rows a pixel
    pairs = w.reshape(128, 2, 64)
    strongest = np.take_along_axis(pairs, np.abs(pairs).argmax(axis=1)[:, None, :], axis=1)[:, 0]
    np.testing.assert_array_equal(view.sources["weight-source"].data["image"][0], strongest)
    assert (view.block_rows, view.block_cols) == (2, 1)
    np.testing.assert_array_equal(view.sources["bias-source"].data["image"][0][0],
                                  tiny_model.params["blocks"][1]["mlp"]["c_proj"]["b"])
    np.testing.assert_array_equal(view.result.data["final"][0][0], product.y)
    assert np.isnan(view.result.data["image"][0]).all()  # the start: nothing computed yet
    np.testing.assert_array_equal(view.sources["inputs"].data["wcol"][0], product.w[:, 0])


def test_update_swaps_in_another_token_and_block(tiny_model, trace, longer_trace):
    view = popover("qkv", trace, 0, 1, tiny_model.params)
    view.player.slider.value = 5
    view.update(weight_product("qkv", longer_trace, 1, 7, tiny_model.params), longer_trace)
    assert_float32_equal(view.product.y, expected_hook("qkv", longer_trace, 1, 7))
    np.testing.assert_array_equal(view.result.data["final"][0][0], view.product.y)
    np.testing.assert_array_equal(view.sources["input-source"].data["image"][0][:, 0],
                                  longer_trace["blocks.1.ln1.hook_out"][7])
    assert view.player.slider.value == 0 and view.formatters["x"].args["pos"] == 7
    assert str(longer_trace.tokens[7]) in view.title.text and "block 1" in view.title.text
    assert any(tool.tooltips[0] == ("W", "blocks.1.attn.c_attn.w") for tool in view.figure.tools
               if getattr(tool, "tooltips", None))


def test_qkv_labels_the_three_thirds_by_head(tiny_model, trace):
    view = popover("qkv", trace, 0, 0, tiny_model.params)
    parts = view.sources["parts"].data
    d = trace.config.n_embd
    assert parts["left"] == [0, d, 2 * d] and parts["right"] == [d, 2 * d, 3 * d]
    assert parts["label"][0] == f"q: {trace.config.n_head} heads × {trace.config.d_head}"


def test_the_token_stays_text(tiny_model, hostile_trace, hostile_tokens):
    view = popover("mlp_up", hostile_trace, 0, 0, tiny_model.params)
    assert isinstance(view.title, Paragraph) and view.title.disable_math  # drawn with textContent
    assert hostile_tokens[0] in view.title.text
    document = Document()
    document.add_root(view.layout)
    html = " ".join(model.text for model in document.models if isinstance(model, Div))
    assert not any(token in html for token in hostile_tokens)


def test_pooling_keeps_each_blocks_strongest_weight():
    w = np.zeros((768, 2304), np.float32)
    w[5, 7], w[400, 2000], w[401, 2001] = 3.0, -2.0, 1.5
    pooled, rows, cols = pooled_weights(w)
    assert pooled.shape == (MAX_IMAGE_ROWS, MAX_IMAGE_COLS) and (rows, cols) == (4, 4)
    assert pooled[1, 1] == 3.0 and pooled[100, 500] == -2.0 and np.count_nonzero(pooled) == 2
    logits = np.arange(50257, dtype=np.float32) % 1000
    shown, starts, argmax, size = strip_elements(logits)
    assert shown.size <= MAX_STRIP and size == 13
    np.testing.assert_array_equal(shown, logits[argmax])
    assert all(start <= arg < start + size for start, arg in zip(starts, argmax))


@pytest.mark.parametrize("kind", KINDS)
def test_what_is_sent_stays_bounded_at_gpt2_small_shapes(kind, small_random_model):
    trace = small_random_model.run_with_trace(list(range(16)))
    params = small_random_model.params
    if kind == "output":  # GPT-2's whole vocabulary: a [768 × 50257] matrix, drawn pooled
        rng = np.random.default_rng(0)
        params = {**params, "lm_head": kernels.to_kernel_layout(
            rng.standard_normal((768, 50257), dtype=np.float32), kernels.IN_OUT)}
    view = popover(kind, trace, 1, 15, params)
    document = Document()
    document.add_root(view.layout)
    sent = len(serialize_json(document.to_json()))
    assert sent < 1_000_000, sent  # W as at most 192 × 576 float32 (base64), the vectors, ~60-90 frames
    image = view.sources["weight-source"].data["image"][0]
    assert image.shape[0] <= MAX_IMAGE_ROWS and image.shape[1] <= MAX_IMAGE_COLS
    assert view.result.data["final"][0].size <= MAX_STRIP and view.player.n_frames < 100
