"""Serving the app with Panel (CPython): ``transformer-explainer serve``."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
import webbrowser

import panel as pn

from transformer_explainer.viz.i18n import DEFAULT_LANGUAGE, said_in

from .page import build_app
from .runtime import load_runtime


class ServeError(RuntimeError):
    """The server cannot start where it was asked to (a bad address, a port in use); the message says what to do."""


def serve(model: str | None = None, revision: str | None = None, port: int = 5006, address: str = "127.0.0.1",
          show: bool = False, use_onnx: bool = False, websocket_origins: list[str] | None = None, start: bool = True):
    """Load the model once, then give every browser session its own page and state.

    The address and port are checked first, before the model loads (seconds) and before the URL is printed."""
    check_can_listen(address, port)
    runtime = load_runtime(model, revision=revision, use_onnx=use_onnx)
    pn.extension(notifications=False)
    origins = [f"localhost:{port}", f"127.0.0.1:{port}", *(websocket_origins or [])]
    url = f"http://{address}:{port}/"
    print(f"Transformer Explainer: {runtime.model!r} on {url}", flush=True)
    if runtime.notice:  # the page's banner, said here too: above all that this is a demo model, not GPT-2
        print(said_in(runtime.notice, DEFAULT_LANGUAGE), flush=True)
    if show and not can_open_browser():
        print(f"open {url} in a browser (no web browser can be started from here)", flush=True)
        show = False
    return pn.serve({"/": lambda: session_page(runtime)}, port=port, address=address, show=show, start=start,
                    title="Transformer Explainer", websocket_origin=origins, verbose=False,
                    check_unused_sessions_milliseconds=SESSION_CHECK_MS,
                    http_server_kwargs={"max_header_size": MAX_REQUEST_HEADER_BYTES})


# How often the server looks for sessions to release (Bokeh's default: 17 s). A session whose page closed is
# released at the next look (see release_when_the_page_goes); one whose page never connected, after Bokeh's
# unused-session lifetime (15 s), which gives a slow browser time to open its connection.
SESSION_CHECK_MS = 1000
# A shared link carries the prompt, so its URL can be long: 100 kB of text, percent-encoded. Tornado drops a request
# whose headers pass 64 kB without a word (the browser shows "empty response"); with room for the longest URL a
# browser sends (Chromium: 2 MB), twice (the page's URL, then the websocket's URL and token), such a link opens and
# the page says the prompt is too long.
MAX_REQUEST_HEADER_BYTES = 8 << 20


def session_page(runtime):
    """One browser session's page, released as soon as the page goes."""
    page = build_app(runtime)
    release_when_the_page_goes(pn.state.curdoc)
    return page


def release_when_the_page_goes(document) -> None:
    """When the page's connection closes (the tab closed, a reload, the network gone), ask Bokeh to destroy its
    session at the next check instead of keeping it for its unused-session lifetime: the page cannot come back
    to it (the app does not reconnect; a reload opens a new session). Left alone, 40 pages opened and closed
    kept about 30 sessions alive at once and the server's memory grew from 108 to 197 MB; released at once, it
    stays within a few MB."""
    context = document.session_context if document is not None else None
    if context is None:  # not served (a test, a notebook)
        return
    session_id = context.id

    def expire(event) -> None:
        for session in context.server_context.sessions:
            if session.id == session_id:
                session.request_expiration()  # destroyed once it has no connection left

    document.on_event("connection_lost", expire)


def check_can_listen(address: str, port: int) -> None:
    """Raise a ServeError, saying what to do, unless a server can listen on (address, port) now: bind a socket
    to each address it resolves to (as Tornado will) and close it again."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ServeError(f"--port must be a whole number from 1 to 65535, got {port!r}")
    for family, kind, proto, sockaddr in listening_addresses(address, port):
        with socket.socket(family, kind, proto) as probe:
            if os.name != "nt":  # as Tornado: a port left in TIME_WAIT by a stopped server is free
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(sockaddr)
            except OSError as error:
                raise ServeError(bind_failure(address, port, error)) from None


def listening_addresses(address: str, port: int) -> list[tuple]:
    """(family, type, proto, sockaddr) for each address ``address`` stands for; a ServeError if none."""
    advice = "give an IP address of this machine (127.0.0.1; 0.0.0.0 for every network) or a host name of it"
    if not isinstance(address, str) or not address.strip():
        raise ServeError(f"--address must not be empty: {advice}")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        if all(part.isdigit() for part in address.split(".")):  # 256.0.0.1: a broken IP, not a host name to look up
            raise ServeError(f"--address {address} is not a valid IP address (each of its four numbers is 0 to 255): "
                             f"{advice}") from None
    try:
        infos = socket.getaddrinfo(address, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ServeError(f"--address {address} cannot be resolved ({reason}): {advice}") from None
    return list(dict.fromkeys((family, kind, proto, sockaddr) for family, kind, proto, _, sockaddr in infos))


def bind_failure(address: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (f"port {port} is already in use on {address} (another server, perhaps an earlier "
                f"transformer-explainer serve): stop it, or choose another port with --port")
    if error.errno == errno.EACCES:
        return (f"not allowed to listen on port {port} (ports below 1024 need administrator rights): "
                f"choose a port from 1024 up with --port")
    if error.errno == errno.EADDRNOTAVAIL:
        return (f"--address {address} is not an address of this machine: use 127.0.0.1 (this machine only) "
                f"or 0.0.0.0 (every network)")
    return f"cannot listen on {address}:{port} ({error.strerror or error}): choose another --address or --port"


def can_open_browser() -> bool:
    """Whether ``webbrowser`` can start a browser here: not on Linux without a display, nor with none registered."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True
