"""Stage 1: the prompt's tokens, then each token's embedding: token embedding + position embedding.

The strip is ``hook_embed + hook_pos_embed`` (the residual stream entering block 0), dims 0..15; the hover gives
both parts and the sum. The token boxes are what a student hovers to follow one token through the picture.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, Quad, Text

from transformer_explainer.gpt2_core import Trace

from ..common import MUTED_TEXT, SAMPLED_COLOUR, TEXT_COLOUR, set_if_changed, shorten
from ..i18n import Translator, translator
from .layout import COLUMNS, DIMS, MAX_TOKENS, ROWS_TOP, Rows
from .strips import Strip, pad

TOKEN_FILL, TOKEN_LINE, TOKEN_HOVER = "#f1f1f1", "#a8a8a8", "#ffe3c2"
TOKEN_LABEL_CHARACTERS = 11


def token_data(trace: Trace, rows: Rows, selected_position: int | None) -> dict:
    left, right = COLUMNS["tokens"]
    half = rows.height * 0.42
    positions = list(rows.positions)
    tokens = [trace.tokens[p] for p in positions]
    selected = np.array([p == selected_position for p in positions], dtype=bool)
    data = {
        "slot": rows.slots, "position": np.array(positions, dtype=int),
        "token": tokens, "token_id": np.array([trace.token_ids[p] for p in positions], dtype=int),
        "label": [shorten(t, TOKEN_LABEL_CHARACTERS) for t in tokens],
        "hover_label": [f"{p}: {t}" for p, t in zip(positions, tokens)],
        "left": np.full(rows.n, left), "right": np.full(rows.n, right),
        "top": rows.centres - half, "bottom": rows.centres + half, "x": np.full(rows.n, right - 5.0),
        "y": rows.centres, "selected": selected,
        "line_colour": [SAMPLED_COLOUR if s else TOKEN_LINE for s in selected],
        "line_width": np.where(selected, 2.5, 1.0),
        "alpha": np.ones(rows.n), "base_alpha": np.ones(rows.n),
    }
    return pad(data, MAX_TOKENS)


def earlier_note(rows: Rows, words: Translator | None = None) -> dict:
    words = words or translator()
    left, right = COLUMNS["tokens"]
    text = [words("picture.earlier", n=rows.left_out) if rows.left_out else ""]
    return {"x": [(left + right) / 2], "y": [ROWS_TOP - 7.0], "text": text}


def embedding_values(trace: Trace, rows: Rows, dims: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    positions = list(rows.positions)
    token = trace["hook_embed"][positions, :dims]
    position = trace["hook_pos_embed"][positions, :dims]
    return token + position, {"embed": token, "pos": position}


class TokensStage:
    """The token boxes (``source``, named picture-token-source; one row per picture row: slot, position, token,
    token_id, hover_label)."""

    def __init__(self, lang: str = "en"):
        self.words = translator(lang)
        self.source = ColumnDataSource(name="picture-token-source")
        self.note_source = ColumnDataSource(name="picture-earlier-source")
        self.renderer = None

    def fill(self, trace: Trace, rows: Rows, selected_position: int | None) -> None:
        set_if_changed(self.source, token_data(trace, rows, selected_position))
        set_if_changed(self.note_source, earlier_note(rows, self.words))

    def draw(self, plot) -> None:
        box = dict(left="left", right="right", top="top", bottom="bottom", fill_alpha="alpha",
                   line_alpha="alpha")
        glyph = Quad(**box, fill_color=TOKEN_FILL, line_color="line_colour", line_width="line_width")
        self.renderer = plot.add_glyph(self.source, glyph, nonselection_glyph=glyph,
                                       selection_glyph=Quad(**box, fill_color=TOKEN_HOVER, line_color=SAMPLED_COLOUR,
                                                            line_width=2),
                                       hover_glyph=Quad(**box, fill_color=TOKEN_HOVER, line_color=SAMPLED_COLOUR,
                                                        line_width=2))
        label = Text(x="x", y="y", text="label", text_align="right", text_baseline="middle", text_font_size="11px",
                     text_color=TEXT_COLOUR, text_alpha="alpha")
        plot.add_glyph(self.source, label, nonselection_glyph=label)
        plot.add_glyph(self.note_source, Text(x="x", y="y", text="text", text_align="center", text_font_size="10px",
                                              text_color=MUTED_TEXT, text_font_style="italic", text_baseline="bottom"))
        plot.add_tools(HoverTool(renderers=[self.renderer], tooltips=[(self.words("picture.tooltip.token"), "@hover_label"),
                                                                      ("id", "@token_id")]))


class EmbeddingStage:
    """One strip per token: ``hook_embed + hook_pos_embed``, dims 0..15 (``value``; the parts in ``embed``,
    ``pos``)."""

    def __init__(self, d_model: int, lang: str = "en"):
        self.words = translator(lang)
        self.strip = Strip("embedding", "hook_embed + hook_pos_embed", min(DIMS, d_model), d_model,
                           MAX_TOKENS * min(DIMS, d_model), lang)

    @property
    def source(self) -> ColumnDataSource:
        return self.strip.source

    def fill(self, trace: Trace, rows: Rows) -> None:
        values, parts = embedding_values(trace, rows, self.strip.n_dims)
        self.strip.fill(values, rows, *COLUMNS["embedding"], rows.half(), extra=parts)

    def draw(self, plot, kit) -> None:
        self.strip.draw(plot, kit, extra_tooltips=[(self.words("picture.tooltip.embed"), "@embed{exact}"),
                                                   (self.words("picture.tooltip.pos_embed"), "@pos{exact}")])
