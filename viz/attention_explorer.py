"""Attention of any model, head by head: per-head heatmaps with layer, head and query-token selectors, and every
head of every layer in one overview.

These views take plain arrays (one [heads, queries, keys] array per layer) and the token strings, not a
``Trace``, so the same figures serve gpt2_core, Hugging Face models, hooked PyTorch modules and arrays from any
framework (``transformer_explainer``).

- ``AttentionExplorer``: three selectors (layer, head, query token), the selected head's pattern as a
  ``Heatmap`` with the query's row outlined, that row as a bar chart (what the query attends to), and the
  ``AttentionOverview`` under them. Every head's pattern travels with the page (``patterns_source``) and the
  selectors swap them in the browser (``CustomJS``), so the view works in a standalone HTML file and in a
  notebook whose kernel is gone; ``select`` does the same from Python.
- ``AttentionOverview``: one figure, a row per layer and a column per head, each cell a head's pattern
  (max-pooled to 64 × 64 for longer inputs, as the app's head grid); tapping a cell selects that head.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from bokeh.layouts import column
from bokeh.models import (ColumnDataSource, CustomJS, CustomJSHover, FixedTicker, HoverTool, Image, Range1d, Rect, Row,
                          Select, TapTool, VBar)

from . import js_code
from .sections.attention import THUMBNAIL_CELLS, thumbnail
from .common import (BAR_COLOUR, SAMPLED_COLOUR, SEQUENTIAL, cell_label_formatter, check_head, check_layer, draw,
                     exact_number_formatter, label_axis, new_figure, normalize_position, position_labels, shorten)
from .heatmap import Heatmap, colour_mapper

WRAP = {"flex-wrap": "wrap"}
GAP = 0.1  # between the overview's cells, in cell units
OVERVIEW_MAX_WIDTH = 1100  # pixels for all heads side by side
OPTION_LABEL_LIMIT = 24


def check_attentions(attentions: Sequence, tokens: Sequence[str]) -> list[np.ndarray]:
    """One float32 [heads, n, n] array per layer (n = the number of tokens), every layer with the same heads."""
    layers = [np.ascontiguousarray(np.asarray(layer), dtype=np.float32) for layer in attentions]
    if not layers:
        raise ValueError("no attention to show: give one [heads, tokens, tokens] array per layer")
    n = len(tokens)
    for layer, values in enumerate(layers):
        if values.ndim != 3 or values.shape[1:] != (n, n):
            raise ValueError(f"the attention of layer {layer} must be [heads, {n}, {n}] for {n} tokens, "
                             f"got shape {values.shape}")
        if values.shape[0] != layers[0].shape[0]:
            raise ValueError(f"layer {layer} has {values.shape[0]} heads, layer 0 has {layers[0].shape[0]}")
    return layers


# The titles' templates: filled here, and by the selectors' script in the page (the same text either way).
TITLES = {"pattern": "layer {layer}, head {head}: attention (rows: queries, columns: keys)",
          "query": "what query #{query} attends to (its row)"}


def pattern_title(layer: int, head: int) -> str:
    return TITLES["pattern"].format(layer=layer, head=head)


def query_title(query: int) -> str:
    return TITLES["query"].format(query=query)


def row_data(pattern: np.ndarray, query: int) -> dict:
    n = pattern.shape[1]
    return {"x": np.arange(n) + 0.5, "key": np.arange(n), "weight": np.array(pattern[query], dtype=np.float32)}


class AttentionOverview:
    """``source``: one image per head (``layer``, ``head``, ``image``; row ``layer * n_head + head``), the
    pattern itself up to 64 tokens, each block's maximum beyond; ``cells``: one tappable cell per head;
    ``marker_source``: where the selected head is outlined."""

    def __init__(self, attentions: Sequence[np.ndarray], tokens: Sequence[str], *, layer: int = 0, head: int = 0,
                 name: str = ""):
        self.patterns = check_attentions(attentions, tokens)
        self.n_layer, self.n_head = len(self.patterns), self.patterns[0].shape[0]
        n = len(tokens)
        self.pooled = n > THUMBNAIL_CELLS
        layers = np.repeat(np.arange(self.n_layer), self.n_head)
        heads = np.tile(np.arange(self.n_head), self.n_layer)
        images = [thumbnail(self.patterns[i][h]) for i, h in zip(layers, heads)]
        size = np.full(layers.size, 1 - GAP)
        self.source = ColumnDataSource({"image": images, "layer": layers, "head": heads, "x": heads + GAP / 2,
                                        "y": layers + GAP / 2, "dw": size, "dh": size},
                                       name=f"{name}attention-overview")
        self.cells = ColumnDataSource({"layer": layers, "head": heads, "x": heads + 0.5, "y": layers + 0.5},
                                      name=f"{name}attention-overview-cells")
        self.marker_source = ColumnDataSource({"x": [head + 0.5], "y": [layer + 0.5]},
                                              name=f"{name}attention-overview-marker")
        self.figure = self._figure(tokens, name)

    def _figure(self, tokens: Sequence[str], name: str):
        n_layer, n_head = self.n_layer, self.n_head
        side = int(min(max(8 * len(tokens), 72), 144, max(40, OVERVIEW_MAX_WIDTH // n_head)))
        title = "every head of every layer" + (" (each block's largest weight)" if self.pooled else "") + \
                ": tap one to select it"
        plot = new_figure(title=title, name=f"{name}attention-overview-figure", width=n_head * side + 70,
                          height=n_layer * side + 80, x_range=Range1d(0, n_head), y_range=Range1d(n_layer, 0),
                          x_axis_location="above")
        mapper = colour_mapper(SEQUENTIAL, 0.0, 1.0, SEQUENTIAL[0], SEQUENTIAL[-1])
        images = draw(plot, self.source, Image(image="image", x="x", y="y", dw="dw", dh="dh", color_mapper=mapper))
        cells = draw(plot, self.cells, Rect(x="x", y="y", width=1 - GAP, height=1 - GAP, fill_alpha=0,
                                            line_color="#c8c8c8", line_width=1))
        draw(plot, self.marker_source, Rect(x="x", y="y", width=1 - GAP / 2, height=1 - GAP / 2, fill_alpha=0,
                                            line_color=SAMPLED_COLOUR, line_width=3))
        tooltips = [("layer", "@layer"), ("head", "@head")]
        formatters = {"@image": exact_number_formatter()}
        if not self.pooled:
            labels = position_labels(tokens)
            tooltips += [("query", "$y{query}"), ("key", "$x{key}")]
            for field in ("$x", "$y"):
                formatters[field] = CustomJSHover(args=dict(labels=labels, n=len(tokens), gap=GAP),
                                                  code=js_code("attention_overview_token_hover"))
        tooltips.append(("largest weight" if self.pooled else "weight", "@image{value}"))
        plot.add_tools(TapTool(renderers=[cells]), HoverTool(renderers=[images], tooltips=tooltips,
                                                             formatters=formatters))
        plot.xaxis.ticker = FixedTicker(ticks=[h + 0.5 for h in range(n_head)], minor_ticks=[])
        plot.xaxis.major_label_overrides = {h + 0.5: f"H{h}" for h in range(n_head)}
        plot.yaxis.ticker = FixedTicker(ticks=[layer + 0.5 for layer in range(n_layer)], minor_ticks=[])
        plot.yaxis.major_label_overrides = {layer + 0.5: f"L{layer}" for layer in range(n_layer)}
        plot.axis.major_tick_line_color = None
        plot.axis.axis_line_color = None
        plot.xaxis.axis_label, plot.yaxis.axis_label = "head", "layer"
        return plot

    def mark(self, layer: int, head: int) -> None:
        self.marker_source.data = {"x": [head + 0.5], "y": [layer + 0.5]}


class AttentionExplorer:
    """``heatmap`` (a ``Heatmap``; ``heatmap.values`` is the selected head's [n, n] pattern), ``row_source``
    (``weight``: the selected query's row), ``patterns_source`` (every head: ``layer``, ``head``, ``image``),
    ``layer_select``, ``head_select``, ``query_select`` (Bokeh ``Select`` widgets), ``overview``;
    ``layout`` is the whole view. ``name`` prefixes every named model (several explorers on one page)."""

    def __init__(self, attentions: Sequence[np.ndarray], tokens: Sequence[str], *, layer: int = 0, head: int = 0,
                 query: int | None = None, name: str = ""):
        self.patterns = check_attentions(attentions, tokens)
        self.tokens = [str(token) for token in tokens]
        self.n_layer, self.n_head, self.n = len(self.patterns), self.patterns[0].shape[0], len(self.tokens)
        layer, head = check_layer(layer, self.n_layer), check_head(head, self.n_head)
        query = normalize_position(query, self.n)
        self.layer, self.head, self.query = layer, head, query
        labels = position_labels(self.tokens)

        layers = np.repeat(np.arange(self.n_layer), self.n_head)
        heads = np.tile(np.arange(self.n_head), self.n_layer)
        self.patterns_source = ColumnDataSource(
            {"layer": layers, "head": heads, "image": [self.patterns[i][h] for i, h in zip(layers, heads)]},
            name=f"{name}attention-patterns")
        pattern = self.patterns[layer][head]
        self.heatmap = Heatmap(pattern, title=pattern_title(layer, head), kind="probability", row_labels=self.tokens,
                               col_labels=self.tokens, row_hover=labels, col_hover=labels, row_name="query",
                               col_name="key", value_name="weight", square=True, max_col_ticks=24)
        self.heatmap.source.name, self.heatmap.figure.name = f"{name}attention-heatmap", f"{name}attention-figure"
        self.heatmap.outline_row(query)

        self.row_source = ColumnDataSource(row_data(pattern, query), name=f"{name}attention-query-row")
        self.row_figure = self._row_figure(query, labels, name)

        def select(title: str, value: int, options: list[tuple[str, str]], what: str) -> Select:
            return Select(title=title, value=str(value), options=options, width=200 if what == "query" else 110,
                          name=f"{name}attention-{what}-select")

        self.layer_select = select("layer", layer, [(str(i), f"layer {i}") for i in range(self.n_layer)], "layer")
        self.head_select = select("head", head, [(str(h), f"head {h}") for h in range(self.n_head)], "head")
        self.query_select = select("query token", query, [(str(i), shorten(label, OPTION_LABEL_LIMIT))
                                                          for i, label in enumerate(labels)], "query")
        self.overview = AttentionOverview(self.patterns, self.tokens, layer=layer, head=head, name=name)

        update = CustomJS(args=dict(layer_select=self.layer_select, head_select=self.head_select,
                                    query_select=self.query_select, patterns=self.patterns_source,
                                    heatmap=self.heatmap.source, heatmap_title=self.heatmap.figure.title,
                                    outline=self.heatmap.outline, row=self.row_source,
                                    row_title=self.row_figure.title, marker=self.overview.marker_source,
                                    n_head=self.n_head, n=self.n, titles=TITLES),
                          code=js_code("attention_explorer_select", "fill_template"))
        for widget in (self.layer_select, self.head_select, self.query_select):
            widget.js_on_change("value", update)
        self.overview.cells.selected.js_on_change("indices", CustomJS(
            args=dict(cells=self.overview.cells, layer_select=self.layer_select, head_select=self.head_select,
                      n_head=self.n_head), code=js_code("attention_explorer_tap")))

        self.controls = Row(children=[self.layer_select, self.head_select, self.query_select])
        self.figures = Row(children=[self.heatmap.figure, self.row_figure], styles=WRAP, sizing_mode="stretch_width")
        self.layout = column(self.controls, self.figures, self.overview.figure, sizing_mode="stretch_width",
                             name=f"{name}attention-explorer")

    def extend(self, controls: Sequence = (), figures: Sequence = ()) -> None:
        """More widgets after the selectors, and more figures right beside the heatmap (for a view built on this
        one: the image attention view's rollout choice and its picture)."""
        self.controls.children = [*self.controls.children, *controls]
        heatmap, *rest = self.figures.children
        self.figures.children = [heatmap, *figures, *rest]

    def _row_figure(self, query: int, labels: list[str], name: str):
        n = self.n
        plot = new_figure(title=query_title(query), axes="xy", grid="y", y_axis_label="weight",
                          name=f"{name}attention-query-figure", width=max(320, min(18 * n, 640)) + 60,
                          height=self.heatmap.figure.height, x_range=Range1d(0, n), y_range=Range1d(0, 1.02))
        bars = draw(plot, self.row_source, VBar(x="x", top="weight", width=0.8, fill_color=BAR_COLOUR,
                                                line_color=None))
        label_axis(plot.xaxis[0], self.tokens, n, 24)
        plot.xaxis[0].major_label_orientation = "vertical"
        plot.add_tools(HoverTool(renderers=[bars], tooltips=[("key", "$x{key}"), ("weight", "@weight{value}")],
                                 formatters={"$x": cell_label_formatter(labels, n),
                                             "@weight": exact_number_formatter()}))
        return plot

    def select(self, layer: int | None = None, head: int | None = None, query: int | None = None) -> None:
        """Show another head or query (what the selectors do in the browser), from Python."""
        layer = self.layer if layer is None else check_layer(layer, self.n_layer)
        head = self.head if head is None else check_head(head, self.n_head)
        query = self.query if query is None else normalize_position(query, self.n)
        self.layer, self.head, self.query = layer, head, query
        pattern = self.patterns[layer][head]
        self.heatmap.update(pattern, title=pattern_title(layer, head))
        self.heatmap.outline_row(query)
        self.row_source.data = row_data(pattern, query)
        self.row_figure.title.text = query_title(query)
        self.overview.mark(layer, head)
        self.layer_select.value, self.head_select.value = str(layer), str(head)
        self.query_select.value = str(query)
