"""Two prompts side by side: their next-token probabilities aligned token by token, and one head's attention for
each.

- ``ComparisonView``: a row per token of the union of both prompts' most likely next tokens (gpt2_core/
  comparison.py), sorted by the difference A − B: two bars (A and B) and a diverging bar for the difference, blue
  where A makes the token more likely, orange where B does. ``source`` (``compare-source``) holds token_id, token,
  first, second, difference.
- ``PatternPairView``: the same head's attention pattern (``hook_pattern``) for A and for B, side by side
  (``compare-pattern-a-source``, ``compare-pattern-b-source``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from bokeh.models import ColumnDataSource, FixedTicker, HBar, HoverTool, Range1d, Row, Span, Text, Title

from transformer_explainer.gpt2_core import Trace
from transformer_explainer.gpt2_core.comparison import AlignedProbabilities

from ..common import (BAR_COLOUR, MUTED_TEXT, SAMPLED_COLOUR, TEXT_COLOUR, check_head, check_layer, draw,
                      exact_number_formatter, format_probability, new_figure, position_labels, shorten)
from ..heatmap import Heatmap
from ..i18n import translator

ROW_PX = 30
FIRST_COLOUR, SECOND_COLOUR = BAR_COLOUR, SAMPLED_COLOUR  # A blue, B orange, in the bars and the difference
DIFFERENCE_WIDTH = 140
INSIDE_BAR = 0.6  # a bar longer than this share of the axis carries its label inside


def difference_text(difference: float) -> str:
    """A difference of probabilities in percentage points, signed: "+12.3" (the axis names the unit)."""
    points = 100 * difference
    return f"{points:+.2f}" if abs(points) < 10 else f"{points:+.1f}"


def probability_axis_end(aligned: AlignedProbabilities) -> float:
    """The bars' axis: up to a little past the largest probability shown (small ones stay readable), at most 1."""
    largest = float(max(aligned.first.max(initial=0.0), aligned.second.max(initial=0.0)))
    return min(1.0, max(0.05, 1.3 * largest))


def comparison_data(aligned: AlignedProbabilities, display: Callable[[int], str]) -> dict:
    n = len(aligned.ids)
    tokens = [str(display(int(i))) for i in aligned.ids]
    difference = aligned.difference
    longer = np.maximum(aligned.first, aligned.second)
    inside = longer > INSIDE_BAR * probability_axis_end(aligned)
    return {
        "token_id": aligned.ids, "token": tokens, "first": aligned.first, "second": aligned.second,
        "difference": difference, "y": np.arange(n) + 0.5,
        "y_first": np.arange(n) + 0.3, "y_second": np.arange(n) + 0.7,
        "label": [f"{shorten(token, 18)}   A {format_probability(a)} · B {format_probability(b)}"
                  for token, a, b in zip(tokens, aligned.first, aligned.second)],
        "label_x": longer, "label_align": np.where(inside, "right", "left"),
        "label_offset": np.where(inside, -6, 6),
        "difference_text": [difference_text(d) for d in difference],
        "difference_colour": np.where(difference >= 0, FIRST_COLOUR, SECOND_COLOUR),
        # on the other side of zero from its bar, so that it never covers it
        "difference_align": np.where(difference >= 0, "right", "left"),
        "difference_offset": np.where(difference >= 0, -4, 4),
    }


class ComparisonView:
    """``source``: one row per token, sorted by ``difference`` (A − B), largest first; ``bars_figure`` draws A and
    B, ``difference_figure`` the difference."""

    def __init__(self, aligned: AlignedProbabilities, display: Callable[[int], str], settings: str = "",
                 lang: str = "en"):
        self.lang, self.words = lang, translator(lang)
        self.display = display
        self.source = ColumnDataSource(comparison_data(aligned, display), name="compare-source")
        n = len(aligned.ids)
        self.bars_figure = self._bars_figure(n)
        self.settings_title = Title(text=settings, text_font_size="11px", text_font_style="normal")
        self.bars_figure.add_layout(self.settings_title, "above")
        self.difference_figure = self._difference_figure(n)
        self._fit(aligned)
        self.set_settings(settings)
        self.layout = Row(children=[self.bars_figure, self.difference_figure], sizing_mode="stretch_width")

    def _bars_figure(self, n: int):
        words = self.words
        plot = new_figure(axes="x", grid="x", x_axis_label=words("output.x_axis"), name="compare-bars",
                          sizing_mode="stretch_width", frame_height=n * ROW_PX, x_range=Range1d(0, 1),
                          y_range=Range1d(n, 0))
        first = draw(plot, self.source, HBar(y="y_first", left=0, right="first", height=0.36, fill_color=FIRST_COLOUR,
                                             line_color=None))
        second = draw(plot, self.source, HBar(y="y_second", left=0, right="second", height=0.36,
                                              fill_color=SECOND_COLOUR, line_color=None))
        draw(plot, self.source, Text(x="label_x", y="y", text="label", text_align="label_align",
                                     x_offset="label_offset", text_baseline="middle", text_font_size="11px",
                                     text_color=TEXT_COLOUR, background_fill_color="white",
                                     background_fill_alpha=0.8))
        self._add_hover(plot, [first, second])
        return plot

    def _difference_figure(self, n: int):
        plot = new_figure(axes="x", name="compare-difference", width=DIFFERENCE_WIDTH, frame_height=n * ROW_PX,
                          x_range=Range1d(-1, 1),
                          y_range=Range1d(n, 0))
        plot.add_layout(Span(location=0, dimension="height", line_color=MUTED_TEXT, line_width=1))
        plot.xaxis.ticker = FixedTicker(ticks=[0], minor_ticks=[])
        bars = draw(plot, self.source, HBar(y="y", left=0, right="difference", height=0.6,
                                            fill_color="difference_colour", line_color=None))
        draw(plot, self.source, Text(x=0, y="y", text="difference_text", text_align="difference_align",
                                     x_offset="difference_offset", text_baseline="middle", text_font_size="10px",
                                     text_color=TEXT_COLOUR))
        self._add_hover(plot, [bars])
        return plot

    def _add_hover(self, plot, renderers) -> None:
        words, exact = self.words, exact_number_formatter(self.lang)
        plot.add_tools(HoverTool(renderers=renderers, tooltips=[
            (words("output.token"), "@token"), ("id", "@token_id"), (words("compare.after_first"), "@first{exact}"),
            (words("compare.after_second"), "@second{exact}"), ("A − B", "@difference{exact}")],
            formatters={"@first": exact, "@second": exact, "@difference": exact}))

    def set_settings(self, settings: str) -> None:
        """The sampling settings both distributions are computed with, under the chart's title."""
        self.bars_figure.title.text = self.words("compare.bars_title")
        self.settings_title.text = settings
        self.difference_figure.title.text = self.words("compare.difference_title")

    def _fit(self, aligned: AlignedProbabilities) -> None:
        """One row per token; the difference's scale fits its largest magnitude (5 points at least)."""
        n = len(aligned.ids)
        for plot in (self.bars_figure, self.difference_figure):
            if plot.frame_height != n * ROW_PX:
                plot.frame_height = n * ROW_PX
                plot.y_range.start = n
        limit = max(0.01, float(np.abs(aligned.difference).max(initial=0.0)) * 1.05)
        self.difference_figure.x_range.update(start=-limit, end=limit)
        self.bars_figure.x_range.end = probability_axis_end(aligned)

    def update(self, aligned: AlignedProbabilities, settings: str = "") -> None:
        self.source.data = comparison_data(aligned, self.display)
        self._fit(aligned)
        self.set_settings(settings)


class PatternPairView:
    """``heatmaps["first"]`` and ``heatmaps["second"]``: ``hook_pattern[head]`` of ``layer`` for each prompt."""

    def __init__(self, first: Trace, second: Trace, layer: int, head: int, lang: str = "en"):
        self.words = translator(lang)
        self.heatmaps = {}
        for which, trace in (("first", first), ("second", second)):
            heatmap = Heatmap(self._pattern(trace, layer, head), title=self._title(which, layer, head),
                              kind="probability", row_labels=trace.tokens, col_labels=trace.tokens,
                              row_hover=position_labels(trace.tokens), col_hover=position_labels(trace.tokens),
                              row_name=self.words("attention.query"), col_name=self.words("attention.key"),
                              square=True, max_col_ticks=24, lang=lang)
            suffix = "a" if which == "first" else "b"
            heatmap.source.name, heatmap.figure.name = f"compare-pattern-{suffix}-source", f"compare-pattern-{suffix}"
            self.heatmaps[which] = heatmap
        self.layout = Row(children=[h.figure for h in self.heatmaps.values()], styles={"flex-wrap": "wrap"},
                          sizing_mode="stretch_width")

    @staticmethod
    def _pattern(trace: Trace, layer: int, head: int) -> np.ndarray:  # -> [pos, pos]
        layer, head = check_layer(layer, trace.config.n_layer), check_head(head, trace.config.n_head)
        return trace[f"blocks.{layer}.attn.hook_pattern"][head]

    def _title(self, which: str, layer: int, head: int) -> str:
        name = self.words("compare.first_name" if which == "first" else "compare.second_name")
        return self.words("compare.pattern_title", which=name, layer=layer, head=head)

    def update(self, first: Trace, second: Trace, layer: int, head: int) -> None:
        for which, trace in (("first", first), ("second", second)):
            labels = position_labels(trace.tokens)
            self.heatmaps[which].update(self._pattern(trace, layer, head), title=self._title(which, layer, head),
                                        row_labels=trace.tokens, col_labels=trace.tokens, row_hover=labels,
                                        col_hover=labels)

