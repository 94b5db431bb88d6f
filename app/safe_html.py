"""The one place where text becomes HTML in the page.

Text from a user (the prompt, a shared link), from a file (a model's name) or from the model (a generated
token) may hold ``<script>``, ``<img onerror=...>`` or ``&`` entities. Every pane that shows such text
goes through here, where it is escaped once; no other module builds HTML from text.

Panel's own ``Str`` pane is not a safe place for it: it wraps its text in ``<pre>`` and the browser renders
the result as HTML (Panel 1.9), so ``pn.pane.Str("<img src=x onerror=alert(1)>")`` runs the script.
"""

from __future__ import annotations

import html

import panel as pn
import param


def escape(text) -> str:
    """``text`` as HTML that shows exactly those characters (quotes too, so it is safe in attributes)."""
    return html.escape(str(text), quote=True)


class TextBox(pn.pane.HTML):
    """Preformatted text, always escaped: set ``plain_text``, never ``object``."""

    plain_text = param.String(default="", doc="the text shown, character for character")

    _rename = {"plain_text": None}  # Panel's way of saying: a parameter of ours, not of the browser's HTML model

    def __init__(self, text: str = "", **params):
        super().__init__(**params)
        self.plain_text = text
        self._render()

    element = "<pre>{}</pre>"  # what wraps the escaped text

    @param.depends("plain_text", watch=True)
    def _render(self) -> None:
        self.object = self.element.format(escape(self.plain_text))


def token_chips(tokens: list[str], token_ids: list[int]) -> str:
    """The prompt's tokens as chips, each token's text escaped."""
    return "".join(f'<span class="te-token">{escape(token)}<small>{int(token_id)}</small></span>'
                   for token, token_id in zip(tokens, token_ids))
