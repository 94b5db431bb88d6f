"""Preview a built static site on 127.0.0.1: ``python build.py serve [--out dist] [--port 8000]``.

Any static host serves the site; this one adds what a local preview needs:

- the MIME types browsers insist on (``application/wasm`` for WebAssembly, ``text/javascript`` for ``.mjs``);
- cross-origin isolation (COOP/COEP), which onnxruntime-web needs for more than one thread;
- gzip for text and WebAssembly, as static hosts do (the site's byte counts are then those of a real visit).
"""

from __future__ import annotations

import email.utils
import functools
import gzip
import http.server
import socketserver
import sys
from pathlib import Path

MIME_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
              ".json": "application/json", ".whl": "application/zip", ".bin": "application/octet-stream",
              ".onnx": "application/octet-stream", ".txt": "text/plain; charset=utf-8", ".zip": "application/zip"}
COMPRESSED = {".wasm", ".js", ".mjs", ".json", ".css", ".html", ".txt"}
HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
           "Cross-Origin-Resource-Policy": "same-origin", "Cache-Control": "no-cache"}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    _gzipped: dict = {}  # (path, mtime) -> compressed bytes, shared by the server's threads

    sends_isolation = True  # COOP/COEP/CORP; a test turns them off to be a host like GitHub Pages

    def end_headers(self):
        for name, value in HEADERS.items():
            if self.sends_isolation or not name.startswith("Cross-Origin"):
                self.send_header(name, value)
        super().end_headers()

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if path.suffix in COMPRESSED and path.is_file() and "gzip" in self.headers.get("Accept-Encoding", ""):
            return self.send_gzipped(path)
        return super().do_GET()

    def send_gzipped(self, path: Path) -> None:
        modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
        if self.headers.get("If-Modified-Since") == modified:  # a second visit revalidates: nothing to send
            self.send_response(304)
            self.end_headers()
            return
        key = (str(path), path.stat().st_mtime_ns)
        body = self._gzipped.get(key)
        if body is None:
            body = self._gzipped[key] = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", modified)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # a quiet preview: errors only
        if args and str(args[1]).startswith(("4", "5")):
            super().log_message(format, *args)


class SiteServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class PlainHostHandler(SiteHandler):
    """A host that sends no cross-origin isolation headers (as GitHub Pages): the page is isolated only where its
    service worker serves it."""

    sends_isolation = False


def make_server(directory: str | Path, port: int = 8000, address: str = "127.0.0.1",
                isolation_headers: bool = True) -> SiteServer:
    directory = Path(directory)
    if not (directory / "index.html").is_file():
        raise FileNotFoundError(f"{directory} holds no built site (no index.html): run `python build.py` first")
    handler = functools.partial(SiteHandler if isolation_headers else PlainHostHandler, directory=str(directory))
    return SiteServer((address, port), handler)


def serve_site(directory: str | Path, port: int = 8000) -> int:
    try:
        server = make_server(directory, port)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot listen on 127.0.0.1:{port} ({error.strerror or error}); try --port with another "
              f"number", file=sys.stderr)
        return 2
    print(f"Serving {directory} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
