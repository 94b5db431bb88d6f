"""Workarounds for bugs in Panel 1.9.4 that this app meets (and the tests in tests/browser, tests/reliability catch).

Kept apart from the app's own code: it reaches into Panel's private internals, and should be deleted
once a Panel release with the upstream fix is required.
"""

from __future__ import annotations

from typing import Callable


def after_this_change(then: Callable[[], object]) -> None:
    """``then()`` once Panel has sent the change being made now: in a served page at the next tick, else (a page
    without a server session: the static site's worker, a test) at once. In a served page Panel folds a change made
    in the same callback into what it is already sending: a change to a model just added arrives as that model's
    first state (which a browser-side callback does not hear), and a setting changed while Panel applies the link's
    settings back to the URL is not sent at all."""
    import panel as pn

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
