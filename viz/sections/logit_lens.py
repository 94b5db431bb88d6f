"""The logit lens: what the residual stream after each block would predict for the next token if the model stopped
there (final LayerNorm and unembedding applied to it). A table-like heatmap: a row per block, its top-k tokens
left to right, each cell coloured by its probability.

``lens_logits`` [n_layer, V] comes from the app: row L = ``unembed(ln_final(blocks.L.hook_resid_post[p]))`` for
one position ``p`` (the last, or the token picked), so the last row is the model's own output there.
``mark_block(L)`` outlines one row (the commitment block of that position).

``CommitmentStripView``: one strip under the lens, a cell per position, holding the first block whose top token is
already the final one (gpt2_core/commitment.py); tapping a cell selects that position (the app then shows its
lens above, the commitment block outlined).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from bokeh.models import ColumnDataSource, FixedTicker, HoverTool, PlainText, Range1d, Rect, TapTool, Text
from bokeh.transform import linear_cmap

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.gpt2_core.commitment import LensTop, commitment_blocks, settled_blocks

from ..common import (SAMPLED_COLOUR, SEQUENTIAL, TEXT_COLOUR, draw, exact_number_formatter, format_probability,
                      label_axis, new_figure, shorten)
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


def marked_row(layer: int | None, top_k: int) -> dict:
    rows = [] if layer is None else [int(layer)]
    return {"layer": rows, "x": [top_k / 2] * len(rows), "y": [r + 0.5 for r in rows], "width": [top_k] * len(rows)}


class LogitLensView:
    """``source``: one row per (layer, rank) with token_id, token, probability, logit; rank 0 of each layer is
    that layer's argmax."""

    def __init__(self, lens_logits, token_display: Callable[[int], str], tokens: Sequence[str], top_k: int = 5,
                 lang: str = "en"):
        self.lang, self.words = lang, translator(lang)
        lens_logits = np.asarray(lens_logits)
        self.token_display, self.top_k = token_display, top_k
        self.n_layer = lens_logits.shape[0]
        self.source = ColumnDataSource(lens_data(lens_logits, token_display, top_k), name="lens-source")
        self.marked_source = ColumnDataSource(marked_row(None, top_k), name="lens-marked-source")
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
        draw(plot, self.marked_source, Rect(x="x", y="y", width="width", height=0.98, fill_alpha=0.0,
                                            line_color=SAMPLED_COLOUR, line_width=3))
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

    def mark_block(self, layer: int | None) -> None:
        """Outline the row of block ``layer`` (None: no row)."""
        self.marked_source.data = marked_row(layer, self.top_k)

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


# -- where each position commits ----------------------------------------------------------------------------

def commitment_data(top: LensTop, tokens: Sequence[str], token_display: Callable[[int], str],
                    selected: int | None = None) -> dict:
    """One cell per position of ``top``: its commitment block (the first whose top token is the final one), the
    block from which it stays, and the final top token."""
    blocks, settled = commitment_blocks(top.top_ids), settled_blocks(top.top_ids)  # [P] each
    n_layer = top.top_ids.shape[0]
    positions = top.positions
    final = top.top_ids[-1]
    return {
        "position": positions, "x": np.arange(positions.size) + 0.5, "y": np.full(positions.size, 0.5),
        "block": blocks, "settled": settled, "block_text": [str(int(b)) for b in blocks],
        "token": [str(tokens[p]) for p in positions], "final_id": final,
        "final_token": [str(token_display(int(i))) for i in final],
        "text_colour": np.where(blocks > 0.55 * max(n_layer - 1, 1), "white", TEXT_COLOUR),
        "selected_alpha": np.where(positions == selected, 1.0, 0.0),
    }


class CommitmentStripView:
    """``source`` (``commitment-source``): position, block (the commitment block), settled, token, final_token;
    one cell per position, coloured by its block (light: early, dark: late). A tap selects the cell's row in
    ``source.selected.indices``."""

    def __init__(self, top: LensTop, tokens: Sequence[str], token_display: Callable[[int], str],
                 selected: int | None = None, lang: str = "en"):
        self.words = translator(lang)
        self.token_display = token_display
        self.n_layer = top.top_ids.shape[0]
        self.source = ColumnDataSource(commitment_data(top, tokens, token_display, selected), name="commitment-source")
        self.figure = self._figure(top, tokens)
        self.layout = self.figure

    def _figure(self, top: LensTop, tokens: Sequence[str]):
        words, n = self.words, top.positions.size
        plot = new_figure(axes="x", name="commitment-figure", sizing_mode="stretch_width", frame_height=CELL_PX,
                          x_range=Range1d(0, n), y_range=Range1d(1, 0))
        mapper = linear_cmap("block", SEQUENTIAL[40:], 0, max(self.n_layer - 1, 1))
        cells = draw(plot, self.source, Rect(x="x", y="y", width=0.97, height=0.92, line_color="white",
                                             fill_color=mapper))
        draw(plot, self.source, Rect(x="x", y="y", width=0.97, height=0.92, fill_alpha=0.0, line_color=SAMPLED_COLOUR,
                                     line_width=3, line_alpha="selected_alpha"))
        draw(plot, self.source, Text(x="x", y="y", text="block_text", text_align="center", text_baseline="middle",
                                     text_font_size="12px", text_color="text_colour"))
        plot.add_tools(TapTool(renderers=[cells]), HoverTool(renderers=[cells], tooltips=[
            (words("lens.commit.position"), "@position"), (words("logit_lens.token"), "@token"),
            (words("lens.commit.final"), "@final_token"), (words("lens.commit.block"), "@block"),
            (words("lens.commit.settled"), "@settled")]))
        plot.axis.major_tick_line_color = None
        plot.axis.axis_line_color = None
        self._label(plot, top, tokens)
        return plot

    def _label(self, plot, top: LensTop, tokens: Sequence[str]) -> None:
        positions = top.positions
        label_axis(plot.xaxis[0], [tokens[p] for p in positions], positions.size, max_ticks=32, limit=10)
        n_tokens = len(tokens)
        title = self.words("lens.commit.title")
        if positions.size < n_tokens:
            title += " " + self.words("lens.commit.last_tokens", n=positions.size, total=n_tokens)
        plot.title.text = title

    def select(self, position: int | None) -> None:
        """Outline the cell of ``position`` (an index into the trace's tokens)."""
        positions = np.asarray(self.source.data["position"])
        self.source.patch({"selected_alpha": [(slice(0, positions.size),
                                               np.where(positions == position, 1.0, 0.0).tolist())]})

    def blocks(self) -> dict[int, int]:
        """Each shown position's commitment block."""
        data = self.source.data
        return {int(p): int(b) for p, b in zip(data["position"], data["block"])}

    def update(self, top: LensTop, tokens: Sequence[str], selected: int | None = None) -> None:
        n = top.positions.size
        self.source.data = commitment_data(top, tokens, self.token_display, selected)
        self.figure.x_range.update(start=0, end=n)
        self._label(self.figure, top, tokens)
