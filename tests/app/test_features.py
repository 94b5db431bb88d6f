"""Heads labelled by measurement, the commitment lens and two prompts side by side, in the page: the sections'
controls act on the state and the views, the link carries the second prompt, and bad input is said, never raised."""

import numpy as np
import pytest
from panel.io.location import Location

from transformer_explainer.app.compat import parse_links_tolerantly
from transformer_explainer.app.layout import ExplainerApp
from transformer_explainer.app.links import URL_PARAMETERS, apply_link_settings
from transformer_explainer.app.runtime import ModelRuntime
from transformer_explainer.app.sections import heads as heads_section
from transformer_explainer.app.sections.compare import EXAMPLE_PAIRS
from transformer_explainer.app.state import ExplainerState
from transformer_explainer.gpt2_core import head_scores, sampling
from transformer_explainer.gpt2_core.interventions import zero_ablate_heads
from transformer_explainer.viz.i18n import text


@pytest.fixture
def app(tiny_model):
    app = ExplainerApp(ModelRuntime(tiny_model))
    app.layout()
    return app


# -- heads ------------------------------------------------------------------------------------------------------

def test_the_heads_filter_lists_and_outlines_exactly_the_heads_above_the_threshold(app):
    app.sections["heads"].open()
    section, grid = app.sections["heads"].view, app.views["heads"]
    assert section.filter_note.plain_text == "" and grid.highlighted_heads() == []
    pattern = np.stack([app.state.trace[f"blocks.{layer}.attn.hook_pattern"] for layer in range(2)])
    previous = np.array([[np.mean([pattern[l, h, i, i - 1] for i in range(1, pattern.shape[-1])]) for h in range(4)]
                         for l in range(2)])
    threshold = float(np.sort(previous.ravel())[3])  # four heads above it, four not
    section.role_filter.value, section.threshold.value = "previous", threshold
    expected = [(l, h) for l in range(2) for h in range(4) if previous[l, h] > threshold]
    assert grid.highlighted_heads() == expected and len(expected) == 4
    note = section.filter_note.plain_text
    assert note.startswith(f"Heads whose previous-token score is above {threshold:.2f}: 4 of 8")
    assert note.endswith(", ".join(f"L{l} H{h} ({previous[l, h]:.2f})" for l, h in expected))
    app.state.prompt = "A new prompt changes the scores"  # the filter follows the new trace
    assert grid.highlighted_heads() == head_scores.heads_above(
        head_scores.head_scores(app.state.trace, heads_section.induction_scores(app.runtime.model)).previous,
        threshold)
    section.threshold.value = 1.0
    assert grid.highlighted_heads() == [] and section.filter_note.plain_text.endswith(": none.")


def test_the_induction_scores_are_measured_once_per_model(app, monkeypatch):
    app.sections["heads"].open()
    length = head_scores.probe_length(app.runtime.config.n_ctx)
    assert f"{length} random tokens written twice (seed {head_scores.PROBE_SEED})" in \
        app.sections["heads"].view.roles_text.object  # the page says how the score is measured
    first = heads_section.induction_scores(app.runtime.model)
    np.testing.assert_array_equal(first, head_scores.induction_scores(app.runtime.model))
    calls = []
    monkeypatch.setattr(head_scores, "induction_scores", lambda model: calls.append(model))
    app.state.prompt = "Another prompt, the same probe"
    assert calls == [] and heads_section.induction_scores(app.runtime.model) is first
    np.testing.assert_array_equal(app.views["heads"].head_source.data["induction_score"], first.ravel())


# -- the commitment lens ----------------------------------------------------------------------------------------

def test_a_tap_on_the_strip_picks_the_token_and_the_lens_shows_it_with_its_commitment_block(app, tiny_model):
    state = app.state
    state.prompt = "The quick brown fox jumps"
    app.sections["lens"].open()
    strip, lens = app.views["commitment"], app.views["lens"]
    assert lens.marked_source.data["layer"] == [strip.blocks()[state.trace.n_tokens - 1]]
    strip.source.selected.indices = [1]  # as a tap on the second cell does
    assert state.position == 1 and strip.source.selected.indices == []
    expected = tiny_model.logit_lens(state.trace, 1)
    assert list(lens.argmax_ids()) == [int(np.argmax(row)) for row in expected]
    argmax = [int(np.argmax(row)) for row in expected]
    assert lens.marked_source.data["layer"] == [argmax.index(argmax[-1])]
    assert list(strip.source.data["selected_alpha"]).index(1.0) == 1
    assert state.trace.tokens[1] in lens.figure.title.text.text


# -- two prompts ------------------------------------------------------------------------------------------------

def linked_state(runtime, search: str) -> ExplainerState:
    """A state synced with a link, as a page's is (app/page.py)."""
    parse_links_tolerantly()
    state = ExplainerState(runtime)
    location = Location(search=search)
    location.sync(state, URL_PARAMETERS, on_error=lambda values: apply_link_settings(state, values, location.search))
    state.location = location
    return state


def test_compare_in_the_link_restores_both_prompts_and_the_link_keeps_them_after_a_swap(tiny_model):
    state = linked_state(ModelRuntime(tiny_model), "?prompt=The+Eiffel+Tower+is+in&compare=1984&view=compare")
    assert (state.prompt, state.compare, state.view) == ("The Eiffel Tower is in", "1984", "compare")
    assert state.compare_trace.token_ids == tiny_model.encode("1984") and state.compare_error == ""
    assert state.trace.token_ids == tiny_model.encode("The Eiffel Tower is in")
    state.swap_prompts()
    assert (state.prompt, state.compare) == ("1984", "The Eiffel Tower is in")
    assert "prompt=1984" in state.location.search and "compare=The+Eiffel+Tower+is+in" in state.location.search
    assert state.trace.token_ids == tiny_model.encode("1984")


def test_the_compare_section_aligns_both_prompts_probabilities_and_draws_the_same_head(app, tiny_model):
    state = app.state
    state.param.update(prompt="The doctor said that he", compare="The doctor said that she", layer=1, head=3)
    app.sections["compare"].open()
    data = app.views["comparison"].source.data
    first = sampling.probabilities(tiny_model.run_with_trace("The doctor said that he").logits, 0.8)
    second = sampling.probabilities(tiny_model.run_with_trace("The doctor said that she").logits, 0.8)
    union = {int(i) for i in np.argsort(-first)[:10]} | {int(i) for i in np.argsort(-second)[:10]}
    assert set(int(i) for i in data["token_id"]) == union
    for row, token_id in enumerate(data["token_id"]):
        assert data["first"][row] == pytest.approx(first[token_id], rel=1e-5, abs=1e-9)
        assert data["second"][row] == pytest.approx(second[token_id], rel=1e-5, abs=1e-9)
    assert list(data["difference"]) == sorted(data["difference"], reverse=True)
    patterns = app.views["compare_patterns"].heatmaps
    np.testing.assert_array_equal(patterns["second"].source.data["image"][0],
                                  state.compare_trace["blocks.1.attn.hook_pattern"][3])
    state.temperature = 1.5  # the page's sampling settings, for both prompts
    hot = sampling.probabilities(state.compare_trace.logits, 1.5)
    assert app.views["comparison"].source.data["second"][0] == pytest.approx(
        hot[app.views["comparison"].source.data["token_id"][0]], rel=1e-5)
    state.head = 0
    np.testing.assert_array_equal(patterns["first"].source.data["image"][0], state.trace["blocks.1.attn.hook_pattern"][0])


def test_the_second_prompt_is_run_with_the_same_heads_silenced(tiny_model):
    state = ExplainerState(ModelRuntime(tiny_model), compare="Silence a head")
    state.ablated = "0.2"
    expected = tiny_model.run_with_hooks(tiny_model.encode("Silence a head"), zero_ablate_heads([(0, 2)]))[-1]
    np.testing.assert_allclose(state.compare_trace.logits, expected, rtol=1e-5, atol=1e-5)


def test_the_example_pairs_and_the_swap_act_on_both_prompts(app):
    app.sections["compare"].open()
    section = app.sections["compare"].view
    assert section.hint.visible and section.swap_button.disabled and not app.views["comparison"].layout.visible
    section.examples[1].clicks += 1
    assert (app.state.prompt, app.state.compare) == EXAMPLE_PAIRS[1]
    assert not section.hint.visible and not section.swap_button.disabled and app.views["comparison"].layout.visible
    assert section.first_prompt.plain_text == f"A (in the picture): {EXAMPLE_PAIRS[1][0]}"
    section.swap_button.clicks += 1
    assert (app.state.prompt, app.state.compare) == EXAMPLE_PAIRS[1][::-1]
    assert app.state.traced_prompt == EXAMPLE_PAIRS[1][1]  # the picture shows the other prompt now
    section.second_box.value_input = "Typed, then Compare pressed"
    section.run_button.clicks += 1
    assert app.state.compare == "Typed, then Compare pressed" and app.state.compare_trace is not None


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("bad, key", [("\ud83d and more", "compare.not_unicode"), ("x" * 20_001, "compare.too_many_characters"),
                                      ("word " * 200, "compare.too_long")])
def test_a_bad_second_prompt_is_said_in_both_languages_and_the_last_comparison_stays(tiny_model, bad, key, lang):
    app = ExplainerApp(ModelRuntime(tiny_model), ExplainerState(ModelRuntime(tiny_model), lang=lang))
    app.layout()
    state = app.state
    state.compare = "A comparison that ran"
    app.sections["compare"].open()
    shown = app.views["comparison"].source.data["second"].copy()
    state.compare = bad  # never raises
    assert state.compare_error and state.compare == bad  # kept as typed
    fields = {"compare.not_unicode": {"index": 0}, "compare.too_many_characters": {"n": 20_001, "n_ctx": 128},
              "compare.too_long": {"n": len(tiny_model.encode(bad)) if key == "compare.too_long" else 0, "n_ctx": 128}}
    assert state.compare_error == text(lang, key, **fields[key])
    section = app.sections["compare"].view
    assert section.message.visible and state.compare_error in section.message.plain_text
    assert text(lang, "compare.still_showing", prompt="A comparison that ran") in section.message.plain_text
    np.testing.assert_array_equal(app.views["comparison"].source.data["second"], shown)
    assert state.compare_trace.token_ids == tiny_model.encode("A comparison that ran")
    assert section.swap_button.disabled and state.error == ""  # the picture's prompt is fine
    state.swap_prompts()
    assert state.compare == bad  # refused: nothing swapped


def test_an_emptied_second_prompt_ends_the_comparison_with_a_hint(app):
    app.state.compare = "Something"
    app.sections["compare"].open()
    app.state.compare = ""
    section = app.sections["compare"].view
    assert app.state.compare_trace is None and app.state.compare_error == ""
    assert section.hint.visible and section.hint.plain_text == text("en", "compare.empty")
    assert not app.views["comparison"].layout.visible


def test_the_second_prompts_message_follows_the_language(tiny_model):
    state = ExplainerState(ModelRuntime(tiny_model), compare="\ud800")
    assert state.compare_error == text("en", "compare.not_unicode", index=0)
    state.lang = "zh"
    assert state.compare_error == text("zh", "compare.not_unicode", index=0)
