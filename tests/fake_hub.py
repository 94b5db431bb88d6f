"""A tiny stand-in for huggingface.co, so the real download code (``hf_hub_download``) runs in tests.

It serves checkpoint directories the way the Hub serves model repositories to ``huggingface_hub``:

- ``HEAD``/``GET {endpoint}/{repo_id}/resolve/{revision}/{filename}`` answers with the headers
  ``hf_hub_download`` reads: ``X-Repo-Commit`` (the commit the revision resolves to), ``ETag`` (the git
  blob sha1 of a regular file), ``Content-Length``, and for large ("LFS") files ``X-Linked-Etag``
  (their sha256) and ``X-Linked-Size``.
- Large files (``*.safetensors``, ``*.bin``) are, like on the Hub, not served by ``resolve`` itself: it
  answers ``302`` to a "CDN" URL on another host name (``localhost`` instead of ``127.0.0.1``), so
  ``huggingface_hub`` takes the metadata from the redirect and downloads from the CDN URL.
- ``Range: bytes=N-`` is honoured (``206`` + ``Content-Range``): ``huggingface_hub`` resumes a broken
  download with it.
- Errors carry the ``X-Error-Code`` header ``huggingface_hub`` maps to its exceptions: an unknown
  repository answers ``401 RepoNotFound`` (what the Hub says to anonymous users), an unknown revision
  ``404 RevisionNotFound``, a missing file ``404 EntryNotFound`` (with ``X-Repo-Commit``), a gated
  repository ``401 GatedRepo``.

Every request is recorded (``hub.requests``) so a test can check what was downloaded and that a
second load is served from the cache. ``hub.fail_next(...)`` makes chosen requests fail (a 500, a
connection that breaks mid-body) to test recovery and error messages.

Use it as a context manager::

    with FakeHub() as hub:
        commit = hub.add_revision("org/tiny-gpt2", checkpoint_dir)          # branch "main"
        load_model("org/tiny-gpt2", endpoint=hub.endpoint, cache_dir=tmp_path)
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".h5", ".msgpack", ".onnx")
COMMIT_PATTERN = re.compile(r"[0-9a-f]{40}")


def git_blob_sha1(data: bytes) -> str:
    """The id git gives a file's content: the Hub's ETag for a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    host: str
    range: str | None
    filename: str | None  # the repository file asked for (resolve or CDN URL), if any


@dataclass(frozen=True)
class Failure:
    """Fail requests matching ``method`` and ``filename`` (None matches any): ``status`` answers with that
    HTTP status, ``truncate_at`` sends the headers of the full file then closes after that many bytes."""
    method: str | None
    filename: str | None
    status: int | None = None
    truncate_at: int | None = None


class FakeHub:
    def __init__(self, lfs_redirect: bool = True):
        self.lfs_redirect = lfs_redirect
        self.branches: dict[str, dict[str, str]] = {}          # repo_id -> {branch or tag: commit}
        self.commits: dict[tuple[str, str], dict[str, bytes]] = {}  # (repo_id, commit) -> {filename: bytes}
        self.gated: set[str] = set()
        self.blobs: dict[str, tuple[str, bytes]] = {}           # sha256 -> (filename, bytes), the "CDN"
        self.requests: list[Request] = []
        self._failures: list[list] = []                         # [Failure, remaining count]
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    # -- content -------------------------------------------------------------------------------------

    def add_revision(self, repo_id: str, files: str | Path | dict[str, bytes], revision: str = "main",
                     *, only: tuple[str, ...] | None = None) -> str:
        """Publish ``files`` (a directory, or {name: bytes}) as a new commit of ``repo_id`` and point the
        branch ``revision`` at it. ``only`` keeps just those file names. Returns the 40-hex commit id."""
        if not isinstance(files, dict):
            directory = Path(files)
            files = {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if path.is_file()}
        if only is not None:
            files = {name: data for name, data in files.items() if name in only}
        digest = hashlib.sha1(repo_id.encode() + b"\0" + revision.encode())
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
        commit = digest.hexdigest()
        with self._lock:
            self.commits[(repo_id, commit)] = dict(files)
            self.branches.setdefault(repo_id, {})[revision] = commit
            for name, data in files.items():
                self.blobs[hashlib.sha256(data).hexdigest()] = (name, data)
        return commit

    def gate(self, repo_id: str) -> None:
        """Make ``repo_id`` gated: anonymous requests are refused as the Hub refuses them."""
        self.gated.add(repo_id)

    def fail_next(self, *, method: str | None = None, filename: str | None = None, status: int | None = None,
                  truncate_at: int | None = None, times: int = 1) -> None:
        """Make the next ``times`` matching requests fail (see ``Failure``)."""
        with self._lock:
            self._failures.append([Failure(method, filename, status, truncate_at), times])

    # -- what happened -------------------------------------------------------------------------------

    def count(self, method: str | None = None, filename: str | None = None) -> int:
        return sum(1 for r in self.requests
                   if (method is None or r.method == method) and (filename is None or r.filename == filename))

    def downloads(self) -> list[str]:
        """The file names whose content was sent (GET requests answered with a body)."""
        return [r.filename for r in self.requests if r.method == "GET" and r.filename]

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- server --------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeHub":
        hub = self

        class Handler(HubRequestHandler):
            fake_hub = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port or 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering: later requests are refused (connection refused), as when offline."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- used by the handler -------------------------------------------------------------------------

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_failure(self, method: str, filename: str | None) -> Failure | None:
        with self._lock:
            for entry in self._failures:
                failure, remaining = entry
                if remaining > 0 and failure.method in (None, method) and failure.filename in (None, filename):
                    entry[1] -= 1
                    return failure
        return None

    def _resolve(self, repo_id: str, revision: str) -> str | None:
        branches = self.branches.get(repo_id, {})
        if revision in branches:
            return branches[revision]
        if COMMIT_PATTERN.fullmatch(revision) and (repo_id, revision) in self.commits:
            return revision
        return None


class HubRequestHandler(BaseHTTPRequestHandler):
    fake_hub: FakeHub
    # One request per connection: once ``stop()`` returns no kept-alive connection can still be answered.
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # keep pytest's output clean
        pass

    def do_HEAD(self):
        self.answer(send_body=False)

    def do_GET(self):
        self.answer(send_body=True)

    def answer(self, send_body: bool) -> None:
        hub = self.fake_hub
        path = urlsplit(self.path).path
        host = (self.headers.get("Host") or "").split(":")[0]
        if path.startswith("/cdn/"):
            sha256 = path.removeprefix("/cdn/")
            name = hub.blobs.get(sha256, (None, b""))[0]
            hub._record(Request(self.command, path, host, self.headers.get("Range"), name))
            if failure := hub._take_failure(self.command, name):
                return self.fail(failure, hub.blobs[sha256][1] if name else b"", send_body)
            if name is None:
                return self.error(404, "EntryNotFound", "Blob not found")
            return self.send_file(hub.blobs[sha256][1], name, {}, send_body)

        match = re.fullmatch(r"/(?P<repo>[^/]+(?:/[^/]+)?)/resolve/(?P<revision>[^/]+)/(?P<filename>.+)", path)
        filename = unquote(match["filename"]) if match else None
        hub._record(Request(self.command, path, host, self.headers.get("Range"), filename))
        if match is None:
            return self.error(404, None, "Not Found")
        repo_id, revision = unquote(match["repo"]), unquote(match["revision"])
        if failure := hub._take_failure(self.command, filename):
            commit = hub._resolve(repo_id, revision)
            data = hub.commits.get((repo_id, commit), {}).get(filename, b"") if commit else b""
            return self.fail(failure, data, send_body)
        if repo_id not in hub.branches:
            return self.error(401, "RepoNotFound", "Repository not found")
        if repo_id in hub.gated:
            return self.error(401, "GatedRepo", "Access to model " + repo_id + " is restricted. You must have "
                              "access to it and be authenticated to access it. Please log in.")
        commit = hub._resolve(repo_id, revision)
        if commit is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + revision)
        files = hub.commits[(repo_id, commit)]
        if filename not in files:
            return self.error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": commit})
        data = files[filename]
        headers = {"X-Repo-Commit": commit}
        if filename.endswith(LFS_SUFFIXES):
            sha256 = hashlib.sha256(data).hexdigest()
            headers.update({"ETag": f'"{sha256}"', "X-Linked-Etag": f'"{sha256}"', "X-Linked-Size": str(len(data))})
            if hub.lfs_redirect:  # the Hub sends large files from its CDN, on another host
                headers["Location"] = f"http://localhost:{hub.port}/cdn/{sha256}"
                return self.send(302, b"", headers, send_body)
        else:
            headers["ETag"] = f'"{git_blob_sha1(data)}"'
        return self.send_file(data, filename, headers, send_body)

    def send_file(self, data: bytes, filename: str, headers: dict, send_body: bool) -> None:
        name = filename.rsplit("/", 1)[-1]
        headers = {**headers, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream",
                   "Content-Disposition": f"inline; filename*=UTF-8''{name}; filename=\"{name}\";"}
        if "ETag" not in headers:
            headers["ETag"] = f'"{hashlib.sha256(data).hexdigest()}"'
        byte_range = self.headers.get("Range")
        if byte_range:
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", byte_range.strip())
            if match is None or int(match[1]) >= len(data):
                return self.send(416, b"", {"Content-Range": f"bytes */{len(data)}"}, send_body)
            start = int(match[1])
            end = min(int(match[2]) if match[2] else len(data) - 1, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self.send(206, data[start:end + 1], headers, send_body)
        return self.send(200, data, headers, send_body)

    def fail(self, failure: Failure, data: bytes, send_body: bool) -> None:
        if failure.status is not None:
            return self.error(failure.status, None, "Simulated failure")
        # A connection that breaks mid-body: announce the whole file, send part of it, hang up.
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if send_body:
            self.wfile.write(data[:failure.truncate_at or 0])
            self.wfile.flush()
        self.close_connection = True

    def error(self, status: int, code: str | None, message: str, headers: dict | None = None) -> None:
        headers = dict(headers or {})
        if code:
            headers["X-Error-Code"] = code
        headers["X-Error-Message"] = message
        body = ('{"error": "%s"}' % message.replace('"', "'")).encode()
        headers["Content-Type"] = "application/json"
        self.send(status, body, headers, send_body=self.command != "HEAD")

    def send(self, status: int, body: bytes, headers: dict, send_body: bool) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)
