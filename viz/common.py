"""What every view shares: palettes, token labels drawn as plain text, exact numbers on hover, figure defaults.

Token strings are user text. Bokeh 3 reads TeX (``$$...$$``, ``\\[...\\]``, ``\\(...\\)``) in plain strings
used as axis labels, tick labels and titles, so a token label that holds such a delimiter goes in as a
``PlainText`` model (``as_plain_text``). Text glyphs draw strings as they are, and hover fields (``@field``, and
what a ``CustomJSHover`` returns) are HTML-escaped by Bokeh's tooltip templating unless marked ``{safe}``, which
``viz`` never does. Nothing in ``viz`` puts a token into HTML (no Div, no HTML tooltip template).
"""

from __future__ import annotations

import unicodedata
from typing import Sequence

import numpy as np
from bokeh.models import BoxZoomTool, CustomJSHover, FixedTicker, Grid, LinearAxis, PlainText, Plot, ResetTool
from bokeh.palettes import Category10, Category20

from . import js_code
from .i18n import translator

MASKED_COLOUR = "#9e9e9e"  # cells the causal mask removed (-inf): a neutral grey no palette uses
TRANSPARENT = "rgba(0, 0, 0, 0)"
SAMPLED_COLOUR = "#f58518"
BAR_COLOUR = "#4c78a8"
CUT_COLOUR = "#c7c7c7"
TEXT_COLOUR = "#222222"
MUTED_TEXT = "#6b6b6b"
NODE_COLOUR = "#dce6f2"
NODE_LINE = "#4c78a8"


def interpolate_palette(anchors: Sequence[str], n: int) -> tuple[str, ...]:
    """``n`` colours evenly interpolated through the hex ``anchors``."""
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in anchors], dtype=np.float64)
    where = np.linspace(0, len(anchors) - 1, n)
    channels = [np.interp(where, np.arange(len(anchors)), rgb[:, k]) for k in range(3)]
    return tuple("#%02x%02x%02x" % tuple(int(round(ch[i])) for ch in channels) for i in range(n))


# Blue for negative, white for zero, red for positive (ColorBrewer RdBu, reversed).
DIVERGING = interpolate_palette(["#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
                                 "#fddbc7", "#f4a582", "#d6604d", "#b2182b"], 255)
# White for 0, dark blue for the largest value (ColorBrewer Blues).
SEQUENTIAL = interpolate_palette(["#ffffff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6",
                                  "#4292c6", "#2171b5", "#08519c", "#08306b"], 256)


def head_colours(n_head: int) -> list[str]:
    palette = Category10[10] if n_head <= 10 else Category20[20]
    return [palette[h % len(palette)] for h in range(n_head)]


def new_figure(title: str = "", axes: str = "xy", grid: str = "", x_axis_label: str | None = None,
               y_axis_label: str | None = None, x_axis_location: str = "below", zoom: bool = False, lang: str = "en",
               **options) -> Plot:
    """A bare plot with the house defaults: the axes named in ``axes`` ("xy", "x" or ""), a grid only along
    ``grid``, no toolbar unless ``zoom``. Much cheaper to build than ``bokeh.plotting.figure`` (fewer models)."""
    defaults = dict(toolbar_location=None, min_border_left=4, min_border_right=4, min_border_top=4,
                    min_border_bottom=4, outline_line_color=None)
    plot = Plot(**(defaults | options))
    plot.title.update(text=title, text_font_size="12px")
    for dimension, side, label in (("x", x_axis_location, x_axis_label), ("y", "left", y_axis_label)):
        if dimension not in axes:
            continue
        axis = LinearAxis(major_label_text_font_size="10px", axis_label=label, axis_label_text_font_size="11px",
                          axis_label_text_font_style="normal")
        plot.add_layout(axis, side)
        if dimension in grid:
            plot.add_layout(Grid(dimension=0 if dimension == "x" else 1, ticker=axis.ticker, grid_line_alpha=0.4))
    if zoom:
        show_zoom_tools(plot, lang)
    return plot


def show_zoom_tools(plot: Plot, lang: str = "en") -> None:
    """Box zoom and reset in a toolbar that shows on hover, their tooltips in ``lang`` (no Bokeh logo: its
    title is not ours to translate)."""
    words = translator(lang)
    plot.add_tools(BoxZoomTool(description=words("common.tool.box_zoom")),
                   ResetTool(description=words("common.tool.reset")))
    plot.update(toolbar_location="right")
    plot.toolbar.autohide = True
    plot.toolbar.logo = None


def hover_description(lang: str = "en") -> str:
    """A hover tool's name in the toolbar (where a plot has one), in ``lang``."""
    return translator(lang)("common.tool.hover")


def draw(plot, source, glyph, **options):
    """Add ``glyph`` drawn from ``source`` (cheaper than ``figure``'s glyph methods, which make four glyph copies).
    Unselected items keep their look unless ``nonselection_glyph`` says otherwise."""
    options.setdefault("nonselection_glyph", glyph)
    return plot.add_glyph(source, glyph, **options)


# -- labels --------------------------------------------------------------------------------------------

def set_if_changed(source, data: dict, always: tuple[str, ...] = ("alpha",)) -> bool:
    """Give ``source`` ``data``, sending the page only what differs from what the source holds (returns whether
    anything did). A new prompt of the same length leaves much of a figure as it was: an unchanged source sends
    nothing, and BokehJS does not redo that glyph; a source whose columns keep their length sends only the
    columns that changed (a strip's values, not its boxes). Columns named in ``always`` go with any change: the
    page changes the ``alpha`` columns itself (a token's path lit), and a new prompt puts them back at rest."""
    old = source.data
    if old.keys() != data.keys() or any(len(old[key]) != len(data[key]) for key in data):
        source.data = data
        return True
    changed = {key: column for key, column in data.items() if not same_column(old[key], column)}
    if not changed:
        return False
    changed.update({key: data[key] for key in always if key in data})
    source.data.update(changed)
    return True


def same_column(a, b) -> bool:
    if len(a) != len(b):
        return False
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
    except (TypeError, ValueError):  # text or mixed columns (equal_nan needs numbers), ragged lists of points
        return list(a) == list(b)


def shorten(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


# How wide characters are in the pictures' sans-serif type (Helvetica's and Arial's widths), in ems: for a label cut
# to the room it has, where counting characters is not enough ("<0xF0><0x9F>" or "中文" are twice as wide as "wordy").
NARROW_LETTERS = {**dict.fromkeys("ijl", 0.22), **dict.fromkeys("ft", 0.28), "r": 0.33, "m": 0.83, "w": 0.72,
                  "I": 0.28, "J": 0.5, "M": 0.83, "W": 0.94, " ": 0.28, "…": 1.0}
PUNCTUATION_EM = {**dict.fromkeys(".,:;!|'", 0.28), **dict.fromkeys("-()[]{}/\\", 0.33),
                  **dict.fromkeys("<>=+~^_#$%&*?\"", 0.58), "@": 1.02}


def character_ems(character: str) -> float:
    if character in NARROW_LETTERS:
        return NARROW_LETTERS[character]
    if character in PUNCTUATION_EM:
        return PUNCTUATION_EM[character]
    if unicodedata.east_asian_width(character) in ("W", "F"):  # CJK, fullwidth forms, most emoji
        return 1.0
    if character.isdigit() or character.islower():
        return 0.56
    if character.isupper():
        return 0.67
    return 0.6


def text_ems(text: str) -> float:
    return sum(character_ems(c) for c in text)


def shorten_to_ems(text: str, ems: float) -> str:
    """``text``, or as much of its start as fits in ``ems`` with "…" after it: a label cut to the room it has."""
    if text_ems(text) <= ems:
        return text
    room, kept = ems - character_ems("…"), 0
    for kept, character in enumerate(text):
        room -= character_ems(character)
        if room < 0:
            break
    return text[:kept] + "…"


def tick_indices(n: int, max_ticks: int) -> list[int]:
    """Which of ``n`` rows get a tick label: all of them, or an even spread ending at the last."""
    if n <= max_ticks:
        return list(range(n))
    stride = int(np.ceil(n / max_ticks))
    return sorted(set(range(n - 1, -1, -stride)))


def label_axis(axis, labels: Sequence[str] | None, n: int, max_ticks: int = 32, limit: int = 14) -> None:
    """Ticks in the middle of each of ``n`` cells, labelled with ``labels`` (plain text) or the index."""
    chosen = tick_indices(n, max_ticks)
    ticks = [i + 0.5 for i in chosen]
    if isinstance(axis.ticker, FixedTicker):
        axis.ticker.ticks = ticks
    else:
        axis.ticker = FixedTicker(ticks=ticks, minor_ticks=[])
    if labels is None:
        axis.major_label_overrides = {tick: str(i) for tick, i in zip(ticks, chosen)}
    else:
        axis.major_label_overrides = {tick: as_plain_text(shorten(str(labels[i]), limit))
                                      for tick, i in zip(ticks, chosen)}


TEX_DELIMITERS = ("$$", "\\[", "\\(")  # what Bokeh's parse_delimited_string looks for (bokeh/models/text/utils)


def as_plain_text(text: str):
    """A label Bokeh draws as the characters given: the string itself when Bokeh would not read TeX in it (cheaper),
    else a ``PlainText`` model."""
    return PlainText(text=text) if any(delimiter in text for delimiter in TEX_DELIMITERS) else text


def position_labels(tokens: Sequence[str]) -> list[str]:
    """Hover labels for token rows: ``3: ␣Paris``."""
    return [f"{i}: {token}" for i, token in enumerate(tokens)]


# -- numbers on hover ----------------------------------------------------------------------------------

def exact_number_formatter(lang: str = "en") -> CustomJSHover:
    """``@field{exact}``: a float32 as NumPy prints it (the shortest decimal that reads back to the same float32), -inf
    as masked, in ``lang`` (viz/js/exact_number.functions.js)."""
    return CustomJSHover(args=dict(masked=translator(lang)("common.masked")),
                         code=js_code("exact_number_hover", "exact_number"))


def cell_label_formatter(labels: Sequence[str] | None, n: int) -> CustomJSHover:
    """``$x{...}`` or ``$y{...}``: the label of the cell under the cursor (one cell per unit), else its index."""
    return CustomJSHover(args=dict(labels=list(labels or []), n=n), code=js_code("cell_label_hover"))


def set_cell_labels(formatter: CustomJSHover, labels: Sequence[str] | None, n: int) -> None:
    formatter.args = dict(labels=list(labels or []), n=n)


def format_probability(p: float) -> str:
    if p == 0:
        return "0%"
    if p < 0.0001:
        return f"{100 * p:.2g}%"  # 0.0033%, or 1.2e-07% for the very unlikely
    return f"{100 * p:.2f}%" if p < 0.1 else f"{100 * p:.1f}%"


def robust_limit(values: np.ndarray, quantile: float = 99.5) -> float:
    """A colour-scale limit for signed values: the largest |value|, or a high quantile of |value| when a few
    outliers (GPT-2's residual stream has some) would otherwise wash every other cell out to white."""
    magnitudes = np.abs(values[np.isfinite(values)])
    if magnitudes.size == 0:
        return 1.0
    limit = float(np.percentile(magnitudes, quantile)) if magnitudes.size > 512 else float(magnitudes.max())
    return limit if limit > 0 else 1.0


def normalize_position(position: int | None, n_tokens: int) -> int:
    """A token position, Python style (None = the last token, -1 = the last)."""
    if position is None:
        return n_tokens - 1
    position = int(position)
    if position < 0:
        position += n_tokens
    if not 0 <= position < n_tokens:
        raise IndexError(f"position {position} is outside the prompt's {n_tokens} tokens")
    return position


def check_layer(layer: int, n_layer: int) -> int:
    layer = int(layer)
    if not 0 <= layer < n_layer:
        raise IndexError(f"layer {layer} is outside the model's {n_layer} blocks (0..{n_layer - 1})")
    return layer


def check_head(head: int, n_head: int) -> int:
    head = int(head)
    if not 0 <= head < n_head:
        raise IndexError(f"head {head} is outside the layer's {n_head} heads (0..{n_head - 1})")
    return head
