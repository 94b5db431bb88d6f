"""A workaround for a bug in Panel 1.9.4 that this app meets (and the tests in tests/browser catch).

Kept apart from the app's own code: it reaches into Panel's private internals, and should be deleted
once a Panel release with the upstream fix is required.
"""

from __future__ import annotations


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
