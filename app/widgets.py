"""Small widgets the page is made of: message boxes, the token pickers, and the standard controls of a section."""

from __future__ import annotations

from pathlib import Path

import panel as pn
import param

from transformer_explainer.viz.i18n import translator

from .safe_html import TextBox, escape
from .static_files import static_text

# The page's fonts (Bokeh's and Panel's widgets read ``--base-font``): Latin first, then a Simplified Chinese
# font on each system (Debian's fonts-noto-cjk, macOS, Windows), so CJK text is drawn, not boxes.
PAGE_FONTS = ('-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans CJK SC", '
              '"Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif')


def text_box(kind: str, text: str = "", **params) -> TextBox:
    """Preformatted text, escaped (app/safe_html.py): safe for messages that quote what a user typed. ``kind``:
    error, notice, formula, status or offline (its look: app/static/message-<kind>.css)."""
    return TextBox(text, stylesheets=[static_text(f"message-{kind}.css")], sizing_mode="stretch_width", **params)


def display_name(model_name: str) -> str:
    """A Hub id as it is (``openai-community/gpt2``); a local checkpoint by its folder's name, not a long path."""
    path = Path(model_name)
    return path.name if (path.is_absolute() or model_name.startswith(".") or path.exists()) and path.name else model_name


class TokenPicker:
    """A menu of the prompt's tokens ("3: ␣France"), showing the selected one. It follows the state (a new trace,
    a token tapped in a figure) and a pick sets ``state.position``; showing the state's own value is not a pick:
    ``position`` keeps -1 ("the last token") until the student picks one."""

    def __init__(self, state, label: str):
        self.state = state
        self.widget = pn.widgets.Select(label=label, options={}, width=220, css_classes=["te-position", "te-control"])
        self._showing = False
        self.widget.param.watch(self._pick, "value")
        state.param.watch(lambda *events: self.show(), ["trace", "position"])
        self.show()

    def show(self) -> None:
        trace = self.state.trace
        if trace is None:
            return
        self._showing = True
        try:
            self.widget.param.update(options={f"{i}: {token}": i for i, token in enumerate(trace.tokens)},
                                     value=self.state.selected_position)
        finally:
            self._showing = False

    def _pick(self, event) -> None:
        if not self._showing:
            self.state.position = event.new


def section_control(state, name: str, words) -> pn.viewable.Viewable:
    """A new widget for one of a section's standard controls (app/sections CONTROLS): the block, the head, the
    token. One widget per place it is shown: a Panel widget placed in two sections keeps only one of its browser
    views in sync (the other would show a stale layer or token)."""
    if name == "layer":
        return pn.widgets.IntSlider.from_param(state.param.layer, label=words("app.layer"), width=220,
                                               css_classes=["te-layer", "te-control"])
    if name == "head":
        return pn.widgets.IntSlider.from_param(state.param.head, label=words("app.head"), width=220,
                                               css_classes=["te-head", "te-control"])
    if name == "position":
        return TokenPicker(state, words("app.token")).widget
    raise ValueError(f"no standard control named {name!r}")


class PageLanguage(pn.reactive.ReactiveHTML):
    """Tells the browser the page's language (``<html lang>``): screen readers pronounce by it, and the browser
    picks the CJK glyph forms for Chinese by it; and sets the page's font stack. Draws nothing. (ReactiveHTML, not
    an ESM component: those need Panel's module shim, which the static site's page does not load.)"""

    language = param.String(default="en")
    fonts = param.String(default=PAGE_FONTS)
    _template = '<div id="marker" style="display: none"></div>'
    _scripts = {"render": static_text("page_language.js")}


class Viewport(pn.reactive.ReactiveHTML):
    """The width of the browser's window (0 until the page reports it). Draws nothing."""

    window_width = param.Integer(default=0)
    _template = '<div id="viewport" style="display: none"></div>'
    _scripts = {"render": static_text("viewport.js")}

    def __init__(self, **params):
        super().__init__(height=0, width=0, margin=0, **params)


def header_parts(state, runtime) -> tuple:
    """The page's language marker; the title for the header row; and the sentence about the model (its name and
    size), for the drawer."""
    words, config = translator(state.lang), runtime.config
    title = pn.pane.HTML(f"<h1>{words('app.title')}</h1>", css_classes=["te-title"], align="center", margin=(0, 8),
                         stylesheets=[static_text("header.css")])
    about = pn.pane.HTML(  # HTML, not Markdown: a model's name is a file's text, and Markdown would format it
        words("app.header", model=escape(display_name(runtime.model.name)), n_layer=config.n_layer,
              n_head=config.n_head, n_embd=config.n_embd), sizing_mode="stretch_width", css_classes=["te-header"])
    return PageLanguage(language=state.lang, height=0, width=0, margin=0), title, about
