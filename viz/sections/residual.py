"""The residual adds of one block, for one token: resid_pre + attn_out = resid_mid, resid_mid + mlp_out =
resid_post. One heatmap with a row per vector (one colour scale, so sizes compare), and their lengths."""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, HBar, HoverTool, Range1d, Text

from transformer_explainer.gpt2_core import Trace

from ..common import BAR_COLOUR, MUTED_TEXT, check_layer, draw, label_axis, new_figure, normalize_position
from ..heatmap import Heatmap
from ..i18n import translator

STAGES = (("hook_resid_pre", "resid_pre"), ("hook_attn_out", "+ attn_out"), ("hook_resid_mid", "= resid_mid"),
          ("hook_mlp_out", "+ mlp_out"), ("hook_resid_post", "= resid_post"))
STAGE_LABELS = [label for _, label in STAGES]


def residual_rows(trace: Trace, layer: int, position: int) -> np.ndarray:  # [5, d]
    block = f"blocks.{layer}"
    return np.stack([trace[f"{block}.{name}"][position] for name, _ in STAGES])


def norm_data(rows: np.ndarray) -> dict:
    norms = np.linalg.norm(rows.astype(np.float64), axis=1)
    return {"stage": STAGE_LABELS, "y": np.arange(len(STAGES)) + 0.5, "norm": norms,
            "text": [f"{n:.4g}" for n in norms]}


class ResidualView:
    """``source``: the heatmap's image [5 × d] (rows: resid_pre, attn_out, resid_mid, mlp_out, resid_post at
    ``position``); ``norm_source``: each row's length ‖x‖."""

    def __init__(self, trace: Trace, layer: int, position: int | None = None, lang: str = "en"):
        self.words = translator(lang)
        layer = check_layer(layer, trace.config.n_layer)
        position = normalize_position(position, trace.n_tokens)
        rows = residual_rows(trace, layer, position)
        self.heatmap = Heatmap(rows, title=self._title(layer, position), row_labels=STAGE_LABELS,
                               row_name=self.words("residual.vector"), max_row_ticks=10, token_rows=False,
                               lang=lang)
        self.norm_source = ColumnDataSource(norm_data(rows))
        self.norm_figure = self._norm_figure()
        self.layout = column(self.heatmap.figure, self.norm_figure, sizing_mode="stretch_width")

    @property
    def source(self) -> ColumnDataSource:
        return self.heatmap.source

    def _title(self, layer: int, position: int) -> str:  # tokens stay out of titles (Bokeh reads TeX in titles)
        return self.words("residual.title", layer=layer, position=position)

    def _norm_figure(self):
        high = float(np.max(self.norm_source.data["norm"])) or 1.0
        plot = new_figure(title=self.words("residual.norm_title"), sizing_mode="stretch_width", frame_height=110,
                          y_range=Range1d(len(STAGES), 0), x_range=Range1d(0, high * 1.15))
        bars = draw(plot, self.norm_source, HBar(y="y", left=0, right="norm", height=0.7, fill_color=BAR_COLOUR,
                                                 line_color=None, fill_alpha=0.8))
        draw(plot, self.norm_source, Text(x="norm", y="y", text="text", x_offset=4, text_baseline="middle",
                                          text_font_size="10px", text_color=MUTED_TEXT))
        label_axis(plot.yaxis[0], STAGE_LABELS, len(STAGES))
        plot.add_tools(HoverTool(renderers=[bars], tooltips=[(self.words("residual.vector"), "@stage"), ("‖x‖", "@norm")]))
        return plot

    def update(self, trace: Trace, layer: int, position: int | None = None) -> None:
        layer = check_layer(layer, trace.config.n_layer)
        position = normalize_position(position, trace.n_tokens)
        rows = residual_rows(trace, layer, position)
        self.heatmap.update(rows, title=self._title(layer, position))
        self.norm_source.data = norm_data(rows)
        self.norm_figure.x_range.end = float(np.max(self.norm_source.data["norm"]) or 1.0) * 1.15
