"""Stage 1: the prompt's tokens (the token column: the student's own tokens, their ids and bytes on hover), then
each token's embedding: token embedding + position embedding.

The strip is ``hook_embed + hook_pos_embed`` (the residual stream entering block 0), dims 0..15; the hover gives
both parts and the sum. The token boxes are what a student hovers (or taps) to follow one token through the
picture. A prompt longer than the rows says how many tokens are before (and after) the rows drawn: tapping that
note moves the rows (stages ``tokens_earlier`` / ``tokens_later``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, Quad, Text

from transformer_explainer.gpt2_core import Trace

from ..common import SAMPLED_COLOUR, TEXT_COLOUR, set_if_changed, shorten_to_ems
from ..i18n import Translator, translator
from .layout import COLUMNS, DIMS, MAX_TOKENS, ROWS_TOP, SMALL_PX, TOKEN_PX, Rows
from .strips import Strip, pad

TOKEN_FILL, TOKEN_LINE, TOKEN_HOVER = "#f4f5f7", "#c9ced6", "#ffe3c2"
LINK_COLOUR = "#2f5f98"  # what a tap moves or opens: the notes on the tokens not drawn, the pickers
TOKEN_LABEL_EMS = 5.8  # a token's box holds 5.8 ems of its label at TOKEN_PX ("␣visualiza…", "<0xF0><0…")


def byte_text(token_bytes: Callable[[int], bytes] | None, token_id: int) -> str:
    """The token's bytes in hexadecimal ("20 77 6f 72 6c 64"), or "" when they are not known."""
    if token_bytes is None:
        return ""
    try:
        return " ".join(f"{b:02x}" for b in token_bytes(int(token_id)))
    except Exception:  # an id the vocabulary lacks (a model with more rows than tokens): its hover says less
        return ""


def token_data(trace: Trace, rows: Rows, selected_position: int | None,
               token_bytes: Callable[[int], bytes] | None = None) -> dict:
    left, right = COLUMNS["tokens"]
    half = min(rows.height * 0.42, 13.0)
    positions = list(rows.positions)
    tokens = [trace.tokens[p] for p in positions]
    ids = [trace.token_ids[p] for p in positions]
    selected = np.array([p == selected_position for p in positions], dtype=bool)
    data = {
        "slot": rows.slots, "position": np.array(positions, dtype=int),
        "token": tokens, "token_id": np.array(ids, dtype=int),
        "bytes": [byte_text(token_bytes, i) for i in ids],
        "label": [shorten_to_ems(t, TOKEN_LABEL_EMS) for t in tokens],
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
    """"+985 earlier" over the token column: tap it to scroll the rows up."""
    words = words or translator()
    left, right = COLUMNS["tokens"]
    return {"x": [(left + right) / 2], "y": [ROWS_TOP - 7.0],
            "text": [words("picture.earlier", n=rows.left_out) if rows.left_out else ""]}


def later_note(rows: Rows, words: Translator | None = None) -> dict:
    """"+3 later" under the token column when the rows were scrolled up: tap it to scroll back down."""
    words = words or translator()
    left, right = COLUMNS["tokens"]
    return {"x": [(left + right) / 2], "y": [rows.bottom + 9.0],
            "text": [words("picture.later", n=rows.right_out) if rows.right_out else ""]}


def embedding_values(trace: Trace, rows: Rows, dims: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    positions = list(rows.positions)
    token = trace["hook_embed"][positions, :dims]
    position = trace["hook_pos_embed"][positions, :dims]
    return token + position, {"embed": token, "pos": position}


class TokensStage:
    """The token boxes (``source``, named picture-token-source; one row per picture row: slot, position, token,
    token_id, bytes, hover_label) and the notes on the tokens not drawn (``note_source``)."""

    def __init__(self, lang: str = "en", token_bytes: Callable[[int], bytes] | None = None):
        self.words = translator(lang)
        self.token_bytes = token_bytes
        self.source = ColumnDataSource(name="picture-token-source")
        self.note_source = ColumnDataSource(name="picture-earlier-source")
        self.later_source = ColumnDataSource(name="picture-later-source")
        self.renderer = None

    def fill(self, trace: Trace, rows: Rows, selected_position: int | None) -> None:
        set_if_changed(self.source, token_data(trace, rows, selected_position, self.token_bytes))
        set_if_changed(self.note_source, earlier_note(rows, self.words))
        set_if_changed(self.later_source, later_note(rows, self.words))

    def draw(self, canvas) -> None:
        box = dict(left="left", right="right", top="top", bottom="bottom", fill_alpha="alpha", line_alpha="alpha",
                   border_radius=4)
        self.renderer = canvas.add(self.source, Quad, dict(**box, fill_color=TOKEN_FILL, line_color="line_colour",
                                                            line_width="line_width"),
                                   selection=dict(fill_color=TOKEN_HOVER, line_color=SAMPLED_COLOUR, line_width=2),
                                   hover=dict(fill_color=TOKEN_HOVER, line_color=SAMPLED_COLOUR, line_width=2))
        canvas.add(self.source, Text, dict(x="x", y="y", text="label", text_align="right", text_baseline="middle",
                                           size=TOKEN_PX, text_color=TEXT_COLOUR, text_alpha="alpha"),
                   vertical=dict(angle=np.pi / 2))
        for notes in (self.note_source, self.later_source):
            canvas.add(notes, Text, dict(x="x", y="y", text="text", text_align="center", size=SMALL_PX,
                                         text_color=LINK_COLOUR, text_font_style="italic", text_baseline="middle"),
                       vertical=dict(angle=np.pi / 2))
        words = self.words
        canvas.plot.add_tools(HoverTool(renderers=[self.renderer], tooltips=[
            (words("picture.tooltip.token"), "@hover_label"),
            ("id", words("picture.tooltip.id_bytes", id="@token_id", bytes="@bytes"))]))


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

    def draw(self, canvas, kit) -> None:
        self.strip.draw(canvas, kit, extra_tooltips=[(self.words("picture.tooltip.embed"), "@embed{exact}"),
                                                     (self.words("picture.tooltip.pos_embed"), "@pos{exact}")])
