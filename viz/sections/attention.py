"""Attention with its real values.

- ``AttentionHeadView``: one head of one block, step by step: Q, K, V; raw q·kᵀ; ÷ √d_head; the causal mask;
  the masked scores; softmax → the attention pattern; z = pattern · V.
- ``ConcatProjectionView``: every head's z side by side (the concat, a colour band per head), then the output
  projection c_proj → ``hook_attn_out``; with ``hook_result`` in the trace, each head's share of that output.
- ``HeadGridView``: every layer × head's pattern as a thumbnail in one figure; tap one to pick it; ablated heads
  are greyed and crossed. Given the heads' scores (gpt2_core/head_scores.py), each head's scores are in its hover,
  its strongest role is marked in its corner, and a filter outlines the heads whose score is above a threshold.
"""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import (ColumnDataSource, FixedTicker, HoverTool, Image, Quad, Range1d, Rect, Row, Segment, TapTool,
                          Text)

from transformer_explainer.gpt2_core import Trace
from transformer_explainer.gpt2_core.head_scores import ROLES, HeadScores, heads_above

from ..common import (MASKED_COLOUR, SAMPLED_COLOUR, SEQUENTIAL, TEXT_COLOUR, check_head, check_layer, draw,
                     head_colours, new_figure, normalize_position, position_labels)
from ..heatmap import Heatmap, colour_mapper
from ..i18n import Translator, translator

STRIP_WIDTH = 340  # Q, K, V and z: [tokens × d_head] strips, side by side on a laptop, stacked on a phone
WRAP = {"flex-wrap": "wrap"}


# -- one head, step by step --------------------------------------------------------------------------------

def head_values(trace: Trace, layer: int, head: int) -> dict[str, np.ndarray]:
    attn = f"blocks.{layer}.attn"
    raw = trace[f"{attn}.hook_attn_raw"][head]  # [pos, pos]
    scores = trace[f"{attn}.hook_attn_scores"][head]
    return {
        "q": trace[f"{attn}.hook_q"][:, head], "k": trace[f"{attn}.hook_k"][:, head],
        "v": trace[f"{attn}.hook_v"][:, head],
        "raw": raw,
        "scaled": raw * np.float32(1.0 / np.sqrt(trace.config.d_head)),  # as the model scales, in float32
        "mask": np.where(np.isneginf(scores), -np.inf, 0.0).astype(np.float32),
        "scores": scores,
        "pattern": trace[f"{attn}.hook_pattern"][head],
        "z": trace[f"{attn}.hook_z"][:, head],
    }


def head_titles(layer: int, head: int, d_head: int, words: Translator | None = None) -> dict[str, str]:
    words = words or translator()
    where = words("attention.where", layer=layer, head=head)
    return {
        "q": words("attention.q_title", where=where), "k": words("attention.k_title"),
        "v": words("attention.v_title"),
        "raw": words("attention.raw_title"),
        "scaled": f"2. ÷ √d_head = ÷ {np.sqrt(d_head):.4g}",
        "mask": words("attention.mask_title"),
        "scores": words("attention.scores_title"),
        "pattern": words("attention.pattern_title"),
        "z": words("attention.z_title"),
    }


class AttentionHeadView:
    """``heatmaps`` q, k, v, raw, scaled, mask, scores, pattern, z (``.source`` each). ``pattern_source`` holds
    exactly ``trace[f"blocks.{layer}.attn.hook_pattern"][head]``."""

    VECTORS = ("q", "k", "v", "z")
    MATRICES = ("raw", "scaled", "mask", "scores", "pattern")

    def __init__(self, trace: Trace, layer: int, head: int, lang: str = "en"):
        self.lang, self.words = lang, translator(lang)
        layer, head = check_layer(layer, trace.config.n_layer), check_head(head, trace.config.n_head)
        values = head_values(trace, layer, head)
        names = head_titles(layer, head, trace.config.d_head, self.words)
        self.heatmaps = {}
        for name in ("q", "k", "v", "raw", "scaled", "mask", "scores", "pattern", "z"):
            self.heatmaps[name] = self._heatmap(name, values[name], names[name], trace.tokens, lang)
            # named so that browser tests can find them: "pattern-source", "pattern-figure", "q-source", ...
            self.heatmaps[name].source.name, self.heatmaps[name].figure.name = f"{name}-source", f"{name}-figure"
        h = self.heatmaps
        # The head's three steps: q, k, v; from q·kᵀ to the weights; z = weights · v (the app shows one at a time).
        self.qkv_row = Row(children=[h["q"].figure, h["k"].figure, h["v"].figure], styles=WRAP,
                           sizing_mode="stretch_width")
        self.matrices_row = Row(children=[h[name].figure for name in self.MATRICES], styles=WRAP,
                                sizing_mode="stretch_width")
        self.layout = column(self.qkv_row, self.matrices_row, h["z"].figure, sizing_mode="stretch_width")

    @classmethod
    def _heatmap(cls, name: str, values: np.ndarray, title: str, tokens, lang: str = "en") -> Heatmap:
        labels = position_labels(tokens)
        if name in cls.VECTORS:
            return Heatmap(values, title=title, row_labels=tokens, row_hover=labels, width=STRIP_WIDTH, lang=lang)
        words = translator(lang)
        return Heatmap(values, title=title, kind="probability" if name == "pattern" else "signed",
                       row_labels=tokens, col_labels=tokens, row_hover=labels, col_hover=labels,
                       row_name=words("attention.query"), col_name=words("attention.key"), square=True,
                       colorbar=name != "mask", max_col_ticks=24, lang=lang)

    @property
    def pattern_source(self) -> ColumnDataSource:
        return self.heatmaps["pattern"].source

    @property
    def scores_source(self) -> ColumnDataSource:
        return self.heatmaps["scores"].source

    def update(self, trace: Trace, layer: int, head: int) -> None:
        layer, head = check_layer(layer, trace.config.n_layer), check_head(head, trace.config.n_head)
        values = head_values(trace, layer, head)
        names = head_titles(layer, head, trace.config.d_head, self.words)
        labels = position_labels(trace.tokens)
        for name, heatmap in self.heatmaps.items():
            if name in self.VECTORS:
                heatmap.update(values[name], title=names[name], row_labels=trace.tokens, row_hover=labels)
            else:
                heatmap.update(values[name], title=names[name], row_labels=trace.tokens, col_labels=trace.tokens,
                               row_hover=labels, col_hover=labels)


# -- all heads together: concat and output projection -------------------------------------------------------

def concat_values(trace: Trace, layer: int, position: int) -> dict[str, np.ndarray]:
    block = f"blocks.{layer}"
    z = trace[f"{block}.attn.hook_z"]  # [pos, h, dh]
    values = {"concat": z.reshape(z.shape[0], -1), "attn_out": trace[f"{block}.hook_attn_out"]}
    result_name = f"{block}.attn.hook_result"
    if result_name in trace:
        result = trace[result_name]  # [pos, h, d]
        shares = result[position]  # [h, d]
        total = values["attn_out"][position]
        values["shares"] = np.concatenate([shares, (total - shares.sum(axis=0))[None], total[None]])
        values["share_norms"] = np.linalg.norm(result, axis=-1).astype(np.float32)  # [pos, h]
    return values


def head_band_data(n_head: int, d_head: int, header_rows: float, n_rows: int) -> dict:
    heads = np.arange(n_head)
    return {"head": heads, "left": heads * d_head, "right": (heads + 1) * d_head, "last_row": np.full(n_head, n_rows),
            "x": (heads + 0.5) * d_head, "top": np.full(n_head, -0.92 * header_rows),
            "bottom": np.full(n_head, -0.08 * header_rows), "y": np.full(n_head, -0.5 * header_rows),
            "colour": head_colours(n_head), "label": [f"h{h}" for h in heads]}


def share_row_labels(n_head: int, words: Translator | None = None) -> list[str]:
    words = words or translator()
    return [words("attention.head_n", head=h) for h in range(n_head)] + [words("attention.bias_row"), "= attn_out"]


class ConcatProjectionView:
    """``concat`` heatmap (z of all heads side by side, [tokens × n_head·d_head]) with ``head_band_source``;
    ``attn_out`` heatmap (``hook_attn_out``); when the trace has ``hook_result``: ``shares`` (each head's share
    of attn_out at ``position``, plus the bias and the total) and ``share_norms`` (‖share‖ per token × head)."""

    def __init__(self, trace: Trace, layer: int, position: int | None = None, lang: str = "en"):
        self.words = words = translator(lang)
        layer = check_layer(layer, trace.config.n_layer)
        position = normalize_position(position, trace.n_tokens)
        config = trace.config
        values = concat_values(trace, layer, position)
        rows = dict(row_labels=trace.tokens, row_hover=position_labels(trace.tokens), lang=lang)
        column_hover = [words("attention.head_dim", head=h, dim=j) for h in range(config.n_head)
                        for j in range(config.d_head)]
        self.concat = Heatmap(values["concat"], title=self._concat_title(layer), col_hover=column_hover,
                              col_name=words("attention.column"), header_px=16, **rows)
        self.head_band_source = ColumnDataSource(
            head_band_data(config.n_head, config.d_head, self.concat.header_rows(trace.n_tokens), trace.n_tokens))
        self._draw_head_bands(self.concat.figure, config.n_head, config.d_head)
        self.attn_out = Heatmap(values["attn_out"], title=words("attention.attn_out_title"), **rows)

        n_head = config.n_head
        self.has_head_results = "shares" in values
        shares = values.get("shares", np.zeros((n_head + 2, config.n_embd), np.float32))
        norms = values.get("share_norms", np.zeros((trace.n_tokens, n_head), np.float32))
        self.shares = Heatmap(shares, title=self._shares_title(position),
                              row_labels=share_row_labels(n_head, words), row_name=words("attention.part"),
                              max_row_ticks=n_head + 2, token_rows=False, lang=lang)
        self.share_norms = Heatmap(norms, title=words("attention.share_norms_title"),
                                   kind="sequential", col_labels=[f"h{h}" for h in range(n_head)],
                                   col_name=words("attention.head"),
                                   width=max(260, 34 * n_head + 160), **rows)
        self.share_norms.figure.xaxis.major_label_orientation = "horizontal"
        self._show_shares(self.has_head_results)
        self.heatmaps = {"concat": self.concat, "attn_out": self.attn_out, "shares": self.shares,
                         "share_norms": self.share_norms}
        self.layout = column(self.concat.figure, self.attn_out.figure, self.shares.figure, self.share_norms.figure,
                             sizing_mode="stretch_width")

    def _concat_title(self, layer: int) -> str:
        return self.words("attention.concat_title", layer=layer)

    def _shares_title(self, position: int) -> str:
        return self.words("attention.shares_title", position=position)

    def _draw_head_bands(self, plot, n_head: int, d_head: int) -> None:
        source = self.head_band_source
        draw(plot, source, Quad(left="left", right="right", top="top", bottom="bottom", fill_color="colour",
                                line_color="white"))
        draw(plot, source, Text(x="x", y="y", text="label", text_align="center", text_baseline="middle",
                                text_font_size="9px", text_color="white"))
        draw(plot, source, Segment(x0="left", x1="left", y0="bottom", y1="last_row", line_color="white", line_width=1))
        plot.xaxis.ticker = FixedTicker(ticks=[h * d_head for h in range(n_head + 1)], minor_ticks=[])

    def _show_shares(self, visible: bool) -> None:
        self.shares.figure.visible = visible
        self.share_norms.figure.visible = visible

    def update(self, trace: Trace, layer: int, position: int | None = None) -> None:
        layer = check_layer(layer, trace.config.n_layer)
        position = normalize_position(position, trace.n_tokens)
        values = concat_values(trace, layer, position)
        rows = dict(row_labels=trace.tokens, row_hover=position_labels(trace.tokens))
        self.concat.update(values["concat"], title=self._concat_title(layer), **rows)
        self.head_band_source.data = head_band_data(trace.config.n_head, trace.config.d_head,
                                                    self.concat.header_rows(trace.n_tokens), trace.n_tokens)
        self.attn_out.update(values["attn_out"], **rows)
        self.has_head_results = "shares" in values
        if self.has_head_results:
            self.shares.update(values["shares"], title=self._shares_title(position))
            self.share_norms.update(values["share_norms"], **rows)
        self._show_shares(self.has_head_results)


# -- every head at once -----------------------------------------------------------------------------------

THUMBNAIL_CELLS = 64  # a longer prompt's pattern is max-pooled to 64 × 64 in the grid
GAP = 0.12
CELL_PX = 46
HIGHLIGHT_COLOUR = "#2ca02c"  # the filter's outline: green, unlike the orange of the selected head
GRID_MIN_PX = 300  # small models get bigger cells, so the title fits


def thumbnail(pattern: np.ndarray, cells: int = THUMBNAIL_CELLS) -> np.ndarray:
    """The pattern itself, or for long prompts each block's maximum (a strong weight stays visible)."""
    n_queries, n_keys = pattern.shape
    if max(n_queries, n_keys) <= cells:
        return np.ascontiguousarray(pattern, dtype=np.float32)
    row_starts = np.linspace(0, n_queries, min(cells, n_queries) + 1).astype(int)[:-1]
    col_starts = np.linspace(0, n_keys, min(cells, n_keys) + 1).astype(int)[:-1]
    pooled = np.maximum.reduceat(pattern, row_starts, axis=0)
    return np.ascontiguousarray(np.maximum.reduceat(pooled, col_starts, axis=1), dtype=np.float32)


def thumbnail_data(trace: Trace) -> dict:
    n_layer, n_head = trace.config.n_layer, trace.config.n_head
    images, layers, heads = [], [], []
    for layer in range(n_layer):
        pattern = trace[f"blocks.{layer}.attn.hook_pattern"]
        for head in range(n_head):
            images.append(thumbnail(pattern[head]))
            layers.append(layer)
            heads.append(head)
    layers, heads = np.array(layers), np.array(heads)
    size = 1 - GAP
    return {"image": images, "layer": layers, "head": heads, "x": heads + GAP / 2, "y": layers + GAP / 2,
            "dw": np.full(layers.size, size), "dh": np.full(layers.size, size)}


def head_grid_data(n_layer: int, n_head: int, ablated, words: Translator | None = None,
                   scores: HeadScores | None = None, highlighted=frozenset()) -> dict:
    words = words or translator()
    layers = np.repeat(np.arange(n_layer), n_head)
    heads = np.tile(np.arange(n_head), n_layer)
    is_ablated = np.array([(int(l), int(h)) in ablated for l, h in zip(layers, heads)], dtype=bool)
    is_highlighted = np.array([(int(l), int(h)) in highlighted for l, h in zip(layers, heads)], dtype=bool)
    data = {"layer": layers, "head": heads, "x": heads + 0.5, "y": layers + 0.5, "ablated": is_ablated,
            "status": np.where(is_ablated, words("attention.ablated"), words("attention.active")),
            "fill_alpha": np.where(is_ablated, 0.72, 0.0), "mark": np.where(is_ablated, "✕", ""),
            "highlighted": is_highlighted, "highlight_alpha": np.where(is_highlighted, 1.0, 0.0),
            "corner_x": heads + GAP / 2 + 0.04, "corner_y": layers + GAP / 2 + 0.04}
    return data | role_columns(scores, n_layer * n_head, words)


ROLE_MARK_MIN = 0.3  # a head's corner names its strongest role only when that score reaches this


def role_columns(scores: HeadScores | None, n: int, words: Translator) -> dict:
    """Each head's scores as the hover shows them, its strongest role, and the mark in its corner."""
    if scores is None:
        return {f"{role}_score": np.full(n, np.nan) for role in ROLES} | {
            f"{role}_text": ["–"] * n for role in ROLES} | {"role": [""] * n, "role_mark": [""] * n,
                                                             "role_mark_alpha": np.zeros(n)}
    names = {"previous": words("heads.role.previous.name"), "first": words("heads.role.first.name"),
             "induction": words("heads.role.induction.name")}
    marks = {"previous": words("heads.role.previous.mark"), "first": words("heads.role.first.mark"),
             "induction": words("heads.role.induction.mark")}
    strongest = scores.strongest_role().ravel()
    best = np.nan_to_num(np.max([scores[role].ravel() for role in ROLES], axis=0), nan=0.0)
    marked = best >= ROLE_MARK_MIN
    columns = {f"{role}_score": scores[role].ravel().astype(np.float64) for role in ROLES}
    columns |= {f"{role}_text": [score_text(v) for v in scores[role].ravel()] for role in ROLES}
    unclear = words("heads.role.none", minimum=ROLE_MARK_MIN)
    columns["role"] = [names[role] if m else unclear for role, m in zip(strongest, marked)]
    columns["role_mark"] = [marks[role] if m else "" for role, m in zip(strongest, marked)]
    columns["role_mark_alpha"] = np.where(marked, 0.85, 0.0)  # no empty white box on an unmarked head
    return columns


def score_text(value: float) -> str:
    return "–" if np.isnan(value) else f"{value:.3f}"


def normalize_ablated(ablated) -> frozenset:
    return frozenset((int(layer), int(head)) for layer, head in (ablated or ()))


class HeadGridView:
    """One figure: ``thumbnail_source`` (one image per head: layer, head, image) and ``head_source``
    (row ``layer * n_head + head``: layer, head, ablated; with ``scores``: previous_score, first_score,
    induction_score, role, role_mark, highlighted). Tapping a head selects its row in
    ``head_source.selected.indices``; ablated heads are greyed and crossed; ``show_heads(role, threshold)`` outlines
    the heads whose ``role`` score is above ``threshold``."""

    def __init__(self, trace: Trace, ablated=frozenset(), lang: str = "en", scores: HeadScores | None = None):
        self.words = translator(lang)
        n_layer, n_head = trace.config.n_layer, trace.config.n_head
        self.n_layer, self.n_head = n_layer, n_head
        self.ablated = normalize_ablated(ablated)
        self.scores = scores
        self.filter: tuple[str, float] | None = None
        self.thumbnail_source = ColumnDataSource(thumbnail_data(trace), name="head-thumbnail-source")
        self.head_source = ColumnDataSource(self._grid_data(), name="head-grid-source")
        self.figure = self._figure()
        self.layout = self.figure

    def _grid_data(self) -> dict:
        return head_grid_data(self.n_layer, self.n_head, self.ablated, self.words, self.scores,
                              frozenset(self.highlighted_heads()))

    def _figure(self):
        n_layer, n_head = self.n_layer, self.n_head
        cell = max(CELL_PX, GRID_MIN_PX // n_head)
        words = self.words
        plot = new_figure(title=words("attention.grid_title"), name="head-grid-figure",
                          width=n_head * cell + 64, height=n_layer * cell + 74, x_range=Range1d(0, n_head),
                          y_range=Range1d(n_layer, 0), x_axis_location="above")
        mapper = colour_mapper(SEQUENTIAL, 0.0, 1.0, SEQUENTIAL[0], SEQUENTIAL[-1])
        draw(plot, self.thumbnail_source, Image(image="image", x="x", y="y", dw="dw", dh="dh", color_mapper=mapper))
        size = 1 - GAP
        cells = draw(plot, self.head_source, Rect(x="x", y="y", width=size, height=size, fill_color=MASKED_COLOUR,
                                                  fill_alpha="fill_alpha", line_color="#c8c8c8", line_width=1))
        cells.selection_glyph = Rect(width=size, height=size, fill_color=MASKED_COLOUR, fill_alpha="fill_alpha",
                                     line_color=SAMPLED_COLOUR, line_width=3)
        cells.nonselection_glyph = Rect(width=size, height=size, fill_color=MASKED_COLOUR, fill_alpha="fill_alpha",
                                        line_color="#c8c8c8", line_width=1)
        draw(plot, self.head_source, Rect(x="x", y="y", width=size + GAP * 0.6, height=size + GAP * 0.6,
                                          fill_alpha=0.0, line_color=HIGHLIGHT_COLOUR, line_width=4,
                                          line_alpha="highlight_alpha"))
        draw(plot, self.head_source, Text(x="x", y="y", text="mark", text_align="center", text_baseline="middle",
                                          text_font_size="22px", text_color="#b22222"))
        draw(plot, self.head_source, Text(x="corner_x", y="corner_y", text="role_mark", text_align="left",
                                          text_baseline="top", text_font_size="10px", text_font_style="bold",
                                          text_color=TEXT_COLOUR, background_fill_color="white",
                                          background_fill_alpha="role_mark_alpha", padding=1))
        tooltips = [(words("attention.layer"), "@layer"), (words("attention.head"), "@head"), ("", "@status")]
        if self.scores is not None:
            tooltips += [(words("heads.role.previous.score"), "@previous_text"),
                         (words("heads.role.first.score"), "@first_text"),
                         (words("heads.role.induction.score"), "@induction_text"),
                         (words("heads.role.strongest"), "@role")]
        plot.add_tools(TapTool(renderers=[cells]), HoverTool(renderers=[cells], tooltips=tooltips))
        plot.xaxis.ticker = FixedTicker(ticks=[h + 0.5 for h in range(n_head)], minor_ticks=[])
        plot.xaxis.major_label_overrides = {h + 0.5: f"H{h}" for h in range(n_head)}
        plot.yaxis.ticker = FixedTicker(ticks=[layer + 0.5 for layer in range(n_layer)], minor_ticks=[])
        plot.yaxis.major_label_overrides = {layer + 0.5: f"L{layer}" for layer in range(n_layer)}
        plot.axis.major_tick_line_color = None
        plot.axis.axis_line_color = None
        plot.xaxis.axis_label, plot.yaxis.axis_label = words("attention.head"), words("attention.layer")
        return plot

    def index(self, layer: int, head: int) -> int:
        """The row of (layer, head) in ``head_source``."""
        return check_layer(layer, self.n_layer) * self.n_head + check_head(head, self.n_head)

    def selected_head(self) -> tuple[int, int] | None:
        indices = self.head_source.selected.indices
        if not indices:
            return None
        i = indices[-1]
        return int(self.head_source.data["layer"][i]), int(self.head_source.data["head"][i])

    def highlighted_heads(self) -> list[tuple[int, int]]:
        """The heads the filter shows: those whose score is above its threshold (none without a filter)."""
        if self.filter is None or self.scores is None:
            return []
        role, threshold = self.filter
        return heads_above(self.scores[role], threshold)

    def show_heads(self, role: str | None, threshold: float = 0.0) -> list[tuple[int, int]]:
        """Outline the heads whose ``role`` score (previous, first, induction) is above ``threshold``; ``role``
        None outlines none. Returns the heads outlined."""
        if role is not None and role not in ROLES:
            raise ValueError(f"no head score named {role!r}: the scores are {', '.join(ROLES)}")
        self.filter = None if role is None else (role, float(threshold))
        self.head_source.data = self._grid_data()
        return self.highlighted_heads()

    def set_ablated(self, ablated) -> None:
        """Mark these (layer, head) pairs as ablated: a cheap update of ``head_source`` only."""
        self.ablated = normalize_ablated(ablated)
        self.head_source.data = self._grid_data()

    def update(self, trace: Trace, ablated=None, scores: HeadScores | None = None) -> None:
        """New patterns (a new prompt or an intervention); ``ablated`` None keeps the current marks, ``scores`` None
        the current scores."""
        if (trace.config.n_layer, trace.config.n_head) != (self.n_layer, self.n_head):
            raise ValueError("this grid was built for a model with a different number of layers or heads; "
                             "build a new HeadGridView")
        self.thumbnail_source.data = thumbnail_data(trace)
        if ablated is not None:
            self.ablated = normalize_ablated(ablated)
        if scores is not None:
            self.scores = scores
        self.head_source.data = self._grid_data()
