"""The logit lens: what the residual stream after each block would predict for the next token if the model stopped
there (final LayerNorm and unembedding applied to it). A table-like heatmap: a row per block, its top-k tokens
left to right, each cell coloured by its probability.

``lens_logits`` [n_layer, V] comes from the app: row L = ``unembed(ln_final(blocks.L.hook_resid_post[-1]))``,
so the last row is the model's own output.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from bokeh.models import ColumnDataSource, FixedTicker, HoverTool, PlainText, Range1d, Rect, Text
from bokeh.transform import linear_cmap

from transformer_explainer.gpt2_core import sampling

from ..common import (SEQUENTIAL, TEXT_COLOUR, draw, exact_number_formatter, format_probability, new_figure,
                     shorten)
from ..i18n import Translator, translator
from .output import top_candidates

CELL_PX = 40


def lens_data(lens_logits: np.ndarray, token_display: Callable[[int], str], top_k: int) -> dict:
    columns = {name: [] for name in ("layer", "rank", "token_id", "token", "label", "probability", "logit",
                                     "probability_text")}
    for layer, logits in enumerate(np.asarray(lens_logits)):
        probabilities = sampling.softmax64(np.asarray(logits, dtype=np.float64))
        for rank, token_id in enumerate(top_candidates(logits, top_k)):
            token = str(token_display(int(token_id)))
            columns["layer"].append(layer)
            columns["rank"].append(rank)
            columns["token_id"].append(int(token_id))
            columns["token"].append(token)
            columns["label"].append(shorten(token, 12))
            columns["probability"].append(float(probabilities[token_id]))
            columns["logit"].append(float(logits[token_id]))
            columns["probability_text"].append(format_probability(float(probabilities[token_id])))
    data = {name: np.asarray(values) if name in ("layer", "rank", "token_id", "probability", "logit") else values
            for name, values in columns.items()}
    data["x"] = data["rank"] + 0.5
    data["y"] = data["layer"] + 0.5
    data["text_colour"] = np.where(data["probability"] > 0.55, "white", TEXT_COLOUR)
    return data


def title_text(tokens: Sequence[str], words: Translator | None = None) -> PlainText:  # plain text: the token is user text
    words = words or translator()
    last = tokens[-1] if tokens else ""
    return PlainText(text=words("logit_lens.title", token=shorten(last, 20)))


class LogitLensView:
    """``source``: one row per (layer, rank) with token_id, token, probability, logit; rank 0 of each layer is
    that layer's argmax."""

    def __init__(self, lens_logits, token_display: Callable[[int], str], tokens: Sequence[str], top_k: int = 5,
                 lang: str = "en"):
        self.lang, self.words = lang, translator(lang)
        lens_logits = np.asarray(lens_logits)
        self.token_display, self.top_k = token_display, top_k
        self.n_layer = lens_logits.shape[0]
        self.source = ColumnDataSource(lens_data(lens_logits, token_display, top_k))
        self.figure = self._figure(tokens)
        self.layout = self.figure

    def _figure(self, tokens):
        n_layer, k = self.n_layer, self.top_k
        plot = new_figure(sizing_mode="stretch_width", frame_height=n_layer * CELL_PX, x_range=Range1d(0, k),
                          y_range=Range1d(n_layer, 0), x_axis_location="above")
        plot.title.text = title_text(tokens, self.words)
        cells = draw(plot, self.source, Rect(x="x", y="y", width=0.97, height=0.92, line_color="white",
                                             fill_color=linear_cmap("probability", SEQUENTIAL, 0, 1)))
        draw(plot, self.source, Text(x="x", y="y", text="label", text_align="center", text_baseline="bottom",
                                     y_offset=1, text_font_size="12px", text_color="text_colour"))
        draw(plot, self.source, Text(x="x", y="y", text="probability_text", text_align="center",
                                     text_baseline="top", y_offset=3, text_font_size="10px", text_color="text_colour"))
        exact = exact_number_formatter(self.lang)
        words = self.words
        plot.add_tools(HoverTool(renderers=[cells], tooltips=[
            (words("logit_lens.after_block"), "@layer"), (words("logit_lens.rank"), "@rank"),
            (words("logit_lens.token"), "@token"), ("id", "@token_id"),
            (words("logit_lens.probability"), "@probability{exact}"), ("logit", "@logit{exact}")],
            formatters={"@probability": exact, "@logit": exact}))
        self._label_axes(plot)
        return plot

    def _label_axes(self, plot) -> None:
        plot.xaxis.ticker = FixedTicker(ticks=[r + 0.5 for r in range(self.top_k)], minor_ticks=[])
        plot.xaxis.major_label_overrides = {r + 0.5: f"#{r + 1}" for r in range(self.top_k)}
        plot.yaxis.ticker = FixedTicker(ticks=[layer + 0.5 for layer in range(self.n_layer)], minor_ticks=[])
        plot.yaxis.major_label_overrides = {layer + 0.5: self.words("logit_lens.block", layer=layer)
                                            for layer in range(self.n_layer)}
        plot.axis.major_tick_line_color = None
        plot.axis.axis_line_color = None

    def argmax_ids(self) -> np.ndarray:
        """Each layer's top prediction (the rank-0 cells), layer by layer."""
        data = self.source.data
        return np.asarray(data["token_id"])[np.asarray(data["rank"]) == 0]

    def update(self, lens_logits, tokens: Sequence[str]) -> None:
        lens_logits = np.asarray(lens_logits)
        self.source.data = lens_data(lens_logits, self.token_display, self.top_k)
        if lens_logits.shape[0] != self.n_layer:
            self.n_layer = lens_logits.shape[0]
            self.figure.frame_height = self.n_layer * CELL_PX
            self.figure.y_range.update(start=self.n_layer, end=0)
            self._label_axes(self.figure)
        self.figure.title.text = title_text(tokens, self.words)
