"""Every place the app reaches into the private internals of Panel, Bokeh or Pyodide, and the workarounds for their
bugs: here and nowhere else (tests/app/test_compat.py fails when a pinned upgrade removes what a function relies
on, and when code outside this module reaches for a private name of those packages).

Checked on Panel 1.9.4, Bokeh 3.9.2 (CPython) and Pyodide 0.27.7 with the same Panel and Bokeh (the static site).
Each function says what it touches and why; each is a no-op, or falls back to the public behaviour, where the
internals differ. Delete a function once a release with the upstream fix is required.

JavaScript that leans on BokehJS internals lives in app/static (connection_lost.js: the event's private
``connection``; run_on_ctrl_enter.js: a text area's and a button's DOM elements), named by the functions below
that hand it to the page.
"""

from __future__ import annotations

from typing import Callable

import panel as pn
import param

def after_this_change(then: Callable[[], object]) -> None:
    """``then()`` once Panel has sent the change being made now: in a served page at the next tick, else (a page
    without a server session: the static site's worker, a test) at once. In a served page Panel folds a change made
    in the same callback into what it is already sending: a change to a model just added arrives as that model's
    first state (which a browser-side callback does not hear), and a setting changed while Panel applies the link's
    settings back to the URL is not sent at all."""
    document = pn.state.curdoc
    if document is not None and document.session_context is not None:
        document.add_next_tick_callback(then)
    else:
        then()


def send_stranded_writes() -> None:
    """Fix a race in Panel 1.9's queue of browser updates (``panel.io.document._dispatch_msgs``; rewritten
    upstream, not released here). Updates made while earlier ones are being written are queued and a write task
    is started; several such tasks share one "writing" flag per document, and the first to finish clears it, so a
    task that re-queued updates (the socket was busy) then finds the flag cleared and returns without sending
    them. They wait until the browser's next event: after a fast temperature drag the chart keeps an old
    temperature, after "Generate" the buttons stay disabled and the prompt does not grow. Wrapped here: after each
    write task, updates still queued with no task left to send them are sent. Idempotent; a no-op where Panel's
    internals differ."""
    from panel.io import document as panel_document

    dispatch = getattr(panel_document, "_dispatch_msgs", None)
    queued, writing = getattr(panel_document, "_WRITE_MSGS", None), getattr(panel_document, "_WRITE_BLOCK", None)
    start_task = getattr(panel_document, "_dispatch_write_task", None)
    if dispatch is None or queued is None or writing is None or start_task is None \
            or getattr(dispatch, "sends_stranded_writes", False):
        return

    async def dispatch_and_send_stranded(doc):
        await dispatch(doc)
        if queued.get(doc) and doc not in writing:
            writing[doc] = True
            start_task(doc, dispatch_and_send_stranded, doc)

    dispatch_and_send_stranded.sends_stranded_writes = True
    panel_document._dispatch_msgs = dispatch_and_send_stranded


def parse_links_tolerantly() -> None:
    """Make a link's unreadable value a text instead of a page that never loads. Panel's URL parser
    (``panel.util.parse_query``) reads a value of digits with ``int()``, which raises for more than 4,300 digits
    and for digits ``int`` does not know ("²"); the error escapes ``Location.sync`` and the session is never
    made. Wrapped here, per value: a value Panel cannot parse is kept as the text it is, for the state to check
    and name. Idempotent; a no-op where Panel's internals differ."""
    from urllib.parse import parse_qsl, urlencode

    from panel.io import location as panel_location

    parse = getattr(panel_location, "parse_query", None)
    if parse is None or getattr(parse, "keeps_unreadable_values", False):
        return

    def parse_query(query: str) -> dict:
        try:
            return parse(query)
        except Exception:  # noqa: BLE001 - whatever Panel's parser raises, the values are read one by one
            parsed = {}
            for key, value in parse_qsl(query[1:]):
                try:
                    parsed.update(parse("?" + urlencode({key: value})))
                except Exception:  # noqa: BLE001
                    parsed[key] = value
            return parsed

    parse_query.keeps_unreadable_values = True
    panel_location.parse_query = parse_query


def answer_at_once(*widgets: pn.widgets.Widget) -> None:
    """Apply a change from the page at once. Panel waits 50 ms (``_debounce``, no public setting) before it applies
    a slider's or a button group's change; re-sampling or showing a step takes milliseconds, and a tap right after
    a switch must see it (the switch would otherwise arrive after the tap)."""
    for widget in widgets:
        widget._debounce = 0


def drop_every_watcher(parameterized: param.Parameterized) -> None:
    """Forget every watcher on ``parameterized`` (ours, the widgets' links, the URL sync), so that a page's objects
    are freed when its session ends rather than at the next full garbage collection. param has no public call that
    removes watchers it did not hand out; its per-instance table is replaced."""
    parameterized.param.watchers = {}


class WholeNumberBox(pn.widgets.IntInput):
    """A box for a whole number that hands on whatever the browser sends, for the state to check and explain.

    Panel's IntInput refuses an emptied box (None) and numbers past JavaScript's integers (1e+23 arrives as a
    float) with a traceback in the server log, keeping its old value, so the box and the number used differ; and
    with start/end set, the browser clamps a typed -5 to 0 without showing it. So: no bounds here, and a value
    the browser cannot show (text from a link, a number too large for a float) leaves the box empty, while the
    message quotes it. (Overrides Panel's private ``_process_param_change``, the one hook between a parameter and
    what the browser is sent.)"""

    value = param.Parameter(default=0)
    value_throttled = param.Parameter(default=None, constant=True)

    def _process_param_change(self, params: dict) -> dict:
        for key in ("value", "value_throttled"):
            if key in params:
                params[key] = self.shown(params[key])
        return super()._process_param_change(params)

    @staticmethod
    def shown(value):
        """``value`` as the browser's number box can hold it: a number (as a float past 2**53), else None."""
        import math

        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if isinstance(value, int) and abs(value) > 2**53:
            try:
                value = float(value)
            except OverflowError:
                return None
        return value if math.isfinite(value) else None


# -- Pyodide: the static site's worker (app/browser.py) ------------------------------------------------------------

def give_pyodide_a_jsnull() -> None:
    """Panel >= 1.8.2 compares values with ``pyodide.ffi.jsnull``, which Pyodide has only from 0.28; on 0.27 every
    event from the page would raise AttributeError (the page draws, nothing reacts). On 0.27 a JS null already
    arrives as None, so a marker that nothing equals is right."""
    import pyodide.ffi

    if not hasattr(pyodide.ffi, "jsnull"):
        pyodide.ffi.jsnull = object()


def send_document_changes_to(send_patch: Callable) -> None:
    """From now on every change Python makes to the worker's document goes to the page through ``send_patch``
    (Panel's own worker link, ``panel.io.pyodide._link_docs_worker``: no public equivalent)."""
    from panel.io.pyodide import _link_docs_worker

    _link_docs_worker(pn.state.curdoc, send_patch, setter="js")


def apply_change_from_page(patch) -> None:
    """A change the student made in the page (a JSON patch from the page's BokehJS), applied to the worker's
    document (``panel.io.pyodide._convert_json_patch`` turns the page's JS objects into Python ones)."""
    from panel.io.pyodide import _convert_json_patch

    pn.state.curdoc.apply_json_patch(_convert_json_patch(patch), setter="js")
