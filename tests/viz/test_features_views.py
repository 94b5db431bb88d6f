"""The views of heads labelled by measurement, the commitment strip and two prompts side by side: what their
sources hold equals the scores, the commitment blocks and the aligned probabilities computed from the trace."""

import numpy as np
import pytest
from bokeh.models import HoverTool, TapTool

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.gpt2_core.commitment import lens_top_tokens
from transformer_explainer.gpt2_core.comparison import aligned_probabilities
from transformer_explainer.gpt2_core.head_scores import head_scores, heads_above
from transformer_explainer.viz.sections.attention import ROLE_MARK_MIN, HeadGridView
from transformer_explainer.viz.sections.compare import ComparisonView, PatternPairView
from transformer_explainer.viz.sections.logit_lens import CommitmentStripView, LogitLensView


@pytest.fixture(scope="module")
def scores(trace):
    induction = np.array([[0.05, 0.8, 0.1, 0.2], [0.45, 0.0, 0.6, 0.31]], np.float32)
    return head_scores(trace, induction)


def hover_fields(plot) -> list[str]:
    return [field for tool in plot.tools if isinstance(tool, HoverTool) for _, field in tool.tooltips]


# -- heads ------------------------------------------------------------------------------------------------------

def test_the_grid_holds_every_heads_three_scores_and_shows_them_on_hover(trace, scores):
    view = HeadGridView(trace, scores=scores)
    data = view.head_source.data
    for role in ("previous", "first", "induction"):
        for row, (layer, head) in enumerate(zip(data["layer"], data["head"])):
            assert data[f"{role}_score"][row] == pytest.approx(float(scores[role][layer, head]))
            assert data[f"{role}_text"][row] == f"{scores[role][layer, head]:.3f}"
    assert {"@previous_text", "@first_text", "@induction_text", "@role"} <= set(hover_fields(view.figure))


def test_each_head_is_marked_with_its_strongest_role_when_that_score_is_high_enough(trace, scores):
    view = HeadGridView(trace, scores=scores)
    data = view.head_source.data
    marks = {"previous": "P", "first": "F", "induction": "I"}
    for row, (layer, head) in enumerate(zip(data["layer"], data["head"])):
        best = max(("previous", "first", "induction"), key=lambda role: scores[role][layer, head])
        if scores[best][layer, head] >= ROLE_MARK_MIN:
            assert data["role_mark"][row] == marks[best] and data["role_mark_alpha"][row] > 0
        else:
            assert data["role_mark"][row] == "" and data["role_mark_alpha"][row] == 0
    assert data["role_mark"][1] == "I"  # layer 0 head 1: induction 0.8 beats the rest


def test_the_filter_outlines_exactly_the_heads_above_the_threshold(trace, scores):
    view = HeadGridView(trace, scores=scores)
    assert view.highlighted_heads() == [] and not any(view.head_source.data["highlighted"])
    for role, threshold in (("induction", 0.3), ("previous", 0.2), ("first", 0.0), ("induction", 0.8)):
        shown = view.show_heads(role, threshold)
        expected = [(layer, head) for layer in range(2) for head in range(4) if scores[role][layer, head] > threshold]
        assert shown == expected == heads_above(scores[role], threshold)
        data = view.head_source.data
        outlined = [(int(l), int(h)) for l, h, a in zip(data["layer"], data["head"], data["highlight_alpha"]) if a > 0]
        assert outlined == expected
    assert view.show_heads("induction", 0.3) == [(0, 1), (1, 0), (1, 2), (1, 3)]
    assert view.show_heads(None) == [] and not any(view.head_source.data["highlighted"])
    with pytest.raises(ValueError, match="previous, first, induction"):
        view.show_heads("copying", 0.5)


def test_the_filter_and_the_ablation_marks_survive_a_new_prompt(trace, longer_trace, scores, tiny_model):
    view = HeadGridView(trace, ablated={(0, 1)}, scores=scores)
    view.show_heads("previous", 0.25)
    new_scores = head_scores(longer_trace, scores.induction)
    view.update(longer_trace, scores=new_scores)
    assert view.highlighted_heads() == heads_above(new_scores.previous, 0.25)
    data = view.head_source.data
    assert [bool(a) for a in data["ablated"]] == [i == 1 for i in range(8)]
    assert data["previous_score"][0] == pytest.approx(float(new_scores.previous[0, 0]))


def test_a_grid_without_scores_is_as_before(trace):
    view = HeadGridView(trace)
    assert view.show_heads("previous", 0.0) == [] and set(view.head_source.data["role_mark"]) == {""}
    assert "@previous_text" not in hover_fields(view.figure)


# -- the commitment strip ---------------------------------------------------------------------------------------

def test_the_strip_holds_each_positions_first_agreeing_block(tiny_model, longer_trace, display):
    top = lens_top_tokens(tiny_model.params, tiny_model.config, longer_trace)
    strip = CommitmentStripView(top, longer_trace.tokens, display, selected=3)
    data = strip.source.data
    assert list(data["position"]) == list(range(longer_trace.n_tokens))
    for p in range(longer_trace.n_tokens):
        argmax = [int(np.argmax(row)) for row in tiny_model.logit_lens(longer_trace, p)]
        assert data["block"][p] == argmax.index(argmax[-1])
        assert data["settled"][p] == min(L for L in range(len(argmax)) if set(argmax[L:]) == {argmax[-1]})
        assert data["final_token"][p] == display(argmax[-1]) and data["token"][p] == longer_trace.tokens[p]
    assert list(data["selected_alpha"]).index(1.0) == 3 and sum(data["selected_alpha"]) == 1
    strip.select(5)
    assert list(strip.source.data["selected_alpha"]).index(1.0) == 5 and sum(strip.source.data["selected_alpha"]) == 1
    assert any(isinstance(tool, TapTool) for tool in strip.figure.tools)
    assert "(the last" not in strip.figure.title.text


def test_a_long_prompts_strip_says_it_shows_the_last_tokens(tiny_model, display):
    trace = tiny_model.run_with_trace(list(range(10, 50)))
    top = lens_top_tokens(tiny_model.params, tiny_model.config, trace)
    strip = CommitmentStripView(top, trace.tokens, display)
    assert list(strip.source.data["position"]) == list(range(8, 40))
    assert "(the last 32 of 40 tokens)" in strip.figure.title.text


def test_the_lens_outlines_one_block(lens_for, trace, display):
    view = LogitLensView(lens_for(trace), display, trace.tokens)
    assert view.marked_source.data["layer"] == []
    view.mark_block(1)
    assert view.marked_source.data["layer"] == [1] and view.marked_source.data["y"] == [1.5]


# -- two prompts ------------------------------------------------------------------------------------------------

def test_the_comparison_shows_the_aligned_probabilities_sorted_by_their_difference(tiny_model, display):
    first = sampling.probabilities(tiny_model.run_with_trace("The Eiffel Tower is in").logits, 0.8)
    second = sampling.probabilities(tiny_model.run_with_trace("The Colosseum is in").logits, 0.8)
    aligned = aligned_probabilities(first, second, k=10)
    view = ComparisonView(aligned, display, "temperature 0.8")
    data = view.source.data
    union = set(np.argsort(-first)[:10]) | set(np.argsort(-second)[:10])
    assert set(data["token_id"].tolist()) == {int(i) for i in union}
    for row, token_id in enumerate(data["token_id"]):
        assert data["first"][row] == first[token_id] and data["second"][row] == second[token_id]
        assert data["difference"][row] == pytest.approx(first[token_id] - second[token_id], abs=0)
        assert data["token"][row] == display(int(token_id))
    assert list(data["difference"]) == sorted(data["difference"], reverse=True)
    assert data["difference_text"][0].startswith("+") and data["difference_text"][-1].startswith("-")
    assert view.settings_title.text == "temperature 0.8"
    assert view.bars_figure.frame_height == view.difference_figure.frame_height == len(union) * 30


def test_the_same_head_is_drawn_for_both_prompts(tiny_model, trace, longer_trace):
    view = PatternPairView(trace, longer_trace, layer=1, head=2)
    np.testing.assert_array_equal(view.heatmaps["first"].source.data["image"][0],
                                  trace["blocks.1.attn.hook_pattern"][2])
    np.testing.assert_array_equal(view.heatmaps["second"].source.data["image"][0],
                                  longer_trace["blocks.1.attn.hook_pattern"][2])
    view.update(longer_trace, trace, layer=0, head=3)
    np.testing.assert_array_equal(view.heatmaps["first"].source.data["image"][0],
                                  longer_trace["blocks.0.attn.hook_pattern"][3])
    assert view.heatmaps["second"].figure.title.text == "B: attention of block 0, head 3"


def test_hostile_tokens_stay_plain_text_in_the_comparison(tiny_model, hostile_trace, hostile_tokens):
    probabilities = sampling.probabilities(hostile_trace.logits, 1.0)
    hostile = dict(enumerate(hostile_tokens))
    view = ComparisonView(aligned_probabilities(probabilities, probabilities[::-1].copy(), 5),
                          lambda i: hostile[i % len(hostile)])
    assert set(view.source.data["token"]) <= set(hostile_tokens)
    assert all("<" not in str(field) or field.startswith("@") for field in hover_fields(view.bars_figure))


def test_the_views_speak_chinese(trace, scores, tiny_model, display):
    grid = HeadGridView(trace, scores=scores, lang="zh")
    assert {"前", "首", "归"} >= set(grid.head_source.data["role_mark"]) - {""}
    top = lens_top_tokens(tiny_model.params, tiny_model.config, trace)
    assert "定下答案" in CommitmentStripView(top, trace.tokens, display, lang="zh").figure.title.text
    probabilities = sampling.probabilities(trace.logits, 1.0)
    view = ComparisonView(aligned_probabilities(probabilities, probabilities, 3), display, lang="zh")
    assert view.difference_figure.title.text == "A − B（百分点）"
