"""The overview: a Sankey-style flow from the prompt's tokens to the next token, drawn with plain Bokeh glyphs.

tokens → embedding → the transformer blocks (one "× N blocks" node, or per block an attention and an MLP node
when expanded) → logits → the most likely next tokens, each ribbon as wide as its probability.

- Each token's residual stream is a ribbon through the stages; only the last token's stream goes on to the
  logits (the next-token prediction reads the last position). Hovering a token highlights its path (CustomJS).
- Stage nodes are tappable: ``stage_source.selected.indices`` says which one was tapped; its ``stage`` column
  ("embedding", "block", "attention", "mlp", "output") and ``layer`` (-1 when not one block) say what to open.
  Token nodes are tappable too (``token_source``, column ``position``).
- Long prompts show their last ``max_tokens`` tokens and one "… N earlier tokens" node.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.models import ColumnDataSource, CustomJS, HoverTool, Patches, Quad, Range1d, TapTool, Text

from transformer_explainer.gpt2_core import Trace

from .. import js_code
from ..common import (MUTED_TEXT, SAMPLED_COLOUR, TEXT_COLOUR, TRANSPARENT, draw, format_probability, new_figure,
                     set_if_changed, shorten)
from ..i18n import Translator, translator

STAGE_COLOURS = {"embedding": "#f6cf9f", "block": "#d6d3ea", "attention": "#a6cde8", "mlp": "#b5dfae",
                 "output": "#f9b9a3"}
TOKEN_COLOUR, OTHER_COLOUR, PROBABILITY_COLOUR = "#ececec", "#f4f4f4", "#dfe9f5"
RIBBON_COLOUR = "#7f9fc6"
RIBBON_ALPHA, HIGHLIGHT_ALPHA, DIMMED_ALPHA = 0.35, 0.85, 0.08
RIBBON_HALF_WIDTH = 0.22
ROW_PX = 30
MIN_WIDTH = 600  # below this the labels collide: on a phone the diagram scrolls sideways instead
CURVE_SAMPLES = 20
CAPTION_Y = -1.95
HEADER_TOP, HEADER_BOTTOM = -1.45, -0.75

TOKEN_LEFT, TOKEN_RIGHT = 0.0, 2.2
EMBED_LEFT, EMBED_RIGHT = 3.0, 3.45
BLOCKS_LEFT = 4.3
COLLAPSED_WIDTH = 2.6
BLOCK_STRIDE, BAR_WIDTH, BAR_GAP = 1.35, 0.42, 0.28
OUTPUT_GAP, OUTPUT_WIDTH = 1.0, 0.45
PROBABILITY_GAP, PROBABILITY_WIDTH = 1.2, 2.8


def smooth_ribbon(x0, x1, y0, y1, half0, half1) -> tuple[list[float], list[float]]:
    """A ribbon from (x0, y0) to (x1, y1), ``half0``/``half1`` thick on each side, as one polygon."""
    s = np.linspace(0.0, 1.0, CURVE_SAMPLES)
    ease = s * s * (3 - 2 * s)
    x = x0 + (x1 - x0) * s
    centre = y0 + (y1 - y0) * ease
    half = half0 + (half1 - half0) * ease
    xs = np.concatenate([x, x[::-1]])
    ys = np.concatenate([centre - half, (centre + half)[::-1]])
    return xs.tolist(), ys.tolist()


def shown_tokens(trace: Trace, max_tokens: int) -> tuple[list[int], int]:
    """The positions drawn (the last ``max_tokens``) and how many earlier ones are left out."""
    n = trace.n_tokens
    first = max(0, n - max_tokens)
    return list(range(first, n)), first


class OverviewLayout:
    """Where everything goes, in data units (one token row = 1 unit, row 0 at the top)."""

    def __init__(self, n_rows: int, n_layer: int, expanded: bool):
        self.n_rows, self.n_layer, self.expanded = n_rows, n_layer, expanded
        self.blocks_right = (BLOCKS_LEFT + n_layer * BLOCK_STRIDE - (BLOCK_STRIDE - 2 * BAR_WIDTH - BAR_GAP)
                             if expanded else BLOCKS_LEFT + COLLAPSED_WIDTH)
        self.output_left = self.blocks_right + OUTPUT_GAP
        self.output_right = self.output_left + OUTPUT_WIDTH
        self.probability_left = self.output_right + PROBABILITY_GAP
        self.probability_right = self.probability_left + PROBABILITY_WIDTH
        self.centre = (n_rows - 1) / 2
        self.output_height = float(np.clip(n_rows * 0.8, 2.4, 5.0))
        self.rows_top, self.rows_bottom = -0.45, n_rows - 0.55

    def bars(self, layer: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """(attention left, right), (MLP left, right) of one block when expanded."""
        left = BLOCKS_LEFT + layer * BLOCK_STRIDE
        return (left, left + BAR_WIDTH), (left + BAR_WIDTH + BAR_GAP, left + 2 * BAR_WIDTH + BAR_GAP)


def stage_data(layout: OverviewLayout, words: Translator | None = None) -> dict:
    words = words or translator()
    rows = []  # stage, layer, left, right, top, bottom, label, description

    def add(stage, layer, left, right, top, bottom, label, description):
        rows.append((stage, layer, left, right, top, bottom, label, description))

    top, bottom = layout.rows_top, layout.rows_bottom
    add("embedding", -1, EMBED_LEFT, EMBED_RIGHT, top, bottom, words("overview.embedding"),
        words("overview.embedding_description"))
    if layout.expanded:
        for layer in range(layout.n_layer):
            (a_left, a_right), (m_left, m_right) = layout.bars(layer)
            add("block", layer, a_left - 0.04, m_right + 0.04, HEADER_TOP, HEADER_BOTTOM, f"B{layer}",
                words("overview.block_description", layer=layer))
            add("attention", layer, a_left, a_right, top, bottom, words("overview.attention"),
                words("overview.attention_description", layer=layer))
            add("mlp", layer, m_left, m_right, top, bottom, "MLP", words("overview.mlp_description", layer=layer))
    else:
        add("block", -1, BLOCKS_LEFT, layout.blocks_right, top, bottom, words("overview.blocks_node", n=layout.n_layer),
            words("overview.blocks_description", n=layout.n_layer))
    half = layout.output_height / 2
    add("output", -1, layout.output_left, layout.output_right, layout.centre - half, layout.centre + half, "logits",
        words("overview.output_description"))
    stage, layer, left, right, tops, bottoms, label, description = (list(column) for column in zip(*rows))
    left, right, tops, bottoms = (np.array(v, dtype=float) for v in (left, right, tops, bottoms))
    horizontal = [s == "block" for s in stage]  # the tall, thin nodes carry their name vertically
    return {"stage": stage, "layer": np.array(layer), "left": left, "right": right, "top": tops, "bottom": bottoms,
            "x": (left + right) / 2, "y": (tops + bottoms) / 2, "label": label, "description": description,
            "angle": np.where(horizontal, 0.0, np.pi / 2), "colour": [STAGE_COLOURS[s] for s in stage]}


def token_node_data(trace: Trace, positions: list[int], left_out: int, words: Translator | None = None) -> dict:
    words = words or translator()
    slots = list(range(len(positions) + (1 if left_out else 0)))
    tokens = ([words("overview.earlier", n=left_out)] if left_out else []) + [trace.tokens[p] for p in positions]
    ids = ([-1] if left_out else []) + [trace.token_ids[p] for p in positions]
    position = ([-1] if left_out else []) + positions
    slot_array = np.array(slots, dtype=float)
    return {"slot": np.array(slots), "position": np.array(position), "token": tokens, "token_id": np.array(ids),
            "label": [shorten(t, 14) for t in tokens], "x": np.full(len(slots), (TOKEN_LEFT + TOKEN_RIGHT) / 2),
            "y": slot_array, "left": np.full(len(slots), TOKEN_LEFT), "right": np.full(len(slots), TOKEN_RIGHT),
            "top": slot_array - 0.4, "bottom": slot_array + 0.4}


def stream_ribbons(layout: OverviewLayout, n_slots: int, has_ellipsis: bool) -> dict:
    """Each token's residual stream, stage to stage; the last token's goes on into the logits node."""
    hops = [(TOKEN_RIGHT, EMBED_LEFT), (EMBED_RIGHT, BLOCKS_LEFT)]
    if layout.expanded:
        for layer in range(layout.n_layer):
            (a_left, a_right), (m_left, _) = layout.bars(layer)
            hops.append((a_right, m_left))
            if layer + 1 < layout.n_layer:
                hops.append((layout.bars(layer)[1][1], layout.bars(layer + 1)[0][0]))
    xs, ys, slots = [], [], []
    first_real = 1 if has_ellipsis else 0
    for slot in range(first_real, n_slots):
        for x0, x1 in hops:
            x, y = smooth_ribbon(x0, x1, slot, slot, RIBBON_HALF_WIDTH, RIBBON_HALF_WIDTH)
            xs.append(x), ys.append(y), slots.append(slot)
    last = n_slots - 1
    x, y = smooth_ribbon(layout.blocks_right, layout.output_left, last, layout.centre, RIBBON_HALF_WIDTH,
                         RIBBON_HALF_WIDTH)
    xs.append(x), ys.append(y), slots.append(last)
    n = len(xs)
    return {"xs": xs, "ys": ys, "slot": np.array(slots), "fill_alpha": np.full(n, RIBBON_ALPHA),
            "base_alpha": np.full(n, RIBBON_ALPHA)}


def padded(data: dict, n_rows: int, fillers: dict) -> dict:
    """``data`` with invisible rows added up to ``n_rows``, each column filled with ``fillers[column]``.

    BokehJS may draw a glyph between the steps of replacing its source's columns; when the number of rows
    changes it then reads past the end of one ("Out of bounds", "Offset is outside the bounds of the DataView"
    in the console). The overview's sources keep a constant number of rows, so every column has one length."""
    missing = n_rows - len(next(iter(data.values())))
    if missing <= 0:
        return data
    extended = {}
    for name, column in data.items():
        filler = fillers[name]
        if isinstance(column, np.ndarray):
            extended[name] = np.concatenate([column, np.full(missing, filler, dtype=column.dtype)])
        else:
            extended[name] = list(column) + [filler() if callable(filler) else filler for _ in range(missing)]
    return extended


# Padding rows: a ribbon with one NaN point (nothing drawn), a next-token node with no place and no colour.
RIBBON_PADDING = {"xs": lambda: [np.nan], "ys": lambda: [np.nan], "slot": -1, "fill_alpha": 0.0, "base_alpha": 0.0,
                  "probability": 0.0}
NODE_PADDING = {"token_id": -2, "token": "", "label": "", "probability": 0.0, "is_sampled": False, "top": np.nan,
                "bottom": np.nan, "colour": TRANSPARENT, "text_colour": TRANSPARENT, "left": np.nan, "right": np.nan,
                "x": np.nan, "y": np.nan}


def next_token_outcomes(probabilities: np.ndarray, sampled_id: int | None, token_display, n_top: int,
                        words: Translator | None = None) -> list:
    """(token_id, label, probability) of the top tokens, the sampled one, then the rest of the vocabulary."""
    n_top = min(n_top, probabilities.size)
    best = np.argpartition(-probabilities, n_top - 1)[:n_top]
    best = [int(i) for i in best[np.lexsort((best, -probabilities[best]))] if probabilities[i] > 0]
    if sampled_id is not None and int(sampled_id) not in best:
        best.append(int(sampled_id))
    outcomes = [(i, str(token_display(i)), float(probabilities[i])) for i in best]
    rest = max(0.0, 1.0 - sum(p for _, _, p in outcomes))
    others = probabilities.size - len(best)
    if others > 0:
        outcomes.append((-1, (words or translator())("overview.others", n=f"{others:,}"), rest))
    return outcomes


def probability_data(layout: OverviewLayout, outcomes, sampled_id) -> tuple[dict, dict]:
    """The next-token nodes (height ∝ probability, at least one label's height) and the ribbons into them."""
    heights = [max(p * layout.output_height, 0.55) for _, _, p in outcomes]
    gap = 0.15
    total = sum(heights) + gap * (len(heights) - 1)
    top = layout.centre - total / 2
    source_top = layout.centre - layout.output_height / 2
    nodes = {name: [] for name in ("token_id", "token", "label", "probability", "is_sampled", "top", "bottom",
                                   "colour", "text_colour")}
    ribbons = {"xs": [], "ys": [], "probability": []}
    for (token_id, token, p), height in zip(outcomes, heights):
        sampled = sampled_id is not None and token_id == int(sampled_id)
        nodes["token_id"].append(token_id)
        nodes["token"].append(token)
        nodes["label"].append(f"{format_probability(p)}  {shorten(token, 16)}" if token_id >= 0 else
                              f"{format_probability(p)}  {token}")
        nodes["probability"].append(p)
        nodes["is_sampled"].append(sampled)
        nodes["top"].append(top)
        nodes["bottom"].append(top + height)
        nodes["colour"].append(SAMPLED_COLOUR if sampled else (OTHER_COLOUR if token_id < 0 else PROBABILITY_COLOUR))
        nodes["text_colour"].append("white" if sampled else (MUTED_TEXT if token_id < 0 else TEXT_COLOUR))
        thickness = p * layout.output_height
        if thickness > 0.005:
            x, y = smooth_ribbon(layout.output_right, layout.probability_left, source_top + thickness / 2,
                                 top + height / 2, thickness / 2, min(thickness, height) / 2)
            ribbons["xs"].append(x), ribbons["ys"].append(y), ribbons["probability"].append(p)
        source_top += thickness
        top += height + gap
    n = len(outcomes)
    nodes = {k: np.array(v) if k in ("token_id", "probability", "is_sampled", "top", "bottom") else v
             for k, v in nodes.items()}
    nodes["left"] = np.full(n, layout.probability_left)
    nodes["right"] = np.full(n, layout.probability_right)
    nodes["x"] = np.full(n, layout.probability_left + 0.12)
    nodes["y"] = (nodes["top"] + nodes["bottom"]) / 2
    n_ribbons = len(ribbons["xs"])
    ribbons["slot"] = np.full(n_ribbons, layout.n_rows - 1)  # they continue the last token's path
    ribbons["fill_alpha"] = np.full(n_ribbons, RIBBON_ALPHA)
    ribbons["base_alpha"] = np.full(n_ribbons, RIBBON_ALPHA)
    ribbons["probability"] = np.array(ribbons["probability"])
    return nodes, ribbons


def caption_data(layout: OverviewLayout, words: Translator | None = None) -> dict:
    words = words or translator()
    blocks_caption = (words("overview.blocks_caption_expanded", n=layout.n_layer) if layout.expanded
                      else words("overview.blocks_caption"))
    captions = [(words("overview.prompt"), (TOKEN_LEFT + TOKEN_RIGHT) / 2),
                (words("overview.embed"), (EMBED_LEFT + EMBED_RIGHT) / 2),
                (blocks_caption, (BLOCKS_LEFT + layout.blocks_right) / 2),
                ("logits", (layout.output_left + layout.output_right) / 2),
                (words("overview.next_token"), (layout.probability_left + layout.probability_right) / 2)]
    return {"text": [c for c, _ in captions], "x": [x for _, x in captions], "y": [CAPTION_Y] * len(captions)}


class OverviewView:
    """``stage_source`` (stage, layer, ...: tap to open a stage), ``token_source`` (position, token, token_id),
    ``probability_source`` (token_id, token, probability, is_sampled), ``ribbon_source`` (the token streams) and
    ``flow_source`` (logits → next-token ribbons)."""

    def __init__(self, trace: Trace, probabilities, sampled_id: int | None, token_display: Callable[[int], str],
                 expanded: bool = False, max_tokens: int = 16, n_top: int = 5, lang: str = "en",
                 marked_layer: int | None = None, name_prefix: str = "", title: str | None = None):
        """``marked_layer``: a block outlined (the one the picture draws; expanded only). ``name_prefix`` goes
        before every model's name: a second overview in the same page (the picture's zoomed-out level) has its
        own names."""
        self.words = translator(lang)
        self.token_display, self.max_tokens, self.n_top = token_display, max_tokens, n_top
        self.expanded = bool(expanded)
        self.n_layer = trace.config.n_layer
        self.marked_layer = marked_layer
        # named so that browser tests and benchmarks can find them in the page's Bokeh document
        self.stage_source = ColumnDataSource(name=f"{name_prefix}stage-source")
        self.token_source = ColumnDataSource(name=f"{name_prefix}overview-token-source")
        self.ribbon_source = ColumnDataSource(name=f"{name_prefix}overview-ribbon-source")
        self.flow_source = ColumnDataSource(name=f"{name_prefix}overview-flow-source")
        self.probability_source = ColumnDataSource(name=f"{name_prefix}overview-probability-source")
        self.marked_source = ColumnDataSource(name=f"{name_prefix}overview-marked-source")
        self.caption_source = ColumnDataSource()
        self.figure = new_figure(title=title or self.words("overview.title"), axes="",
                                 name=f"{name_prefix}overview-figure",
                                 sizing_mode="stretch_width", min_width=MIN_WIDTH, x_range=Range1d(0, 1),
                                 y_range=Range1d(1, 0))
        self._fill(trace, probabilities, sampled_id)
        self._draw()
        self.layout = self.figure

    # -- data ----------------------------------------------------------------------------------------

    def _fill(self, trace: Trace, probabilities, sampled_id) -> None:
        positions, left_out = shown_tokens(trace, self.max_tokens)
        n_slots = len(positions) + (1 if left_out else 0)
        self.n_slots = n_slots
        outcomes = next_token_outcomes(np.asarray(probabilities), sampled_id, self.token_display, self.n_top,
                                       self.words)
        self._layout = OverviewLayout(n_slots, self.n_layer, self.expanded)
        # Only what changed goes to the page: a prompt of the same length keeps its stages, ribbons and captions.
        set_if_changed(self.stage_source, stage_data(self._layout, self.words))
        set_if_changed(self.token_source, token_node_data(trace, positions, left_out, self.words))
        most_hops = 2 + 2 * trace.config.n_layer  # token → embed → blocks, and between the bars when expanded
        set_if_changed(self.ribbon_source, padded(stream_ribbons(self._layout, n_slots, bool(left_out)),
                                                  (self.max_tokens + 1) * most_hops + 1, RIBBON_PADDING),
                       always=("fill_alpha",))
        set_if_changed(self.caption_source, caption_data(self._layout, self.words))
        self._fill_mark()
        self._fill_probabilities(outcomes, sampled_id)

    def _fill_mark(self) -> None:
        layer = self.marked_layer
        marked = self.expanded and layer is not None and 0 <= layer < self.n_layer
        (left, _), (_, right) = self._layout.bars(layer if marked else 0)
        set_if_changed(self.marked_source, {"left": [left - 0.1], "right": [right + 0.1], "top": [HEADER_TOP - 0.12],
                                            "bottom": [self._layout.rows_bottom + 0.12],
                                            "alpha": [1.0 if marked else 0.0]}, always=())

    def mark_layer(self, layer: int | None) -> None:
        """Outline block ``layer`` (None: none)."""
        self.marked_layer = layer
        self._fill_mark()

    def _fill_probabilities(self, outcomes, sampled_id) -> None:
        nodes, flows = probability_data(self._layout, outcomes, sampled_id)
        most_outcomes = self.n_top + 2  # the top tokens, the sampled one, the rest of the vocabulary
        set_if_changed(self.probability_source, padded(nodes, most_outcomes, NODE_PADDING), always=())
        set_if_changed(self.flow_source, padded(flows, most_outcomes, RIBBON_PADDING), always=("fill_alpha",))
        self._fit_ranges()

    def _fit_ranges(self) -> None:
        layout = self._layout
        nodes = self.probability_source.data  # padding rows have NaN tops and bottoms
        top = min(CAPTION_Y - 0.45, float(np.nanmin(nodes["top"]))) - 0.1
        bottom = max(layout.rows_bottom + 0.1, float(np.nanmax(nodes["bottom"]))) + 0.1
        self._whole = [TOKEN_LEFT - 0.1, layout.probability_right + 0.1, bottom, top]
        self.show_window(self._whole)
        self.figure.frame_height = int((bottom - top) * ROW_PX)

    def whole_window(self) -> list[float]:
        """[x_start, x_end, y_start, y_end]: the ranges that show the whole figure (y runs downwards)."""
        return list(self._whole)

    def block_window(self, layer: int) -> list[float]:
        """The ranges that fill the figure's width with block ``layer`` (its attention and MLP; the blocks' node
        when not expanded), all rows still in view: where a zoom into that block ends."""
        if self.expanded:
            (left, _), (_, right) = self._layout.bars(layer)
        else:
            left, right = BLOCKS_LEFT, self._layout.blocks_right
        return [left - 0.3, right + 0.3, *self._whole[2:]]

    def show_window(self, window: list[float]) -> None:
        self.figure.x_range.update(start=window[0], end=window[1])
        self.figure.y_range.update(start=window[2], end=window[3])

    # -- drawing -------------------------------------------------------------------------------------

    def _draw(self) -> None:
        plot = self.figure
        for ribbons in (self.ribbon_source, self.flow_source):
            draw(plot, ribbons, Patches(xs="xs", ys="ys", fill_color=RIBBON_COLOUR, fill_alpha="fill_alpha",
                                        line_color=None))
        box = dict(left="left", right="right", top="top", bottom="bottom")
        label = dict(x="x", y="y", text="label", text_baseline="middle", text_font_size="12px")
        stages = draw(plot, self.stage_source, Quad(**box, fill_color="colour", line_color="#666666"),
                      selection_glyph=Quad(**box, fill_color="colour", line_color=SAMPLED_COLOUR, line_width=3),
                      hover_glyph=Quad(**box, fill_color="colour", line_color="#222222", line_width=2))
        draw(plot, self.stage_source, Text(**label, angle="angle", text_align="center", text_color=TEXT_COLOUR))
        draw(plot, self.marked_source, Quad(**box, fill_color=None, line_color=SAMPLED_COLOUR, line_width=3,
                                            line_dash="dashed", line_alpha="alpha"))
        tokens = draw(plot, self.token_source, Quad(**box, fill_color=TOKEN_COLOUR, line_color="#9a9a9a"),
                      selection_glyph=Quad(**box, fill_color="#ffe3c2", line_color=SAMPLED_COLOUR, line_width=2),
                      hover_glyph=Quad(**box, fill_color="#ffe3c2", line_color=SAMPLED_COLOUR, line_width=2))
        draw(plot, self.token_source, Text(**label, text_align="center", text_color=TEXT_COLOUR))
        outcomes = draw(plot, self.probability_source, Quad(**box, fill_color="colour", line_color="#9a9a9a"))
        draw(plot, self.probability_source, Text(**label, text_color="text_colour"))
        draw(plot, self.caption_source, Text(x="x", y="y", text="text", text_align="center", text_baseline="middle",
                                             text_font_size="11px", text_color=MUTED_TEXT, text_font_style="italic"))

        highlight = CustomJS(args=dict(tokens=self.token_source, streams=self.ribbon_source, flows=self.flow_source,
                                       highlight=HIGHLIGHT_ALPHA, dimmed=DIMMED_ALPHA),
                             code=js_code("overview_highlight"))
        words = self.words
        plot.add_tools(
            HoverTool(renderers=[tokens], callback=highlight,
                      tooltips=[(words("overview.position"), "@position"), (words("overview.token"), "@token"),
                                ("id", "@token_id")]),
            HoverTool(renderers=[stages], tooltips=[("", "@description")]),
            HoverTool(renderers=[outcomes], tooltips=[(words("overview.next_token"), "@token"),
                                                      (words("overview.probability"), "@probability")]),
            TapTool(renderers=[stages, tokens]))

    # -- updates -------------------------------------------------------------------------------------

    def update(self, trace: Trace, probabilities, sampled_id: int | None, expanded: bool | None = None) -> None:
        """A new trace (and the distribution for its next token); ``expanded`` None keeps the current mode."""
        if expanded is not None:
            self.expanded = bool(expanded)
        self.n_layer = trace.config.n_layer
        self._fill(trace, probabilities, sampled_id)

    def update_probabilities(self, probabilities, sampled_id: int | None) -> None:
        """Only the next-token side (a temperature or top-k/top-p change): cheap."""
        outcomes = next_token_outcomes(np.asarray(probabilities), sampled_id, self.token_display, self.n_top,
                                       self.words)
        self._fill_probabilities(outcomes, sampled_id)
