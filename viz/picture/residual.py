"""The residual stream: the spine of the block. Each sub-layer branches off it and its output is added back (⊕).

- Over the attention: ``resid_mid = resid_pre + attn_out`` (the stream leaves before LayerNorm 1 and arcs over the
  attention to the ⊕ that adds the attention's output); over the MLP: ``resid_post = resid_mid + mlp_out``.
- The strips are ``blocks.{L}.hook_resid_mid`` and ``blocks.{L}.hook_resid_post``, dims 0..15.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import Bezier, Circle, ColumnDataSource, Segment, Text

from transformer_explainer.gpt2_core import Trace

from ..common import set_if_changed
from ..i18n import Translator, translator
from .layout import ARC_TOP, BRANCH_ATTN_X, COLUMNS, DIMS, LABEL_PX, MAX_TOKENS, ROWS_TOP, Rows, centre
from .strips import Strip, pad

ARC_COLOUR = "#6d8fbf"
# (where the stream branches off, where it is added back, what the sum is)
ARCS = (("_branch_attn", "_add_attn", "resid_mid"), ("_branch_mlp", "_add_mlp", "resid_post"))
PLUS_RADIUS = 5.5


def branch_x(name: str) -> float:
    return BRANCH_ATTN_X if name == "_branch_attn" else centre(name)


def arc_data(words: Translator | None = None) -> dict:
    words = words or translator()
    x0 = np.array([branch_x(start) for start, _, _ in ARCS])
    x1 = np.array([centre(end) for _, end, _ in ARCS])
    y = np.full(len(ARCS), ROWS_TOP - 2.0)
    lift = (y - ARC_TOP) * 1.33  # a cubic's peak is 3/4 of its control points' height
    return {"x0": x0, "y0": y, "x1": x1, "y1": y, "cx0": x0, "cy0": y - lift, "cx1": x1, "cy1": y - lift,
            "label_x": (x0 + x1) / 2, "label_y": np.full(len(ARCS), ARC_TOP + 0.5),
            "label": [words("picture.residual.label")] * len(ARCS)}


def bus_data(rows: Rows) -> dict:
    """Vertical lines through every token row where the stream branches off and where it is added back."""
    xs = [x for start, end, _ in ARCS for x in (branch_x(start), centre(end))]
    top, bottom = ROWS_TOP - 2.0, rows.centres[-1] if rows.n else ROWS_TOP
    return {"x0": np.array(xs), "x1": np.array(xs), "y0": np.full(len(xs), top), "y1": np.full(len(xs), bottom)}


def plus_data(rows: Rows) -> dict:
    """A ⊕ in every token row where the residual is added."""
    xs = np.array([centre(end) for _, end, _ in ARCS])
    x, y = np.repeat(xs, rows.n), np.tile(rows.centres, len(xs))
    r = min(PLUS_RADIUS, rows.height * 0.3) * 0.6
    data = {"x": x, "y": y, "radius": np.full(x.size, min(PLUS_RADIUS, rows.height * 0.3)),
            "h_x0": x - r, "h_x1": x + r, "v_y0": y - r, "v_y1": y + r,
            "slot": np.tile(rows.slots, len(xs)), "alpha": np.ones(x.size), "base_alpha": np.ones(x.size)}
    return pad(data, len(xs) * MAX_TOKENS)


class ResidualStage:
    """``mid``: ``hook_resid_mid``; ``post``: ``hook_resid_post``; the arcs and the ⊕ signs."""

    def __init__(self, d_model: int, lang: str = "en"):
        dims = min(DIMS, d_model)
        self.mid = Strip("resid_mid", "", dims, d_model, MAX_TOKENS * dims, lang)
        self.post = Strip("resid_post", "", dims, d_model, MAX_TOKENS * dims, lang)
        self.arc_source = ColumnDataSource(arc_data(translator(lang)), name="picture-residual-arc-source")
        self.bus_source = ColumnDataSource(name="picture-residual-bus-source")
        self.plus_source = ColumnDataSource(name="picture-residual-plus-source")

    def fill(self, trace: Trace, rows: Rows, layer: int) -> None:
        positions = list(rows.positions)
        for strip, hook, what in ((self.mid, "hook_resid_mid", "resid_pre + attn_out"),
                                  (self.post, "hook_resid_post", "resid_mid + mlp_out")):
            strip.rename(f"blocks.{layer}.{hook} ({what})")
            strip.fill(trace[f"blocks.{layer}.{hook}"][positions, :strip.n_dims], rows, *COLUMNS[strip.key],
                       rows.half())
        set_if_changed(self.bus_source, bus_data(rows))
        set_if_changed(self.plus_source, plus_data(rows))

    def draw_under(self, canvas) -> None:
        """The arcs and the vertical lines, under the strips and ribbons."""
        arc = dict(x0="x0", y0="y0", x1="x1", y1="y1", cx0="cx0", cy0="cy0", cx1="cx1", cy1="cy1")
        canvas.add(self.arc_source, Bezier, dict(**arc, line_color=ARC_COLOUR, line_width=8, line_alpha=0.35))
        canvas.add(self.bus_source, Segment, dict(x0="x0", y0="y0", x1="x1", y1="y1", line_color=ARC_COLOUR,
                                                  line_width=3, line_alpha=0.5))
        canvas.add(self.arc_source, Text, dict(x="label_x", y="label_y", text="label", text_align="center",
                                               text_baseline="middle", size=LABEL_PX, text_color=ARC_COLOUR,
                                               text_font_style="italic", background_fill_color="#ffffff",
                                               padding=2, text_alpha=1.0, background_fill_alpha=1.0),
                   vertical=dict(text_alpha=0.0, background_fill_alpha=0.0))  # turned: no room in the margin

    def draw(self, canvas, kit) -> None:
        circle = dict(x="x", y="y", radius="radius", fill_color="white", line_color=ARC_COLOUR, line_width=1.5,
                      fill_alpha="alpha", line_alpha="alpha")
        canvas.add(self.plus_source, Circle, circle)
        line = dict(line_color=ARC_COLOUR, line_width=1.5, line_alpha="alpha")
        canvas.add(self.plus_source, Segment, dict(x0="h_x0", x1="h_x1", y0="y", y1="y", **line))
        canvas.add(self.plus_source, Segment, dict(x0="x", x1="x", y0="v_y0", y1="v_y1", **line))
        self.mid.draw(canvas, kit)
        self.post.draw(canvas, kit)
