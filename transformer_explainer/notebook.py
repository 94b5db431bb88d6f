"""The views as notebook widgets: Panel panes around the Bokeh layouts of ``viz``.

A widget displays itself in Jupyter (JupyterLab, classic Notebook, VS Code) through Panel; if Panel's notebook
extension is not loaded yet (``pn.extension()``), it is loaded on first display. The selectors run in the
browser (``CustomJS``), so a saved notebook, or one whose kernel has stopped, still switches layer, head and
token: every value is already in the page. ``save(path)`` writes the same view as a standalone HTML file.
"""

from __future__ import annotations

import html
from pathlib import Path

from .capture import Capture, ImageTextCapture
from .image_views import describe_tokens


def heading_html(title: str, capture: Capture | ImageTextCapture) -> str:
    """A widget's title line: the model, the tokens (for an image: how they lie on it), and any note; every piece
    of text escaped."""
    notes = "".join(f"<div style='color:#8a5a00'>note: {html.escape(note)}</div>" for note in capture.notes)
    image = capture.image if isinstance(capture, ImageTextCapture) else capture
    return (f"<div><b>{html.escape(title)}</b> &middot; {html.escape(capture.model_name or 'model')} &middot; "
            f"{html.escape(describe_tokens(image))}</div>{notes}")


class ExplainerWidget:
    title = ""

    def __init__(self, capture: Capture, view):
        self.capture, self.view = capture, view
        self._panel = None

    @property
    def layout(self):
        """The Bokeh layout (for ``bokeh.io.show``, ``bokeh.embed``, or a Panel layout of your own)."""
        return self.view.layout

    def __panel__(self):
        if self._panel is None:
            import panel as pn

            self._panel = pn.Column(pn.pane.HTML(heading_html(self.title, self.capture), sizing_mode="stretch_width"),
                                    pn.pane.Bokeh(self.view.layout, sizing_mode="stretch_width"),
                                    sizing_mode="stretch_width")
        return self._panel

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            import panel as pn
            from panel.config import panel_extension
        except ImportError:
            return {"text/plain": f"{self!r}: install Panel to display it in a notebook "
                                  f"(pip install 'transformer-explainer[notebook]'), or .save('view.html')"}, {}
        if not panel_extension._loaded:
            pn.extension()
        return self.__panel__()._repr_mimebundle_(include, exclude)

    def __repr__(self) -> str:
        capture = self.capture.image if isinstance(self.capture, ImageTextCapture) else self.capture
        return f"<{type(self).__name__}: {self.capture.model_name}, {describe_tokens(capture)}>"

    def save(self, path: str | Path) -> Path:
        """The view as one standalone HTML file (JavaScript inline, opens with no network)."""
        from transformer_explainer.viz.standalone import standalone_html

        path = Path(path)
        path.write_text(standalone_html(self.view.layout, title=self.title), encoding="utf-8")
        return path


class AttentionWidget(ExplainerWidget):
    """``view``: the ``AttentionExplorer`` (for an image, the ``ImageAttentionView``; for CLIP and vision-to-text
    models, the ``ImageTextAttentionView``); ``select(layer, head, query)`` shows another head or token, and for
    an image ``rollout=True`` the attention rollout."""

    title = "Attention"

    def select(self, layer: int | None = None, head: int | None = None, query: int | None = None,
               rollout: bool | None = None) -> None:
        if rollout is None:
            self.view.select(layer, head, query)
        else:
            self.view.select(layer, head, query, rollout=rollout)


class HiddenStatesWidget(ExplainerWidget):
    """``view``: the ``HiddenStatesView``; ``select(layer)`` shows another hidden state."""

    title = "Hidden states"

    def select(self, layer: int) -> None:
        self.view.select(layer)
