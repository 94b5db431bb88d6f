"""The output: logits → ÷ temperature → top-k / top-p cutoff → softmax → probabilities, over the whole vocabulary.

The bar chart shows the most likely candidates (ranked by logit, the ranking no temperature changes) with their
probabilities; the sampled token is highlighted. A table under it shows, per candidate, the logit, the scaled
logit and whether it survived each cutoff. ``update`` is what the temperature slider calls on every move: it
recomputes the distribution over all V tokens (a few ms for V = 50257) and replaces ``source.data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, HBar, HoverTool, Range1d, Text

from transformer_explainer.gpt2_core import sampling

from ..common import (BAR_COLOUR, CUT_COLOUR, MUTED_TEXT, SAMPLED_COLOUR, TEXT_COLOUR, draw,
                     exact_number_formatter, format_probability, new_figure, set_if_changed, shorten)
from ..i18n import Translator, translator

ROW_PX = 24
INSIDE_BAR = 0.6  # a bar longer than this carries its label inside


@dataclass(frozen=True)
class SamplingSteps:
    """Each step of ``sampling.probabilities``, over the full vocabulary ([V] each)."""
    scaled: np.ndarray  # logits / T, shifted so the maximum is 0 (T = 0: 0 for the maximum, −∞ elsewhere)
    kept_by_top_k: np.ndarray
    kept_by_top_p: np.ndarray
    probabilities: np.ndarray


def sampling_steps(logits, temperature: float, top_k: int | None, top_p: float | None) -> SamplingSteps:
    """``sampling.probabilities`` one step at a time (the same operations, so the same numbers), keeping
    which tokens each cutoff removed."""
    sampling.check_settings(temperature, top_k, top_p)
    scaled = sampling.scaled_logits(logits, temperature)
    kept_by_top_k = sampling.top_k_mask(scaled, top_k)
    after_top_k = sampling.softmax64(np.where(kept_by_top_k, scaled, -np.inf))
    kept_by_top_p = sampling.top_p_mask(after_top_k, top_p)
    probabilities = np.where(kept_by_top_p, after_top_k, 0.0)
    return SamplingSteps(scaled, kept_by_top_k, kept_by_top_p, probabilities / probabilities.sum())


def top_candidates(logits: np.ndarray, n: int) -> np.ndarray:
    """The ids of the ``n`` largest logits, largest first (ties: lower id first)."""
    n = min(n, logits.size)
    best = np.argpartition(-logits, n - 1)[:n]
    return best[np.lexsort((best, -logits[best]))]


def shown_candidates(candidates: np.ndarray, n_top: int, sampled_id: int | None) -> np.ndarray:
    """The chart's rows: the ``n_top`` most likely tokens, then the sampled one if it is not among them, else the
    next most likely. Always ``n_top + 1`` rows (while the vocabulary has them): a chart whose number of rows
    changed as the sampled token moved in or out of the top would make BokehJS read past a column's end while
    it swaps the columns ("Offset is outside the bounds of the DataView")."""
    top = candidates[:n_top]
    if sampled_id is not None and int(sampled_id) not in top:
        return np.append(top, int(sampled_id))
    return candidates[:n_top + 1]


def cutoff_text(kept_by_top_k: bool, kept_by_top_p: bool, words: Translator | None = None) -> str:
    words = words or translator()
    if not kept_by_top_k:
        return words("output.cut_by_top_k")
    if not kept_by_top_p:
        return words("output.cut_by_top_p")
    return ""


def settings_text(temperature: float, top_k: int | None, top_p: float | None, words: Translator | None = None) -> str:
    words = words or translator()
    parts = [words("output.greedy") if temperature == 0 else words("output.temperature", temperature=f"{temperature:g}")]
    parts.append(words("output.top_k", top_k=top_k) if top_k else words("output.no_top_k"))
    parts.append(words("output.top_p", top_p=f"{top_p:g}") if top_p is not None and top_p < 1 else words("output.no_top_p"))
    return words("output.separator").join(parts)


class OutputView:
    """``source``: one row per candidate (rank, token_id, token, logit, scaled_logit, kept_by_top_k,
    kept_by_top_p, kept, probability, is_sampled, ...), drawn as bars (``bars_figure``) and as a table
    (``table_figure``). The sampled token is always among the rows (appended if it is not a top candidate)."""

    def __init__(self, logits, token_display: Callable[[int], str], temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, sampled_id: int | None = None,
                 n_top: int = 10, lang: str = "en"):
        self.lang, self.words = lang, translator(lang)
        self.token_display = token_display
        self.n_top = n_top
        self._display_cache: dict[int, str] = {}
        self._logits = None
        self._candidates = None
        self.steps: SamplingSteps | None = None
        self.source = ColumnDataSource(self._rows(logits, temperature, top_k, top_p, sampled_id),
                                       name="output-source")  # the name lets browser tests find it
        n_rows = len(self.source.data["rank"])
        self.bars_figure = self._bars_figure(n_rows)
        self.table_figure = self._table_figure(n_rows)
        self.bars_figure.name, self.table_figure.name = "output-bars", "output-table"  # for browser tests
        self._set_titles(temperature, top_k, top_p)
        self.layout = column(self.bars_figure, self.table_figure, sizing_mode="stretch_width")

    # -- data ----------------------------------------------------------------------------------------

    def _display(self, token_id: int) -> str:
        text = self._display_cache.get(token_id)
        if text is None:
            text = self._display_cache[token_id] = str(self.token_display(token_id))
        return text

    def _candidates_for(self, logits: np.ndarray) -> np.ndarray:
        if self._logits is None or self._logits.shape != logits.shape or not np.array_equal(self._logits, logits):
            self._logits = np.array(logits, copy=True)
            self._candidates = top_candidates(logits, self.n_top + 1)
        return self._candidates

    def _rows(self, logits, temperature, top_k, top_p, sampled_id) -> dict:
        logits = np.asarray(logits)
        steps = self.steps = sampling_steps(logits, temperature, top_k, top_p)
        ids = shown_candidates(self._candidates_for(logits), self.n_top, sampled_id)
        n = ids.size
        probabilities = steps.probabilities[ids]
        kept_k, kept_p = steps.kept_by_top_k[ids], steps.kept_by_top_p[ids]
        is_sampled = ids == (-1 if sampled_id is None else int(sampled_id))
        candidate_logits = logits[ids].astype(np.float64)
        scaled = candidate_logits / temperature if temperature > 0 else np.full(n, np.nan)
        tokens = [self._display(int(i)) for i in ids]
        words = self.words
        cut = [cutoff_text(k, p, words) for k, p in zip(kept_k, kept_p)]
        sampled_mark = "   " + words("output.sampled_mark")
        inside = probabilities > INSIDE_BAR
        return {
            "rank": np.arange(n), "y": np.arange(n) + 0.5, "token_id": ids, "token": tokens,
            "logit": candidate_logits, "scaled_logit": scaled,
            "kept_by_top_k": kept_k, "kept_by_top_p": kept_p, "kept": kept_k & kept_p,
            "probability": probabilities, "is_sampled": is_sampled,
            "colour": np.where(is_sampled, SAMPLED_COLOUR, np.where(kept_k & kept_p, BAR_COLOUR, CUT_COLOUR)),
            "label": [f"{shorten(token, 24)}   {c or format_probability(p)}" + (sampled_mark if s else "")
                      for token, c, p, s in zip(tokens, cut, probabilities, is_sampled)],
            "short_token": [shorten(token, 18) for token in tokens],
            "label_align": np.where(inside, "right", "left"),
            "label_offset": np.where(inside, -5, 5),
            "label_colour": np.where(inside, "white", TEXT_COLOUR),
            "row_alpha": np.where(is_sampled, 0.22, 0.0),
            "logit_text": [f"{v:.3f}" for v in candidate_logits],
            "scaled_text": ([words("output.max_greedy") if v == 0 else "−∞" for v in steps.scaled[ids]]
                            if temperature == 0 else [f"{v:.3f}" for v in scaled]),
            "top_k_text": ["✓" if k else words("output.cut") for k in kept_k],
            "top_p_text": ["✓" if p else (words("output.cut") if k else "–") for k, p in zip(kept_k, kept_p)],
            "probability_text": [format_probability(p) for p in probabilities],
        }

    # -- figures -------------------------------------------------------------------------------------

    def _bars_figure(self, n_rows: int):
        words = self.words
        plot = new_figure(axes="x", grid="x", x_axis_label=words("output.x_axis"),
                          sizing_mode="stretch_width", frame_height=n_rows * ROW_PX, x_range=Range1d(0, 1),
                          y_range=Range1d(n_rows, 0))
        bars = draw(plot, self.source, HBar(y="y", left=0, right="probability", height=0.72, fill_color="colour",
                                            line_color=None))
        draw(plot, self.source, Text(x="probability", y="y", text="label", text_align="label_align",
                                     x_offset="label_offset", text_color="label_colour", text_baseline="middle",
                                     text_font_size="12px"))
        exact = exact_number_formatter(self.lang)
        plot.add_tools(HoverTool(renderers=[bars], tooltips=[
            (words("output.token"), "@token"), ("id", "@token_id"), (words("output.probability"), "@probability{exact}"),
            ("logit", "@logit{exact}"), ("logit ÷ T", "@scaled_text"), ("", words("output.cutoffs_tooltip"))],
            formatters={"@probability": exact, "@logit": exact}))
        return plot

    TABLE_COLUMNS = (("output.token", "short_token", 0.0), ("logit", "logit_text", 2.1),
                     ("logit ÷ T", "scaled_text", 3.1), ("top-k", "top_k_text", 4.15), ("top-p", "top_p_text", 5.0),
                     ("output.probability", "probability_text", 5.8))  # a header: a catalogue key, or a symbol

    def _table_figure(self, n_rows: int):
        plot = new_figure(axes="", sizing_mode="stretch_width", frame_height=(n_rows + 1) * 20,
                          x_range=Range1d(-0.1, 6.9), y_range=Range1d(n_rows, -1))
        draw(plot, self.source, HBar(y="y", left=-0.1, right=6.9, height=1.0, fill_color=SAMPLED_COLOUR,
                                     fill_alpha="row_alpha", line_color=None))
        header = ColumnDataSource({"x": [x for _, _, x in self.TABLE_COLUMNS],
                                   "text": [self.words(title) if title.startswith("output.") else title
                                            for title, _, _ in self.TABLE_COLUMNS]})
        draw(plot, header, Text(x="x", y=-0.5, text="text", text_baseline="middle", text_font_size="11px",
                                text_font_style="bold", text_color=MUTED_TEXT))
        for _, field, x in self.TABLE_COLUMNS:
            draw(plot, self.source, Text(x=x, y="y", text=field, text_baseline="middle", text_font_size="11px",
                                         text_color=TEXT_COLOUR))
        return plot

    def _set_titles(self, temperature, top_k, top_p) -> None:
        words = self.words
        self.bars_figure.title.text = words("output.bars_title",
                                            settings=settings_text(temperature, top_k, top_p, words))
        self.table_figure.title.text = words("output.table_title")

    def _resize(self, n_rows: int) -> None:
        if self.bars_figure.frame_height != n_rows * ROW_PX:
            self.bars_figure.frame_height = n_rows * ROW_PX
            self.bars_figure.y_range.start = n_rows
            self.table_figure.frame_height = (n_rows + 1) * 20
            self.table_figure.y_range.start = n_rows

    # -- updates -------------------------------------------------------------------------------------

    def update(self, logits, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
               sampled_id: int | None = None) -> None:
        """New settings (or new logits): the distribution over the whole vocabulary, in place."""
        set_if_changed(self.source, self._rows(logits, temperature, top_k, top_p, sampled_id), always=())
        self._resize(len(self.source.data["rank"]))
        self._set_titles(temperature, top_k, top_p)

    def set_token_display(self, token_display: Callable[[int], str]) -> None:
        """A different tokenizer (another model): forget the cached display strings."""
        self.token_display = token_display
        self._display_cache.clear()
