"""The other blocks: a stack of cards standing for the N−1 blocks not drawn.

The drawn block is one of N identical ones (same structure, their own weights). After it, a stack of cards says how
many more the stream goes through before the final LayerNorm; before it (when it is not block 0), a thinner stack
between the embedding and its LayerNorm says how many came first. Both are tappable (stage "blocks").
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, Quad, Text

from ..common import TEXT_COLOUR, set_if_changed
from ..i18n import Translator, plural, translator
from .layout import BEFORE_STACK, COLUMNS, LABEL_PX, ROWS_TOP, Rows, centre

CARD_FILLS = ("#e4e1f0", "#ecebf5", "#f5f4fa")  # back to front
CARD_LINE = "#8f88b5"


def block_counts(layer: int, n_layer: int) -> tuple[int, int]:
    """How many blocks run before the drawn one, and after it."""
    return layer, n_layer - 1 - layer


def stack_boxes(left: float, right: float, top: float, bottom: float, step: float) -> list[tuple]:
    return [(left + 2 * step, right + 2 * step, top - 2 * step, bottom - 2 * step, CARD_FILLS[0]),
            (left + step, right + step, top - step, bottom - step, CARD_FILLS[1]),
            (left, right, top, bottom, CARD_FILLS[2])]


def blocks_data(rows: Rows, layer: int, n_layer: int, words: Translator | None = None) -> tuple[dict, dict]:
    words = words or translator()
    before, after = block_counts(layer, n_layer)
    top, bottom = ROWS_TOP - 2.0, max(rows.bottom, ROWS_TOP + 300.0) + 2.0
    boxes, texts = [], []
    left, right = COLUMNS["blocks"]
    if after > 0:
        boxes += stack_boxes(left, right - 6, top + 4, bottom, 3.0)
        texts.append((left + (right - 6 - left) / 2, (top + bottom) / 2,
                      plural(words, after, "picture.blocks.more_one", "picture.blocks.more_other")))
    else:
        texts.append((centre("blocks"), (top + bottom) / 2, words("picture.blocks.last", n=n_layer)))
    if before > 0:  # a thin stack between the embedding and LayerNorm 1, left of the residual branch
        stack_left, stack_right = BEFORE_STACK
        boxes += stack_boxes(stack_left, stack_right - 3, top + 4, bottom, 1.5)
        texts.append(((stack_left + stack_right - 3) / 2, (top + bottom) / 2,
                      plural(words, before, "picture.blocks.before_one", "picture.blocks.before_other")))
    lefts, rights, tops, bottoms, fill = zip(*boxes) if boxes else ((), (), (), (), ())
    cards = {"left": np.array(lefts, dtype=float), "right": np.array(rights, dtype=float),
             "top": np.array(tops, dtype=float), "bottom": np.array(bottoms, dtype=float), "fill": list(fill)}
    x, y, text = zip(*texts)
    labels = {"x": np.array(x), "y": np.array(y), "text": list(text)}
    return pad_cards(cards, 6), pad_labels(labels, 2)


def pad_cards(data: dict, n: int) -> dict:
    missing = n - len(data["fill"])
    return {key: (np.concatenate([value, np.full(missing, np.nan)]) if isinstance(value, np.ndarray)
                  else value + ["rgba(0, 0, 0, 0)"] * missing) for key, value in data.items()}


def pad_labels(data: dict, n: int) -> dict:
    missing = n - len(data["text"])
    return {key: (np.concatenate([value, np.full(missing, np.nan)]) if isinstance(value, np.ndarray)
                  else value + [""] * missing) for key, value in data.items()}


class BlocksStage:
    """``card_source``: the stacked cards; ``label_source``: "N more identical blocks" (and "L blocks before")."""

    def __init__(self, lang: str = "en"):
        self.words = translator(lang)
        self.card_source = ColumnDataSource(name="picture-blocks-source")
        self.label_source = ColumnDataSource(name="picture-blocks-label-source")

    def fill(self, rows: Rows, layer: int, n_layer: int) -> None:
        cards, labels = blocks_data(rows, layer, n_layer, self.words)
        set_if_changed(self.card_source, cards)
        set_if_changed(self.label_source, labels)

    def draw(self, canvas) -> None:
        canvas.add(self.card_source, Quad, dict(left="left", right="right", top="top", bottom="bottom",
                                                fill_color="fill", line_color=CARD_LINE, fill_alpha=0.92))
        canvas.add(self.label_source, Text, dict(x="x", y="y", text="text", angle=np.pi / 2, text_align="center",
                                                 text_baseline="middle", size=LABEL_PX, text_color=TEXT_COLOUR,
                                                 text_font_style="bold"),
                   vertical=dict(angle=0.0))
