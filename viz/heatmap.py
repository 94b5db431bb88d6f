"""A matrix as a heatmap: one Bokeh ``image`` glyph, rows top to bottom, exact values on hover.

- Row ``r`` occupies ``y`` in ``[r, r + 1)`` on a flipped y range (row 0 at the top), column ``c`` occupies
  ``x`` in ``[c, c + 1)``. The image holds the values themselves (``source.data["image"][0]`` is the array
  given), so tests can compare it with the trace and the hover reads the exact number under the cursor.
  (A flipped range, not ``origin="top_left"``: Bokeh's image hit-testing ignores ``origin``.)
- Masked cells (-inf, the causal mask) are drawn in a neutral grey by a second, one-colour image on top;
  the hover says "masked (−∞)".
- ``kind``: "signed" (diverging, white at zero, symmetric scale clipped at a high quantile so outliers do not
  wash out the rest), "probability" (sequential, 0 to 1), "sequential" (sequential, from 0 or the minimum).
- Sizes: a heatmap either stretches to the page's width (``frame_height`` fixed), or has a fixed ``width`` and
  ``height`` computed from its labels (``square=True`` or ``width=...``): fixed sizes are what Bokeh lays out
  correctly inside a wrapping row (``frame_width`` there is not).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from bokeh.core.property.validation import validate
from bokeh.models import (AllLabels, BasicTicker, BasicTickFormatter, BoxAnnotation, ColorBar, ColumnDataSource,
                          FixedTicker, GlyphRenderer, HoverTool, Image, LinearAxis, LinearColorMapper, Plot, Range1d)

from .common import (DIVERGING, MASKED_COLOUR, SEQUENTIAL, TRANSPARENT, cell_label_formatter, exact_number_formatter,
                     hover_description, label_axis, robust_limit, set_cell_labels, show_zoom_tools)
from .i18n import translator

KINDS = ("signed", "probability", "sequential")
ROW_PX = 18  # pixels per row while the heatmap is small enough to show every row
MAX_BODY_PX = 432  # above this many pixels the rows shrink (hover stays exact; box zoom helps)
MIN_SQUARE_PX = 180
CHAR_PX, TITLE_PX, COLORBAR_PX, NUMBER_AXIS_PX = 6, 26, 56, 28
LABEL_LIMIT = 14  # characters of a token shown on an axis (hover shows all of it)
ZOOM_ROWS, ZOOM_COLUMNS = 48, 256  # bigger than this: cells get small, so offer box zoom (hover stays exact)


# A figure's size change makes BokehJS lay out the whole page again, once per figure (~0.2 s each, measured
# with scripts/bench_app.py), so a heatmap with one row per token is sized for a step of rows, not for the
# prompt's exact length: every prompt of up to 16 tokens gives the same sizes, and any longer one the largest.
TOKEN_ROW_STEPS = (16, MAX_BODY_PX // ROW_PX)


def sized_rows(n: int) -> int:
    """How many rows a heatmap with one row per token is sized for (its rows then share that height)."""
    return next((step for step in TOKEN_ROW_STEPS if n <= step), TOKEN_ROW_STEPS[-1])


def body_pixels(n: int, min_px: int = 22) -> int:
    return int(min(max(n * ROW_PX, min_px), MAX_BODY_PX))


def label_pixels(labels: Sequence[str] | None, n: int) -> int:
    """Room for the tick labels: the longest a token label can be (a fixed gutter, so that a new prompt does not
    resize the figure), or the digits of the largest index."""
    return CHAR_PX * (LABEL_LIMIT if labels else len(str(n))) + 14


def colour_range(values: np.ndarray, kind: str) -> tuple[float, float]:
    if kind == "probability":
        return 0.0, 1.0
    if kind == "signed":
        limit = robust_limit(values)
        return -limit, limit
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(min(finite.min(), 0.0)), float(finite.max())
    return low, high if high > low else low + 1.0


def as_image(values) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise ValueError(f"a heatmap shows a 2-D array, got shape {values.shape}")
    if values.dtype != np.float32:
        values = values.astype(np.float32)
    return np.ascontiguousarray(values)


def mask_image(values: np.ndarray) -> np.ndarray:
    return np.isneginf(values).astype(np.uint8)  # 1 where masked; drawn grey over the values


def image_data(image: np.ndarray, shape: tuple[int, int] | None = None) -> dict:
    """One image covering ``shape`` (rows, cols) cells (by default its own shape)."""
    rows, cols = shape or image.shape
    return {"image": [image], "x": [0], "y": [0], "dw": [cols], "dh": [rows]}


def colour_mapper(palette, low: float, high: float, low_color: str, high_color: str) -> LinearColorMapper:
    with validate(False):  # validating 256 palette colours costs more than the rest of a heatmap; they are constants
        return LinearColorMapper(palette=palette, low=low, high=high, low_color=low_color, high_color=high_color,
                                 nan_color=MASKED_COLOUR)


def image_renderer(source: ColumnDataSource, mapper: LinearColorMapper) -> GlyphRenderer:
    return GlyphRenderer(data_source=source, glyph=Image(image="image", x="x", y="y", dw="dw", dh="dh",
                                                         color_mapper=mapper))


def heatmap_plot(title: str, rows: int, cols: int, header_rows: float, sizing: dict, labelled_columns: bool) -> Plot:
    """A bare plot (no grid, no default tools): a heatmap needs far fewer Bokeh models than ``figure()`` makes."""
    plot = Plot(x_range=Range1d(0, cols), y_range=Range1d(rows, -header_rows), toolbar_location=None,
                min_border_left=4, min_border_right=4, min_border_top=4, min_border_bottom=4, outline_line_color=None,
                **sizing)
    plot.title.update(text=title, text_font_size="12px")
    x_ticker = FixedTicker(ticks=[], minor_ticks=[]) if labelled_columns else BasicTicker(desired_num_ticks=8)
    shared = dict(formatter=BasicTickFormatter(), major_label_policy=AllLabels())  # one each for both axes
    for side, ticker in (("left", FixedTicker(ticks=[], minor_ticks=[])), ("below", x_ticker)):
        plot.add_layout(LinearAxis(ticker=ticker, major_label_text_font_size="10px", minor_tick_line_color=None,
                                   **shared), side)
    return plot


class Heatmap:
    """A reusable heatmap figure. ``source`` holds ``image`` (the values), ``x``, ``y``, ``dw``, ``dh``;
    ``mask_source`` the -inf cells (None until some are shown); ``figure`` is the Bokeh plot."""

    def __init__(self, values, *, title: str = "", kind: str = "signed", row_labels: Sequence[str] | None = None,
                 col_labels: Sequence[str] | None = None, row_hover: Sequence[str] | None = None,
                 col_hover: Sequence[str] | None = None, row_name: str | None = None, col_name: str | None = None,
                 value_name: str | None = None, square: bool = False, width: int | None = None,
                 colorbar: bool | None = None, zoom: bool | None = None, max_row_ticks: int = 32,
                 max_col_ticks: int = 40, header_px: int = 0, token_rows: bool = True, lang: str = "en"):
        """``row_name``, ``col_name``, ``value_name``: the hover's labels (default: token, dimension, value in
        ``lang``)."""
        words = translator(lang)
        self.lang = lang
        row_name = words("heatmap.token") if row_name is None else row_name
        col_name = words("heatmap.dimension") if col_name is None else col_name
        value_name = words("heatmap.value") if value_name is None else value_name
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        image = as_image(values)
        rows, cols = image.shape
        self.kind, self.square, self.fixed_width = kind, square, width
        self.token_rows = token_rows  # one row per token (sized in steps), or a fixed set of rows (sized exactly)
        self.header_px = header_px  # room above row 0 for annotations (the concat view's head bands)
        self.max_row_ticks, self.max_col_ticks = max_row_ticks, max_col_ticks
        self.row_labels, self.col_labels = row_labels, col_labels
        self.row_hover, self.col_hover = row_hover, col_hover
        self.has_colorbar = colorbar if colorbar is not None else rows >= 3

        palette = DIVERGING if kind == "signed" else SEQUENTIAL
        self.color_mapper = colour_mapper(palette, *colour_range(image, kind), palette[0], palette[-1])
        self.source = ColumnDataSource(data=image_data(image))
        self.figure = heatmap_plot(title, rows, cols, self.header_rows(rows), self._sizing(rows, cols),
                                   labelled_columns=col_labels is not None)
        self.image_renderer = image_renderer(self.source, self.color_mapper)
        self.figure.renderers.append(self.image_renderer)
        self.mask_source = None
        self._show_masked(image)

        self.row_formatter = cell_label_formatter(row_hover or row_labels, rows)
        self.col_formatter = cell_label_formatter(col_hover or col_labels, cols)
        self.hover = HoverTool(renderers=[self.image_renderer], description=hover_description(lang),
                               tooltips=[(row_name, "$y{row}"), (col_name, "$x{col}"), (value_name, "@image{value}")],
                               formatters={"$y": self.row_formatter, "$x": self.col_formatter,
                                           "@image": exact_number_formatter(lang)})
        self.figure.add_tools(self.hover)
        self.zoom, self.has_zoom = zoom, False
        self._offer_zoom(rows, cols)
        self._label_axes(rows, cols)
        if col_labels is not None:
            self.figure.xaxis[0].major_label_orientation = "vertical"

        self.colorbar = None
        if self.has_colorbar:
            self.colorbar = ColorBar(color_mapper=self.color_mapper, width=8, padding=2, margin=6,
                                     major_label_text_font_size="9px", major_tick_line_color=None)
            self.figure.add_layout(self.colorbar, "right")
        self.outline = None

    # -- geometry ------------------------------------------------------------------------------------

    def body_height(self, rows: int) -> int:
        return body_pixels(sized_rows(rows) if self.token_rows else rows)

    def _sizing(self, rows: int, cols: int) -> dict:
        body_height = self.body_height(rows) + self.header_px
        if not (self.square or self.fixed_width):
            return dict(frame_height=body_height, sizing_mode="stretch_width")
        x_axis = label_pixels(self.col_labels, cols) if self.col_labels is not None else NUMBER_AXIS_PX
        if self.fixed_width:
            return dict(width=self.fixed_width, height=body_height + x_axis + TITLE_PX + 8)
        side = max(self.body_height(rows), self.body_height(cols), MIN_SQUARE_PX)  # query x key: both are tokens
        width = side + label_pixels(self.row_labels, rows) + (COLORBAR_PX if self.has_colorbar else 0) + 12
        return dict(width=width, height=side + self.header_px + x_axis + TITLE_PX + 8)

    def _offer_zoom(self, rows: int, cols: int) -> None:
        """Box zoom for heatmaps whose cells are too small to point at (added once, when first needed)."""
        wanted = self.zoom if self.zoom is not None else (rows > ZOOM_ROWS or cols > ZOOM_COLUMNS)
        if wanted and not self.has_zoom:
            show_zoom_tools(self.figure, self.lang)
            self.has_zoom = True

    def header_rows(self, rows: int) -> float:
        """The header's height in row units (rows shrink below ROW_PX pixels on long prompts)."""
        return self.header_px * rows / self.body_height(rows)

    def _label_axes(self, rows: int, cols: int) -> None:
        label_axis(self.figure.yaxis[0], self.row_labels, rows, self.max_row_ticks, LABEL_LIMIT)
        if self.col_labels is not None:
            label_axis(self.figure.xaxis[0], self.col_labels, cols, self.max_col_ticks, LABEL_LIMIT)

    def _show_masked(self, image: np.ndarray) -> None:
        """Grey out the -inf cells with a one-colour image on top (added the first time there are some)."""
        mask = mask_image(image)
        if self.mask_source is None:
            if not mask.any():
                return
            self.mask_source = ColumnDataSource(data=image_data(mask, image.shape))
            mapper = colour_mapper([MASKED_COLOUR], 0.5, 1.5, TRANSPARENT, MASKED_COLOUR)
            self.figure.renderers.append(image_renderer(self.mask_source, mapper))
        else:
            self.mask_source.data = image_data(mask, image.shape)

    @property
    def values(self) -> np.ndarray:
        return self.source.data["image"][0]

    # -- updates -------------------------------------------------------------------------------------

    def update(self, values, *, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
               row_hover: Sequence[str] | None = None, col_hover: Sequence[str] | None = None,
               title: str | None = None) -> None:
        """New values (and labels) in place: same figure, new data, ranges and colour scale."""
        image = as_image(values)
        rows, cols = image.shape
        old_shape = self.values.shape
        self.source.data = image_data(image)
        self._show_masked(image)
        low, high = colour_range(image, self.kind)
        self.color_mapper.update(low=low, high=high)
        for name, value in (("row_labels", row_labels), ("col_labels", col_labels), ("row_hover", row_hover),
                            ("col_hover", col_hover)):
            if value is not None:
                setattr(self, name, value)
        if (rows, cols) != old_shape:
            self.figure.x_range.update(start=0, end=cols)
            self.figure.y_range.update(start=rows, end=-self.header_rows(rows))
            self._offer_zoom(rows, cols)
        if (rows, cols) != old_shape or row_labels is not None or col_labels is not None:
            sizing = {name: value for name, value in self._sizing(rows, cols).items() if name != "sizing_mode"}
            changed = {name: value for name, value in sizing.items() if getattr(self.figure, name) != value}
            if changed:  # each size change costs the browser a layout of the whole page: only when it differs
                self.figure.update(**changed)
            self._label_axes(rows, cols)
        set_cell_labels(self.row_formatter, self.row_hover or self.row_labels, rows)
        set_cell_labels(self.col_formatter, self.col_hover or self.col_labels, cols)
        if title is not None:
            self.figure.title.text = title

    def outline_row(self, row: int | None) -> None:
        """Draw a box around one row (the selected token), or remove it (None)."""
        if self.outline is None:
            self.outline = BoxAnnotation(fill_alpha=0, line_color="#d62728", line_alpha=1.0, line_width=2.5)
            self.figure.add_layout(self.outline)
        self.outline.visible = row is not None
        if row is not None:
            self.outline.update(top=row, bottom=row + 1)
