"""The end: the last token's vector after the final LayerNorm becomes logits, then probabilities.

Drawn at the right of the picture, under its title "Probabilities".

- One row per candidate next token: the ``N_TOP`` highest logits (``unembed.hook_logits`` of the last position,
  in that order, which no temperature changes), the sampled token when it is not among them, and one row for all
  the others. Each row: a cell coloured by the logit, the token, a bar for the probability (``probabilities`` as
  given: temperature, top-k and top-p applied), its percentage. The sampled token's bar is orange and marked.
- The last token's stream fans out from the final LayerNorm into every candidate's logit.
- Bars are scaled to the most likely shown token (the longest bar is always full length), so a change of
  temperature is visible even when every probability is small; the percentages are the exact ones.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.models import ColumnDataSource, CustomJSHover, HoverTool, Patches, Quad, Text

from .. import js_code
from ..common import (BAR_COLOUR, CUT_COLOUR, MUTED_TEXT, SAMPLED_COLOUR, SEQUENTIAL, TEXT_COLOUR, format_probability,
                      set_if_changed, shorten_to_ems)
from ..heatmap import colour_mapper
from ..i18n import Translator, translator
from .layout import (BAR_LEFT, BAR_PX, CANDIDATE_LABEL_RIGHT, CANDIDATE_PITCH, COLUMNS, LOGIT_LEFT, LOGIT_RIGHT,
                     N_TOP, NUMBER_PX, STRIP_FRACTION, TOKEN_PX, WIDTH, Rows, candidate_centres)
from .ribbons import RIBBON_COLOUR, band, last_slot
from .strips import pad

N_ROWS = N_TOP + 2  # the top tokens, the sampled one, everyone else
CANDIDATE_LABEL_EMS = 5.8  # between the logit cell and the bars: 5.8 ems of a candidate at TOKEN_PX
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


# Turned (a phone), the candidates stay a list read across: their rows go down the screen (along the flow, under
# the final LayerNorm) and their bars across it (along the token rows' axis). These glyphs are drawn as they are,
# not turned (``UNTURNED``).
PHONE_TOP = 5  # turned, there is room for the five most likely, the sampled one and the rest
PHONE_ROWS = PHONE_TOP + 2
V_TOP = COLUMNS["_to_output"][0] + 10.0
V_PITCH = (WIDTH - 4.0 - V_TOP) / PHONE_ROWS
V_LOGIT, V_LABEL_RIGHT, V_BAR_LEFT, V_BAR_PX = (60.0, 70.0), 186.0, 190.0, 150.0


def output_place(vertical: bool, n_rows: int) -> dict:
    """Where the candidates go: row centres, half a row, the logit cell, the label's right edge, the bars."""
    if vertical:
        return {"centres": V_TOP + (np.arange(min(n_rows, PHONE_ROWS)) + 0.5) * V_PITCH, "half": V_PITCH * 0.28,
                "logit": V_LOGIT,
                "label_right": V_LABEL_RIGHT, "bar_left": V_BAR_LEFT, "bar_px": V_BAR_PX}
    return {"centres": candidate_centres(n_rows), "half": CANDIDATE_PITCH * 0.2, "logit": (LOGIT_LEFT, LOGIT_RIGHT),
            "label_right": CANDIDATE_LABEL_RIGHT, "bar_left": BAR_LEFT, "bar_px": BAR_PX}


def candidate_data(logits: np.ndarray, probabilities: np.ndarray, sampled_id: int | None,
                   display_token: Callable[[int], str], words: Translator | None = None,
                   vertical: bool = False) -> dict:
    """One row per candidate (see the module's docstring). Its geometry: ``y``, ``top``, ``bottom`` across the
    rows, the rest along them; turned (``vertical``), in the screen's own terms (rows down, bars across)."""
    words = words or translator()
    ids = candidate_ids(logits, sampled_id)
    probability = np.asarray(probabilities, dtype=np.float64)[ids]
    others = probabilities.size - len(ids)
    rest = float(max(0.0, 1.0 - probability.sum())) if others else 0.0
    scale = float(probability.max()) if probability.size and probability.max() > 0 else 1.0
    rows = len(ids) + (1 if others else 0)
    place = output_place(vertical, rows)
    sampled = np.array([sampled_id is not None and i == int(sampled_id) for i in ids] + [False] * (rows - len(ids)))
    if vertical:  # the rows a phone has room for, one after the other; the others are not drawn (NaN)
        drawn = np.array([k < PHONE_TOP or sampled[k] or k >= len(ids) for k in range(rows)])
        y = np.where(drawn, V_TOP + (np.cumsum(drawn) - 0.5) * V_PITCH, np.nan)
    else:
        y = place["centres"]
    half = place["half"]
    bar_left, bar_px = place["bar_left"], place["bar_px"]
    tokens = [str(display_token(i)) for i in ids] + ([words("picture.output.others", n=f"{others:,}")] if others else [])
    p = np.concatenate([probability, [rest] if others else []])
    cut = (p == 0)
    bar = bar_left + np.minimum(p / scale, 1.0) * bar_px
    data = {
        "token_id": np.array(ids + ([-1] if others else []), dtype=int),
        "token": tokens,
        "label": [shorten_to_ems(t, CANDIDATE_LABEL_EMS) for t in tokens[:len(ids)]] + tokens[len(ids):],
        "logit": np.concatenate([logits[ids].astype(np.float32), [np.nan] if others else []]).astype(np.float32),
        "probability": p, "is_sampled": sampled,
        "percent": [format_probability(float(q)) + (" ◀" if s else "") for q, s in zip(p, sampled)],
        "y": y, "top": y - half, "bottom": y + half, "bar_left": np.full(rows, bar_left), "bar_right": bar,
        "text_x": np.maximum(bar, bar_left) + 4.0,
        "colour": [SAMPLED_COLOUR if s else (OTHERS_COLOUR if i >= len(ids) else (CUT_COLOUR if c else BAR_COLOUR))
                   for i, (s, c) in enumerate(zip(sampled, cut))],
        "text_colour": [TEXT_COLOUR if i < len(ids) else MUTED_TEXT for i in range(rows)],
        "logit_line": ["#8a8a8a" if i < len(ids) else "rgba(0, 0, 0, 0)" for i in range(rows)],  # "others": none
        "logit_left": np.full(rows, place["logit"][0]), "logit_right": np.full(rows, place["logit"][1]),
        "label_x": np.full(rows, place["label_right"]),
    }
    if vertical:
        for key in ("bar_left", "bar_right", "text_x", "logit_left", "logit_right", "label_x"):
            data[key] = np.where(drawn, data[key], np.nan)
    return pad(data, N_ROWS)


def fan_data(rows: Rows, vertical: bool = False) -> dict:
    """The last token's ribbon fanning out into every candidate's logit (the unembedding reads only that vector),
    in the picture's own terms (along the flow, across the rows: turned with it)."""
    xs, ys = [], []
    last = last_slot(rows)
    if last is not None:
        y0 = float(rows.y(last))
        half = rows.height * STRIP_FRACTION / 2
        place = output_place(vertical, N_ROWS)
        share = 2 * half / N_ROWS
        start_x = COLUMNS["_to_output"][0]
        for k, target in enumerate(place["centres"]):
            start = y0 - half + share * (k + 0.5)
            if vertical:  # down from the last token's column, then across to the candidate's logit cell
                along, across = band(start_x, float(target), start, place["logit"][0], share / 2, place["half"] * 0.6)
            else:
                along, across = band(start_x, LOGIT_LEFT, start, float(target), share / 2, place["half"] * 0.8)
            xs.append(along), ys.append(across)
    missing = N_ROWS - len(xs)
    xs += [[np.nan]] * missing
    ys += [[np.nan]] * missing
    slot = last if last is not None else -1
    alpha = np.array([0.0 if np.isnan(x[0]) else FAN_ALPHA for x in xs])
    return {"xs": xs, "ys": ys, "slot": np.full(len(xs), slot), "alpha": alpha, "base_alpha": alpha.copy()}


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
        self.logits = None
        self.vertical = False
        self.renderers: list = []

    def fill(self, logits: np.ndarray, probabilities: np.ndarray, sampled_id: int | None, rows: Rows,
             vertical: bool = False) -> None:
        self.vertical = vertical
        self.logits = np.asarray(logits, dtype=np.float32)
        shown = self.logits[candidate_ids(self.logits, None)]
        low, high = float(shown.min()), float(shown.max())
        self.logit_mapper.update(low=low, high=high if high > low else low + 1.0)
        set_if_changed(self.fan_source, fan_data(rows, vertical))
        self.fill_probabilities(probabilities, sampled_id)

    def fill_probabilities(self, probabilities: np.ndarray, sampled_id: int | None) -> None:
        set_if_changed(self.source, candidate_data(self.logits, np.asarray(probabilities), sampled_id,
                                                   self.display_token, self.words, self.vertical))

    def draw(self, canvas, kit) -> None:
        canvas.add(self.fan_source, Patches, dict(xs="xs", ys="ys", fill_color=RIBBON_COLOUR, fill_alpha="alpha",
                                                  line_color=None))
        box = dict(top="top", bottom="bottom")
        logit_box, bar_box = dict(left="logit_left", right="logit_right", **box), dict(left="bar_left",
                                                                                      right="bar_right", **box)
        logit = canvas.add(self.source, Quad, dict(**logit_box, line_color="logit_line",
                                                   fill_color={"field": "logit", "transform": self.logit_mapper}),
                           vertical=logit_box)
        bars = canvas.add(self.source, Quad, dict(**bar_box, fill_color="colour", line_color=None), vertical=bar_box)
        label, percent = dict(x="label_x", y="y"), dict(x="text_x", y="y")
        canvas.add(self.source, Text, dict(**label, text="label", text_align="right", text_baseline="middle",
                                           size=TOKEN_PX, text_color="text_colour"), vertical=label)
        canvas.add(self.source, Text, dict(**percent, text="percent", text_baseline="middle", size=NUMBER_PX,
                                           text_color="text_colour"), vertical=percent)
        words = self.words
        logit_number = CustomJSHover(args=dict(others=words("picture.output.others_logit"),
                                               masked=words("common.masked")),
                                     code=js_code("picture_logit_hover", "exact_number"))
        formatters = kit.formatters | {"@logit": logit_number}
        canvas.plot.add_tools(HoverTool(renderers=[logit, bars], formatters=formatters, tooltips=[
            (words("picture.output.next_token"), "@token"), ("id", "@token_id"),
            (words("picture.output.logit_hook"), "@logit{exact}"),
            (words("picture.output.probability"), "@probability{exact}")]))
        self.renderers = [logit, bars]
