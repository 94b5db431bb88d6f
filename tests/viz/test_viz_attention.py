"""Attention views: each step of one head, the concat and output projection, and the grid of every head."""

import numpy as np
import pytest

from transformer_explainer.viz.sections.attention import (AttentionHeadView, ConcatProjectionView, HeadGridView, THUMBNAIL_CELLS, thumbnail)


# -- one head ------------------------------------------------------------------------------------------------

def test_pattern_heatmap_for_every_layer_and_head_is_exactly_the_traced_pattern(trace):
    view = AttentionHeadView(trace, 0, 0)
    for layer in range(trace.config.n_layer):
        for head in range(trace.config.n_head):
            view.update(trace, layer, head)
            assert np.array_equal(view.pattern_source.data["image"][0],
                                  trace[f"blocks.{layer}.attn.hook_pattern"][head])


def test_head_view_shows_q_k_v_and_z_of_the_head(trace):
    view = AttentionHeadView(trace, 1, 2)
    for name in ("q", "k", "v", "z"):
        assert np.array_equal(view.heatmaps[name].values, trace[f"blocks.1.attn.hook_{name}"][:, 2])


def test_raw_scores_then_scaled_by_one_over_sqrt_d_head_then_masked(trace):
    view = AttentionHeadView(trace, 0, 3)
    raw, scaled = view.heatmaps["raw"].values, view.heatmaps["scaled"].values
    scores, mask = view.heatmaps["scores"].values, view.heatmaps["mask"].values
    assert np.array_equal(raw, trace["blocks.0.attn.hook_attn_raw"][3])
    np.testing.assert_allclose(scaled, raw / np.sqrt(trace.config.d_head), rtol=1e-6)
    assert np.array_equal(scores, trace["blocks.0.attn.hook_attn_scores"][3])
    visible = np.isfinite(scores)
    assert np.array_equal(scaled[visible], scores[visible]), "unmasked scores are the scaled scores, bit for bit"
    assert np.array_equal(scaled + mask, scores)


def test_the_causal_mask_is_minus_infinity_exactly_above_the_diagonal_and_marked(trace):
    view = AttentionHeadView(trace, 0, 0)
    n = trace.n_tokens
    above_diagonal = np.triu(np.ones((n, n), bool), k=1)
    for name in ("mask", "scores"):
        heatmap = view.heatmaps[name]
        assert np.array_equal(np.isneginf(heatmap.values), above_diagonal)
        assert np.array_equal(heatmap.mask_source.data["image"][0].astype(bool), above_diagonal)
    assert np.all(view.heatmaps["mask"].values[~above_diagonal] == 0)


def test_head_heatmaps_are_labelled_with_the_tokens(trace):
    heatmap = AttentionHeadView(trace, 0, 0).heatmaps["pattern"]
    labels = heatmap.figure.yaxis[0].major_label_overrides
    assert [labels[i + 0.5] for i in range(trace.n_tokens)] == trace.tokens
    assert heatmap.row_formatter.args["labels"] == [f"{i}: {t}" for i, t in enumerate(trace.tokens)]


def test_head_view_update_keeps_every_figure(trace, longer_trace):
    view = AttentionHeadView(trace, 0, 0)
    figures = {name: heatmap.figure for name, heatmap in view.heatmaps.items()}
    view.update(longer_trace, 1, 1)
    assert {name: heatmap.figure for name, heatmap in view.heatmaps.items()} == figures
    assert np.array_equal(view.pattern_source.data["image"][0], longer_trace["blocks.1.attn.hook_pattern"][1])


def test_head_view_refuses_a_head_the_layer_does_not_have(trace):
    with pytest.raises(IndexError, match="head"):
        AttentionHeadView(trace, 0, trace.config.n_head)


# -- concat and output projection ---------------------------------------------------------------------------

def test_concat_is_every_heads_z_side_by_side_with_a_band_per_head(trace):
    view = ConcatProjectionView(trace, 1)
    z = trace["blocks.1.attn.hook_z"]
    concat = view.concat.values
    d_head = trace.config.d_head
    for head in range(trace.config.n_head):
        assert np.array_equal(concat[:, head * d_head:(head + 1) * d_head], z[:, head])
    bands = view.head_band_source.data
    assert list(bands["left"]) == [h * d_head for h in range(trace.config.n_head)]
    assert len(set(bands["colour"])) == trace.config.n_head


def test_projection_shows_attn_out_and_each_heads_share_adds_up_to_it(trace):
    view = ConcatProjectionView(trace, 0, position=2)
    assert np.array_equal(view.attn_out.values, trace["blocks.0.hook_attn_out"])
    shares = view.shares.values  # heads..., bias, total
    n_head = trace.config.n_head
    assert np.array_equal(shares[:n_head], trace["blocks.0.attn.hook_result"][2])
    assert np.array_equal(shares[-1], trace["blocks.0.hook_attn_out"][2])
    np.testing.assert_allclose(shares[:n_head].sum(axis=0) + shares[n_head], shares[-1], atol=1e-5)
    np.testing.assert_allclose(view.share_norms.values,
                               np.linalg.norm(trace["blocks.0.attn.hook_result"], axis=-1), rtol=1e-6)
    assert view.shares.figure.visible


def test_without_head_results_the_shares_are_hidden(trace_without_head_results):
    view = ConcatProjectionView(trace_without_head_results, 0)
    assert not view.has_head_results
    assert not view.shares.figure.visible and not view.share_norms.figure.visible


def test_concat_update_follows_layer_and_position(trace, longer_trace):
    view = ConcatProjectionView(trace, 0)
    figure = view.concat.figure
    view.update(longer_trace, 1, position=3)
    assert view.concat.figure is figure
    assert np.array_equal(view.attn_out.values, longer_trace["blocks.1.hook_attn_out"])
    assert np.array_equal(view.shares.values[:trace.config.n_head], longer_trace["blocks.1.attn.hook_result"][3])


# -- the grid of every head -------------------------------------------------------------------------------

def test_grid_has_one_thumbnail_per_layer_and_head_in_one_figure(trace):
    view = HeadGridView(trace)
    data = view.thumbnail_source.data
    n_layer, n_head = trace.config.n_layer, trace.config.n_head
    assert len(data["image"]) == n_layer * n_head
    for image, layer, head in zip(data["image"], data["layer"], data["head"]):
        assert np.array_equal(image, trace[f"blocks.{layer}.attn.hook_pattern"][head])
    assert view.layout is view.figure


def test_ablated_heads_are_marked_in_the_grid(trace):
    view = HeadGridView(trace, ablated={(1, 2)})
    data = view.head_source.data
    marked = {(int(l), int(h)) for l, h, a in zip(data["layer"], data["head"], data["ablated"]) if a}
    assert marked == {(1, 2)}
    i = view.index(1, 2)
    assert data["mark"][i] == "✕" and data["fill_alpha"][i] > 0
    assert data["fill_alpha"][view.index(0, 0)] == 0
    view.set_ablated({(0, 1), (1, 3)})
    data = view.head_source.data
    assert {(int(l), int(h)) for l, h, a in zip(data["layer"], data["head"], data["ablated"]) if a} == {(0, 1), (1, 3)}


def test_tapping_a_head_selects_its_row(trace):
    view = HeadGridView(trace)
    view.head_source.selected.indices = [view.index(1, 3)]
    assert view.selected_head() == (1, 3)


def test_grid_update_replaces_the_thumbnails_in_place(trace, longer_trace):
    view = HeadGridView(trace)
    figure = view.figure
    view.update(longer_trace, ablated={(0, 0)})
    assert view.figure is figure
    assert np.array_equal(view.thumbnail_source.data["image"][0], longer_trace["blocks.0.attn.hook_pattern"][0])
    assert view.head_source.data["ablated"][view.index(0, 0)]


def test_long_prompts_are_max_pooled_in_the_thumbnails():
    pattern = np.zeros((200, 200), np.float32)
    pattern[150, 3] = 0.9
    small = thumbnail(pattern)
    assert small.shape == (THUMBNAIL_CELLS, THUMBNAIL_CELLS)
    assert small.max() == np.float32(0.9), "a strong weight survives the pooling"
