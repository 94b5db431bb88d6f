"""Embedding, LayerNorm, MLP and residual views show the trace's own values."""

import numpy as np
import pytest

from transformer_explainer.gpt2_core.model import gelu
from transformer_explainer.viz.sections.embedding import EmbeddingView
from transformer_explainer.viz.sections.layer_norm import LayerNormView
from transformer_explainer.viz.sections.mlp import MlpView
from transformer_explainer.viz.sections.residual import ResidualView


# -- embedding ---------------------------------------------------------------------------------------------

def test_embedding_sum_equals_the_residual_stream_entering_block_0(trace):
    view = EmbeddingView(trace)
    shown_sum = view.sum_source.data["image"][0]
    assert np.array_equal(shown_sum, trace["blocks.0.hook_resid_pre"])
    assert np.array_equal(shown_sum, trace["hook_embed"] + trace["hook_pos_embed"])


def test_embedding_shows_the_token_and_position_embeddings(trace):
    view = EmbeddingView(trace)
    assert np.array_equal(view.token_embedding.values, trace["hook_embed"])
    assert np.array_equal(view.position_embedding.values, trace["hook_pos_embed"])


def test_tokenization_shows_each_tokens_display_string_and_id(trace):
    data = EmbeddingView(trace).token_source.data
    assert list(data["token"]) == trace.tokens
    assert list(data["token_id"]) == trace.token_ids
    assert list(data["position"]) == list(range(trace.n_tokens))


def test_embedding_update_changes_data_in_place(trace, longer_trace):
    view = EmbeddingView(trace)
    figures = (view.tokens_figure, view.embedding_sum.figure)
    view.update(longer_trace)
    assert (view.tokens_figure, view.embedding_sum.figure) == figures
    assert np.array_equal(view.sum_source.data["image"][0], longer_trace["blocks.0.hook_resid_pre"])
    assert list(view.token_source.data["token"]) == longer_trace.tokens


# -- LayerNorm ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer, which, input_name, prefix", [
    (0, "ln1", "blocks.0.hook_resid_pre", "blocks.0.ln1"),
    (1, "ln2", "blocks.1.hook_resid_mid", "blocks.1.ln2"),
    (None, "ln_final", "blocks.1.hook_resid_post", "ln_final"),
])
def test_layer_norm_shows_input_mean_scale_normalized_gamma_beta_output(trace, ln_weights, layer, which, input_name,
                                                                         prefix):
    gamma, beta = ln_weights(layer, which)
    view = LayerNormView(trace, layer, which, gamma, beta)
    shown = {name: heatmap.values for name, heatmap in view.heatmaps.items()}
    assert np.array_equal(shown["input"], trace[input_name])
    assert np.array_equal(shown["mean"], trace[input_name].mean(axis=-1, keepdims=True))
    assert np.array_equal(shown["scale"], trace[f"{prefix}.hook_scale"])
    assert np.array_equal(shown["normalized"], trace[f"{prefix}.hook_normalized"])
    assert np.array_equal(shown["gamma"][0], gamma) and np.array_equal(shown["beta"][0], beta)
    assert np.array_equal(shown["output"], trace[f"{prefix}.hook_out"])
    np.testing.assert_allclose(shown["normalized"] * gamma + beta, shown["output"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose((shown["input"] - shown["mean"]) / shown["scale"], shown["normalized"], atol=1e-5)


def test_layer_norm_update_switches_layer_and_kind_in_place(trace, ln_weights):
    view = LayerNormView(trace, 0, "ln1", *ln_weights(0, "ln1"))
    figure = view.heatmaps["output"].figure
    view.update(trace, 1, "ln2", *ln_weights(1, "ln2"))
    assert view.heatmaps["output"].figure is figure
    assert np.array_equal(view.source("output").data["image"][0], trace["blocks.1.ln2.hook_out"])


def test_layer_norm_refuses_an_unknown_kind(trace, ln_weights):
    with pytest.raises(ValueError, match="ln1"):
        LayerNormView(trace, 0, "ln3", *ln_weights(0, "ln1"))


# -- MLP -------------------------------------------------------------------------------------------------------

def test_mlp_shows_pre_post_and_output_of_the_block(trace):
    view = MlpView(trace, 1, 2)
    assert np.array_equal(view.heatmaps["input"].values, trace["blocks.1.ln2.hook_out"])
    assert np.array_equal(view.heatmaps["pre"].values, trace["blocks.1.mlp.hook_pre"])
    assert np.array_equal(view.heatmaps["post"].values, trace["blocks.1.mlp.hook_post"])
    assert np.array_equal(view.heatmaps["output"].values, trace["blocks.1.hook_mlp_out"])
    assert trace["blocks.1.mlp.hook_pre"].shape[1] == 4 * trace.config.n_embd


def test_gelu_points_are_the_real_values_of_the_chosen_position_and_lie_on_the_curve(trace):
    view = MlpView(trace, 0, 3)
    points = view.gelu_points_source.data
    assert np.array_equal(points["pre"], trace["blocks.0.mlp.hook_pre"][3])
    assert np.array_equal(points["post"], trace["blocks.0.mlp.hook_post"][3])
    np.testing.assert_allclose(gelu(points["pre"]), points["post"], rtol=1e-6)
    curve = view.gelu_curve_source.data
    assert np.array_equal(curve["y"], gelu(curve["x"]))
    assert curve["x"].min() <= points["pre"].min() and curve["x"].max() >= points["pre"].max()


def test_mlp_outlines_the_chosen_position_and_moves_it_on_update(trace):
    view = MlpView(trace, 0, 1)
    assert view.heatmaps["pre"].outline.top == 1
    view.update(trace, 1, -1)
    assert view.heatmaps["pre"].outline.top == trace.n_tokens - 1
    assert np.array_equal(view.gelu_points_source.data["pre"], trace["blocks.1.mlp.hook_pre"][-1])


# -- residual ----------------------------------------------------------------------------------------------

def test_residual_rows_are_pre_attn_mid_mlp_post_of_one_position(trace):
    view = ResidualView(trace, 1, 2)
    rows = view.source.data["image"][0]
    block = "blocks.1"
    for row, name in zip(rows, ("hook_resid_pre", "hook_attn_out", "hook_resid_mid", "hook_mlp_out",
                                "hook_resid_post")):
        assert np.array_equal(row, trace[f"{block}.{name}"][2])
    assert np.array_equal(rows[0] + rows[1], rows[2]), "resid_pre + attn_out = resid_mid"
    assert np.array_equal(rows[2] + rows[3], rows[4]), "resid_mid + mlp_out = resid_post"


def test_residual_lengths_are_the_norms_of_the_rows(trace):
    view = ResidualView(trace, 0)
    rows = view.source.data["image"][0]
    np.testing.assert_allclose(view.norm_source.data["norm"], np.linalg.norm(rows.astype(np.float64), axis=1))


def test_residual_refuses_a_position_outside_the_prompt(trace):
    with pytest.raises(IndexError, match="position"):
        ResidualView(trace, 0, trace.n_tokens)


def test_a_long_prompt_shows_its_first_and_last_tokens_as_chips_and_every_token_in_the_strips(trace):
    from transformer_explainer.gpt2_core import Trace
    from transformer_explainer.viz.sections.embedding import MAX_CHIPS
    n = 150
    arrays = {name: np.resize(trace[name], (n, *trace[name].shape[1:])) for name in
              ("hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre")}
    long_trace = Trace(arrays, list(range(n)), [f"t{i}" for i in range(n)], trace.config)
    view = EmbeddingView(long_trace)
    positions = list(view.token_source.data["position"])
    assert len(positions) == MAX_CHIPS and -1 in positions
    assert positions[0] == 0 and positions[-1] == n - 1
    assert "more" in view.token_source.data["label"][positions.index(-1)]
    assert view.sum_source.data["image"][0].shape[0] == n
