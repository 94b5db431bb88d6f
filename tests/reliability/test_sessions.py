"""A page that goes lets go of everything its session held on the server.

The app is served in this process (``app.server.serve`` on its own thread and event loop) and a page is opened
with Bokeh's own Python client (a websocket session, as a browser's, without the browser). When the client closes,
the session must be destroyed at once (not after Bokeh's 15 s unused-session lifetime) and its ExplainerApp and
ExplainerState freed: nothing global (Panel's registries, the shared runtime, a callback) may still hold them.
The memory this saves, 40 pages opened and closed, is measured by scripts/bench_reliability.py.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref

import pytest
from bokeh.client import pull_session

from transformer_explainer.app.layout import ExplainerApp
from transformer_explainer.app.state import ExplainerState

pytestmark = pytest.mark.reliability
UNUSED_SESSION_LIFETIME_S = 15  # Bokeh's default: how long a session without a page would otherwise live


@pytest.fixture(scope="module")
def served_here(tiny_checkpoint):
    """``serve()`` on a thread of this process: (server, url)."""
    from app_server import free_port

    from transformer_explainer.app.server import serve

    started, box = threading.Event(), {}

    def run():
        asyncio.set_event_loop(asyncio.new_event_loop())
        server = box["server"] = serve(str(tiny_checkpoint), port=free_port(), start=False)
        server.start()
        started.set()
        server.io_loop.start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(60), "the server did not start"
    server = box["server"]
    yield server, f"http://127.0.0.1:{server.port}/"
    server.io_loop.add_callback(server.stop)
    server.io_loop.add_callback(server.io_loop.stop)
    thread.join(10)


class PageClient:
    """Bokeh's Python client on a thread of its own (its own event loop: the browser tests' Playwright keeps one
    running on this thread): ``open()`` pulls a page's session, ``close()`` closes its connection."""

    def __init__(self, url: str):
        self.url, self.document = url, None
        self._opened, self._close, self._closed = threading.Event(), threading.Event(), threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            session = pull_session(url=self.url)
            self.document = session.document
        except Exception as error:  # noqa: BLE001 - handed to the test's thread
            self._error = error
            self._opened.set()
            return
        self._opened.set()
        self._close.wait()
        session.close()
        self._closed.set()

    def open(self) -> None:
        self._thread.start()
        assert self._opened.wait(60), "the page's session did not open"
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._close.set()
        assert self._closed.wait(30), "the page's connection did not close"


def live(kind) -> list:
    return [obj for obj in gc.get_objects() if isinstance(obj, kind)]


def sessions(server) -> int:
    return sum(len(context.sessions) for context in server._tornado._applications.values())


def test_when_its_page_closes_a_session_is_destroyed_and_its_app_and_state_are_freed(served_here):
    server, url = served_here
    apps_before = {id(app) for app in live(ExplainerApp)}
    client = PageClient(url)
    client.open()
    opened = [app for app in live(ExplainerApp) if id(app) not in apps_before]
    assert len(opened) == 1, "pulling the page made no app (or more than one)"
    app, state = weakref.ref(opened[0]), weakref.ref(opened[0].state)
    assert isinstance(state(), ExplainerState) and sessions(server) == 1
    del opened
    assert client.document.get_model_by_name("section-embedding") is not None  # a real page, with its sections

    client.close()
    deadline = time.monotonic() + UNUSED_SESSION_LIFETIME_S * 2 / 3  # well before Bokeh would drop it anyway
    while (sessions(server) or app() is not None or state() is not None) and time.monotonic() < deadline:
        time.sleep(0.2)
        gc.collect()
    assert sessions(server) == 0, "the session outlived its page"
    referrers = [type(r).__name__ for r in gc.get_referrers(app())] if app() is not None else []
    assert app() is None and state() is None, f"the closed page's app is still held, by {referrers}"
