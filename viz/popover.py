"""A token's real vector times a real weight matrix, animated: what Q/K/V, the MLP and the output weights compute.

``WeightPopoverView(product, trace)`` draws a ``WeightProduct`` that gpt2_core computed
(``gpt2_core.weight_products.weight_product(kind, trace, layer, position, params)``) for one token of ``trace``:

- ``qkv``: ``ln1.hook_out[pos] · c_attn.w + c_attn.b`` = ``[q | k | v]`` (``attn.hook_q/k/v[pos]``, every head);
- ``mlp_up``: ``ln2.hook_out[pos] · c_fc.w + c_fc.b`` = ``mlp.hook_pre[pos]``, then GELU = ``mlp.hook_post[pos]``;
- ``mlp_down``: ``mlp.hook_post[pos] · mlp.c_proj.w + mlp.c_proj.b`` = ``hook_mlp_out[pos]``;
- ``output``: ``ln_final.hook_out[pos] · wteᵀ`` = ``unembed.hook_logits[pos]`` (GPT-2's unembedding has no bias).

What is drawn (``popover-figure``): x as a column beside W's rows (x[i] multiplies row i), W as an image (each
pixel the largest-magnitude weight of its block when W has more cells than the screen has pixels; hover says which
rows and columns), then b and y as strips under W's columns (y[j] under column j). The frames (``viz.player``,
``popover-player``): 0 ready; 1 one output in detail (y[j] = Σᵢ x[i]·W[i, j], the rows summed a chunk at a time,
then + b[j]); 2 every output, a band of columns at a time; 3 (``mlp_up``) GELU, a band at a time. Drawn values a test
reads: ``popover-result-source`` ``image`` (y as drawn: NaN where not computed yet; ``final`` = y) and
``popover-post-source`` (GELU(y), ``mlp_up``). A vocabulary-wide y (``output``) is drawn a block of tokens per pixel,
each block its largest logit (``popover-result-elements`` says which tokens and which one).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJSHover, HoverTool, Image, Paragraph, Quad, Range1d, Segment, Text

from transformer_explainer.gpt2_core import Trace
from transformer_explainer.gpt2_core.weight_products import WeightProduct

from . import js_code
from .common import DIVERGING, TEXT_COLOUR, draw, exact_number_formatter, new_figure, robust_limit
from .heatmap import colour_mapper
from .i18n import Translator, translator
from .player import Player, Step, scroll_box

PREFIX = "popover"
PENDING_COLOUR = "#f1f1f1"
HIGHLIGHT_COLOUR = "#f58518"
# Okabe–Ito blue, orange, bluish green, as the picture's ribbons (viz/picture/ribbons.py): no red against green
PART_COLOURS = {"q": "#0072b2", "k": "#e69f00", "v": "#009e73"}

MAX_IMAGE_ROWS, MAX_IMAGE_COLS = 192, 576  # W is drawn at most this many cells (about a pixel each)
MAX_STRIP = 4096  # a longer y (the vocabulary) is drawn a block of elements per cell
DETAIL_CHUNKS, COLUMN_CHUNKS, GELU_CHUNKS = 12, 48, 24
READY_MS, STEP_PAUSE_MS = 600, 450


# -- what is said -----------------------------------------------------------------------------------------

TITLES = {"qkv": "popover.title.qkv", "mlp_up": "popover.title.mlp_up", "mlp_down": "popover.title.mlp_down",
          "output": "popover.title.output"}


def popover_title(product: WeightProduct, words: Translator) -> str:
    key = TITLES[product.kind]
    return words(key) if product.layer is None else words(key, layer=product.layer)


def weight_label(product: WeightProduct, words: Translator) -> str:
    """W's name: the parameter's, or for the output the words that say it is the token embeddings, tied."""
    return words("popover.lm_head") if product.kind == "output" else product.w_name


def product_parts(product: WeightProduct) -> list[tuple[str, int, int, str]]:
    """qkv: the q, k and v thirds of y, as (name, start, stop, colour); nothing for the other kinds."""
    if product.kind != "qkv":
        return []
    d = product.w.shape[1] // 3
    return [(part, i * d, (i + 1) * d, PART_COLOURS[part]) for i, part in enumerate("qkv")]


# -- what is sent ------------------------------------------------------------------------------------------

def block_size(n: int, cells: int) -> int:
    return max(1, int(np.ceil(n / cells)))


def pooled_weights(w: np.ndarray) -> tuple[np.ndarray, int, int]:
    """W at most MAX_IMAGE_ROWS × MAX_IMAGE_COLS: each cell the block's entry of largest magnitude (signed), so a
    strong weight stays visible; with the block's size (rows, cols)."""
    n_in, n_out = w.shape
    fr, fc = block_size(n_in, MAX_IMAGE_ROWS), block_size(n_out, MAX_IMAGE_COLS)
    if fr == fc == 1:
        return np.ascontiguousarray(w, dtype=np.float32), 1, 1
    rows, cols = np.arange(0, n_in, fr), np.arange(0, n_out, fc)
    high = np.maximum.reduceat(np.maximum.reduceat(w, cols, axis=1), rows, axis=0)
    low = np.minimum.reduceat(np.minimum.reduceat(w, cols, axis=1), rows, axis=0)
    return np.ascontiguousarray(np.where(high >= -low, high, low), dtype=np.float32), fr, fc


def strip_elements(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """y as drawn: itself, or (longer than MAX_STRIP) each block's largest value; with each element's first and
    last+1 index and the index of the value shown."""
    n = y.size
    size = block_size(n, MAX_STRIP)
    starts = np.arange(0, n, size)
    stops = np.minimum(starts + size, n)
    if size == 1:
        return np.ascontiguousarray(y, dtype=np.float32), starts, stops, 1
    shown = np.maximum.reduceat(y, starts)
    padded = np.full(starts.size * size, -np.inf, np.float32)
    padded[:n] = y
    argmax = starts + padded.reshape(-1, size).argmax(axis=1)
    return shown.astype(np.float32), starts, argmax, size


def popover_frames(n_in: int, n_out: int, gelu_step: bool) -> dict[str, list]:
    """Per frame: its ``step``; ``lo``/``hi``, the input rows summed so far (step 1) or the output columns done
    (steps 2-3); ``bias`` (1: the frame that adds b and shows y[j]); ``duration`` in ms."""
    columns = {name: [] for name in ("step", "lo", "hi", "bias", "duration")}

    def add(step, lo, hi, bias, duration):
        for name, value in zip(columns, (step, lo, hi, bias, duration)):
            columns[name].append(value)

    add(0, 0, 0, 0, READY_MS)
    rows = block_size(n_in, DETAIL_CHUNKS)
    for chunk, lo in enumerate(range(0, n_in, rows)):
        add(1, lo, min(n_in, lo + rows), 0, 170 + (STEP_PAUSE_MS + 300 if chunk == 0 else 0))
    add(1, n_in, n_in, 1, 900)
    cols = block_size(n_out, COLUMN_CHUNKS)
    for chunk, lo in enumerate(range(0, n_out, cols)):
        add(2, lo, min(n_out, lo + cols), 0, 55 + (STEP_PAUSE_MS if chunk == 0 else 0))
    if gelu_step:
        cols = block_size(n_out, GELU_CHUNKS)
        for chunk, lo in enumerate(range(0, n_out, cols)):
            add(3, lo, min(n_out, lo + cols), 0, 70 + (STEP_PAUSE_MS if chunk == 0 else 0))
    return columns


def popover_steps(product: WeightProduct, focus: int, words: Translator | None = None) -> tuple[str, list[Step]]:
    words = words or translator()
    n_in, n_out = product.w.shape
    bias = " + b[j]" if product.b is not None else ""
    output = "logit" if product.kind == "output" else "y"
    ready = words("popover.ready", output=output, plus_b=" + b" if product.b is not None else "",
                  shape=product.shape_text)
    steps = [Step(words("popover.pill.one"), words("popover.step.one", output=output, focus=focus,
                                                   bias=bias.replace("j", str(focus)), n_in=f"{n_in:,}")),
             Step(words("popover.pill.all"), words("popover.step.all", n_out=f"{n_out:,}", shape=product.shape_text,
                                                   hook=product.hook_text))]
    if product.post is not None:
        steps.append(Step("3 GELU", words("popover.step.gelu", post_name=product.post_name)))
    return ready, steps


def focus_column(product: WeightProduct) -> int:
    """The output worked through in detail: the top logit for the output, else the first."""
    return int(np.argmax(product.y)) if product.kind == "output" else 0


# -- geometry (pixels of the plot -> data units: W covers x in [0, n_out), y in [0, n_in)) ---------------------

STRIP_PX, GAP_PX, LEFT_PX, TOP_PX, RIGHT_PX = 16, 8, 46, 40, 190


def popover_geometry(n_in: int, n_out: int, has_bias: bool, has_post: bool, has_top: bool) -> dict:
    """Where everything sits. W covers x in [0, n_out) and y in [0, n_in) (row 0 at the top); x is a column left
    of W; the strips ``b``, ``out`` (y) and ``post`` lie under W's columns; sizes are set in pixels."""
    box_w = 600 if n_out >= n_in else 380
    box_h = int(np.clip(box_w * n_in / n_out, 170, 300))
    sx, sy = n_out / box_w, n_in / box_h  # data units per pixel
    g = {"n_in": n_in, "n_out": n_out, "sx": sx, "sy": sy}
    g["x_left"], g["x_right"] = -(GAP_PX + STRIP_PX) * sx, -GAP_PX * sx
    below = n_in
    for name, present in (("b", has_bias), ("out", True), ("post", has_post)):
        if present:
            g[f"{name}_top"], g[f"{name}_bottom"] = below + GAP_PX * sy, below + (GAP_PX + STRIP_PX) * sy
            below = g[f"{name}_bottom"]
    g["strips_bottom"] = below
    g["top_y"] = below + 12 * sy  # the named top logits (output)
    if has_top:
        below += 30 * sy
    g["detail_y"] = below + 16 * sy
    g["x_start"], g["x_end"] = -LEFT_PX * sx, n_out + RIGHT_PX * sx
    g["range_top"], g["range_bottom"] = -TOP_PX * sy, below + 30 * sy
    g["width"] = LEFT_PX + box_w + RIGHT_PX
    g["height"] = int(round((g["range_bottom"] - g["range_top"]) / sy)) + 8
    return g


HIGHLIGHTS = ("x", "w", "b", "y", "post")


def highlight_data() -> dict:
    zeros = np.zeros(len(HIGHLIGHTS))
    return {"part": list(HIGHLIGHTS), "left": zeros.copy(), "right": zeros.copy(), "top": zeros.copy(),
            "bottom": zeros.copy(), "alpha": zeros.copy(), "fill_alpha": zeros.copy()}


def caption_data(product: WeightProduct, g: dict, words: Translator | None = None) -> dict:
    """The names and shapes of what is drawn, right of W and of each strip (our own text)."""
    n_in, n_out = product.w.shape
    right = n_out + 10 * g["sx"]
    w_name = (product.w_name.split(".", 2)[-1] if product.layer is not None
              else weight_label(product, words or translator()))
    items = [(right, n_in * 0.5 - 8 * g["sy"], f"W [{n_in:,} × {n_out:,}]"), (right, n_in * 0.5 + 8 * g["sy"], w_name)]
    if product.b is not None:
        items.append((right, (g["b_top"] + g["b_bottom"]) / 2, f"+ b [{n_out:,}]"))
    y_label = {"qkv": "= [q | k | v]", "mlp_up": "= y (hook_pre)", "mlp_down": "= y (hook_mlp_out)",
               "output": "= logits"}[product.kind]
    items.append((right, (g["out_top"] + g["out_bottom"]) / 2, f"{y_label} [1 × {n_out:,}]"))
    if product.post is not None:
        items.append((right, (g["post_top"] + g["post_bottom"]) / 2, f"GELU(y) (hook_post) [1 × {n_out:,}]"))
    x = [item[0] for item in items] + [(g["x_left"] + g["x_right"]) / 2]
    y = [item[1] for item in items] + [-8 * g["sy"]]
    return {"x": x, "y": y, "text": [item[2] for item in items] + [f"x [{n_in:,}]"],
            "align": ["left"] * len(items) + ["center"]}


def part_data(product: WeightProduct, g: dict, n_head: int, words: Translator | None = None) -> dict:
    """qkv: the q, k and v thirds of y (and of W's columns), labelled above W."""
    words = words or translator()
    parts = product_parts(product)
    return {"left": [p[1] for p in parts], "right": [p[2] for p in parts], "x": [(p[1] + p[2]) / 2 for p in parts],
            "label": [words("popover.part", part=p[0], n_head=n_head, d=(p[2] - p[1]) // n_head) for p in parts],
            "colour": [p[3] for p in parts], "top": [-30 * g["sy"]] * len(parts),
            "bottom": [-18 * g["sy"]] * len(parts), "line_bottom": [g["strips_bottom"]] * len(parts)}


def empty_image() -> dict:
    return {"image": [], "x": [], "y": [], "dw": [], "dh": []}


class WeightPopoverView:
    """``layout``: the title (the token, as text), the step indicator, the player's controls and ``figure``
    (``popover-figure``). ``product`` holds x, W, b, y (and GELU(y)) as computed from the weights, with the trace's
    values they equal. ``display_tokens`` label the token (default: the trace's); ``token_text`` (id -> string)
    names the logits of ``output`` (default: their ids)."""

    def __init__(self, product: WeightProduct, trace: Trace, display_tokens=None,
                 token_text: Callable[[int], str] | None = None, lang: str = "en"):
        self.lang, self.words = lang, translator(lang)
        self.token_text = token_text
        self.kind, self.n_head = product.kind, trace.config.n_head
        self.sources = {name: ColumnDataSource(name=f"{PREFIX}-{name}") for name in SOURCE_NAMES}
        self.result, self.post, self.top = self.sources["result-source"], self.sources["post-source"], self.sources["top"]
        self.elements, self.highlight = self.sources["result-elements"], self.sources["highlight"]
        self._fill(product, trace, display_tokens)
        self.figure = self._figure(product)
        self.title = Paragraph(text=self._title_text(product), disable_math=True, name=f"{PREFIX}-title",
                               styles={"font-size": "13px", "color": "#444444"}, sizing_mode="stretch_width")
        ready, steps = popover_steps(product, self.focus, self.words)
        self.player = Player(PREFIX, popover_frames(*product.w.shape, product.post is not None), steps, ready,
                             ("popover_render", "popover_hook_name", "fill_template"), self._render_args(product),
                             lang)
        self.layout = column(self.title, self.player.step_div, self.player.controls, self.player.steps,
                             scroll_box(self.figure, self.figure.width, PREFIX, lang),
                             sizing_mode="stretch_width", name=f"{PREFIX}-layout")

    # -- data -----------------------------------------------------------------------------------------------

    def _fill(self, product: WeightProduct, trace: Trace, display_tokens) -> None:
        """Every source's data for ``product`` (the start: nothing computed yet)."""
        self.product = product
        self.tokens = list(display_tokens) if display_tokens is not None else list(trace.tokens)
        n_in, n_out = product.w.shape
        self.focus = focus_column(product)
        g = popover_geometry(n_in, n_out, product.b is not None, product.post is not None, product.kind == "output")
        self.g = g
        pooled, self.block_rows, self.block_cols = pooled_weights(product.w)
        shown, starts, args, self.strip_block = strip_elements(product.y)
        x = np.ascontiguousarray(product.x, dtype=np.float32)
        bias = np.asarray(product.b if product.b is not None else np.zeros(0), np.float32)
        y = np.asarray(product.y, np.float32)
        data = {
            "inputs": {"x": [x], "wcol": [np.ascontiguousarray(product.w[:, self.focus], dtype=np.float32)]},
            "input-source": {"image": [x[:, None].copy()], "x": [g["x_left"]], "y": [0],
                             "dw": [g["x_right"] - g["x_left"]], "dh": [n_in]},
            "weight-source": {"image": [pooled], "x": [0], "y": [0], "dw": [pooled.shape[1] * self.block_cols],
                              "dh": [pooled.shape[0] * self.block_rows]},
            "bias-source": ({"image": [bias[None, :]], "x": [0], "y": [g["b_top"]], "dw": [n_out],
                             "dh": [g["b_bottom"] - g["b_top"]]} if product.b is not None else empty_image()),
            "result-source": {"image": [np.full((1, shown.size), np.nan, np.float32)], "final": [shown[None, :]],
                              "x": [0], "y": [g["out_top"]], "dw": [shown.size * self.strip_block],
                              "dh": [g["out_bottom"] - g["out_top"]]},
            "result-elements": {"start": starts, "stop": np.minimum(starts + self.strip_block, n_out), "arg": args,
                                "token": ([self._token(int(i)) for i in args] if self.strip_block > 1
                                          else [""] * starts.size)},
            "post-source": ({"image": [np.full((1, n_out), np.nan, np.float32)],
                             "final": [np.asarray(product.post, np.float32)[None, :]], "x": [0], "y": [g["post_top"]],
                             "dw": [n_out], "dh": [g["post_bottom"] - g["post_top"]]} if product.post is not None
                            else {**empty_image(), "final": []}),
            "top": self._top_data(product, g),
            "geometry": {**{name: [value] for name, value in g.items()}, "focus": [self.focus],
                         "has_bias": [product.b is not None], "y_focus": [float(y[self.focus])],
                         "b_focus": [float(bias[self.focus]) if bias.size else 0.0]},
            "highlight": highlight_data(),
            "detail": {"x": [g["x_start"] + 4 * g["sx"]], "y": [g["detail_y"]],
                       "text": [self.words("popover.ready_line")]},
            "captions": caption_data(product, g, self.words),
            "parts": part_data(product, g, self.n_head, self.words),
        }
        for name, columns in data.items():
            self.sources[name].data = columns
        self.limits = {"x": robust_limit(x), "w": robust_limit(pooled), "y": robust_limit(y)}

    def _token(self, token_id: int) -> str:
        return self.token_text(token_id) if self.token_text is not None else f"#{token_id}"

    def _top_data(self, product: WeightProduct, g: dict, count: int = 5) -> dict:
        """The output's five largest logits, named under the strip (lines from each token's column)."""
        if product.kind != "output":
            return {"x": [], "y": [], "text": [], "alpha": [], "line_x": [], "line_y0": [], "line_y1": []}
        count = min(count, product.y.size)
        top = np.argsort(-product.y, kind="stable")[:count]
        xs = np.empty(count)
        xs[np.argsort(top, kind="stable")] = np.linspace(0.1, 0.9, count) * g["n_out"]  # in id order, spread out
        return {"x": xs, "y": np.full(count, g["top_y"]), "alpha": np.zeros(count),
                "text": [f"{self._token(int(i))} {product.y[i]:.2f}" for i in top],
                "line_x": top + 0.5, "line_y0": np.full(count, g["out_bottom"]),
                "line_y1": np.full(count, g["top_y"] - 2 * g["sy"])}

    def _title_text(self, product: WeightProduct) -> str:
        return self.words("popover.title_line", title=popover_title(product, self.words), position=product.position,
                          token=self.tokens[product.position])

    def _render_args(self, product: WeightProduct) -> dict:
        return dict(result=self.result, post=self.post if product.post is not None else None,
                    top=self.top if product.kind == "output" else None, inputs=self.sources["inputs"],
                    elements=self.elements, geometry=self.sources["geometry"], highlight=self.highlight,
                    detail=self.sources["detail"], ready_line=self.words("popover.ready_line"),
                    texts={"rows": self.words("popover.detail.rows"), "done": self.words("popover.detail.done"),
                           "progress": self.words("popover.detail.progress")},
                    output="logit" if product.kind == "output" else "y",
                    post_name=f"{product.post_name}[{product.position}, …]" if product.post_name else "",
                    **self._name_args(product))

    def _name_args(self, product: WeightProduct) -> dict:
        d = product.w.shape[1] // 3 if product.kind == "qkv" else 1
        return dict(kind=product.kind, y_name=product.y_name, pos=product.position, d=d,
                    dh=max(1, d // self.n_head))

    # -- the figure -----------------------------------------------------------------------------------------

    def _figure(self, product: WeightProduct):
        g, src = self.g, self.sources
        n_in, n_out = product.w.shape
        plot = new_figure(axes="", name=f"{PREFIX}-figure", width=g["width"], height=g["height"],
                          x_range=Range1d(g["x_start"], g["x_end"]), y_range=Range1d(g["range_bottom"], g["range_top"]),
                          sizing_mode="scale_width", max_width=g["width"])
        number = exact_number_formatter(self.lang)
        value = self.words("popover.hover.value")
        self.mappers = {}
        for name in ("x", "w", "y"):
            mapper = colour_mapper(DIVERGING, -self.limits[name], self.limits[name], DIVERGING[0], DIVERGING[-1])
            mapper.nan_color = PENDING_COLOUR
            self.mappers[name] = mapper

        def image(source, mapper):
            return draw(plot, source, Image(image="image", x="x", y="y", dw="dw", dh="dh", color_mapper=mapper))

        if product.kind == "qkv":
            draw(plot, src["parts"], Quad(left="left", right="right", top="top", bottom="bottom", fill_color="colour",
                                          fill_alpha=0.85, line_color="white"))
            draw(plot, src["parts"], Text(x="x", y="top", text="label", text_align="center", text_baseline="bottom",
                                          text_font_size="10px", text_color="#333333"))
        self.formatters = {
            "x": CustomJSHover(args=dict(n=n_in, name=product.x_name, pos=product.position),
                               code=js_code("popover_row_hover")),
            "rows": CustomJSHover(args=dict(n=n_in, size=self.block_rows, what=self.words("popover.hover.rows")),
                                  code=js_code("popover_weight_hover", "fill_template")),
            "cols": CustomJSHover(args=dict(n=n_out, size=self.block_cols, what=self.words("popover.hover.columns")),
                                  code=js_code("popover_weight_hover", "fill_template")),
            "y": CustomJSHover(args=dict(self._name_args(product), elements=self.elements, block=self.strip_block,
                                         largest=self.words("popover.hover.largest")),
                               code=js_code("popover_result_hover", "popover_hook_name", "fill_template")),
            "b": CustomJSHover(args=dict(n=n_out, name=product.b_name or ""), code=js_code("popover_range_hover")),
            "post": CustomJSHover(args=dict(n=n_out, name=product.post_name or "", pos=product.position),
                                  code=js_code("popover_row_hover")),
        }
        f = self.formatters
        hovers = [
            HoverTool(renderers=[image(src["input-source"], self.mappers["x"])],
                      tooltips=[("x", "$y{row}"), (value, "@image{exact}")],
                      formatters={"$y": f["x"], "@image": number}),
            HoverTool(renderers=[image(src["weight-source"], self.mappers["w"])],
                      tooltips=[("W", weight_label(product, self.words)), (self.words("popover.hover.row"), "$y{rows}"),
                                (self.words("popover.hover.column"), "$x{cols}"),
                                (self.words("popover.hover.weight"), "@image{exact}")],
                      formatters={"$y": f["rows"], "$x": f["cols"], "@image": number}),
            HoverTool(renderers=[image(self.result, self.mappers["y"])],
                      tooltips=[("", "$x{hook}"), (value, "@image{exact}")],
                      formatters={"$x": f["y"], "@image": number}),
        ]
        if product.b is not None:
            hovers.append(HoverTool(renderers=[image(src["bias-source"], self.mappers["y"])],
                                    tooltips=[("", "$x{bias}"), (value, "@image{exact}")],
                                    formatters={"$x": f["b"], "@image": number}))
        if product.post is not None:
            # GELU's outputs keep y's colours, so a strongly negative y visibly turns to about 0
            hovers.append(HoverTool(renderers=[image(self.post, self.mappers["y"])],
                                    tooltips=[("", "$x{post}"), (value, "@image{exact}")],
                                    formatters={"$x": f["post"], "@image": number}))
        if product.kind == "qkv":
            draw(plot, src["parts"], Segment(x0="left", x1="left", y0="bottom", y1="line_bottom", line_color="white",
                                             line_width=1.5))
        if product.kind == "output":
            draw(plot, self.top, Segment(x0="line_x", x1="x", y0="line_y0", y1="line_y1", line_color="#666666",
                                         line_alpha="alpha", line_width=1))
            draw(plot, self.top, Text(x="x", y="y", text="text", text_align="center", text_baseline="top",
                                      text_font_size="11px", text_color=TEXT_COLOUR, text_alpha="alpha"))
        draw(plot, self.highlight, Quad(left="left", right="right", top="top", bottom="bottom",
                                        fill_color=HIGHLIGHT_COLOUR, fill_alpha="fill_alpha",
                                        line_color=HIGHLIGHT_COLOUR, line_width=2, line_alpha="alpha"),
             level="overlay")  # its own canvas layer: the glow's ticks repaint nothing else
        draw(plot, src["captions"], Text(x="x", y="y", text="text", text_align="align", text_baseline="middle",
                                         text_font_size="11px", text_color="#444444"))
        draw(plot, src["detail"], Text(x="x", y="y", text="text", text_align="left", text_baseline="middle",
                                       text_font_size="12px", text_color=TEXT_COLOUR))
        plot.add_tools(*hovers)
        return plot

    # -- frames -------------------------------------------------------------------------------------------

    @property
    def frames(self) -> dict:
        return self.player.frames_source.data

    def last_frame_of(self, step: int) -> int:
        """The frame that completes ``step`` (0 ready, 1 one output, 2 every output, 3 GELU)."""
        return int(np.flatnonzero(np.asarray(self.frames["step"]) == step)[-1])

    def drawn_at(self, frame: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(y, GELU(y)) as frame ``frame`` draws them (NaN: not computed yet), written out in Python: the rule the
        player's JavaScript follows. y is as the strip draws it (per block for a vocabulary-wide y)."""
        frames = self.frames
        step, hi, bias = (int(frames[name][frame]) for name in ("step", "hi", "bias"))
        n_out = self.product.w.shape[1]
        starts = np.asarray(self.elements.data["start"])
        stops = np.asarray(self.elements.data["stop"])
        cols_done = n_out if step >= 3 else (hi if step == 2 else 0)
        focus_done = step >= 2 or bias == 1
        revealed = (stops <= cols_done) | (focus_done & (starts <= self.focus) & (self.focus < stops))
        y = np.where(revealed, self.result.data["final"][0][0], np.nan).astype(np.float32)
        if self.product.post is None:
            return y, None
        post = np.full(n_out, np.nan, np.float32)
        if step == 3:
            post[:hi] = self.product.post[:hi]
        return y, post

    # -- updates --------------------------------------------------------------------------------------------

    def play_from_start(self) -> None:
        """Play from the first frame (the app calls this when it opens the popover)."""
        self.player.play_from_start()

    def update(self, product: WeightProduct, trace: Trace, display_tokens=None) -> None:
        """Another prompt, token or block, same kind and model shapes: new data in place, paused at the start.
        (Another kind draws other parts: build a new view.)"""
        if product.kind != self.kind or product.w.shape != self.product.w.shape:
            raise ValueError(f"this popover was built for a {self.kind} product of a {self.product.w.shape} weight; "
                             "build a new one")
        self.n_head = trace.config.n_head
        self.player.play.active = False
        self._fill(product, trace, display_tokens)
        for name in ("x", "w", "y"):
            self.mappers[name].update(low=-self.limits[name], high=self.limits[name])
        f = self.formatters
        f["x"].args = dict(n=product.w.shape[0], name=product.x_name, pos=product.position)
        f["y"].args = dict(self._name_args(product), elements=self.elements, block=self.strip_block,
                           largest=self.words("popover.hover.largest"))
        f["b"].args = dict(n=product.w.shape[1], name=product.b_name or "")
        f["post"].args = dict(n=product.w.shape[1], name=product.post_name or "", pos=product.position)
        for tool in self.figure.tools:
            if isinstance(tool, HoverTool) and tool.tooltips and tool.tooltips[0][0] == "W":
                tool.tooltips = [("W", weight_label(product, self.words)), *tool.tooltips[1:]]
        self.title.text = self._title_text(product)
        ready, steps = popover_steps(product, self.focus, self.words)
        self.player.set_frames(popover_frames(*product.w.shape, product.post is not None), steps, ready,
                               self._render_args(product))


SOURCE_NAMES = ("inputs", "input-source", "weight-source", "bias-source", "result-source", "result-elements",
                "post-source", "top", "geometry", "highlight", "detail", "captions", "parts")
