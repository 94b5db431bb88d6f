"""What most stages are made of: a vector per token, a light box holding its first dimensions as faint coloured
cells (one cell per dimension), shown in full when its token is hovered or tapped.

A strip source has one row per cell, in the order (row, dimension): ``value`` is the exact number from the Trace,
``slot`` the picture row (``position`` the prompt position), ``dim`` the dimension, and ``left``/``right``/
``top``/``bottom`` the cell in pixels. ``alpha`` is what the token-hover highlight changes (``base_alpha`` is
its resting value). Every source keeps the same number of rows for any prompt (padding rows have NaN geometry and
are not drawn): see ``pad``.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, CustomJSHover, HoverTool, Quad

from .. import js_code
from ..common import DIVERGING, exact_number_formatter, robust_limit, set_if_changed
from ..heatmap import colour_mapper
from ..i18n import translator
from .layout import Rows

CELL_ALPHA = 0.2  # at rest a vector's values are faint (a light box); its token's hover shows them (0.85)
PADDING_INT = -1


def pad(data: dict, n_rows: int, fillers: dict | None = None) -> dict:
    """``data`` with invisible rows added up to ``n_rows``: NaN in float columns (so the padding has no geometry),
    -1 in integer columns, False in boolean ones, "" in lists, or what ``fillers`` names for a column.

    BokehJS may paint a glyph between the steps of replacing its source's columns; when the number of rows changed,
    that paint reads past a column's end ("Offset is outside the bounds of the DataView"). Every picture source
    keeps a constant number of rows, so that cannot happen (see viz/overview.py, ``padded``)."""
    lengths = {len(column) for column in data.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns of different lengths: { {k: len(v) for k, v in data.items()} }")
    missing = n_rows - lengths.pop()
    if missing < 0:
        raise ValueError(f"{-missing} rows more than the source's {n_rows}")
    if missing == 0:
        return data
    padded = {}
    for name, column in data.items():
        if fillers and name in fillers:
            padded[name] = list(column) + [fillers[name]] * missing
        elif isinstance(column, np.ndarray):
            kind = column.dtype.kind
            filler = np.nan if kind == "f" else False if kind == "b" else PADDING_INT
            padded[name] = np.concatenate([column, np.full(missing, filler, dtype=column.dtype)])
        else:
            padded[name] = list(column) + [""] * missing
    return padded


def strip_data(values: np.ndarray, rows: Rows, left: float, right: float, half: float, n_rows: int,
               extra: dict[str, np.ndarray] | None = None, centres: np.ndarray | None = None) -> dict:
    """Cells of ``values`` [rows.n, k] (one strip per token row) between ``left`` and ``right``, ``half`` tall on
    each side of the row's centre (or of ``centres``), padded to ``n_rows`` cells. ``extra`` columns [rows.n, k]
    ride along."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    n, k = values.shape
    width = (right - left) / k
    dim = np.tile(np.arange(k), n)
    slot = np.repeat(rows.slots, k)
    centre = np.repeat(rows.centres if centres is None else np.asarray(centres, dtype=float), k)
    data = {
        "left": left + dim * width, "right": left + (dim + 1) * width,
        "top": centre - half, "bottom": centre + half,
        "value": values.ravel(), "slot": slot, "position": np.repeat(np.asarray(rows.positions), k), "dim": dim,
        "alpha": np.full(n * k, CELL_ALPHA), "base_alpha": np.full(n * k, CELL_ALPHA),
    }
    for name, column in (extra or {}).items():
        data[name] = np.ascontiguousarray(column, dtype=np.float32).ravel()
    return pad(data, n_rows)


def signed_mapper():
    """Blue below zero, white at zero, red above (ColorBrewer RdBu: readable with every common colour blindness)."""
    return colour_mapper(DIVERGING, -1.0, 1.0, DIVERGING[0], DIVERGING[-1])


def fit_signed(mapper, values: np.ndarray) -> None:
    limit = robust_limit(np.asarray(values, dtype=np.float32))
    mapper.update(low=-limit, high=limit)


EXACT_FIELDS = ("value", "embed", "pos", "raw", "score", "weight", "logit")


class HoverKit:
    """The hover formatters every stage shares: ``@slot{token}`` (the token of a row), exact float32 numbers."""

    def __init__(self, token_source: ColumnDataSource, lang: str = "en"):
        self.lang = lang
        self.token = CustomJSHover(args=dict(tokens=token_source), code=js_code("picture_token_hover"))
        exact = exact_number_formatter(lang)
        self.formatters = {"@slot": self.token, "@query_slot": self.token, "@key_slot": self.token,
                           **{f"@{name}": exact for name in EXACT_FIELDS}}


class Strip:
    """One strip stage: a source (named ``picture-<key>-source``), its colour scale, its glyph and hover."""

    def __init__(self, key: str, hook: str, n_dims: int, total_dims: int, n_rows: int, lang: str = "en"):
        self.words = translator(lang)
        self.key, self.hook, self.n_dims, self.total_dims = key, hook, n_dims, total_dims
        self.n_rows = n_rows  # cells, constant: MAX_TOKENS × n_dims
        self.source = ColumnDataSource(name=f"picture-{key}-source")
        self.mapper = signed_mapper()
        self.hover: HoverTool | None = None
        self.renderer = None
        self.box: tuple | None = None  # (left, right, half height, row centres) of its last fill

    def fill(self, values: np.ndarray, rows: Rows, left: float, right: float, half: float,
             extra: dict[str, np.ndarray] | None = None, centres: np.ndarray | None = None) -> None:
        fit_signed(self.mapper, values)
        self.box = (left, right, half, rows.centres if centres is None else np.asarray(centres, dtype=float))
        set_if_changed(self.source, strip_data(values, rows, left, right, half, self.n_rows, extra, centres))

    def draw(self, canvas, kit, extra_tooltips=()) -> None:
        glyph = dict(left="left", right="right", top="top", bottom="bottom", line_color=None,
                     fill_color={"field": "value", "transform": self.mapper}, fill_alpha="alpha")
        self.renderer = canvas.add(self.source, Quad, glyph)
        self.hover = HoverTool(renderers=[self.renderer], tooltips=self.tooltips(extra_tooltips),
                               formatters=kit.formatters)
        self._extra_tooltips = list(extra_tooltips)
        canvas.plot.add_tools(self.hover)

    def tooltips(self, extra=()) -> list[tuple[str, str]]:
        words = self.words
        return [(words("common.hook"), self.hook), (words("picture.tooltip.token"), "@slot{token}"),
                (words("picture.tooltip.dimension"), words("picture.tooltip.dimension_of", total=self.total_dims)),
                *extra, (words("picture.tooltip.value"), "@value{exact}")]

    def rename(self, hook: str, total_dims: int | None = None) -> None:
        """A new hook name (another block or head) for the hover."""
        self.hook = hook
        if total_dims is not None:
            self.total_dims = total_dims
        if self.hover is not None:
            tooltips = self.tooltips(self._extra_tooltips)
            if self.hover.tooltips != tooltips:
                self.hover.tooltips = tooltips


VECTOR_FILL, VECTOR_LINE = "#eef2f7", "#b9c3cf"


def vector_box_data(strips, n_rows: int) -> dict:
    """One light box per token and vector (a strip's cells go inside it): each strip's last ``box``."""
    left, right, top, bottom, slot = [], [], [], [], []
    for strip in strips:
        if strip.box is None:
            continue
        box_left, box_right, half, centres = strip.box
        for k, y in enumerate(centres):
            left.append(box_left - 0.5), right.append(box_right + 0.5)
            top.append(y - half - 0.5), bottom.append(y + half + 0.5), slot.append(k)
    n = len(slot)
    data = {"left": np.array(left, dtype=float), "right": np.array(right, dtype=float),
            "top": np.array(top, dtype=float), "bottom": np.array(bottom, dtype=float),
            "slot": np.array(slot, dtype=int), "alpha": np.ones(n), "base_alpha": np.ones(n)}
    return pad(data, n_rows)
