"""What a figure shows, in words, for a screen reader: a short text summary of each figure, read from the trace.

    attention_summary(trace, 1, 3, words)
        → "Block 1, head 3: the strongest attention goes from '␣is' to '␣France' (weight 0.62). ..."
    prediction_summary(probabilities, display, words)
        → "The most likely next token is '␣Paris' (41%), then '␣London' (12%) and '␣Rome' (5%)."

``ScreenReaderText`` shows such a text in a visually hidden (sr-only) element: in the page, read by a screen
reader, not drawn. Token strings come from the user's prompt and the model: the text is escaped once
(app/safe_html.py), never injected as HTML. Every word comes from the catalogues (``a11y.summary.*``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from transformer_explainer.viz.common import format_probability
from transformer_explainer.viz.i18n import Translator, translator

from .safe_html import TextBox
from .static_files import static_text

TOP_CANDIDATES = 3


def sentences(words: Translator, *texts: str) -> str:
    """Sentences one after the other: a space between them in English, none in Chinese."""
    return ("" if getattr(words, "lang", "en") == "zh" else " ").join(texts)


def quoted(token: str) -> str:
    return f"'{token}'"


def attention_summary(trace, layer: int, head: int, words: Translator) -> str:
    """Where head ``head`` of block ``layer`` attends most: the strongest (query → key) weight, leaving out the
    first token's row (it can only attend to itself, with weight 1), and the key that gets the most weight on
    average over every query."""
    pattern = np.asarray(trace[f"blocks.{layer}.attn.hook_pattern"][head], dtype=np.float64)
    tokens, n = trace.tokens, pattern.shape[0]
    if n < 2:
        return words("a11y.summary.attention_one_token", layer=layer, head=head, token=quoted(tokens[0]))
    rows = pattern[1:]
    query, key = np.unravel_index(int(np.argmax(rows)), rows.shape)
    query += 1
    top = int(np.argmax(pattern.mean(axis=0)))  # the key with the most weight, on average over every query
    return sentences(
        words,
        words("a11y.summary.attention", layer=layer, head=head, query=quoted(tokens[query]),
              key_token=quoted(tokens[key]), weight=f"{pattern[query, key]:.2f}"),
        words("a11y.summary.attention_most", key_token=quoted(tokens[top]), weight=f"{pattern[:, top].mean():.2f}"))


def prediction_summary(probabilities, display: Callable[[int], str], words: Translator) -> str:
    """The most likely next tokens, with their probabilities as the bars show them."""
    p = np.asarray(probabilities, dtype=np.float64)
    best = [int(i) for i in np.argsort(-p, kind="stable")[:TOP_CANDIDATES] if p[i] > 0]
    if not best:
        return words("a11y.summary.no_prediction")
    shown = [(quoted(display(i)), format_probability(float(p[i]))) for i in best]
    if len(shown) == 1:
        return words("a11y.summary.prediction", token=shown[0][0], probability=shown[0][1])
    rest = [words("a11y.summary.candidate", token=t, probability=q) for t, q in shown[1:]]
    return words("a11y.summary.prediction_more", token=shown[0][0], probability=shown[0][1],
                 candidates=words("a11y.summary.separator").join(rest))


def picture_summary(trace, layer: int, head: int, probabilities, display: Callable[[int], str], words: Translator,
                    n_layer: int) -> str:
    """The first screen's picture in a few sentences: what it draws, where the head attends, what comes next."""
    intro = words("a11y.summary.picture", n=trace.n_tokens, layer=layer, n_layer=n_layer, head=head)
    return sentences(words, intro, attention_summary(trace, layer, head, words),
                     prediction_summary(probabilities, display, words))


def picture_text(state, runtime) -> str:
    """``picture_summary`` of what the state's picture draws now, in the state's language."""
    return picture_summary(state.trace, state.layer, state.head, state.probabilities, runtime.display,
                           translator(state.lang), runtime.config.n_layer)


class ScreenReaderText(TextBox):
    """A text for screen readers only, escaped: set ``plain_text``, never ``object``."""

    element = '<p class="te-sr-only">{}</p>'

    def __init__(self, text: str = "", **params):
        params.setdefault("stylesheets", [static_text("screen_reader.css")])
        params.setdefault("sizing_mode", "stretch_width")
        params.setdefault("margin", 0)
        super().__init__(text, **params)
