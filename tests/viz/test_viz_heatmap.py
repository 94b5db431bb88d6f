"""The reusable heatmap: the image holds the values given, masked cells are marked, updates happen in place."""

import numpy as np
import pytest
from bokeh.models import HoverTool, PlainText

from transformer_explainer.viz import js_code
from transformer_explainer.viz.common import DIVERGING, MASKED_COLOUR, SEQUENTIAL, label_axis
from transformer_explainer.viz.heatmap import Heatmap


def test_the_image_is_the_array_given_without_a_copy_of_other_values():
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    heatmap = Heatmap(values)
    assert heatmap.values is values or np.array_equal(heatmap.values, values)
    assert heatmap.source.data["dw"] == [4] and heatmap.source.data["dh"] == [3]
    assert (heatmap.figure.x_range.start, heatmap.figure.x_range.end) == (0, 4)
    assert (heatmap.figure.y_range.start, heatmap.figure.y_range.end) == (3, 0), "row 0 is drawn at the top"


def test_masked_cells_get_an_overlay_in_the_neutral_colour_and_the_values_keep_their_minus_infinity():
    scores = np.array([[1.0, -np.inf], [0.5, -2.0]], dtype=np.float32)
    heatmap = Heatmap(scores)
    assert np.array_equal(heatmap.values, scores)
    assert heatmap.mask_source is not None
    assert np.array_equal(heatmap.mask_source.data["image"][0], [[0, 1], [0, 0]])
    mask_renderer = heatmap.figure.renderers[-1]
    assert mask_renderer.glyph.color_mapper.palette == [MASKED_COLOUR]


def test_hover_says_masked_for_minus_infinity_and_shows_row_column_and_value():
    heatmap = Heatmap(np.zeros((2, 2), np.float32), row_name="query", col_name="key")
    hover = heatmap.figure.select_one(HoverTool)
    assert [label for label, _ in hover.tooltips] == ["query", "key", "value"]
    assert "masked (\u2212\u221e)" == hover.formatters["@image"].args["masked"]
    assert hover.formatters["@image"].code == js_code("exact_number_hover", "exact_number")


def test_without_masked_cells_there_is_no_overlay():
    assert Heatmap(np.ones((2, 2), np.float32)).mask_source is None


def test_signed_values_use_a_diverging_palette_symmetric_around_zero():
    heatmap = Heatmap(np.array([[-1.0, 3.0]], np.float32), kind="signed")
    assert tuple(heatmap.color_mapper.palette) == DIVERGING
    assert heatmap.color_mapper.low == -heatmap.color_mapper.high


def test_probabilities_use_a_sequential_palette_from_zero_to_one():
    heatmap = Heatmap(np.array([[0.2, 0.8]], np.float32), kind="probability")
    assert tuple(heatmap.color_mapper.palette) == SEQUENTIAL
    assert (heatmap.color_mapper.low, heatmap.color_mapper.high) == (0, 1)


def test_update_replaces_the_data_in_place_and_follows_a_new_shape():
    heatmap = Heatmap(np.zeros((2, 3), np.float32), row_labels=["a", "b"])
    figure, source = heatmap.figure, heatmap.source
    new = np.ones((4, 5), np.float32)
    heatmap.update(new, row_labels=["w", "x", "y", "z"])
    assert heatmap.figure is figure and heatmap.source is source
    assert np.array_equal(heatmap.values, new)
    assert (figure.x_range.end, figure.y_range.start) == (5, 4)
    assert heatmap.row_formatter.args["labels"] == ["w", "x", "y", "z"]


def test_update_adds_the_mask_overlay_when_minus_infinity_appears():
    heatmap = Heatmap(np.zeros((2, 2), np.float32))
    heatmap.update(np.array([[0, -np.inf], [0, 0]], np.float32))
    assert np.array_equal(heatmap.mask_source.data["image"][0], [[0, 1], [0, 0]])


def test_tick_labels_that_bokeh_would_read_as_tex_become_plain_text_models():
    heatmap = Heatmap(np.zeros((3, 1), np.float32), row_labels=["$$x^2$$", "\\(y\\)", "plain"])
    overrides = heatmap.figure.yaxis[0].major_label_overrides
    assert isinstance(overrides[0.5], PlainText) and overrides[0.5].text == "$$x^2$$"
    assert isinstance(overrides[1.5], PlainText) and overrides[1.5].text == "\\(y\\)"
    assert overrides[2.5] == "plain"


def test_long_label_lists_are_thinned_but_the_last_row_keeps_its_label():
    heatmap = Heatmap(np.zeros((100, 2), np.float32), row_labels=[f"t{i}" for i in range(100)], max_row_ticks=10)
    ticks = heatmap.figure.yaxis[0].ticker.ticks
    assert len(ticks) <= 10 and ticks[-1] == 99.5


def test_outline_row_boxes_the_chosen_row():
    heatmap = Heatmap(np.zeros((4, 2), np.float32))
    heatmap.outline_row(2)
    assert (heatmap.outline.top, heatmap.outline.bottom, heatmap.outline.visible) == (2, 3, True)
    heatmap.outline_row(None)
    assert heatmap.outline.visible is False


def test_label_axis_uses_indices_when_there_are_no_labels():
    heatmap = Heatmap(np.zeros((3, 2), np.float32))
    label_axis(heatmap.figure.yaxis[0], None, 3)
    assert heatmap.figure.yaxis[0].major_label_overrides == {0.5: "0", 1.5: "1", 2.5: "2"}


def test_a_three_dimensional_array_is_refused():
    with pytest.raises(ValueError, match="2-D"):
        Heatmap(np.zeros((2, 2, 2), np.float32))
