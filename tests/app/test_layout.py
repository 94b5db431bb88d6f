"""The page's wiring: sections build when opened and follow the state; taps in the figures act."""

import html

import numpy as np
import panel as pn
import pytest

from environment import run_async
from transformer_explainer.app.layout import ExplainerApp
from transformer_explainer.app.safe_html import token_chips
from transformer_explainer.app.runtime import ModelRuntime
from transformer_explainer.gpt2_core import sampling


@pytest.fixture
def app(tiny_model):
    app = ExplainerApp(ModelRuntime(tiny_model))
    app.layout()
    return app


def open_all(app):
    for section in app.sections.values():
        section.open()


def test_the_picture_is_built_at_first_and_the_sections_when_opened(app):
    assert app.state.view == "picture" and app.picture.shows()[0] is app.state.trace
    assert not any(section.built for section in app.sections.values())
    app.sections["attention"].open()
    assert app.sections["attention"].built and app.state.view == "attention"


def test_open_views_follow_a_new_prompt_and_closed_ones_catch_up_when_opened(app):
    app.sections["attention"].open()
    app.state.prompt = "In the beginning there was the word"
    pattern = app.trace_pattern = app.state.trace["blocks.0.attn.hook_pattern"][0]
    np.testing.assert_array_equal(np.asarray(app.views["head"].pattern_source.data["image"][0]), pattern)
    app.sections["embedding"].open()
    np.testing.assert_array_equal(np.asarray(app.views["embedding"].sum_source.data["image"][0]),
                                  app.state.trace["blocks.0.hook_resid_pre"])


def test_the_temperature_moves_the_output_bars_without_rebuilding(app):
    app.sections["output"].open()
    figure = app.views["output"].layout
    app.state.temperature = 2.5
    view = app.views["output"]
    assert view.layout is figure
    ids = np.asarray(view.source.data["token_id"])
    expected = sampling.probabilities(app.state.trace.logits, 2.5)
    np.testing.assert_allclose(np.asarray(view.source.data["probability"]), expected[ids], rtol=1e-6)


def test_choosing_layer_and_head_shows_that_head(app):
    app.sections["attention"].open()
    app.state.param.update(layer=1, head=3)
    np.testing.assert_array_equal(np.asarray(app.views["head"].pattern_source.data["image"][0]),
                                  app.state.trace["blocks.1.attn.hook_pattern"][3])


def test_tapping_a_head_opens_it_or_ablates_it(app):
    app.sections["heads"].open()
    grid = app.views["heads"]
    grid.head_source.selected.indices = [grid.index(1, 2)]
    assert (app.state.layer, app.state.head, app.state.view) == (1, 2, "attention")
    assert grid.head_source.selected.indices == []
    app.sections["heads"].view.click_mode.value = "ablate"
    grid.head_source.selected.indices = [grid.index(0, 3)]
    assert app.state.ablated_heads == [(0, 3)]
    assert np.all(app.state.trace["blocks.0.attn.hook_z"][:, 3] == 0)
    assert "layer 0 head 3" in app.sections["heads"].view.ablation_note.plain_text
    app.sections["heads"].view.reset_ablation.clicks += 1
    assert app.state.ablated == ""


def test_tapping_a_stage_of_the_picture_opens_its_section(app):
    source = app.picture.view.stage_source
    index = list(source.data["stage"]).index("ln_final")
    source.selected.indices = [index]
    assert app.state.view == "output" and app.sections["output"].is_open


def test_a_links_view_overview_or_expand_opens_the_picture_zoomed_out_to_the_whole_model(app):
    app.state.view = "overview"
    assert app.picture.level == "model" and app.state.expanded
    app.picture.show_picture()  # (the zoom back in, once the browser has played it)
    assert app.state.view == "picture" and not app.state.expanded
    app.state.expanded = True
    assert app.picture.level == "model"


def test_errors_show_as_escaped_text_and_clear_when_fixed(app):
    app.state.prompt = ""
    assert app.controls.error_box.visible and "empty" in app.controls.error_box.plain_text
    app.state.prompt = "fine"
    assert not app.controls.error_box.visible


HOSTILE_TEXT = ["<img src=x onerror=alert(2)>", "<script>alert(1)</script>", "\"><svg onload=alert(3)>",
                "&lt;img src=x onerror=alert(4)&gt;", "</pre><iframe src=javascript:alert(5)>"]


@pytest.mark.parametrize("hostile", HOSTILE_TEXT)
def test_a_message_that_quotes_hostile_text_shows_it_as_text_never_as_markup(app, hostile):
    app.state.ablated = hostile  # the "Ignored ablation entries '...'" message quotes it
    assert app.controls.error_box.visible and hostile in app.controls.error_box.plain_text
    html_sent = app.controls.error_box.object
    assert html_sent.startswith("<pre>") and html_sent.endswith("</pre>")
    inner = html_sent[len("<pre>"):-len("</pre>")]
    assert "<" not in inner and ">" not in inner and '"' not in inner
    assert html.unescape(inner) == app.controls.error_box.plain_text


@pytest.mark.parametrize("hostile", HOSTILE_TEXT)
def test_generated_and_typed_text_in_the_status_and_header_is_escaped(app, hostile, monkeypatch):
    app.state.status = f"Generated 1 of 1: {hostile!r}"
    assert "<" not in app.controls.status_box.object[len("<pre>"):-len("</pre>")]
    monkeypatch.setattr(app.runtime.model, "name", hostile)
    header = next(pane for pane in app.layout().select(pn.pane.HTML) if "te-header" in pane.css_classes).object
    assert hostile not in header and html.escape(hostile) in header


def test_token_chips_escape_what_the_user_typed():
    chips = token_chips(["<img src=x onerror=alert(1)>", "&amp;"], [1, 2])
    assert "<img" not in chips and "&lt;img src=x onerror=alert(1)&gt;" in chips and "&amp;amp;" in chips


def test_a_new_prompt_updates_the_whole_model_once_and_a_slider_move_only_moves_its_bars(app):
    app.picture.zoom_out()
    view = app.picture.model_view
    calls = []
    real_update, real_bars = view.update, view.update_probabilities
    view.update = lambda *a, **k: (calls.append("update"), real_update(*a, **k))
    view.update_probabilities = lambda *a, **k: (calls.append("bars"), real_bars(*a, **k))
    app.state.prompt = "A different prompt"
    assert calls == ["update"]
    app.state.temperature = 1.7
    assert calls == ["update", "bars"]


def count_while_typing(app, text):
    """What the live count under the prompt box says once the student has typed ``text``."""
    from types import SimpleNamespace

    app.controls.prompt_input.value_input = text  # (outside a server, param cannot run the async watcher itself)
    run_async(app.controls._count_tokens(SimpleNamespace(new=text)))
    return app.controls.token_count.plain_text


def test_the_live_count_tokenizes_what_is_typed(app, tiny_model):
    n = len(tiny_model.encode("The quick brown fox"))
    assert count_while_typing(app, "The quick brown fox") == f"{n} tokens of at most 128"
    too_long = "ab " * 60
    assert count_while_typing(app, too_long) == f"{len(tiny_model.encode(too_long))} tokens of at most 128 — too long"


def test_a_paste_past_the_character_cap_is_refused_without_tokenizing(app, monkeypatch):
    from transformer_explainer.app.state import MAX_PROMPT_CHARACTERS

    monkeypatch.setattr(app.runtime, "encode", lambda text: pytest.fail("a huge paste was tokenized"))
    paste = "x" * (2 * MAX_PROMPT_CHARACTERS)
    assert count_while_typing(app, paste) == (f"{len(paste):,} characters — too long (at most "
                                              f"{MAX_PROMPT_CHARACTERS:,} characters, 128 tokens)")


# -- the number boxes hand on what the browser sends, for the state to explain ------------------------------------

@pytest.mark.parametrize("sent, message", [
    (None, "The seed is an empty box: it must be a whole number"),
    (1e23, "The seed is 1e+23: it must be a whole number"),  # what the browser sends for 100000000000000000000000
    (-1, "The seed is -1: it must be a whole number"),
])
def test_what_the_browser_sends_from_the_seed_box_reaches_the_state_and_its_message(app, sent, message):
    app.controls.seed._process_events({"value": sent})  # as a change from the browser arrives
    assert app.controls.seed.value == sent and app.state.seed == sent
    assert app.controls.error_box.visible and app.controls.error_box.plain_text.startswith(message)
    app.controls.seed._process_events({"value": 5})
    assert app.state.seed == 5 and not app.controls.error_box.visible


def test_a_value_a_number_box_cannot_show_leaves_it_empty_and_large_ones_go_as_floats(app):
    box = app.controls.seed.get_root()
    app.state.seed = "abc"  # e.g. from a link
    assert box.value is None and "'abc'" in app.controls.error_box.plain_text
    app.state.seed = 2**70
    assert box.value == float(2**70) and isinstance(box.value, float)
    app.state.seed = 10**400  # past any float
    assert box.value is None
    app.state.seed = 12
    assert box.value == 12 and box.low is None and box.high is None  # the browser clamps nothing unseen


def test_the_tokens_box_is_checked_when_generate_is_pressed(app):

    before = app.state.prompt
    app.controls.generate_count._process_events({"value": None})
    run_async(app.controls._generate(None))
    assert app.state.prompt == before
    assert app.controls.error_box.plain_text.startswith("Tokens is an empty box: type how many tokens to generate")


def test_while_generating_nothing_that_changes_the_prompt_can_be_used(app):
    app.state.generating = True
    assert all(widget.disabled for widget in (app.controls.prompt_input, app.controls.run_button, app.controls.next_button,
                                              app.controls.generate_button, app.controls.examples))
    assert not app.controls.stop_button.disabled
    app.state.generating = False
    assert not app.controls.examples.disabled and app.controls.stop_button.disabled


def test_closing_the_app_stops_a_generation_and_unhooks_it_from_the_state(app):
    app.sections["heads"].open()
    selection = app.views["heads"].head_source.selected
    app.close()
    assert app.state._stop_requested
    assert app.views == {} and not selection._callbacks.get("indices")
    chips = app.controls.tokens_html.object
    app.state.prompt = "Nobody is looking at this page any more"
    assert app.controls.tokens_html.object == chips  # no watcher left to update a page that is gone


@pytest.mark.parametrize("how", ["link", "example", "generation"])
def test_run_without_typing_runs_the_prompt_in_the_box_and_never_empties_it(app, how):

    if how == "link":
        app.state.prompt = "A prompt from a link"
    elif how == "example":
        app.controls.examples.value = app.controls.examples.options[2]
    else:
        run_async(app.state.generate(3))
    shown = app.controls.prompt_input.value
    app.controls.run_button.clicks += 1  # Run, pressed without typing
    assert app.state.prompt == shown and app.controls.prompt_input.value == shown and app.state.error == ""


def test_a_link_value_panel_cannot_read_is_kept_as_text_and_the_others_still_parse():
    from panel.io import location

    from transformer_explainer.app.compat import parse_links_tolerantly

    parse_links_tolerantly()
    digits = "9" * 5000  # int() refuses more than 4,300 digits
    parsed = location.parse_query(f"?seed={digits}&k=3&t=0.5&pos=%C2%B2&prompt=1984")
    assert parsed == {"seed": digits, "k": 3, "t": 0.5, "pos": "²", "prompt": 1984}


def test_a_long_section_shows_its_views_one_step_at_a_time_and_keeps_every_step_up_to_date(app):
    section = app.sections["attention"]
    section.open()
    picker, steps = section.step_picker, section.steps
    assert list(picker.options) == ["1 · q, k, v", "2 · q·kᵀ → weights", "3 · z = weights · v",
                                    "4 · every head: concat · c_proj"]
    assert [step.visible for step in steps] == [True, False, False, False]
    picker.value = 1
    assert [step.visible for step in steps] == [False, True, False, False]
    # A hidden step follows the state too (it shows the right numbers the moment it is chosen).
    app.state.param.update(layer=1, head=2)
    np.testing.assert_array_equal(np.asarray(app.views["head"].pattern_source.data["image"][0]),
                                  app.state.trace["blocks.1.attn.hook_pattern"][2])
    np.testing.assert_array_equal(np.asarray(app.views["head"].heatmaps["z"].source.data["image"][0]),
                                  app.state.trace["blocks.1.attn.hook_z"][:, 2])
    for key, n_steps in (("embedding", 4), ("block", 3), ("mlp", 3), ("heads", 0), ("output", 0), ("lens", 0)):
        app.sections[key].open()
        assert len(app.sections[key].steps) == n_steps, key
