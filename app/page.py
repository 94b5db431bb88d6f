"""One browser session's page: its state synced with the link, in the link's language (else the browser's), the
app drawn on it, redrawn in another language on the same state, and let go of when the session ends."""

from __future__ import annotations

import panel as pn
from bokeh.models import CustomJS

from transformer_explainer.viz.i18n import language_from

from .compat import parse_links_tolerantly, send_stranded_writes
from .layout import ExplainerApp
from .links import URL_PARAMETERS, apply_link_settings
from .runtime import ModelRuntime
from .state import ExplainerState
from .static_files import static_text

def build_app(runtime: ModelRuntime, browser_language: str | None = None) -> pn.viewable.Viewable:
    """A new page for one browser session, its state synced with the URL's query string, in the language the
    link names (``lang``), else the one the browser prefers (its Accept-Language header, or ``browser_language``
    from the static site's page). A language picked in the page redraws it in that language on the same state.
    When the session's connection is lost the page says so and offers a reload; when the session is destroyed
    the app lets go."""
    send_stranded_writes()
    parse_links_tolerantly()
    headers = pn.state.headers if pn.state.curdoc is not None else {}
    preferred = language_from(browser_language or (headers or {}).get("Accept-Language"))
    state = ExplainerState(runtime, lang=preferred)
    shown = {"app": ExplainerApp(runtime, state)}
    page = pn.Column(shown["app"].layout(), sizing_mode="stretch_width", css_classes=["te-page"])

    def redraw_in_language(event) -> None:
        shown["app"].detach()
        shown["app"] = ExplainerApp(runtime, state)
        page.objects = [shown["app"].layout()]

    state.param.watch(redraw_in_language, "lang")
    if pn.state.location is not None:
        location = pn.state.location
        location.sync(state, URL_PARAMETERS,
                      on_error=lambda values: apply_link_settings(state, values, location.search))
    document = pn.state.curdoc
    if document is not None:
        document.js_on_event("connection_lost", CustomJS(code=static_text("connection_lost.js")))
        document.js_on_event("document_ready", CustomJS(code=static_text("run_on_ctrl_enter.js")))
        pn.state.on_session_destroyed(lambda session_context: shown["app"].close())
    return page
