"""One attention head's arithmetic, animated step by step with the trace's real values.

What is drawn (one figure, ``derivation-figure``; one unit = one cell of the attention matrix S):

    Kᵀ [d_head × n] above S
    Q [n × d_head] | S [n × n] | P[i, :] (row i's weights) | V [n × d_head] | Z [n × d_head]

and what each step shows, frame by frame (``viz.player`` plays them; ``derivation-player`` is the frame):

0. ready: Q, K and V (``attn.hook_q/k/v`` for the head), S blank.
1. dot products: S[i, j] = q_i · k_j fills in, the first query's row cell by cell (query row i of Q and key column
   j of Kᵀ outlined), then a row at a time. After it S = ``attn.hook_attn_raw[head]``.
2. scale: each row ÷ √d_head. After it S = raw · (1/√d_head) in float32, which is ``hook_attn_scores`` wherever
   the mask keeps a score.
3. causal mask: each row's later keys become −∞ (grey). After it S = ``attn.hook_attn_scores[head]``.
4. softmax: each row turns into weights that sum to 1. After it S = ``attn.hook_pattern[head]``.
5. × V: z_i = Σ_j P[i, j] v_j, row by row: row i's weights stand beside V (rows of V faded by how little they
   count) and row i of Z fills in. After it Z = ``attn.hook_z[:, head]``.

What is sent: the four n × n matrices (columns of ``derivation-cells``, one row per cell), Q, K, V and Z once, and
the frame table (six numbers a frame). The browser derives what each frame draws from those; nothing is sent per
frame. Drawn values a test reads: ``derivation-cells`` column ``shown`` (row-major S as drawn, NaN = not yet
computed, −inf = masked) and ``derivation-z-source`` ``image`` (Z as drawn, NaN rows not yet computed).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJSHover, FixedTicker, HoverTool, Image, LinearAxis, Range1d, Rect, Text

from transformer_explainer.gpt2_core import Trace

from . import js_code
from .common import (DIVERGING, MASKED_COLOUR, SEQUENTIAL, TEXT_COLOUR, cell_label_formatter, check_head, check_layer,
                     draw, exact_number_formatter, label_axis, new_figure, position_labels, robust_limit, set_cell_labels)
from .heatmap import colour_mapper
from .i18n import Translator, translator
from .player import MIN_SCALE, Player, Step, scroll_box

PREFIX = "derivation"
BLANK_COLOUR = "#ffffff"
AFTER_MASK_COLOUR = "#e4e4e4"  # a masked score's weight: exactly 0
PENDING_COLOUR = "#f1f1f1"  # Z rows not computed yet
HIGHLIGHT_COLOUR = "#f58518"
CELL_LINE = "#d9d9d9"
LABEL_LIMIT = 12

def rgba(colour: str) -> int:
    """``#rrggbb`` as the packed 0xRRGGBBAA integer Bokeh draws a uint32 colour column from (no string parsing, which
    is what a redraw of every cell's colour would otherwise spend its time on)."""
    return int(colour[1:7], 16) << 8 | 0xFF


def rgba_column(colour: str, n: int) -> np.ndarray:
    return np.full(n, rgba(colour), np.uint32)


WHITE = "#ffffff"

# Geometry, in cells of S.
GAP, PANEL, WEIGHTS = 0.7, 3.5, 1.0
MAX_FRAME_WIDTH, MAX_FRAME_HEIGHT, MAX_CELL_PX, MIN_CELL_PX = 1000, 560, 44, 8
READY_MS, STEP_PAUSE_MS, FIRST_CELL_PAUSE_MS = 600, 450, 550


# -- the numbers -----------------------------------------------------------------------------------------------

def derivation_values(trace: Trace, layer: int, head: int) -> dict[str, np.ndarray]:
    """The head's arrays, each exactly as the trace holds it (``scaled`` as the model computes it, in float32)."""
    attn = f"blocks.{layer}.attn"
    raw = trace[f"{attn}.hook_attn_raw"][head]
    return {
        "q": trace[f"{attn}.hook_q"][:, head], "k": trace[f"{attn}.hook_k"][:, head],
        "v": trace[f"{attn}.hook_v"][:, head],
        "raw": raw, "scaled": raw * np.float32(1.0 / np.sqrt(trace.config.d_head)),
        "scores": trace[f"{attn}.hook_attn_scores"][head], "pattern": trace[f"{attn}.hook_pattern"][head],
        "z": trace[f"{attn}.hook_z"][:, head],
    }


def clip_ms(total: float, n: int, low: float, high: float) -> float:
    return float(np.clip(total / max(n, 1), low, high))


def derivation_frames(n: int) -> dict[str, list]:
    """The frame table: per frame its ``step`` (0-5), the units it computes ``[start, done)`` (cells in row-major
    order for step 1, rows for steps 2-5), the ``row`` and ``col`` in focus (-1: none / the whole row) and its
    ``duration`` in ms. Each step lasts a few seconds whatever the prompt's length."""
    columns = {name: [] for name in ("step", "start", "done", "row", "col", "duration")}

    def add(step, start, done, row, col, duration):
        for name, value in zip(columns, (step, start, done, row, col, duration)):
            columns[name].append(value)

    add(0, 0, 0, -1, -1, READY_MS)
    cell_ms, row_ms = clip_ms(1500, n, 40, 160), clip_ms(2000, n - 1, 30, 220)
    for c in range(n):  # the first query against every key, one at a time
        add(1, c, c + 1, 0, c, cell_ms + (STEP_PAUSE_MS + FIRST_CELL_PAUSE_MS if c == 0 else 0))
    for r in range(1, n):  # then every other query, a row at a time
        add(1, r * n, (r + 1) * n, r, -1, row_ms)
    for step, total, low, high in ((2, 900, 25, 90), (3, 900, 25, 90), (4, 1800, 40, 160), (5, 1800, 40, 160)):
        ms = clip_ms(total, n, low, high)
        for r in range(n):
            add(step, r, r + 1, r, -1, ms + (STEP_PAUSE_MS if r == 0 else 0))
    return columns


def drawn_at(frames: dict, values: dict, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """S and Z as frame ``frame`` draws them (NaN: not computed yet, −inf: masked), written out in Python: the
    rule the player's JavaScript follows (tests compare the page with it, and it with the trace)."""
    step, done = int(frames["step"][frame]), int(frames["done"][frame])
    n = values["raw"].shape[0]
    stages = [np.full((n, n), np.nan, np.float32), values["raw"], values["scaled"], values["scores"],
              values["pattern"]]
    shown = stages[0].copy()
    if step == 1:
        shown.ravel()[:done] = values["raw"].ravel()[:done]
    elif 2 <= step <= 4:
        shown[:done], shown[done:] = stages[step][:done], stages[step - 1][done:]
    elif step == 5:
        shown = values["pattern"].copy()
    z = np.full_like(values["z"], np.nan)
    if step == 5:
        z[:done] = values["z"][:done]
    return shown, z


def step_texts(layer: int, head: int, d_head: int, words: Translator | None = None) -> tuple[str, list[Step]]:
    """The ready line and the five steps' pills and formulas (our own text: HTML is fine, no user strings)."""
    words = words or translator()
    root = f"{np.sqrt(d_head):.4g}"
    where = words("derivation.where", layer=layer, head=head)
    ready = words("derivation.ready", where=where, d_head=d_head)
    steps = [
        Step("1 q·kᵀ", words("derivation.step.dot", d_head=d_head)),
        Step("2 ÷√dₕ", words("derivation.step.scale", d_head=d_head, root=root)),
        Step(words("derivation.pill.mask"), words("derivation.step.mask")),
        Step("4 softmax", words("derivation.step.softmax")),
        Step("5 × V", words("derivation.step.values")),
    ]
    return ready, steps


def score_limit(values: dict) -> float:
    """The colour scale of steps 1-3 (one scale for all three, so dividing by √d visibly fades the colours): the
    raw scores the mask keeps, their 98th percentile of |value| (GPT-2's first-token scores can be many times the
    rest: those cells saturate, their numbers stay exact)."""
    kept = np.abs(values["raw"][np.isfinite(values["scores"])])
    if kept.size == 0:
        return 1.0
    limit = float(np.percentile(kept, 98)) if kept.size > 32 else float(kept.max())
    return limit if limit > 0 else 1.0


# -- geometry ----------------------------------------------------------------------------------------------------

def geometry(n: int) -> dict[str, float]:
    """Where each panel sits, in cells of S (x to the right, y down: row 0 at the top)."""
    q_left = -(GAP + PANEL)
    p_left = n + GAP
    v_left = p_left + WEIGHTS + GAP
    z_left = v_left + PANEL + 1.4 * GAP
    k_top = -(GAP + PANEL)
    return {"n": n, "q_left": q_left, "q_width": PANEL, "p_left": p_left, "p_width": WEIGHTS, "v_left": v_left,
            "v_width": PANEL, "z_left": z_left, "z_width": PANEL, "k_top": k_top, "k_height": PANEL,
            "x_start": q_left - 0.15, "x_end": z_left + PANEL + 0.15, "y_top": k_top - 1.9, "y_bottom": n + 0.15}


def cell_pixels(g: dict) -> int:
    width_units, height_units = g["x_end"] - g["x_start"], g["y_bottom"] - g["y_top"]
    return int(max(MIN_CELL_PX, min(MAX_CELL_PX, MAX_FRAME_WIDTH / width_units, MAX_FRAME_HEIGHT / height_units)))


def plot_size(g: dict) -> tuple[int, int]:
    px = cell_pixels(g)
    left_axis, bottom_axis = 6 * LABEL_LIMIT + 18, 6 * LABEL_LIMIT + 14
    return (int(round((g["x_end"] - g["x_start"]) * px)) + left_axis + 8,
            int(round((g["y_bottom"] - g["y_top"]) * px)) + bottom_axis + 8)


# -- the sources ---------------------------------------------------------------------------------------------------

def cell_data(values: dict, tokens: Sequence[str]) -> dict:
    """One row per cell of S, row-major: the four matrices (what hover and the player read) and what is drawn
    now (the start: nothing computed)."""
    n = values["raw"].shape[0]
    rows, cols = np.divmod(np.arange(n * n), n)
    labels = position_labels(tokens)
    return {
        "row": rows, "col": cols, "x": cols + 0.5, "y": rows + 0.5,
        "query": [labels[r] for r in rows], "key": [labels[c] for c in cols],
        "raw": values["raw"].ravel(), "scaled": values["scaled"].ravel(), "scores": values["scores"].ravel(),
        "pattern": values["pattern"].ravel(),
        "shown": np.full(n * n, np.nan, np.float32), "fill_color": rgba_column(BLANK_COLOUR, n * n),
    }


def cell_text_data(n: int) -> dict:
    """The numbers written in the cells (their own source: they change once a frame, the fading every tick)."""
    rows, cols = np.divmod(np.arange(n * n), n)
    return {"x": cols + 0.5, "y": rows + 0.5, "text": [None] * (n * n), "text_color": rgba_column(TEXT_COLOUR, n * n)}


def image_source_data(image: np.ndarray, left: float, top: float, width: float, height: float, **extra) -> dict:
    return {"image": [np.ascontiguousarray(image, dtype=np.float32)], "x": [left], "y": [top], "dw": [width],
            "dh": [height], **{name: [value] for name, value in extra.items()}}


def weights_data(n: int, tokens: Sequence[str], g: dict) -> dict:
    """The column beside V showing row i's weights (hidden until step 5)."""
    return {"y": np.arange(n) + 0.5, "x": np.full(n, g["p_left"] + g["p_width"] / 2), "key": position_labels(tokens),
            "value": np.full(n, np.nan, np.float32), "fill_color": rgba_column(BLANK_COLOUR, n), "fill_alpha": np.zeros(n),
            "line_alpha": np.zeros(n), "text": [""] * n, "text_color": rgba_column(TEXT_COLOUR, n)}


def veil_data(n: int, g: dict) -> dict:
    """White veils over V's rows in step 5, the more opaque the less the row counts for row i."""
    return {"x": np.full(n, g["v_left"] + g["v_width"] / 2), "y": np.arange(n) + 0.5, "alpha": np.zeros(n)}


def fresh_data() -> dict:
    """The veil over what the current frame computes, fading as the frame plays."""
    return {"x": [0.0], "y": [0.0], "width": [1.0], "height": [1.0], "on": [0.0], "alpha": [0.0]}


HIGHLIGHTS = 4  # query row (or V), key column (or the weights), focus in S, row of Z


def highlight_data() -> dict:
    zeros = np.zeros(HIGHLIGHTS)
    return {"x": zeros.copy(), "y": zeros.copy(), "width": np.ones(HIGHLIGHTS), "height": np.ones(HIGHLIGHTS),
            "alpha": zeros.copy()}


def caption_data(g: dict, d_head: int, n: int) -> dict:
    """The panels' names and shapes (our own text)."""
    above = -0.25
    items = [
        (g["q_left"] + g["q_width"] / 2, above, f"Q [{n}×{d_head}]"),
        (g["q_left"] + g["q_width"] / 2, g["k_top"] + g["k_height"] / 2, "Q · Kᵀ = S"),
        (n / 2, g["k_top"] - 0.3, f"Kᵀ [{d_head}×{n}]"),
        (g["p_left"] + g["p_width"] / 2, above, "P[i,:]"),
        (g["v_left"] + g["v_width"] / 2, above, f"V [{n}×{d_head}]"),
        (g["z_left"] + g["z_width"] / 2, above, f"Z = P·V [{n}×{d_head}]"),
    ]
    return {"x": [item[0] for item in items], "y": [item[1] for item in items], "text": [item[2] for item in items]}


def detail_data(g: dict, text: str) -> dict:
    return {"x": [g["x_start"] + 0.1], "y": [g["y_top"] + 0.5], "text": [text]}


def ready_detail(n: int, head: int, words: Translator | None = None) -> str:
    return (words or translator())("derivation.ready_detail", head=head, n=n)


def detail_templates(words: Translator) -> dict[str, str]:
    """The detail line's templates, filled in the browser (viz/js/fill_template.functions.js: one pass, so a token
    holding braces stays as it is)."""
    return {"cell": words("derivation.detail.cell"), "row": words("derivation.detail.row"),
            "scale": words("derivation.detail.scale"), "mask": words("derivation.detail.mask"),
            "mask_last": words("derivation.detail.mask_last"), "softmax": words("derivation.detail.softmax"),
            "z": words("derivation.detail.z")}


# -- the view ---------------------------------------------------------------------------------------------------

class AttentionDerivationView:
    """The head's attention computed step by step, animated in the browser. ``layout`` holds the step indicator,
    the player's controls and ``figure`` (``derivation-figure``). Sources (by name): ``derivation-cells``,
    ``derivation-q-source``, ``-k-source`` (Kᵀ), ``-v-source``, ``-z-source`` (``final`` = hook_z, ``image`` = as
    drawn), ``-cell-text``, ``-weights`` (row i's weights in step 5), ``-veils``, ``-fresh``, ``-highlight``,
    ``-detail``, ``-captions``, ``-geometry``; the player's ``derivation-frames`` and widgets (see viz/player.py)."""

    def __init__(self, trace: Trace, layer: int, head: int, display_tokens: Sequence[str] | None = None,
                 lang: str = "en"):
        self.lang, self.words = lang, translator(lang)
        layer, head = check_layer(layer, trace.config.n_layer), check_head(head, trace.config.n_head)
        self.layer, self.head = layer, head
        tokens = list(display_tokens) if display_tokens is not None else list(trace.tokens)
        values = derivation_values(trace, layer, head)
        n, d_head = values["raw"].shape[0], trace.config.d_head
        g = geometry(n)
        self.tokens, self.values = tokens, values

        self.cells = ColumnDataSource(cell_data(values, tokens), name=f"{PREFIX}-cells")
        self.cell_text = ColumnDataSource(cell_text_data(n), name=f"{PREFIX}-cell-text")
        self.geometry = ColumnDataSource(self._geometry_data(g, values), name=f"{PREFIX}-geometry")
        self.q_source = ColumnDataSource(name=f"{PREFIX}-q-source")
        self.k_source = ColumnDataSource(name=f"{PREFIX}-k-source")
        self.v_source = ColumnDataSource(name=f"{PREFIX}-v-source")
        self.z_source = ColumnDataSource(name=f"{PREFIX}-z-source")
        self._set_vectors(values, g)
        self.weights = ColumnDataSource(weights_data(n, tokens, g), name=f"{PREFIX}-weights")
        self.veils = ColumnDataSource(veil_data(n, g), name=f"{PREFIX}-veils")
        self.fresh = ColumnDataSource(fresh_data(), name=f"{PREFIX}-fresh")
        self.highlight = ColumnDataSource(highlight_data(), name=f"{PREFIX}-highlight")
        self.captions = ColumnDataSource(caption_data(g, d_head, n), name=f"{PREFIX}-captions")
        self.detail = ColumnDataSource(detail_data(g, ready_detail(n, head, self.words)), name=f"{PREFIX}-detail")

        self.figure = self._figure(g, values)
        ready, steps = step_texts(layer, head, d_head, self.words)
        self.player = Player(PREFIX, derivation_frames(n), steps, ready, ("derivation_render", "fill_template"),
                             self._render_args(n, head, d_head), lang)
        self.layout = column(self.player.step_div, self.player.controls, self.player.steps,
                             scroll_box(self.figure, self.figure.width, PREFIX, lang),
                             sizing_mode="stretch_width", name=f"{PREFIX}-layout")

    # -- pieces ---------------------------------------------------------------------------------------------

    @staticmethod
    def _geometry_data(g: dict, values: dict) -> dict:
        return {**{name: [value] for name, value in g.items()}, "limit": [score_limit(values)]}

    def _set_vectors(self, values: dict, g: dict) -> None:
        n = g["n"]
        pending = np.full_like(values["z"], np.nan)
        self.q_source.data = image_source_data(values["q"], g["q_left"], 0, g["q_width"], n)
        self.k_source.data = image_source_data(values["k"].T, 0, g["k_top"], n, g["k_height"])
        self.v_source.data = image_source_data(values["v"], g["v_left"], 0, g["v_width"], n)
        self.z_source.data = image_source_data(pending, g["z_left"], 0, g["z_width"], n,
                                               final=np.ascontiguousarray(values["z"], dtype=np.float32))
        self.vector_limit = robust_limit(np.concatenate([values[name].ravel() for name in "qkvz"]))

    def _render_args(self, n: int, head: int, d_head: int) -> dict:
        return dict(cells=self.cells, cell_text=self.cell_text, weights=self.weights, veils=self.veils,
                    fresh=self.fresh, highlight=self.highlight, detail=self.detail,
                    geometry=self.geometry, z_source=self.z_source, figure=self.figure,
                    diverging=[rgba(c) for c in DIVERGING], sequential=[rgba(c) for c in SEQUENTIAL],
                    blank=rgba(BLANK_COLOUR), masked=rgba(MASKED_COLOUR), after_mask=rgba(AFTER_MASK_COLOUR),
                    white=rgba(WHITE), text_colour=rgba(TEXT_COLOUR), root=f"{np.sqrt(d_head):.4g}",
                    ready_line=ready_detail(n, head, self.words), texts=detail_templates(self.words))

    def _figure(self, g: dict, values: dict):
        width, height = plot_size(g)
        plot = new_figure(axes="", name=f"{PREFIX}-figure", width=width, height=height,
                          x_range=Range1d(g["x_start"], g["x_end"]), y_range=Range1d(g["y_bottom"], g["y_top"]),
                          sizing_mode="scale_width", max_width=width, min_border_left=4, min_border_bottom=4)
        self.y_axis = LinearAxis(ticker=FixedTicker(ticks=[], minor_ticks=[]), major_label_text_font_size="10px",
                                 axis_line_color=None, major_tick_line_color=None, minor_tick_line_color=None)
        self.x_axis = LinearAxis(ticker=FixedTicker(ticks=[], minor_ticks=[]), major_label_text_font_size="10px",
                                 axis_line_color=None, major_tick_line_color=None, minor_tick_line_color=None,
                                 major_label_orientation="vertical")
        plot.add_layout(self.y_axis, "left")
        plot.add_layout(self.x_axis, "below")
        self._label_axes(g["n"])

        self.vector_mapper = colour_mapper(DIVERGING, -self.vector_limit, self.vector_limit, DIVERGING[0],
                                           DIVERGING[-1])
        self.vector_mapper.nan_color = PENDING_COLOUR
        self.dim_formatters, self.vector_hovers = {}, []
        for name, source, hook in (("q", self.q_source, "hook_q"), ("k", self.k_source, "hook_k"),
                                   ("v", self.v_source, "hook_v"), ("z", self.z_source, "hook_z")):
            renderer = draw(plot, source, Image(image="image", x="x", y="y", dw="dw", dh="dh",
                                                color_mapper=self.vector_mapper))
            self._hover_vector(plot, renderer, name, hook, g, values["q"].shape[1])

        cells = draw(plot, self.cells, Rect(x="x", y="y", width=1, height=1, fill_color="fill_color",
                                            line_color=CELL_LINE, line_width=1))
        draw(plot, self.cell_text, Text(x="x", y="y", text="text", text_color="text_color", text_align="center",
                                    text_baseline="middle", text_font_size="9px"))
        weight_cells = draw(plot, self.weights, Rect(x="x", y="y", width=g["p_width"], height=1,
                                                     fill_color="fill_color", fill_alpha="fill_alpha",
                                                     line_color=CELL_LINE, line_alpha="line_alpha"))
        draw(plot, self.weights, Text(x="x", y="y", text="text", text_color="text_color", text_align="center",
                                      text_baseline="middle", text_font_size="9px"))
        # what changes between a frame's ticks is drawn on the overlay layer: repainting it leaves the rest alone
        draw(plot, self.veils, Rect(x="x", y="y", width=g["v_width"], height=1, fill_color="#ffffff",
                                    fill_alpha="alpha", line_color=None), level="overlay")
        draw(plot, self.fresh, Rect(x="x", y="y", width="width", height="height", fill_color="#ffffff",
                                    fill_alpha="alpha", line_color=None), level="overlay")
        draw(plot, self.highlight, Rect(x="x", y="y", width="width", height="height", fill_alpha=0,
                                        line_color=HIGHLIGHT_COLOUR, line_width=2.5, line_alpha="alpha"),
             level="overlay")
        draw(plot, self.captions, Text(x="x", y="y", text="text", text_align="center", text_baseline="bottom",
                                       text_font_size="11px", text_color="#444444"))
        draw(plot, self.detail, Text(x="x", y="y", text="text", text_align="left", text_baseline="middle",
                                     text_font_size="12px", text_color=TEXT_COLOUR))

        number = exact_number_formatter(self.lang)
        words = self.words
        plot.add_tools(HoverTool(renderers=[cells], tooltips=[
            (words("derivation.tooltip.query"), "@query"), (words("derivation.tooltip.key"), "@key"),
            (words("derivation.tooltip.shown"), "@shown{exact}"), (words("derivation.tooltip.raw"), "@raw{exact}"),
            ("÷√d_head", "@scaled{exact}"), (words("derivation.tooltip.scores"), "@scores{exact}"),
            (words("derivation.tooltip.pattern"), "@pattern{exact}")],
            formatters={name: number for name in ("@shown", "@raw", "@scaled", "@scores", "@pattern")}))
        plot.add_tools(HoverTool(renderers=[weight_cells], tooltips=[(words("derivation.tooltip.key"), "@key"),
                                                                     (words("derivation.tooltip.weight"),
                                                                      "@value{exact}")],
                                 formatters={"@value": number}))
        return plot

    def _hover_vector(self, plot, renderer, name: str, hook: str, g: dict, d_head: int) -> None:
        """Hover on Q, Kᵀ, V or Z: the token, the dimension, the exact value, the hook it is."""
        transposed = name == "k"
        token_formatter = cell_label_formatter(position_labels(self.tokens), len(self.tokens))
        dim_formatter = CustomJSHover(args=dict(start=g["k_top"] if transposed else g[f"{name}_left"],
                                                size=g["k_height"] if transposed else g[f"{name}_width"],
                                                dims=d_head), code=js_code("derivation_dimension_hover"))
        self.dim_formatters[name] = (token_formatter, dim_formatter)
        token_var, dim_var = ("$x", "$y") if transposed else ("$y", "$x")
        words = self.words
        tool = HoverTool(renderers=[renderer], tooltips=[
            (words("derivation.tooltip.token"), f"{token_var}{{token}}"),
            (words("derivation.tooltip.dimension"), f"{dim_var}{{dim}}"),
            (words("derivation.tooltip.value"), "@image{exact}"),
            (words("common.hook"), f"blocks.{self.layer}.attn.{hook}[:, {self.head}]")],
            formatters={token_var: token_formatter, dim_var: dim_formatter,
                        "@image": exact_number_formatter(self.lang)})
        plot.add_tools(tool)
        self.vector_hovers.append((tool, hook))

    def _label_axes(self, n: int) -> None:
        label_axis(self.y_axis, self.tokens, n, max_ticks=32, limit=LABEL_LIMIT)
        label_axis(self.x_axis, self.tokens, n, max_ticks=32, limit=LABEL_LIMIT)

    # -- updates -----------------------------------------------------------------------------------------------

    @property
    def frames(self) -> dict:
        return self.player.frames_source.data

    def last_frame_of(self, step: int) -> int:
        """The frame that completes ``step`` (0-5)."""
        return int(np.flatnonzero(np.asarray(self.frames["step"]) == step)[-1])

    def drawn_at(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """(S, Z) as frame ``frame`` draws them; see ``drawn_at``."""
        return drawn_at(self.frames, self.values, frame)

    def play_from_start(self) -> None:
        """Play from the first frame (the app calls this when it opens the view)."""
        self.player.play_from_start()

    def play_from_step(self, step: int) -> None:
        """Play from the first frame of ``step`` (1 q·kᵀ, 2 ÷√dₕ, 3 mask, 4 softmax, 5 × V): as a click on that
        step's pill does (the browser's player plays it; set twice, so that the page hears it even when the pill
        was already the active one)."""
        self.player.steps.active = None
        self.player.steps.active = int(step) - 1

    def update(self, trace: Trace, layer: int, head: int, display_tokens: Sequence[str] | None = None) -> None:
        """Another prompt, layer or head: new data in place, paused at the start."""
        layer, head = check_layer(layer, trace.config.n_layer), check_head(head, trace.config.n_head)
        self.layer, self.head = layer, head
        self.tokens = list(display_tokens) if display_tokens is not None else list(trace.tokens)
        values = derivation_values(trace, layer, head)
        n, d_head = values["raw"].shape[0], trace.config.d_head
        g = geometry(n)
        self.values = values
        self.player.play.active = False
        self.cells.data = cell_data(values, self.tokens)
        self.cell_text.data = cell_text_data(n)
        self.geometry.data = self._geometry_data(g, values)
        self._set_vectors(values, g)
        self.vector_mapper.update(low=-self.vector_limit, high=self.vector_limit)
        self.weights.data = weights_data(n, self.tokens, g)
        self.highlight.data = highlight_data()
        self.veils.data = veil_data(n, g)
        self.fresh.data = fresh_data()
        self.captions.data = caption_data(g, d_head, n)
        self.detail.data = detail_data(g, ready_detail(n, head, self.words))
        for name, (token_formatter, dim_formatter) in self.dim_formatters.items():
            set_cell_labels(token_formatter, position_labels(self.tokens), len(self.tokens))
            transposed = name == "k"
            dim_formatter.args = dict(start=g["k_top"] if transposed else g[f"{name}_left"],
                                      size=g["k_height"] if transposed else g[f"{name}_width"], dims=d_head)
        for tool, hook in self.vector_hovers:
            tool.tooltips = [*tool.tooltips[:-1], (self.words("common.hook"), f"blocks.{layer}.attn.{hook}[:, {head}]")]
        width, height = plot_size(g)
        changed = {name: value for name, value in dict(width=width, height=height, max_width=width,
                                                       min_width=int(width * MIN_SCALE)).items()
                   if getattr(self.figure, name) != value}
        if changed:
            self.figure.update(**changed)
        self.figure.x_range.update(start=g["x_start"], end=g["x_end"])
        self.figure.y_range.update(start=g["y_bottom"], end=g["y_top"])
        self._label_axes(n)
        ready, steps = step_texts(layer, head, d_head, self.words)
        self.player.set_frames(derivation_frames(n), steps, ready,
                               dict(root=f"{np.sqrt(d_head):.4g}", ready_line=ready_detail(n, head, self.words)))
