"""The picture's zoom between one block and the whole model (app/picture_panel.py, app/zoom.py): what the
zoomed-out level shows is the student's real trace, taps there choose the block the picture zooms into, and the
camera move the browser plays goes from the block drawn to the whole model and back."""

import numpy as np
import pytest

from transformer_explainer.app.layout import ExplainerApp
from transformer_explainer.app.runtime import ModelRuntime


@pytest.fixture
def app(tiny_model):
    app = ExplainerApp(ModelRuntime(tiny_model))
    app.layout()
    return app


def tap(source, index):
    source.selected.indices = [index]


def stage_index(source, stage, layer=-1):
    return next(i for i, (s, l) in enumerate(zip(source.data["stage"], source.data["layer"]))
                if s == stage and int(l) == layer)


def shown_level(picture):
    return picture.area.objects[0].css_classes


def test_tapping_the_other_blocks_zooms_out_to_every_block_of_the_real_trace(app):
    picture, state = app.picture, app.state
    state.layer = 1
    tap(picture.view.stage_source, list(picture.view.stage_source.data["stage"]).index("blocks"))
    assert picture.level == "model" and "te-picture-model" in shown_level(picture)
    view = picture.model_view
    assert view.expanded and view.figure.name == "zoom-overview-figure"
    n_layer = state.trace.config.n_layer
    assert sorted(int(l) for s, l in zip(view.stage_source.data["stage"], view.stage_source.data["layer"])
                  if s == "attention") == list(range(n_layer))
    assert list(view.token_source.data["token_id"]) == state.trace.token_ids
    shown = dict(zip(view.probability_source.data["token_id"], view.probability_source.data["probability"]))
    best = int(np.argmax(state.probabilities))
    assert shown[best] == pytest.approx(float(state.probabilities[best]))
    (left, _), (_, right) = view._layout.bars(1)  # the block drawn is outlined
    assert view.marked_source.data["alpha"] == [1.0]
    assert view.marked_source.data["left"][0] < left and view.marked_source.data["right"][0] > right
    # The camera starts on block 1 (as the picture showed it) and pulls back to the whole model.
    zoomer = picture.zoomer
    move = zoomer.move
    assert move["figure"] == "zoom-overview-figure" and move["serial"] == 1
    assert move["start"] == view.block_window(1) and move["end"] == view.whole_window()
    assert move["start"][0] < left < right < move["start"][1] and move["end"][1] - move["end"][0] > 5 * (right - left)
    assert [view.figure.x_range.start, view.figure.x_range.end] == move["start"][:2]


def test_a_tap_on_a_block_in_the_whole_model_zooms_into_it(app):
    picture, state = app.picture, app.state
    picture.zoom_out()
    view = picture.model_view
    tap(view.stage_source, stage_index(view.stage_source, "mlp", 1))
    assert state.layer == 1
    assert view.marked_source.data["left"][0] < view._layout.bars(1)[0][0]
    zoomer = picture.zoomer
    assert zoomer.move["start"] == view.whole_window() and zoomer.move["end"] == view.block_window(1)
    assert picture.level == "model"  # until the browser has played the move in
    zoomer.done = zoomer.serial - 1  # an older move ending changes nothing
    assert picture.level == "model"
    zoomer.done = zoomer.serial
    assert picture.level == "block" and picture.area.objects[0].objects[0] is picture.picture_pane
    assert picture.shows()[1] == 1
    assert [view.figure.x_range.start, view.figure.x_range.end] == view.whole_window()[:2]


def test_the_whole_model_follows_a_new_prompt_the_sampling_and_the_block_picker(app):
    picture, state = app.picture, app.state
    picture.zoom_out()
    view = picture.model_view
    state.prompt = "Once upon a time there"
    assert list(view.token_source.data["token_id"]) == state.trace.token_ids
    state.temperature = 3.0
    shown = dict(zip(view.probability_source.data["token_id"], view.probability_source.data["probability"]))
    best = int(np.argmax(state.probabilities))
    assert shown[best] == pytest.approx(float(state.probabilities[best]))
    state.layer = 1
    assert view.marked_source.data["left"][0] == pytest.approx(view._layout.bars(1)[0][0] - 0.1)
    assert picture.shows()[1] == 1
    assert picture.zoom_in_button.label.endswith("1")


def test_into_the_block_drawn_and_back_out_again(app):
    picture = app.picture
    picture.zoom_in()  # already at the block: nothing to do
    assert picture.level == "block" and picture.zoomer.serial == 0
    picture.zoom_out()
    picture.zoom_in_button.clicks += 1
    picture.zoomer.done = picture.zoomer.serial
    assert picture.level == "block"
    picture.zoom_out_button.clicks += 1
    assert picture.level == "model" and picture.zoomer.serial == 3


def test_a_token_tapped_in_the_whole_model_is_the_token_followed(app):
    picture, state = app.picture, app.state
    picture.zoom_out()
    source = picture.model_view.token_source
    tap(source, 1)
    assert state.position == int(source.data["position"][1]) and picture.level == "model"


def test_a_tour_step_about_another_stage_brings_the_picture_back(app):
    picture, state = app.picture, app.state
    picture.zoom_out()
    state.tour = 3
    assert picture.level == "block" and picture.area.objects[0].objects[0] is picture.picture_pane
    spotlit = set(picture.view.spotlight_source.data["stage"])
    picture.zoom_out()  # on the same step the student may zoom out again: the tour leaves it there
    state.temperature = 1.5
    assert picture.level == "model" and set(picture.view.spotlight_source.data["stage"]) == spotlit
