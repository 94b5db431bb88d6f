"""CLIP's image–text similarity: one bar per text prompt, the model's own logit for that prompt and the image.

CLIP embeds the image and each prompt, normalizes both, and scores each pair with their cosine × exp(logit_scale):
that logit is what the model computes (``logits_per_image``); its softmax over the prompts given is what zero-shot
classification reads as a probability. The bars are the logits; the hover gives the cosine and the probability
too. Prompts are user text: they reach Bokeh as plain-text tick labels and escaped hover fields only.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from bokeh.models import ColumnDataSource, HBar, HoverTool, Range1d, Span

from .common import (BAR_COLOUR, draw, exact_number_formatter, hover_description, label_axis, new_figure,
                     position_labels)
from .i18n import translator

ROW_PX = 28


class SimilarityView:
    """``source``: one row per prompt (``y``, ``text``, ``logit``, ``cosine``, ``probability``); ``figure``
    (also ``layout``)."""

    def __init__(self, texts: Sequence[str], logits, cosines, probabilities, *, name: str = "", lang: str = "en"):
        words = translator(lang)
        texts = [str(text) for text in texts]
        columns = {what: np.asarray(values, dtype=np.float32).ravel()
                   for what, values in (("logit", logits), ("cosine", cosines), ("probability", probabilities))}
        if not texts or any(values.size != len(texts) for values in columns.values()):
            raise ValueError(f"one logit, cosine and probability per prompt: {len(texts)} prompts, "
                             f"{[values.size for values in columns.values()]} values")
        n = len(texts)
        self.source = ColumnDataSource({"y": np.arange(n) + 0.5, "text": position_labels(texts), **columns},
                                       name=f"{name}image-text-similarity")
        low, high = min(0.0, float(columns["logit"].min())), max(0.0, float(columns["logit"].max()))
        margin = 0.05 * (high - low or 1.0)
        self.figure = new_figure(title=words("image.similarity.title"), axes="xy", grid="x",
                                 x_axis_label=words("image.similarity.logit"),
                                 name=f"{name}image-text-similarity-figure",
                                 width=560, height=60 + ROW_PX * n, x_range=Range1d(low - margin, high + margin),
                                 y_range=Range1d(n, 0))
        bars = draw(self.figure, self.source, HBar(y="y", left=0, right="logit", height=0.7, fill_color=BAR_COLOUR,
                                                   line_color=None))
        self.figure.add_layout(Span(location=0, dimension="height", line_color="#888888", line_width=1))
        label_axis(self.figure.yaxis[0], texts, n, max_ticks=n, limit=40)
        self.figure.add_tools(HoverTool(renderers=[bars], description=hover_description(lang), tooltips=[
            (words("image.similarity.text"), "@text"), (words("image.similarity.logit"), "@logit{value}"),
            (words("image.similarity.cosine"), "@cosine{value}"),
            (words("image.similarity.probability"), "@probability{value}")],
            formatters={f"@{what}": exact_number_formatter(lang) for what in columns}))
        self.layout = self.figure
