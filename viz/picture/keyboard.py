"""The picture without a mouse: a keyboard cursor over its parts, drawn and read aloud.

The picture's canvas (picture-figure) takes the keyboard focus (Tab reaches it: ``tabindex=0``,
``role="application"``, an ``aria-label`` that says which keys do what) and shows a visible focus outline
(viz/js/picture_focus.css). Then:

    ← →             the previous / next part, along the flow: the tokens, each stage and picker, the head cards,
                    the output
    ↓ (or Enter on the tokens, the head cards)   inside the part: its tokens, its head cards, the attention matrix's
                    cells (↑ ↓ ← → move over queries and keys), the candidate next tokens
    Enter / Space   what a tap does there: the same ``selected.indices`` a tap sets (stage_source, head_source,
                    token_source), so the app's Python callbacks run unchanged
    Escape          back out to the parts; Home / End the first / last

The cursor is drawn as an outline (``cursor_source``, picture-keyboard-source) and announced in a polite
``aria-live`` region (``#te-picture-live``) with the numbers the hover shows (a cell: the two tokens, q·k, the
scaled score, the weight). ``picture-keyboard-source`` also holds the cursor's ``mode``, ``item``, ``index`` and
``text`` (what was announced), for tests.

Every word comes from the catalogues (``a11y.picture.*``): ``keyboard_words`` translates them in Python and the
JavaScript (viz/js/picture_keyboard.js) only fills in ``{fields}``; token strings are put into text nodes
(``textContent``), never HTML.
"""

from __future__ import annotations

from bokeh.models import ColumnDataSource, CustomJS, InlineStyleSheet, Quad

from .. import js_code, stylesheet
from ..i18n import Translator, translator

CURSOR_COLOUR, CURSOR_HALO = "#1a1a1a", "#ffbf00"  # a dark outline in a yellow halo: seen on white and on dark blue
LIVE_ID = "te-picture-live"


def keyboard_words(words: Translator) -> dict[str, str]:
    """The texts the keyboard script shows or says, translated (each key written out, for the catalogue test)."""
    return {
        "label": words("a11y.picture.label"),
        "item": words("a11y.picture.item"),
        "tokens": words("a11y.picture.tokens"),
        "heads": words("a11y.picture.heads"),
        "matrix": words("a11y.picture.matrix"),
        "output": words("a11y.picture.output"),
        "token": words("a11y.picture.token"),
        "token_pinned": words("a11y.picture.token_pinned"),
        "head": words("a11y.picture.head"),
        "head_drawn": words("a11y.picture.head_drawn"),
        "cell": words("a11y.picture.cell"),
        "masked": words("a11y.picture.masked"),
        "candidate": words("a11y.picture.candidate"),
        "others": words("a11y.picture.others"),
        "back": words("a11y.picture.back"),
        "opened": words("a11y.picture.opened"),
    }




class PictureKeyboard:
    """The keyboard cursor of one ``PictureView``: its cursor source and glyphs, the focus outline, and
    ``callback``, the CustomJS to run when the document is ready (``document.js_on_event("document_ready", ...)``)."""

    def __init__(self, view, lang: str = "en"):
        words = translator(lang)
        empty = {"left": [float("nan")], "right": [float("nan")], "top": [float("nan")], "bottom": [float("nan")]}
        self.cursor_source = ColumnDataSource({**empty, "mode": ["ring"], "item": [""], "index": [-1], "text": [""]},
                                              name="picture-keyboard-source")
        box = dict(left="left", right="right", top="top", bottom="bottom", fill_color=None)
        view.canvas.add(self.cursor_source, Quad, dict(**box, line_color=CURSOR_HALO, line_width=5))
        view.canvas.add(self.cursor_source, Quad, dict(**box, line_color=CURSOR_COLOUR, line_width=2))
        view.figure.stylesheets = [*view.figure.stylesheets, InlineStyleSheet(css=stylesheet("picture_focus"))]
        self.callback = CustomJS(args=dict(plot=view.figure, stages=view.stage_source, heads=view.head_source,
                                           tokens=view.token_source, cells=view.attention_source,
                                           probabilities=view.probability_source, cursor=self.cursor_source,
                                           texts=keyboard_words(words), live_id=LIVE_ID),
                                 code=js_code("picture_keyboard", "exact_number", "fill_template"))

    def attach(self, document) -> None:
        """Run the keyboard script in ``document``'s page once it is ready (nothing when there is no document)."""
        if document is not None:
            document.js_on_event("document_ready", self.callback)
