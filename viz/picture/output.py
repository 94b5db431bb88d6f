"""The end: the last token's vector after the final LayerNorm becomes logits, then probabilities.

Drawn in a figure of its own (``OutputStage.figure``, named picture-output-figure) so that the app can put the
temperature slider right above it (``SLIDER_ROOM`` pixels; its y coordinates continue the main figure's).

- One row per candidate next token: the ``N_TOP`` highest logits (``unembed.hook_logits`` of the last position,
  in that order, which no temperature changes), the sampled token when it is not among them, and one row for all
  the others. Each row: a cell coloured by the logit, the token, a bar for the probability (``probabilities`` as
  given: temperature, top-k and top-p applied), its percentage. The sampled token's bar is orange and marked.
- Bars are scaled to the most likely shown token (the longest bar is always full length), so a change of
  temperature is visible even when every probability is small; the percentages are the exact ones.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.models import ColumnDataSource, CustomJSHover, HoverTool, Patches, Plot, Quad, Range1d, Text

from .. import js_code
from ..common import (BAR_COLOUR, CUT_COLOUR, MUTED_TEXT, SAMPLED_COLOUR, SEQUENTIAL, TEXT_COLOUR, format_probability,
                      set_if_changed, shorten)
from ..heatmap import colour_mapper
from ..i18n import Translator, translator
from .layout import (BAR_LEFT, BAR_PX, CANDIDATE_LABEL_RIGHT, CANDIDATE_PITCH, HEIGHT, LOGIT_LEFT, LOGIT_RIGHT, N_TOP,
                     OUTPUT_LEFT, OUTPUT_WIDTH, SLIDER_ROOM, STRIP_FRACTION, Rows, candidate_centres)
from .ribbons import RIBBON_COLOUR, SAMPLES
from .strips import pad

N_ROWS = N_TOP + 2  # the top tokens, the sampled one, everyone else
CANDIDATE_CHARACTERS = 11
OTHERS_COLOUR = "#d9d9d9"
FAN_ALPHA = 0.45


def candidate_ids(logits: np.ndarray, sampled_id: int | None, n_top: int = N_TOP) -> list[int]:
    """The ``n_top`` highest logits, highest first (ties: lower id first), then the sampled token if not among them."""
    n_top = min(n_top, logits.size)
    best = np.argpartition(-logits, n_top - 1)[:n_top]
    best = [int(i) for i in best[np.lexsort((best, -logits[best]))]]
    if sampled_id is not None and int(sampled_id) not in best:
        best.append(int(sampled_id))
    return best


def candidate_data(logits: np.ndarray, probabilities: np.ndarray, sampled_id: int | None,
                   display_token: Callable[[int], str], words: Translator | None = None) -> dict:
    words = words or translator()
    ids = candidate_ids(logits, sampled_id)
    probability = np.asarray(probabilities, dtype=np.float64)[ids]
    others = probabilities.size - len(ids)
    rest = float(max(0.0, 1.0 - probability.sum())) if others else 0.0
    scale = float(probability.max()) if probability.size and probability.max() > 0 else 1.0
    rows = len(ids) + (1 if others else 0)
    y = candidate_centres(rows)
    sampled = np.array([sampled_id is not None and i == int(sampled_id) for i in ids] + [False] * (rows - len(ids)))
    tokens = [str(display_token(i)) for i in ids] + ([words("picture.output.others", n=f"{others:,}")] if others else [])
    p = np.concatenate([probability, [rest] if others else []])
    cut = (p == 0)
    bar = BAR_LEFT + np.minimum(p / scale, 1.0) * BAR_PX
    half = CANDIDATE_PITCH * 0.3
    data = {
        "token_id": np.array(ids + ([-1] if others else []), dtype=int),
        "token": tokens,
        "label": [shorten(t, CANDIDATE_CHARACTERS) for t in tokens[:len(ids)]] + tokens[len(ids):],
        "logit": np.concatenate([logits[ids].astype(np.float32), [np.nan] if others else []]).astype(np.float32),
        "probability": p, "is_sampled": sampled,
        "percent": [format_probability(float(q)) + (" ◀" if s else "") for q, s in zip(p, sampled)],
        "y": y, "top": y - half, "bottom": y + half, "bar_left": np.full(rows, BAR_LEFT), "bar_right": bar,
        "text_x": np.maximum(bar, BAR_LEFT) + 4.0,
        "colour": [SAMPLED_COLOUR if s else (OTHERS_COLOUR if i >= len(ids) else (CUT_COLOUR if c else BAR_COLOUR))
                   for i, (s, c) in enumerate(zip(sampled, cut))],
        "text_colour": [TEXT_COLOUR if i < len(ids) else MUTED_TEXT for i in range(rows)],
        "logit_left": np.full(rows, LOGIT_LEFT), "logit_right": np.full(rows, LOGIT_RIGHT),
        "label_x": np.full(rows, CANDIDATE_LABEL_RIGHT),
    }
    return pad(data, N_ROWS)


def fan_data(rows: Rows) -> dict:
    """The last token's ribbon fanning out into every candidate's logit (the unembedding reads only that vector)."""
    xs, ys = [], []
    if rows.n:
        y0 = float(rows.centres[-1])
        half = rows.height * STRIP_FRACTION / 2
        targets = candidate_centres(N_ROWS)
        share = 2 * half / len(targets)
        s = np.linspace(0.0, 1.0, SAMPLES)
        ease = s * s * (3 - 2 * s)
        for k, target in enumerate(targets):
            start = y0 - half + share * (k + 0.5)
            x = OUTPUT_LEFT - 1.0 + (LOGIT_LEFT - OUTPUT_LEFT + 1.0) * s
            middle = start + (target - start) * ease
            width = share / 2 + (CANDIDATE_PITCH * 0.22 - share / 2) * ease
            xs.append(np.concatenate([x, x[::-1]]).tolist())
            ys.append(np.concatenate([middle - width, (middle + width)[::-1]]).tolist())
    missing = N_ROWS - len(xs)
    xs += [[np.nan]] * missing
    ys += [[np.nan]] * missing
    slot = rows.n - 1 if rows.n else -1
    alpha = np.array([0.0 if np.isnan(x[0]) else FAN_ALPHA for x in xs])
    return {"xs": xs, "ys": ys, "slot": np.full(len(xs), slot), "alpha": alpha, "base_alpha": alpha.copy()}


def output_header(words: Translator | None = None) -> dict:
    words = words or translator()
    return {"x": [LOGIT_LEFT, LOGIT_LEFT, BAR_LEFT], "y": [SLIDER_ROOM + 12.0, SLIDER_ROOM + 28.0, SLIDER_ROOM + 28.0],
            "text": [words("picture.output.title"), words("picture.output.logit_token"),
                     words("picture.output.probability_sampled")],
            "size": ["12px", "10px", "10px"], "style": ["bold", "normal", "normal"]}


class OutputStage:
    """``source`` (picture-probability-source): one row per candidate: ``token_id``, ``token``, ``logit``
    (unembed.hook_logits[-1]), ``probability`` (as given), ``is_sampled``. The bars' only source: a temperature
    move changes this source and nothing else."""

    def __init__(self, display_token: Callable[[int], str], lang: str = "en"):
        self.lang, self.words = lang, translator(lang)
        self.display_token = display_token
        self.source = ColumnDataSource(name="picture-probability-source")
        self.fan_source = ColumnDataSource(name="picture-output-fan-source")
        self.logit_mapper = colour_mapper(SEQUENTIAL, 0.0, 1.0, SEQUENTIAL[0], SEQUENTIAL[-1])
        self.logit_mapper.nan_color = "rgba(0, 0, 0, 0)"
        self.figure = Plot(name="picture-output-figure", width=OUTPUT_WIDTH, height=HEIGHT - SLIDER_ROOM,
                           x_range=Range1d(OUTPUT_LEFT, OUTPUT_LEFT + OUTPUT_WIDTH),
                           y_range=Range1d(HEIGHT, SLIDER_ROOM),
                           toolbar_location=None, min_border=0, outline_line_color=None, title=None)
        self.logits = None

    def fill(self, logits: np.ndarray, probabilities: np.ndarray, sampled_id: int | None, rows: Rows) -> None:
        self.logits = np.asarray(logits, dtype=np.float32)
        shown = self.logits[candidate_ids(self.logits, None)]
        low, high = float(shown.min()), float(shown.max())
        self.logit_mapper.update(low=low, high=high if high > low else low + 1.0)
        set_if_changed(self.fan_source, fan_data(rows))
        self.fill_probabilities(probabilities, sampled_id)

    def fill_probabilities(self, probabilities: np.ndarray, sampled_id: int | None) -> None:
        set_if_changed(self.source, candidate_data(self.logits, np.asarray(probabilities), sampled_id,
                                                   self.display_token, self.words))

    def draw(self, kit) -> None:
        plot = self.figure
        fan = Patches(xs="xs", ys="ys", fill_color=RIBBON_COLOUR, fill_alpha="alpha", line_color=None)
        plot.add_glyph(self.fan_source, fan, nonselection_glyph=fan)
        box = dict(top="top", bottom="bottom")
        logit = plot.add_glyph(self.source, Quad(left="logit_left", right="logit_right", **box, line_color="#8a8a8a",
                                                 fill_color={"field": "logit", "transform": self.logit_mapper}))
        bars = plot.add_glyph(self.source, Quad(left="bar_left", right="bar_right", **box, fill_color="colour",
                                                line_color=None))
        plot.add_glyph(self.source, Text(x="label_x", y="y", text="label", text_align="right", text_baseline="middle",
                                         text_font_size="11px", text_color="text_colour"))
        plot.add_glyph(self.source, Text(x="text_x", y="y", text="percent", text_baseline="middle",
                                         text_font_size="10px", text_color="text_colour"))
        header = ColumnDataSource(output_header(self.words))
        plot.add_glyph(header, Text(x="x", y="y", text="text", text_font_size="size", text_font_style="style",
                                    text_color=TEXT_COLOUR, text_baseline="middle"))
        words = self.words
        logit_number = CustomJSHover(args=dict(others=words("picture.output.others_logit"),
                                               masked=words("common.masked")),
                                     code=js_code("picture_logit_hover", "exact_number"))
        formatters = kit.formatters | {"@logit": logit_number}
        plot.add_tools(HoverTool(renderers=[logit, bars], formatters=formatters, tooltips=[
            (words("picture.output.next_token"), "@token"), ("id", "@token_id"),
            (words("picture.output.logit_hook"), "@logit{exact}"),
            (words("picture.output.probability"), "@probability{exact}")]))
