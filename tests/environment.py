"""Where the tests find what they need outside the repository: the shared data, a system Chromium.

Imported by conftest.py and by tests (``from environment import ...``). A module of its own, because every
conftest.py is a module named ``conftest``: ``from conftest import`` gets whichever was imported first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("TE_SHARED_DIR", REPO_ROOT.parent / "shared"))
GPT2_TOKENIZER_DIR = SHARED_DIR / "gpt2-tokenizer"
REFERENCE_LOGITS_DIR = SHARED_DIR / "reference" / "gpt2-small-logits"
IN_CI = bool(os.environ.get("CI"))


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared data; set TE_SHARED_DIR to its folder)")
    return path


def find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
                      shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def run_in_own_thread(function, *args):
    """``function(*args)`` in a thread of its own (see run_async): for code that runs an event loop itself."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(function, *args).result()


def run_async(coroutine):
    """``asyncio.run(coroutine)`` in a thread of its own: once a browser test has started Playwright's sync API,
    this thread holds its running event loop, and ``asyncio.run`` here would refuse."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()
