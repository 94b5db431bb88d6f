"""The spotlight: an outlined box round the stage of the picture a guided tour's step talks about (app/tour.py).

It only draws: no tool lists its renderer, so it takes no hover and no tap, and the stages under it stay tappable.
Its source (picture-spotlight-source) has one row per box, with the ``stage`` it lights (every box of that stage:
"blocks" can have two) and its ``left``, ``right``, ``top``, ``bottom``; no stage lit: no rows. Its boxes follow
the stage boxes (``stage_source``), which move when the prompt's number of tokens changes.

Stages are those of the stage source (embedding, ln1, qkv, attention, attention_output, residual_mid, ln2, mlp,
residual_post, blocks, ln_final, output), plus ``tokens``: the token column, which has no stage box of its own.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, CustomJS, Quad

from .. import js_code
from .layout import COLUMNS, FRAME_TOP, ROWS_TOP
from ..common import set_if_changed

SPOTLIGHT_COLOUR = "#f0b400"  # the page's focus colour: the same amber says "here"
PADDING = 3.0  # outside the stage's own box, so the outline does not cover the stage's hover outline


def tokens_box(stage_data: dict) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) of the token column, as tall as the stage boxes."""
    bottoms = [b for b, stage in zip(stage_data.get("bottom", ()), stage_data.get("stage", ())) if stage]
    bottom = float(np.nanmax(bottoms)) if bottoms else ROWS_TOP + 60.0
    left, right = COLUMNS["tokens"]
    return left + 1.0, right + 3.0, FRAME_TOP, bottom


def spotlight_data(stage_data: dict, stage: str | None) -> dict:
    """The boxes that light ``stage`` (none for None or a stage the picture does not draw)."""
    boxes = []
    if stage == "tokens":
        boxes.append(tokens_box(stage_data))
    elif stage:
        for i, name in enumerate(stage_data.get("stage", ())):
            if name == stage:
                box = tuple(float(stage_data[key][i]) for key in ("left", "right", "top", "bottom"))
                if all(np.isfinite(box)):
                    boxes.append(box)
    left, right, top, bottom = (np.array(c, dtype=float) for c in zip(*boxes)) if boxes else ([], [], [], [])
    return {"stage": [stage] * len(boxes), "left": np.asarray(left, dtype=float) - PADDING,
            "right": np.asarray(right, dtype=float) + PADDING, "top": np.asarray(top, dtype=float) - PADDING,
            "bottom": np.asarray(bottom, dtype=float) + PADDING}


class Spotlight:
    """The spotlight's source and glyph; ``show(stage, stage_data)`` lights a stage, ``follow`` keeps it lit."""

    def __init__(self):
        self.stage: str | None = None
        self.source = ColumnDataSource(spotlight_data({}, None), name="picture-spotlight-source")

    def show(self, stage: str | None, stage_data: dict) -> None:
        self.stage = stage or None
        set_if_changed(self.source, spotlight_data(stage_data, self.stage))

    def follow(self, stage_data: dict) -> None:
        """The stage boxes moved (another prompt, another block): the lit stage's boxes move with them."""
        if self.stage is not None:
            set_if_changed(self.source, spotlight_data(stage_data, self.stage))

    def scroll_into_view(self, plot) -> None:
        """When a stage is lit outside the window (a phone, a short window), scroll the page until it is in view."""
        scroll = CustomJS(args=dict(plot=plot), code=js_code("picture_spotlight_scroll"))
        self.source.js_on_change("data", scroll)

    def draw(self, canvas) -> None:
        glyph = dict(left="left", right="right", top="top", bottom="bottom", fill_color=SPOTLIGHT_COLOUR,
                     fill_alpha=0.07, line_color=SPOTLIGHT_COLOUR, line_width=3)
        canvas.add(self.source, Quad, glyph, level="overlay")
