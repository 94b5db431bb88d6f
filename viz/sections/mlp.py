"""The MLP of one block, d → 4d → d: its input (LayerNorm 2's output), the hidden layer before GELU
(``mlp.hook_pre``), the GELU curve with this position's real points on it, after GELU (``mlp.hook_post``),
and the output (``hook_mlp_out``). The strips show every token; the selected position is outlined."""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, HoverTool, Line, Scatter

from transformer_explainer.gpt2_core import Trace
from transformer_explainer.gpt2_core.model import gelu

from ..common import (BAR_COLOUR, SAMPLED_COLOUR, check_layer, draw, exact_number_formatter,
                     hover_description, new_figure, normalize_position, position_labels)
from ..heatmap import Heatmap
from ..i18n import Translator, translator

CURVE_POINTS = 201


def mlp_values(trace: Trace, layer: int) -> dict[str, np.ndarray]:
    block = f"blocks.{check_layer(layer, trace.config.n_layer)}"
    return {"input": trace[f"{block}.ln2.hook_out"], "pre": trace[f"{block}.mlp.hook_pre"],
            "post": trace[f"{block}.mlp.hook_post"], "output": trace[f"{block}.hook_mlp_out"]}


def gelu_curve_data(pre: np.ndarray) -> dict:
    finite = pre[np.isfinite(pre)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (-4.0, 4.0)
    low, high = min(low, -3.0) - 0.5, max(high, 3.0) + 0.5
    x = np.linspace(low, high, CURVE_POINTS, dtype=np.float32)
    return {"x": x, "y": gelu(x)}


def gelu_points_data(pre_row: np.ndarray, post_row: np.ndarray) -> dict:
    return {"neuron": np.arange(pre_row.size), "pre": pre_row, "post": post_row}


def titles(layer: int, words: Translator | None = None) -> dict[str, str]:
    words = words or translator()
    return {"input": words("mlp_view.input_title", layer=layer),
            "pre": words("mlp_view.pre_title"),
            "post": words("mlp_view.post_title"),
            "output": words("mlp_view.output_title")}


class MlpView:
    """Heatmaps ``heatmaps`` (input, pre, post, output; ``.source`` each), the GELU figure with
    ``gelu_curve_source`` (x, y) and ``gelu_points_source`` (neuron, pre, post: the selected position)."""

    def __init__(self, trace: Trace, layer: int, position: int | None = None, lang: str = "en"):
        self.lang, self.words = lang, translator(lang)
        layer = check_layer(layer, trace.config.n_layer)
        position = normalize_position(position, trace.n_tokens)
        values = mlp_values(trace, layer)
        rows = dict(row_labels=trace.tokens, row_hover=position_labels(trace.tokens), lang=lang)
        names = titles(layer, self.words)
        neuron = self.words("mlp_view.neuron")
        self.heatmaps = {
            "input": Heatmap(values["input"], title=names["input"], **rows),
            "pre": Heatmap(values["pre"], title=names["pre"], col_name=neuron, **rows),
            "post": Heatmap(values["post"], title=names["post"], col_name=neuron, **rows),
            "output": Heatmap(values["output"], title=names["output"], **rows),
        }
        self.gelu_curve_source = ColumnDataSource(gelu_curve_data(values["pre"]))
        self.gelu_points_source = ColumnDataSource(gelu_points_data(values["pre"][position], values["post"][position]))
        self.gelu_figure = self._gelu_figure()
        self._show_position(layer, position)
        h = self.heatmaps
        self.layout = column(h["input"].figure, h["pre"].figure, self.gelu_figure, h["post"].figure,
                             h["output"].figure, sizing_mode="stretch_width")

    def _gelu_figure(self):
        plot = new_figure(title="GELU", width=420, height=300, zoom=True, grid="xy", lang=self.lang,
                          x_axis_label=self.words("mlp_view.before_axis"),
                          y_axis_label=self.words("mlp_view.after_axis"))
        draw(plot, self.gelu_curve_source, Line(x="x", y="y", line_color="#888888", line_width=2))
        points = draw(plot, self.gelu_points_source, Scatter(x="pre", y="post", size=5, fill_color=SAMPLED_COLOUR,
                                                             fill_alpha=0.55, line_color=BAR_COLOUR, line_alpha=0.3))
        exact = exact_number_formatter(self.lang)
        words = self.words
        plot.add_tools(HoverTool(renderers=[points], description=hover_description(self.lang), tooltips=[(words("mlp_view.neuron"), "@neuron"),
                                                               (words("mlp_view.before"), "@pre{exact}"),
                                                               (words("mlp_view.after"), "@post{exact}")],
                                 formatters={"@pre": exact, "@post": exact}))
        return plot

    def _show_position(self, layer: int, position: int) -> None:
        for heatmap in self.heatmaps.values():
            heatmap.outline_row(position)
        n = self.gelu_points_source.data["pre"].size
        self.gelu_figure.title.text = self.words("mlp_view.gelu_title", position=position, n=n, layer=layer)

    def update(self, trace: Trace, layer: int, position: int | None = None) -> None:
        layer = check_layer(layer, trace.config.n_layer)
        position = normalize_position(position, trace.n_tokens)
        values = mlp_values(trace, layer)
        rows = dict(row_labels=trace.tokens, row_hover=position_labels(trace.tokens))
        names = titles(layer, self.words)
        for name, heatmap in self.heatmaps.items():
            heatmap.update(values[name], title=names[name], **rows)
        self.gelu_curve_source.data = gelu_curve_data(values["pre"])
        self.gelu_points_source.data = gelu_points_data(values["pre"][position], values["post"][position])
        self._show_position(layer, position)
