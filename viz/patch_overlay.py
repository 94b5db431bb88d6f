"""One value per patch, laid over the image the model saw: the figure the image views share.

An image model reads its picture as a grid of patches, one token each. ``PatchOverlay`` draws the picture
(``image_rgba``) and over it one cell per patch, coloured by a value (an attention weight, a rollout share, a
hidden state's length), more opaque where the value is larger, so the picture shows through where it is small.

- ``cells``: the source, one row per patch, row by row from the top left: ``x``, ``y`` (the cell's centre, in
  patch units; the y axis points down, row 0 at the top), ``patch`` (its label, ``(row, column)``), ``value``,
  ``alpha`` and ``what`` (what the number is, shown on hover). ``values`` gives them back as [rows, cols].
- ``show(values, what)`` changes them from Python; in the page the views' scripts call ``show_on_patches``
  (viz/js/patch_overlay.functions.js), which computes the same colours and opacities.
- ``tap_selects(select, first)``: tapping a patch sets ``select`` to that patch's token (``first`` + its index).

The views pass the grid as ``patches``: anything with ``rows``, ``cols``, ``first`` (tokens before the patches)
and ``picture`` ([height, width, 3] uint8), such as ``transformer_explainer``'s ``PatchGrid``.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import (ColorBar, ColumnDataSource, CustomJS, HoverTool, ImageRGBA, LinearColorMapper, Range1d,
                          Rect, TapTool)

from . import js_code
from .common import SEQUENTIAL, draw, exact_number_formatter, hover_description, new_figure
from .i18n import translator

ALPHA_LOW, ALPHA_SPAN = 0.1, 0.75  # a patch's opacity: ALPHA_LOW at 0, ALPHA_LOW + ALPHA_SPAN at the largest value
OPACITY = {"low": ALPHA_LOW, "span": ALPHA_SPAN}  # the same, for the page's scripts (``opacity``)
SIDE_PX = 300  # the picture's longer side on the page


def rgba_image(picture: np.ndarray) -> np.ndarray:  # [H, W, 3] uint8 -> [H, W] uint32 (RGBA packed, opaque)
    picture = np.asarray(picture, dtype=np.uint8)
    rgba = np.concatenate([picture, np.full(picture.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    return np.ascontiguousarray(rgba).view(np.uint32)[..., 0]


def overlay_alpha(values: np.ndarray, high: float) -> np.ndarray:
    """Opacity per patch (the same formula as show_on_patches in the page)."""
    return (ALPHA_LOW + ALPHA_SPAN * np.asarray(values, dtype=np.float64) / high).astype(np.float32)


def colour_high(values: np.ndarray) -> float:
    high = float(np.max(values)) if np.size(values) else 0.0
    return high if high > 0 else 1.0


def check_patches(patches, n_tokens: int | None = None):
    rows, cols, first = int(patches.rows), int(patches.cols), int(patches.first)
    picture = np.asarray(patches.picture)
    if rows < 1 or cols < 1 or first < 0:
        raise ValueError(f"a patch grid needs rows, cols >= 1 and first >= 0, got {rows}, {cols}, {first}")
    if picture.ndim != 3 or picture.shape[-1] != 3 or picture.dtype != np.uint8:
        raise ValueError(f"the picture must be [height, width, 3] uint8, got {picture.shape} {picture.dtype}")
    if n_tokens is not None and first + rows * cols != n_tokens:
        raise ValueError(f"{first} tokens before {rows} × {cols} patches make {first + rows * cols}, not the "
                         f"{n_tokens} tokens given")
    return patches


class PatchOverlay:
    """The picture and one coloured cell per patch over it (see the module's docstring)."""

    def __init__(self, patches, values: np.ndarray, *, title: str, what: str, value_name: str, name: str,
                 lang: str = "en"):
        words = translator(lang)
        self.rows, self.cols = int(patches.rows), int(patches.cols)
        picture = np.asarray(patches.picture)
        values = self._check(values)
        rows, cols = np.divmod(np.arange(self.rows * self.cols), self.cols)
        high = colour_high(values)
        self.cells = ColumnDataSource({
            "x": cols + 0.5, "y": rows + 0.5, "patch": [f"({r}, {c})" for r, c in zip(rows, cols)],
            "value": values.ravel(), "alpha": overlay_alpha(values.ravel(), high),
            "what": [what] * values.size}, name=f"{name}-cells")
        self.picture_source = ColumnDataSource({"image": [rgba_image(picture)], "x": [0], "y": [0],
                                                "dw": [self.cols], "dh": [self.rows]}, name=f"{name}-picture")
        self.mapper = LinearColorMapper(palette=SEQUENTIAL, low=0.0, high=high)
        scale = SIDE_PX / max(picture.shape[:2])
        self.figure = new_figure(title=title, axes="", name=f"{name}-figure",
                                 width=int(picture.shape[1] * scale) + 90, height=int(picture.shape[0] * scale) + 40,
                                 x_range=Range1d(0, self.cols), y_range=Range1d(self.rows, 0))
        draw(self.figure, self.picture_source, ImageRGBA(image="image", x="x", y="y", dw="dw", dh="dh"))
        self.renderer = draw(self.figure, self.cells, Rect(
            x="x", y="y", width=1, height=1, fill_color={"field": "value", "transform": self.mapper},
            fill_alpha={"field": "alpha"}, line_color="#ffffff", line_alpha=0.35, line_width=0.5))
        self.figure.add_tools(HoverTool(renderers=[self.renderer], description=hover_description(lang), tooltips=[
            (words("image.hover.patch"), "@patch"), (value_name, "@value{value}"),
            (words("image.hover.what"), "@what")],
            formatters={"@value": exact_number_formatter(lang)}))
        self.figure.add_layout(ColorBar(color_mapper=self.mapper, width=8, padding=2, margin=6,
                                        major_label_text_font_size="9px", major_tick_line_color=None), "right")

    def _check(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=np.float32)
        if values.shape != (self.rows, self.cols):
            raise ValueError(f"one value per patch: expected [{self.rows}, {self.cols}], got {values.shape}")
        return values

    @property
    def values(self) -> np.ndarray:  # [rows, cols]
        return np.asarray(self.cells.data["value"], dtype=np.float32).reshape(self.rows, self.cols)

    def show(self, values: np.ndarray, what: str, title: str | None = None) -> None:
        """New values (and what they are) from Python: what the views' scripts do in the page."""
        values = self._check(values)
        high = colour_high(values)
        self.mapper.high = high
        self.cells.data = {**self.cells.data, "value": values.ravel(), "alpha": overlay_alpha(values.ravel(), high),
                           "what": [what] * values.size}
        if title is not None:
            self.figure.title.text = title

    def tap_selects(self, select, first: int) -> None:
        """A tap on a patch sets ``select`` (a Select of token positions) to that patch's token."""
        self.figure.add_tools(TapTool(renderers=[self.renderer]))
        self.cells.selected.js_on_change("indices", CustomJS(args=dict(cells=self.cells, select=select, first=first),
                                                             code=js_code("patch_tap")))
