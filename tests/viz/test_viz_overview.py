"""The overview flow: tokens → embedding → blocks → logits → next tokens, tappable stages, highlighted paths."""

import numpy as np
import pytest
from bokeh.models import CustomJS, HoverTool, TapTool

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.viz.common import SAMPLED_COLOUR
from transformer_explainer.viz.sections.overview import OverviewView


@pytest.fixture(scope="module")
def probabilities(trace):
    return sampling.probabilities(trace.logits, 1.0)


def test_collapsed_overview_has_one_node_for_all_blocks(trace, probabilities, display):
    view = OverviewView(trace, probabilities, None, display)
    stages = list(view.stage_source.data["stage"])
    assert stages == ["embedding", "block", "output"]
    assert view.stage_source.data["label"][1] == f"× {trace.config.n_layer}\nblocks"


def test_expanded_overview_has_attention_and_mlp_nodes_per_block(trace, probabilities, display):
    view = OverviewView(trace, probabilities, None, display, expanded=True)
    data = view.stage_source.data
    n_layer = trace.config.n_layer
    for stage in ("block", "attention", "mlp"):
        assert sorted(int(l) for s, l in zip(data["stage"], data["layer"]) if s == stage) == list(range(n_layer))


def test_stages_are_tappable_through_stage_source(trace, probabilities, display):
    view = OverviewView(trace, probabilities, None, display)
    tap = view.figure.select_one(TapTool)
    assert any(renderer.data_source is view.stage_source for renderer in tap.renderers)
    view.stage_source.selected.indices = [1]
    assert view.stage_source.data["stage"][view.stage_source.selected.indices[0]] == "block"


def test_token_nodes_show_the_prompt(trace, probabilities, display):
    data = OverviewView(trace, probabilities, None, display).token_source.data
    assert list(data["token"]) == trace.tokens
    assert list(data["token_id"]) == trace.token_ids


def test_next_token_nodes_are_the_most_likely_tokens_with_their_probabilities(trace, probabilities, display):
    view = OverviewView(trace, probabilities, None, display, n_top=5)
    data = view.probability_source.data
    top = np.argsort(-probabilities, kind="stable")[:5]
    assert list(data["token_id"][:5]) == list(top)
    assert np.array_equal(data["probability"][:5], probabilities[top])
    shown = data["token_id"] != -2  # -2: invisible padding rows
    assert data["token_id"][shown][-1] == -1, "the rest of the vocabulary is one node"
    assert data["probability"].sum() == pytest.approx(1.0)


def test_the_sampled_token_is_highlighted_and_update_probabilities_changes_it(trace, probabilities, display):
    top = np.argsort(-probabilities, kind="stable")
    view = OverviewView(trace, probabilities, int(top[1]), display)
    data = view.probability_source.data
    assert data["colour"][1] == SAMPLED_COLOUR and data["is_sampled"][1]
    source = view.probability_source
    view.update_probabilities(sampling.probabilities(trace.logits, 0.0), int(top[0]))
    assert view.probability_source is source
    assert source.data["is_sampled"][0] and source.data["probability"][0] == 1.0


def test_hovering_a_token_runs_a_callback_that_highlights_its_ribbons(trace, probabilities, display):
    view = OverviewView(trace, probabilities, None, display)
    hovers = [tool for tool in view.figure.select(HoverTool) if tool.callback is not None]
    assert len(hovers) == 1 and hovers[0].renderers[0].data_source is view.token_source
    callback = hovers[0].callback
    assert isinstance(callback, CustomJS)
    assert callback.args["streams"] is view.ribbon_source and callback.args["flows"] is view.flow_source
    slots = set(view.ribbon_source.data["slot"]) - {-1}  # -1: empty padding rows
    assert slots == set(range(trace.n_tokens)), "every token has its own ribbons"
    assert set(view.flow_source.data["slot"]) - {-1} == {trace.n_tokens - 1}, \
        "only the last token's path reaches the output"


def test_ribbon_sources_keep_their_number_of_rows_so_the_browser_never_reads_past_a_column(
        trace, longer_trace, probabilities, display):
    view = OverviewView(trace, probabilities, None, display)
    sources = {"streams": view.ribbon_source, "flows": view.flow_source, "nodes": view.probability_source}
    rows = {name: len(source.data["token_id" if name == "nodes" else "xs"]) for name, source in sources.items()}
    view.update(longer_trace, sampling.probabilities(longer_trace.logits), None, expanded=True)
    view.update_probabilities(sampling.probabilities(longer_trace.logits, 5.0), 3)  # 3: far from the top 5
    for name, source in sources.items():
        assert {len(column) for column in source.data.values()} == {rows[name]}, name
    assert np.any(np.asarray(view.ribbon_source.data["slot"]) == -1)
    for source in (view.ribbon_source, view.flow_source):
        padding = np.asarray(source.data["slot"]) == -1
        assert all(np.isnan(xs).all() for xs, pad in zip(source.data["xs"], padding) if pad)
        assert np.all(np.asarray(source.data["fill_alpha"])[padding] == 0)
    nodes = view.probability_source.data
    assert 3 in nodes["token_id"] and nodes["is_sampled"][list(nodes["token_id"]).index(3)]


def test_update_keeps_the_figure_and_switches_expansion(trace, longer_trace, probabilities, display):
    view = OverviewView(trace, probabilities, None, display)
    figure = view.figure
    view.update(longer_trace, sampling.probabilities(longer_trace.logits), None, expanded=True)
    assert view.figure is figure
    assert "attention" in view.stage_source.data["stage"]
    shown = [p for p in view.token_source.data["position"] if p >= 0]
    assert [view.token_source.data["token"][i] for i, p in enumerate(view.token_source.data["position"]) if p >= 0] \
        == [longer_trace.tokens[p] for p in shown]
    assert shown[-1] == longer_trace.n_tokens - 1


def test_long_prompts_show_their_last_tokens_and_one_node_for_the_rest(longer_trace, display):
    probabilities = sampling.probabilities(longer_trace.logits)
    view = OverviewView(longer_trace, probabilities, None, display, max_tokens=6)
    data = view.token_source.data
    assert data["position"][0] == -1 and data["token"][0] == f"+{longer_trace.n_tokens - 6} earlier"
    assert list(data["position"][1:]) == list(range(longer_trace.n_tokens - 6, longer_trace.n_tokens))
