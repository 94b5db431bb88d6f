"""The pickers drawn on the picture: "Block 3 (0–11) ‹ ›" on the block's frame and "Head 5 (0–11) ‹ ›" beside the
head cards, and the notes that scroll a long prompt's token rows.

Their buttons are rows of the stage source (``picker_stages``: stages "block_prev", "block_next", "head_prev",
"head_next", "tokens_earlier", "tokens_later"), so a tap, or Enter on the keyboard cursor, selects them as it
selects any stage and the app does the rest (app/picture_panel.py). A button that can do nothing (the first
block's ‹) is drawn faint and is no tap target (no row).
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, Quad, Text

from ..common import set_if_changed
from ..i18n import Translator, translator
from .embedding import LINK_COLOUR
from .layout import (COLUMNS, FRAME_LEFT, FRAME_TOP, HEAD_PICKER_Y, LABEL_PX, ROWS_TOP, TITLE_PX, Rows,
                     card_geometry)

BUTTON_PX = 17.0
BUTTON_FILL, BUTTON_LINE = "#e8f0fa", "#7d9cc4"
TEXT_WIDTH = 118.0  # room for "Block 11 (0–11)" before the buttons


def picker_places(n_head: int) -> dict[str, tuple[float, float]]:
    """Where each picker's text starts (x, y)."""
    lefts, _, _ = card_geometry(n_head)
    return {"block": (FRAME_LEFT + 10.0, FRAME_TOP), "head": (COLUMNS["matrix"][0], HEAD_PICKER_Y + 10.0),
            "head_buttons": (lefts[0] - 2 * BUTTON_PX - 14.0, HEAD_PICKER_Y + 10.0)}


def button_boxes(n_head: int) -> dict[str, tuple[float, float, float, float]]:
    """(left, right, top, bottom) of each picker button."""
    places = picker_places(n_head)
    x, y = places["block"]
    block = x + TEXT_WIDTH
    head, y_head = places["head_buttons"]
    half = BUTTON_PX / 2
    return {"block_prev": (block, block + BUTTON_PX, y - half, y + half),
            "block_next": (block + BUTTON_PX + 4, block + 2 * BUTTON_PX + 4, y - half, y + half),
            "head_prev": (head, head + BUTTON_PX, y_head - half, y_head + half),
            "head_next": (head + BUTTON_PX + 4, head + 2 * BUTTON_PX + 4, y_head - half, y_head + half)}


def token_note_boxes(rows: Rows) -> dict[str, tuple[float, float, float, float]]:
    """The notes "+985 earlier" over the token column and "+3 later" under it, when there is such a note."""
    left, right = COLUMNS["tokens"]
    boxes = {}
    if rows.left_out:
        boxes["tokens_earlier"] = (left, right, ROWS_TOP - 15.0, ROWS_TOP)
    if rows.right_out:
        boxes["tokens_later"] = (left, right, rows.bottom, rows.bottom + 17.0)
    return boxes


def picker_stages(rows: Rows, layer: int, head: int, n_layer: int, n_head: int,
                  words: Translator | None = None) -> list[tuple]:
    """Stage rows (stage, layer, left, right, top, bottom, description) for the buttons that can act now."""
    words = words or translator()
    can = {"block_prev": layer > 0, "block_next": layer < n_layer - 1, "head_prev": head > 0,
           "head_next": head < n_head - 1}
    described = {"block_prev": words("picture.picker.block_prev", layer=layer - 1),
                 "block_next": words("picture.picker.block_next", layer=layer + 1),
                 "head_prev": words("picture.picker.head_prev", head=head - 1),
                 "head_next": words("picture.picker.head_next", head=head + 1),
                 "tokens_earlier": words("picture.picker.tokens_earlier"),
                 "tokens_later": words("picture.picker.tokens_later")}
    out = [(stage, -1, *box, described[stage]) for stage, box in button_boxes(n_head).items() if can[stage]]
    out += [(stage, -1, *box, described[stage]) for stage, box in token_note_boxes(rows).items()]
    return out


def picker_data(layer: int, head: int, n_layer: int, n_head: int, words: Translator | None = None) -> tuple[dict,
                                                                                                            dict]:
    """The buttons as drawn (faint when they can do nothing) and the pickers' texts."""
    words = words or translator()
    boxes = button_boxes(n_head)
    can = {"block_prev": layer > 0, "block_next": layer < n_layer - 1, "head_prev": head > 0,
           "head_next": head < n_head - 1}
    names = list(boxes)
    left, right, top, bottom = (np.array(c, dtype=float) for c in zip(*boxes.values()))
    buttons = {"stage": names, "left": left, "right": right, "top": top, "bottom": bottom,
               "x": (left + right) / 2, "y": (top + bottom) / 2,
               "text": ["‹" if name.endswith("prev") else "›" for name in names],
               "alpha": np.array([1.0 if can[name] else 0.3 for name in names])}
    places = picker_places(n_head)
    texts = {"x": np.array([places["block"][0], places["head"][0]]),
             "y": np.array([places["block"][1], places["head"][1]]),
             "text": [words("picture.picker.block", layer=layer, last=n_layer - 1),
                      words("picture.picker.head", head=head, last=n_head - 1)]}
    return buttons, texts


class Pickers:
    """``button_source`` (picture-picker-source: the ‹ › buttons) and ``text_source`` (their labels)."""

    def __init__(self, lang: str = "en"):
        self.words = translator(lang)
        self.button_source = ColumnDataSource(name="picture-picker-source")
        self.text_source = ColumnDataSource(name="picture-picker-text-source")

    def fill(self, layer: int, head: int, n_layer: int, n_head: int) -> None:
        buttons, texts = picker_data(layer, head, n_layer, n_head, self.words)
        set_if_changed(self.button_source, buttons, always=())
        set_if_changed(self.text_source, texts, always=())

    def draw(self, canvas) -> None:
        canvas.add(self.text_source, Text, dict(x="x", y="y", text="text", text_baseline="middle", size=LABEL_PX + 1,
                                                text_font_style="bold", text_color=LINK_COLOUR,
                                                background_fill_color="#ffffff", padding=3),
                   vertical=dict(angle=-np.pi / 2))
        canvas.add(self.button_source, Quad, dict(left="left", right="right", top="top", bottom="bottom",
                                                  fill_color=BUTTON_FILL, line_color=BUTTON_LINE, fill_alpha="alpha",
                                                  line_alpha="alpha", border_radius=3))
        canvas.add(self.button_source, Text, dict(x="x", y="y", text="text", text_align="center",
                                                  text_baseline="middle", size=TITLE_PX, text_font_style="bold",
                                                  text_color=LINK_COLOUR, text_alpha="alpha"),
                   vertical=dict(angle=-np.pi / 2))
