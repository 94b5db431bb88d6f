"""The guided tour (app/tour.py): every step speaks both languages, its formula shows this prompt's real numbers
(checked against the maths done here, not against the tour's own reading of the trace), it outlines the stage it
talks about, and ``state.tour`` is the only state: Next, Back, Close and a link's out-of-range step move it."""

from __future__ import annotations

import math
import types

import numpy as np
import panel as pn
import pytest

from transformer_explainer.app.runtime import ModelRuntime
from transformer_explainer.app.state import ExplainerState
from transformer_explainer.app.tour import (GLOSSARY, N_STEPS, TOUR_STEPS, TourPanel, attach_tour, formatted, number, percent,
                      step_formula)
from transformer_explainer.gpt2_core import sampling
from transformer_explainer.viz import i18n
from transformer_explainer.viz.picture import PictureView
from transformer_explainer.viz.picture.spotlight import spotlight_data

PROMPT = "The quick brown fox jumps over"
STAGES = {"tokens", "embedding", "ln1", "qkv", "attention", "attention_output", "residual_mid", "ln2", "mlp",
          "residual_post", "blocks", "ln_final", "output"}


@pytest.fixture
def state(tiny_model):
    return ExplainerState(ModelRuntime(tiny_model), prompt=PROMPT, layer=1, head=2, temperature=0.7)


@pytest.fixture
def picture(state):
    s = state
    view = PictureView(s.trace, s.layer, s.head, s.probabilities, s.sampled_id, s.runtime.display,
                       n_layer=s.runtime.config.n_layer)
    return types.SimpleNamespace(view=view, spotlight=view.spotlight)  # what the tour uses of the PicturePanel


@pytest.fixture
def tour(state, picture):
    return TourPanel(state, state.runtime, picture=picture)


def step_named(name: str):
    return next(step for step in TOUR_STEPS if step.name == name)


def test_the_tour_has_about_eighteen_steps_from_tokens_to_generation_each_on_a_stage_of_the_picture():
    names = [step.name for step in TOUR_STEPS]
    assert N_STEPS == len(TOUR_STEPS) == 18 and len(set(names)) == 18
    assert names[0] == "tokens" and names[-1] == "generating"
    assert names.index("scores") < names.index("scaling") < names.index("mask") < names.index("softmax")
    assert {step.stage for step in TOUR_STEPS} <= STAGES


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_every_step_and_glossary_entry_has_its_words_in_both_languages(lang):
    catalogue = i18n.catalogue(lang)
    for step in TOUR_STEPS:
        for key in (step.title, step.text, step.formula, step.try_this):
            assert key == f"tour.step.{step.name}.{key.rsplit('.', 1)[1]}"
            assert catalogue.get(key, "").strip(), f"{lang} lacks {key}"
    for term, line in GLOSSARY:
        assert catalogue.get(term) and catalogue.get(line), f"{lang} lacks {term} or {line}"
        assert line == "tour.glossary." + term.split(".", 1)[1]
    assert {term for term, _ in GLOSSARY} == {key for key in catalogue if key.startswith("glossary.")}


def test_numbers_are_formatted_not_translated():
    assert number(-0.4249) == "−0.42" and number(3.4149) == "3.41" and number(-0.001) == "0.00"
    assert number(-math.inf) == "−∞" and percent(0.3127) == "31.3%"
    assert formatted({"n": 7, "token": "␣cat", "x": 1.005, "p_top": 0.5}) == {"n": "7", "token": "␣cat",
                                                                              "x": "1.00", "p_top": "50.0%"}


def expected_numbers(state) -> dict[str, dict]:
    """Each step's numbers, worked out here from the trace's inputs with NumPy (the maths, not the tour's code)."""
    trace, runtime = state.trace, state.runtime
    weights, config = runtime.model.params, runtime.config
    L, h, last, dh = "blocks.1", 2, trace.n_tokens - 1, config.d_head
    ids = trace.token_ids
    embed = weights["wte"][ids[last]] + weights["wpe"][last]
    x = trace[f"{L}.hook_resid_pre"][last]
    mean, scale = x.mean(), np.sqrt(x.var() + 1e-5)
    q, k = trace[f"{L}.attn.hook_q"][:, h], trace[f"{L}.attn.hook_k"][:, h]
    raw = q @ k.T
    scores = np.where(np.tril(np.ones((trace.n_tokens,) * 2, bool)), raw / np.sqrt(dh), -np.inf)
    weights_row = np.exp(scores[last] - scores[last].max())
    weights_row /= weights_row.sum()
    hidden = trace[f"{L}.mlp.hook_pre"][last, 0]
    gelu = 0.5 * hidden * (1 + np.tanh(np.sqrt(2 / np.pi) * (hidden + 0.044715 * hidden ** 3)))
    logits = trace["ln_final.hook_out"][last] @ weights["wte"].T  # tied: the unembedding is wte transposed
    top = int(np.argmax(logits))
    probabilities = sampling.probabilities(logits, 0.7)
    sampled = sampling.sample(probabilities, sampling.rng_from_seed(42))
    return {
        "tokens": {"n": trace.n_tokens, "id": ids[last], "token": trace.tokens[last]},
        "embedding": {"wte": weights["wte"][ids[last], 0], "wpe": weights["wpe"][last, 0], "x": embed[0],
                      "pos": last, "id": ids[last]},
        "residual": {"pre": x[0], "attn": trace[f"{L}.hook_attn_out"][last, 0],
                     "mlp": trace[f"{L}.hook_mlp_out"][last, 0],
                     "post": x[0] + trace[f"{L}.hook_attn_out"][last, 0] + trace[f"{L}.hook_mlp_out"][last, 0],
                     "layer": 1},
        "layer_norm": {"x": x[0], "mean": mean, "scale": scale, "normalized": (x[0] - mean) / scale,
                       "out": (x[0] - mean) / scale * weights["blocks"][1]["ln_1"]["g"][0]
                              + weights["blocks"][1]["ln_1"]["b"][0]},
        "qkv": {"q": q[last, 0], "k": k[last, 0], "v": trace[f"{L}.attn.hook_v"][last, h, 0], "head": 2,
                "d_head": dh},
        "scores": {"raw": raw[last, 0], "query": trace.tokens[last], "key": trace.tokens[0]},
        "scaling": {"raw": raw[last, 0], "scaled": raw[last, 0] / np.sqrt(dh), "d_head": dh},
        "mask": {"masked": -np.inf, "count": trace.n_tokens * (trace.n_tokens - 1) // 2,
                 "total": trace.n_tokens ** 2, "first": trace.tokens[0], "later": trace.tokens[last]},
        "softmax": {"weight": weights_row[0], "sum": 1.0, "query": trace.tokens[last], "key": trace.tokens[0]},
        "heads": {"n_head": config.n_head, "d_head": dh, "d": config.n_embd, "out": trace[f"{L}.hook_attn_out"][last, 0]},
        "mlp": {"d": config.n_embd, "dm": 4 * config.n_embd, "hidden": hidden, "out": trace[f"{L}.hook_mlp_out"][last, 0]},
        "gelu": {"x": hidden, "y": gelu},
        "blocks": {"n_layer": config.n_layer, "last_block": config.n_layer - 1, "start": embed[0],
                   "end": trace[f"blocks.{config.n_layer - 1}.hook_resid_post"][last, 0]},
        "logits": {"logit": logits[top], "token": runtime.display(top), "vocab": config.n_vocab},
        "temperature": {"t": 0.7, "p_top": probabilities.max(), "token": runtime.display(int(np.argmax(probabilities)))},
        "cutoff": {"k": 0, "top_p": 1.0, "kept": config.n_vocab, "vocab": config.n_vocab},
        "sampling": {"seed": 42, "token": runtime.display(sampled), "p_sampled": probabilities[sampled]},
        "generating": {"n": trace.n_tokens, "n1": trace.n_tokens + 1, "token": runtime.display(sampled),
                       "n_ctx": config.n_ctx},
    }


def test_each_steps_numbers_are_this_prompts_values_for_the_drawn_block_and_head(state):
    expected = expected_numbers(state)
    assert set(expected) == {step.name for step in TOUR_STEPS}
    for step in TOUR_STEPS:
        shown = step.numbers(state)
        assert set(shown) == set(expected[step.name]), step.name
        for name, value in expected[step.name].items():
            if isinstance(value, str):
                assert shown[name] == value, (step.name, name)
            else:
                np.testing.assert_allclose(shown[name], value, rtol=2e-4, atol=2e-5, err_msg=f"{step.name} {name}")


@pytest.mark.parametrize("lang", list(i18n.LANGUAGES))
def test_each_formula_shows_those_numbers_formatted_the_same_in_every_language(state, lang):
    words = i18n.translator(lang)
    for step in TOUR_STEPS:
        shown = step_formula(step, state, words)
        for name, text in formatted(step.numbers(state)).items():
            assert text in shown, f"{lang} {step.name}: {name} = {text} not in {shown!r}"
    raw, scaled = (expected_numbers(state)["scaling"][key] for key in ("raw", "scaled"))
    if lang == "en":
        assert step_formula(step_named("scaling"), state, words) == (f"q·k = {number(raw)}, ÷ √{state.trace.config.d_head}"
                                                                     f" = {number(scaled)}")


def test_the_temperature_step_follows_the_slider(state, tour):
    state.tour = TOUR_STEPS.index(step_named("temperature")) + 1
    state.temperature = 0
    assert "100.0%" in tour.body.object  # T = 0: the most likely token is certain
    state.temperature = 2.0
    p = sampling.probabilities(state.trace.logits, 2.0).max()
    assert percent(p) in tour.body.object


def test_a_one_token_prompt_has_nothing_to_mask_and_says_so(tiny_model):
    state = ExplainerState(ModelRuntime(tiny_model), prompt="The")
    assert state.trace.n_tokens == 1
    text = step_formula(step_named("mask"), state, i18n.translator("en"))
    assert text == i18n.text("en", "tour.step.mask.formula_one", count=0, total=1)


def test_next_back_close_and_start_move_state_tour_and_the_card_follows(state, tour):
    assert state.tour == 0 and not tour.layout.visible
    tour.start()
    assert state.tour == 1 and tour.layout.visible and tour.back_button.disabled
    tour.back()
    assert state.tour == 1
    for expected in range(2, N_STEPS + 1):
        tour.next()
        assert state.tour == expected
        assert f"Step {expected} of {N_STEPS}" in tour.body.object
    assert tour.next_button.disabled
    tour.next()
    assert state.tour == N_STEPS
    tour.back()
    assert state.tour == N_STEPS - 1
    tour.close()
    assert state.tour == 0 and not tour.layout.visible


def test_a_step_past_the_end_shows_the_last_one_and_says_why_and_a_negative_one_is_refused(state, tour):
    state.tour = 99
    assert state.tour == N_STEPS
    assert "There is no step 99" in tour.body.object
    tour.back()
    assert state.tour == N_STEPS - 1 and "There is no step" not in tour.body.object
    with pytest.raises(ValueError):
        state.tour = -1


def test_each_step_outlines_its_stage_and_the_outline_follows_a_new_prompt(state, picture, tour):
    source = picture.view.spotlight_source
    for i, step in enumerate(TOUR_STEPS, 1):
        state.tour = i
        assert set(source.data["stage"]) == {step.stage} and len(source.data["left"]) >= 1
        stage_data = picture.view.stage_source.data
        if step.stage != "tokens":
            j = list(stage_data["stage"]).index(step.stage)
            assert source.data["left"][0] < stage_data["left"][j] and source.data["right"][0] > stage_data["right"][j]
    state.tour = TOUR_STEPS.index(step_named("scores")) + 1
    before = dict(picture.view.stage_source.data)  # (the source updates its columns in place)
    state.prompt = "Hi"
    picture.view.update(state.trace, state.layer, state.head, state.probabilities, state.sampled_id)
    assert not np.array_equal(picture.view.stage_source.data["bottom"], before["bottom"])  # fewer rows: boxes moved
    np.testing.assert_array_equal(source.data["bottom"],
                                  spotlight_data(picture.view.stage_source.data, "attention")["bottom"])
    state.tour = 0
    assert list(source.data["stage"]) == []


def test_the_card_speaks_the_pages_language_and_escapes_the_prompts_text(tiny_model):
    state = ExplainerState(ModelRuntime(tiny_model), prompt="<b>x</b> & <img src=y>", lang="zh")
    tour = TourPanel(state, state.runtime)
    state.tour = 1
    assert i18n.text("zh", "tour.step.tokens.title") in tour.body.object
    assert tour.next_button.name == i18n.text("zh", "tour.next")
    assert "<img" not in tour.body.object and "“&gt;”" in tour.body.object  # the last token, ">", escaped
    state.lang = "en"
    assert i18n.text("en", "tour.step.tokens.title") in tour.body.object
    tour.glossary_toggle.value = True
    assert tour.glossary.visible and i18n.text("en", "tour.glossary.causal_mask") in tour.glossary.object


def test_attach_tour_puts_the_card_above_the_picture_and_the_start_button_among_the_actions(tiny_model):
    from transformer_explainer.app.layout import ExplainerApp

    app = ExplainerApp(ModelRuntime(tiny_model))
    page = app.layout()
    tour = attach_tour(app, page)
    assert attach_tour(app, page) is tour  # once only
    objects = list(page.objects)
    assert objects.index(tour.layout) == objects.index(app.picture.layout) - 1
    rows = [row for row in page.select(pn.FlexBox) if tour.start_button in row.objects]
    assert len(rows) == 1 and app.controls.next_button in rows[0].objects
    tour.start_button.clicks += 1
    assert app.state.tour == 1
    assert set(app.picture.view.spotlight_source.data["stage"]) == {"tokens"}


def test_the_steps_about_one_heads_math_play_that_moment_of_the_derivation_in_the_pictures_place(tiny_model):
    from transformer_explainer.app.layout import ExplainerApp

    app = ExplainerApp(ModelRuntime(tiny_model))
    page = app.layout()
    tour = attach_tour(app, page)
    shown = {}
    for i, step in enumerate(TOUR_STEPS, 1):
        app.state.tour = i
        shown[step.name] = tour.math_button.visible
    assert {name for name, visible in shown.items() if visible} == {"scores", "scaling", "mask", "softmax"}
    app.state.tour = TOUR_STEPS.index(step_named("mask")) + 1
    tour.math_button.clicks += 1
    picture = app.picture
    assert picture.level == "derivation"
    assert picture.derivation.player.steps.active == 2  # the mask's pill (step 3): the page plays from there
    app.state.tour += 1  # softmax: the same stage, the derivation stays
    assert picture.level == "derivation"
    app.state.tour = TOUR_STEPS.index(step_named("heads")) + 1  # another stage: the picture comes back
    assert picture.level == "block"
