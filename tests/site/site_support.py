"""What the static site's tests share (a module of its own: a second ``conftest`` module would clash with the
others under that name; see tests/environment.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from environment import REPO_ROOT, SHARED_DIR

PYODIDE_DIR = SHARED_DIR / "pyodide"
BUILD_OUTPUT = "build-output.txt"  # what ``python build.py`` printed, beside the site it built
LIVE_TIMEOUT_MS = 120_000


def build_site(model: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "build.py"), "--model", str(model), "--out", str(out),
                           *extra], capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)


class SiteServer:
    """``python build.py serve``'s server on a free port, in a thread."""

    def __init__(self, directory: Path, isolation_headers: bool = True):
        from transformer_explainer.app.site_server import make_server

        self.directory = directory
        self.server = make_server(directory, 0, isolation_headers=isolation_headers)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until_live(page, timeout: int = LIVE_TIMEOUT_MS) -> None:
    page.wait_for_function("() => document.body.dataset.live === 'true' || !!(window.__te_site || {}).error",
                           timeout=timeout)
    error = page.evaluate("() => window.__te_site.error")
    assert error is None, f"the live app did not start: {error}"
