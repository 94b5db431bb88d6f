"""The attention of the selected head, and what comes out of it.

- ``MatrixStage``: the selected head's attention matrix. Rows are queries, columns keys, as
  ``hook_pattern[head][q, k]``: a cell's colour is that real weight (white 0 to dark blue 1), and when the cells
  are wide enough (a short prompt) the weight is written in it; cells the causal mask removed (k > q) are grey and
  hatched. Laid out horizontally, row i sits on token i's row (its query runs straight in) and each column's key
  comes in from below through its kᵀ (``hook_k[j, head]``, dims 0..15); turned (a phone), the keys run straight
  down into their columns and the queries come round into their rows (``aligned``). Hover a cell: the two tokens,
  q·k (``hook_attn_raw``), the scaled and masked score (``hook_attn_scores``) and the weight (``hook_pattern``).
- ``HeadCards``: every head of the block as a card with its own real pattern as a thumbnail, in a row under the
  attention beside "Head 2 (0–11) ‹ ›"; tap a card to draw that head (``head_source.selected``). Ablated heads are
  crossed out.
- ``AttentionOutputStage``: the head's output z (``hook_z[:, head]``: each row of weights times V), then all heads
  concatenated and projected by c_proj: ``hook_attn_out``.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, Image, Quad, Text

from transformer_explainer.gpt2_core import Trace

from ..common import SAMPLED_COLOUR, SEQUENTIAL, set_if_changed
from ..heatmap import colour_mapper
from ..i18n import Translator, translator
from .layout import (COLUMNS, DIMS, KT_PX, LABEL_PX, MAX_TOKENS, NUMBER_PX, ROWS_TOP, SMALL_PX, Rows,
                     card_geometry)
from .strips import Strip, fit_signed, pad, strip_data

MATRIX_MASKED = "#c9c9c9"  # a mid grey: no weight is drawn this colour (weights run white → blue)
NUMBER_CELL_PX = 27.0  # cells at least this wide carry their weight as a number
CARD_FILL, CARD_LINE = "#ffffff", "#9a9a9a"
ALIGNED = ("query", "key")


def weight_mapper():
    """White for 0, dark blue for 1 (ColorBrewer Blues); masked cells grey."""
    mapper = colour_mapper(SEQUENTIAL, 0.0, 1.0, SEQUENTIAL[0], SEQUENTIAL[-1])
    mapper.nan_color = MATRIX_MASKED
    return mapper


def attention_hook(layer: int, name: str) -> str:
    return f"blocks.{layer}.attn.{name}"


def weight_label(weight: float) -> str:
    return "1" if weight >= 0.995 else f"{weight:.2f}".lstrip("0") if weight < 1 else "1"


def cell_boxes(rows: Rows, query_slot: np.ndarray, key_slot: np.ndarray, aligned: str, inset: float) -> tuple:
    """(left, right, top, bottom) of the cells: the ``aligned`` index on its token's row, the other one along the
    flow (one column of ``rows.matrix_cell`` each)."""
    on_row, along = (query_slot, key_slot) if aligned == "query" else (key_slot, query_slot)
    cell, height = rows.matrix_cell, rows.height
    return (rows.matrix_left + along * cell + inset, rows.matrix_left + (along + 1) * cell - inset,
            rows.y(on_row) - height / 2 + inset, rows.y(on_row) + height / 2 - inset)


def matrix_data(trace: Trace, rows: Rows, layer: int, head: int, aligned: str = "query") -> dict:
    positions = list(rows.positions)
    index = np.ix_(positions, positions)
    raw = trace[attention_hook(layer, "hook_attn_raw")][head][index]
    score = trace[attention_hook(layer, "hook_attn_scores")][head][index]
    weight = trace[attention_hook(layer, "hook_pattern")][head][index]
    n = rows.n
    query_slot, key_slot = np.repeat(rows.slots, n), np.tile(rows.slots, n)
    masked = np.isneginf(score).ravel()
    left, right, top, bottom = cell_boxes(rows, query_slot, key_slot, aligned, 0.5)
    weights = weight.ravel().astype(np.float32)
    numbered = rows.matrix_cell >= NUMBER_CELL_PX
    data = {
        "left": left, "right": right, "top": top, "bottom": bottom,
        "query_slot": query_slot, "key_slot": key_slot, "slot": query_slot,
        "query": np.asarray(positions)[query_slot], "key": np.asarray(positions)[key_slot],
        "raw": raw.ravel().astype(np.float32), "score": score.ravel().astype(np.float32),
        "weight": weights, "masked": masked,
        "shade": np.where(masked, np.nan, weight.ravel()).astype(np.float32),
        "x": (left + right) / 2, "y": (top + bottom) / 2,
        "label": ["" if m or not numbered else weight_label(float(w)) for m, w in zip(masked, weights)],
        "label_colour": ["#ffffff" if w > 0.55 else "#1f3552" for w in weights],
        "alpha": np.ones(n * n), "base_alpha": np.ones(n * n),
    }
    return pad(data, MAX_TOKENS * MAX_TOKENS)


MOST_MASKED = MAX_TOKENS * (MAX_TOKENS - 1) // 2  # the cells above the diagonal of the largest matrix drawn


def mask_data(cells: dict) -> dict:
    """The hatch over the masked cells (k > q), one box each, from ``matrix_data``. Its own source, drawn with one
    pattern: BokehJS makes a canvas per item for a hatch whose pattern or alpha is a column (16 × 16 canvases at
    each new prompt and each hover), and one for a hatch that is the same everywhere."""
    masked = np.asarray(cells["masked"], dtype=bool)
    return pad({key: np.asarray(cells[key])[masked] for key in ("left", "right", "top", "bottom", "query", "key")},
               MOST_MASKED)


def decor_data(rows: Rows, selected_slot: int | None, aligned: str = "query") -> dict:
    """Behind the matrix, the edges of two more cards (the other heads, stacked); around it a frame; the selected
    token's query row outlined."""
    top, bottom, left, right = ROWS_TOP, rows.bottom, rows.matrix_left, rows.matrix_right
    boxes = [(left + 8, right + 8, top + 8, bottom + 8, "#f4f5f8", "#c9ced8", 1.0),  # the other heads' cards
             (left + 4, right + 4, top + 4, bottom + 4, "#fafbfc", "#bcc3ce", 1.0),
             (left - 0.5, right + 0.5, top - 0.5, bottom + 0.5, "#ffffff", "#8a8a8a", 1.0)]
    if selected_slot is not None:
        slot = np.array([selected_slot])
        l, r, t, b = (float(v[0]) for v in cell_boxes(rows, slot, slot, aligned, 0.0))
        if aligned == "query":
            l, r = rows.matrix_left, rows.matrix_right
        else:
            t, b = ROWS_TOP, rows.bottom
        boxes.append((l - 2, r + 2, t - 1, b + 1, None, SAMPLED_COLOUR, 2.0))
    else:
        boxes.append((np.nan, np.nan, np.nan, np.nan, None, SAMPLED_COLOUR, 2.0))
    lefts, rights, tops, bottoms, fill, line, width = zip(*boxes)
    return {"left": np.array(lefts), "right": np.array(rights), "top": np.array(tops), "bottom": np.array(bottoms),
            "fill": ["rgba(0, 0, 0, 0)" if f is None else f for f in fill], "line": list(line),
            "line_width": np.array(width)}


class MatrixStage:
    """``source`` (picture-attention-source): one row per (query, key) cell: ``weight`` = hook_pattern[head],
    ``score`` = hook_attn_scores[head], ``raw`` = hook_attn_raw[head], ``masked``, ``label`` (the weight as
    written in the cell, "" when not written); ``kt`` the kᵀ strips."""

    def __init__(self, d_head: int, lang: str = "en"):
        self.words = translator(lang)
        dims = min(DIMS, d_head)
        self.source = ColumnDataSource(name="picture-attention-source")
        self.decor_source = ColumnDataSource(name="picture-attention-decor-source")
        self.mask_source = ColumnDataSource(name="picture-mask-source")
        self.kt = Strip("kt", "", dims, d_head, MAX_TOKENS * dims, lang)
        self.mapper = weight_mapper()
        self.hover = None
        self.renderer = None

    def kt_extent(self, rows: Rows) -> tuple[float, float]:
        return rows.kt_top, rows.kt_bottom

    def fill(self, trace: Trace, rows: Rows, layer: int, head: int, selected_slot: int | None,
             aligned: str = "query") -> None:
        cells = matrix_data(trace, rows, layer, head, aligned)
        set_if_changed(self.source, cells)
        set_if_changed(self.mask_source, mask_data(cells))
        set_if_changed(self.decor_source, decor_data(rows, selected_slot, aligned))
        keys = trace[attention_hook(layer, "hook_k")][list(rows.positions), head, :self.kt.n_dims]
        self.kt.rename(self.words("picture.kt_hook", hook=attention_hook(layer, "hook_k"), head=head))
        fit_signed(self.kt.mapper, keys)
        data = strip_data(keys, rows, 0.0, 1.0, 0.0, self.kt.n_rows)  # then one small strip per key:
        slot, dim = data["slot"], data["dim"]
        real = slot >= 0
        step = KT_PX / self.kt.n_dims
        if aligned == "query":  # under its column of the matrix, dims downwards
            cell = rows.matrix_cell
            left, right = rows.matrix_left + slot * cell + 1.0, rows.matrix_left + (slot + 1) * cell - 1.0
            top, bottom = rows.kt_top + dim * step, rows.kt_top + (dim + 1) * step
        else:  # left of its row of the matrix, where the key comes in
            left, right = rows.matrix_left - KT_PX - 2.0 + dim * step, rows.matrix_left - KT_PX - 2.0 + (dim + 1) * step
            top, bottom = rows.y(slot) - rows.height * 0.3, rows.y(slot) + rows.height * 0.3
        data["left"], data["right"] = np.where(real, left, np.nan), np.where(real, right, np.nan)
        data["top"], data["bottom"] = np.where(real, top, np.nan), np.where(real, bottom, np.nan)
        self.kt.box = None
        set_if_changed(self.kt.source, data)
        if self.hover is not None:
            self.hover.tooltips = self.tooltips(layer, head)

    def tooltips(self, layer: int, head: int) -> list[tuple[str, str]]:
        words = self.words
        return [(words("picture.tooltip.query_row"), "@query_slot{token}"),
                (words("picture.tooltip.key_column"), "@key_slot{token}"),
                ("q · k", "@raw{exact}"), (words("picture.tooltip.scaled_masked"), "@score{exact}"),
                (words("picture.tooltip.weight"), "@weight{exact}"),
                (words("picture.tooltip.hooks"),
                 f"blocks.{layer}.attn.hook_attn_raw / hook_attn_scores / hook_pattern [{head}]")]

    def draw(self, canvas, kit, layer: int, head: int) -> None:
        box = dict(left="left", right="right", top="top", bottom="bottom")
        canvas.add(self.decor_source, Quad, dict(**box, fill_color="fill", line_color="line", line_width="line_width"))
        self.renderer = canvas.add(self.source, Quad, dict(**box, fill_color={"field": "shade",
                                                                              "transform": self.mapper},
                                                           line_color=None, fill_alpha="alpha"))
        canvas.add(self.mask_source, Quad, dict(**box, fill_color=None, line_color=None, hatch_pattern="/",
                                                hatch_color="#ffffff", hatch_alpha=0.9, hatch_scale=6.0,
                                                hatch_weight=1.0))
        canvas.add(self.source, Text, dict(x="x", y="y", text="label", text_align="center", text_baseline="middle",
                                           size=NUMBER_PX, text_color="label_colour", text_alpha="alpha"))
        self.hover = HoverTool(renderers=[self.renderer], tooltips=self.tooltips(layer, head),
                               formatters=kit.formatters)
        canvas.plot.add_tools(self.hover)
        self.kt.draw(canvas, kit)


# -- the other heads ---------------------------------------------------------------------------------------------

def head_card_data(n_head: int, head: int, layer: int, ablated: frozenset, words: Translator | None = None) -> dict:
    words = words or translator()
    lefts, top, side = card_geometry(n_head)
    heads = np.arange(n_head)
    selected = heads == head
    crossed = np.array([(layer, int(h)) in ablated for h in heads], dtype=bool)
    return {
        "head": heads, "left": lefts, "right": lefts + side, "top": np.full(n_head, top),
        "bottom": np.full(n_head, top + side), "x": lefts + side / 2, "y": np.full(n_head, top + side / 2),
        "selected": selected, "ablated": crossed,
        "line": [SAMPLED_COLOUR if s else CARD_LINE for s in selected],
        "line_width": np.where(selected, 2.5, 1.0),
        "cross": ["×" if c else "" for c in crossed],
        "description": [words("picture.head.drawn" if s else "picture.head.tap") + (words("picture.head.ablated")
                                                                                    if c else "")
                        for s, c in zip(selected, crossed)],
    }


def thumbnail_data(trace: Trace, rows: Rows, layer: int, n_head: int) -> dict:
    positions = list(rows.positions)
    index = np.ix_(positions, positions)
    lefts, top, side = card_geometry(n_head)
    pattern = trace[attention_hook(layer, "hook_pattern")]
    scores = trace[attention_hook(layer, "hook_attn_scores")]
    images = [np.where(np.isneginf(scores[h][index]), np.nan, pattern[h][index]).astype(np.float32)
              for h in range(n_head)]
    inset = 1.5
    return {"image": images, "x": lefts + inset, "y": np.full(n_head, top + inset),
            "dw": np.full(n_head, side - 2 * inset), "dh": np.full(n_head, side - 2 * inset)}


class HeadCards:
    """``source`` (picture-head-source): one card per head (``head``, ``selected``, ``ablated``); tap one to pick it.
    ``thumbnail_source``: each head's real pattern (NaN where masked), one image per card."""

    def __init__(self, n_head: int, lang: str = "en"):
        self.words = translator(lang)
        self.n_head = n_head
        self.source = ColumnDataSource(name="picture-head-source")
        self.thumbnail_source = ColumnDataSource(name="picture-head-thumbnail-source")
        self.mapper = weight_mapper()
        self.renderer = None

    def fill(self, trace: Trace, rows: Rows, layer: int, head: int, ablated: frozenset) -> None:
        set_if_changed(self.source, head_card_data(self.n_head, head, layer, ablated, self.words))
        set_if_changed(self.thumbnail_source, thumbnail_data(trace, rows, layer, self.n_head))

    def mark(self, layer: int, head: int, ablated: frozenset) -> None:
        self.source.data = head_card_data(self.n_head, head, layer, ablated, self.words)

    def draw(self, canvas) -> None:
        box = dict(left="left", right="right", top="top", bottom="bottom")
        self.renderer = canvas.add(self.source, Quad, dict(**box, fill_color=CARD_FILL, line_color="line",
                                                           line_width="line_width"),
                                   hover=dict(fill_color="#fff3e0", line_color=SAMPLED_COLOUR, line_width=2))
        canvas.add(self.thumbnail_source, Image, dict(image="image", x="x", y="y", dw="dw", dh="dh",
                                                      color_mapper=self.mapper))
        canvas.add(self.source, Text, dict(x="x", y="y", text="cross", text_align="center", text_baseline="middle",
                                           size=LABEL_PX + 6, text_color="#333333"))
        canvas.plot.add_tools(HoverTool(renderers=[self.renderer],
                                        tooltips=[(self.words("picture.tooltip.head"), "@head"), ("", "@description")]))


# -- out of the head ---------------------------------------------------------------------------------------------

class AttentionOutputStage:
    """``z``: ``hook_z[:, head, :16]``; ``out``: ``hook_attn_out[:, :16]`` (all heads concatenated, then c_proj)."""

    def __init__(self, d_head: int, d_model: int, n_head: int, lang: str = "en"):
        self.words = translator(lang)
        self.n_head = n_head
        self.z = Strip("z", "", min(DIMS, d_head), d_head, MAX_TOKENS * min(DIMS, d_head), lang)
        self.out = Strip("attn_out", "", min(DIMS, d_model), d_model, MAX_TOKENS * min(DIMS, d_model), lang)
        self.concat_source = ColumnDataSource(name="picture-concat-source")

    def fill(self, trace: Trace, rows: Rows, layer: int, head: int) -> None:
        positions = list(rows.positions)
        words = self.words
        self.z.rename(words("picture.z_hook", hook=attention_hook(layer, "hook_z"), head=head))
        self.z.fill(trace[attention_hook(layer, "hook_z")][positions, head, :self.z.n_dims], rows, *COLUMNS["z"],
                    rows.half())
        self.out.rename(words("picture.attn_out_hook", hook=f"blocks.{layer}.hook_attn_out"))
        self.out.fill(trace[f"blocks.{layer}.hook_attn_out"][positions, :self.out.n_dims], rows,
                      *COLUMNS["attn_out"], rows.half())
        left, right = COLUMNS["_concat"]
        top, bottom = ROWS_TOP - 2.0, max(rows.bottom, ROWS_TOP + 150.0) + 2.0
        set_if_changed(self.concat_source, {"left": [left + 3.0], "right": [right - 3.0], "top": [top],
                                            "bottom": [bottom], "x": [(left + right) / 2], "y": [(top + bottom) / 2],
                                            "text": [words("picture.concat", n=self.n_head)]})

    def draw(self, canvas, kit) -> None:
        canvas.add(self.concat_source, Quad, dict(left="left", right="right", top="top", bottom="bottom",
                                                  fill_color="#ffffff", fill_alpha=0.85, line_color="#c9b3d6",
                                                  border_radius=3))
        canvas.add(self.concat_source, Text, dict(x="x", y="y", text="text", angle=np.pi / 2, text_align="center",
                                                  text_baseline="middle", size=SMALL_PX, text_color="#6a4a7b"),
                   vertical=dict(angle=0.0))
        self.z.draw(canvas, kit)
        self.out.draw(canvas, kit)
