"""Embedding: the prompt's tokens (display strings and ids), then token embedding + position embedding = the
residual stream entering block 0, each as a heat strip [pos × d] with the exact value on hover."""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, HoverTool, Range1d, Rect, Text

from transformer_explainer.gpt2_core import Trace

from ..common import MUTED_TEXT, NODE_COLOUR, NODE_LINE, TEXT_COLOUR, draw, new_figure, position_labels, shorten
from ..heatmap import Heatmap
from ..i18n import Translator, translator

CHIP_ROW_PX = 52
MAX_CHIPS = 96  # a longer prompt shows its first and last 48 tokens as chips (the strips below show them all)


def chips_per_row(n_tokens: int) -> int:
    return 6 if n_tokens <= 24 else 8 if n_tokens <= 48 else 12


def shown_positions(n_tokens: int) -> list[int]:
    """The positions that get a chip; -1 stands for the tokens left out in the middle."""
    if n_tokens <= MAX_CHIPS:
        return list(range(n_tokens))
    half = MAX_CHIPS // 2
    return [*range(half - 1), -1, *range(n_tokens - half, n_tokens)]


def token_chip_data(tokens, token_ids, per_row: int, words: Translator | None = None) -> dict:
    words = words or translator()
    positions = shown_positions(len(tokens))
    left_out = len(tokens) - (len(positions) - 1)
    slots = np.arange(len(positions))
    token = [tokens[p] if p >= 0 else words("embedding.more_tokens", n=left_out) for p in positions]
    ids = [token_ids[p] if p >= 0 else -1 for p in positions]
    return {
        "position": np.array(positions), "token": token, "token_id": ids,
        "x": slots % per_row, "y": slots // per_row,
        "label": [shorten(t, 16) if p >= 0 else words("embedding.more_short", n=left_out)
                  for t, p in zip(token, positions)],
        "id_label": [f"#{p} · {i}" if p >= 0 else words("embedding.in_the_strips") for p, i in zip(positions, ids)],
    }


def token_chips_figure(source: ColumnDataSource, per_row: int, n_rows: int, words: Translator | None = None):
    """The tokenization: one chip per token, its display string and its id, in reading order."""
    words = words or translator()
    plot = new_figure(title=words("embedding.tokens_title"), axes="",
                      sizing_mode="stretch_width", frame_height=n_rows * CHIP_ROW_PX,
                      x_range=Range1d(-0.5, per_row - 0.5), y_range=Range1d(n_rows - 0.5, -0.5))
    chips = draw(plot, source, Rect(x="x", y="y", width=0.94, height=0.86, fill_color=NODE_COLOUR,
                                    line_color=NODE_LINE))
    draw(plot, source, Text(x="x", y="y", text="label", text_align="center", text_baseline="bottom",
                            y_offset=2, text_font_size="13px", text_color=TEXT_COLOUR))
    draw(plot, source, Text(x="x", y="y", text="id_label", text_align="center", text_baseline="top",
                            y_offset=5, text_font_size="10px", text_color=MUTED_TEXT))
    plot.add_tools(HoverTool(renderers=[chips], tooltips=[(words("embedding.position"), "@position"),
                                                          (words("embedding.token"), "@token"),
                                                          ("id", "@token_id")]))
    return plot


class EmbeddingView:
    """``token_source`` (position, token, token_id), and three heatmaps whose ``.source`` hold
    ``hook_embed``, ``hook_pos_embed`` and ``blocks.0.hook_resid_pre`` (their sum)."""

    def __init__(self, trace: Trace, lang: str = "en"):
        self.words = words = translator(lang)
        per_row, n_rows = self._chip_grid(trace.n_tokens)
        self.token_source = ColumnDataSource(token_chip_data(trace.tokens, trace.token_ids, per_row, words),
                                             name="embedding-token-source")
        self.tokens_figure = token_chips_figure(self.token_source, per_row, n_rows, words)
        labels = dict(row_labels=trace.tokens, row_hover=position_labels(trace.tokens), lang=lang)
        self.token_embedding = Heatmap(trace["hook_embed"], title=words("embedding.token_embedding_title"),
                                       **labels)
        self.position_embedding = Heatmap(trace["hook_pos_embed"], title=words("embedding.position_embedding_title"),
                                          **labels)
        self.embedding_sum = Heatmap(trace["blocks.0.hook_resid_pre"],
                                     title=words("embedding.sum_title"), **labels)
        self.heatmaps = {"token_embedding": self.token_embedding, "position_embedding": self.position_embedding,
                         "sum": self.embedding_sum}
        self.layout = column(self.tokens_figure, self.token_embedding.figure, self.position_embedding.figure,
                             self.embedding_sum.figure, sizing_mode="stretch_width")

    @property
    def sum_source(self) -> ColumnDataSource:
        return self.embedding_sum.source

    @staticmethod
    def _chip_grid(n_tokens: int) -> tuple[int, int]:
        n_chips = len(shown_positions(n_tokens))
        per_row = max(1, min(chips_per_row(n_tokens), n_chips))
        return per_row, int(np.ceil(n_chips / per_row))

    def update(self, trace: Trace) -> None:
        per_row, n_rows = self._chip_grid(trace.n_tokens)
        self.token_source.data = token_chip_data(trace.tokens, trace.token_ids, per_row, self.words)
        self.tokens_figure.x_range.update(start=-0.5, end=per_row - 0.5)
        self.tokens_figure.y_range.update(start=n_rows - 0.5, end=-0.5)
        self.tokens_figure.frame_height = n_rows * CHIP_ROW_PX
        labels = dict(row_labels=trace.tokens, row_hover=position_labels(trace.tokens))
        self.token_embedding.update(trace["hook_embed"], **labels)
        self.position_embedding.update(trace["hook_pos_embed"], **labels)
        self.embedding_sum.update(trace["blocks.0.hook_resid_pre"], **labels)
