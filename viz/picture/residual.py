"""The residual stream: each sub-layer's output is added to its input, which arcs over it.

- Over the attention: ``resid_mid = resid_pre + attn_out`` (the arc leaves before LayerNorm 1, the ⊕ joins it to
  the attention's output); over the MLP: ``resid_post = resid_mid + mlp_out``.
- The strips are ``blocks.{L}.hook_resid_mid`` and ``blocks.{L}.hook_resid_post``, dims 0..15.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import Bezier, ColumnDataSource, Scatter, Segment, Text

from transformer_explainer.gpt2_core import Trace

from ..common import MUTED_TEXT, set_if_changed
from ..i18n import Translator, translator
from .layout import ARC_TOP, BRANCH_ATTN_X, COLUMNS, DIMS, MAX_TOKENS, ROWS_TOP, Rows, centre
from .strips import Strip, pad

ARC_COLOUR = "#5f7fa8"
# (where the stream branches off, where it is added back, what the sum is)
ARCS = (("_branch_attn", "_add_attn", "resid_mid"), ("_branch_mlp", "_add_mlp", "resid_post"))


def branch_x(name: str) -> float:
    return BRANCH_ATTN_X if name == "_branch_attn" else centre(name)


def arc_data(words: Translator | None = None) -> dict:
    words = words or translator()
    x0 = np.array([branch_x(start) for start, _, _ in ARCS])
    x1 = np.array([centre(end) for _, end, _ in ARCS])
    y = np.full(len(ARCS), ROWS_TOP - 4.0)
    lift = (y - ARC_TOP) * 1.33  # a cubic's peak is 3/4 of its control points' height
    return {"x0": x0, "y0": y, "x1": x1, "y1": y, "cx0": x0, "cy0": y - lift, "cx1": x1, "cy1": y - lift,
            "label_x": (x0 + x1) / 2, "label_y": np.full(len(ARCS), ARC_TOP + 9.0),
            "label": [words("picture.residual.around_attention"), words("picture.residual.around_mlp")]}


def bus_data(rows: Rows) -> dict:
    """Vertical lines through every token row where the stream branches off and where it is added back."""
    xs = [x for start, end, _ in ARCS for x in (branch_x(start), centre(end))]
    top, bottom = ROWS_TOP - 4.0, rows.centres[-1] if rows.n else ROWS_TOP
    return {"x0": np.array(xs), "x1": np.array(xs), "y0": np.full(len(xs), top), "y1": np.full(len(xs), bottom)}


def plus_data(rows: Rows) -> dict:
    """A ⊕ in every token row where the residual is added."""
    xs = np.array([centre(end) for _, end, _ in ARCS])
    data = {"x": np.repeat(xs, rows.n), "y": np.tile(rows.centres, len(xs)), "slot": np.tile(rows.slots, len(xs)),
            "alpha": np.ones(len(xs) * rows.n), "base_alpha": np.ones(len(xs) * rows.n)}
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

    def draw_under(self, plot) -> None:
        """The arcs and the vertical lines, under the strips and ribbons."""
        plot.add_glyph(self.arc_source, Bezier(x0="x0", y0="y0", x1="x1", y1="y1", cx0="cx0", cy0="cy0", cx1="cx1",
                                               cy1="cy1", line_color=ARC_COLOUR, line_width=2.5, line_alpha=0.8))
        plot.add_glyph(self.bus_source, Segment(x0="x0", y0="y0", x1="x1", y1="y1", line_color=ARC_COLOUR,
                                                line_width=1.5, line_alpha=0.6))
        plot.add_glyph(self.arc_source, Text(x="label_x", y="label_y", text="label", text_align="center",
                                             text_baseline="middle", text_font_size="10px", text_color=MUTED_TEXT,
                                             text_font_style="italic"))

    def draw(self, plot, kit) -> None:
        plus = Scatter(x="x", y="y", marker="circle_cross", size=10, fill_color="white", line_color=ARC_COLOUR,
                       line_width=1.5, fill_alpha="alpha", line_alpha="alpha")
        plot.add_glyph(self.plus_source, plus, nonselection_glyph=plus)
        self.mid.draw(plot, kit)
        self.post.draw(plot, kit)
