"""The static site, built once for the session and served on 127.0.0.1; pages that may reach no other host.

``python build.py`` runs as a user runs it (a subprocess), on the tiny checkpoint, with Pyodide from
../shared/pyodide (tests skip, saying why, when that folder or Chromium is absent). Every page opens in a new
browser context (its own Cache Storage: a first visit) unless a test passes one; a request to any host but
127.0.0.1 is aborted and fails the test, as does a page error, a console error or a dialog.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from environment import IN_CI
from site_support import BUILD_OUTPUT, PYODIDE_DIR, SiteServer, build_site, wait_until_live

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))  # the page helpers of app_server.py


@pytest.fixture(scope="session")
def pyodide_dir() -> Path:
    if not (PYODIDE_DIR / "pyodide-lock.json").is_file():
        message = f"needs Pyodide 0.27.7 in {PYODIDE_DIR} (the project's shared data; set TE_SHARED_DIR)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return PYODIDE_DIR


@pytest.fixture(scope="session")
def site_dir(tiny_checkpoint, pyodide_dir, tmp_path_factory) -> Path:
    """The site (float16 weights) of the tiny checkpoint; what the build printed is in ``BUILD_OUTPUT`` beside it."""
    out = tmp_path_factory.mktemp("site") / "dist"
    result = build_site(tiny_checkpoint, out, "--pyodide-dir", str(pyodide_dir))
    assert result.returncode == 0, f"python build.py failed:\n{result.stdout}\n{result.stderr}"
    (out.parent / BUILD_OUTPUT).write_text(result.stdout)
    return out


@pytest.fixture(scope="session")
def long_site(pyodide_dir, tmp_path_factory) -> SiteServer:
    """A site whose model reads 1,024 tokens (the tiny checkpoint reads 128), 12 blocks of width 384: a 1,000-token
    prompt takes a few seconds in Pyodide, long enough to watch its progress and stop it."""
    from transformer_explainer.gpt2_core import GPT2Config
    from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint

    folder = tmp_path_factory.mktemp("long")
    checkpoint = write_random_checkpoint(folder / "checkpoint", GPT2Config(n_vocab=457, n_ctx=1024, n_embd=384,
                                                                           n_head=6, n_layer=12), seed=2, std=0.1)
    result = build_site(checkpoint, folder / "dist", "--pyodide-dir", str(pyodide_dir))
    assert result.returncode == 0, f"python build.py failed:\n{result.stdout}\n{result.stderr}"
    server = SiteServer(folder / "dist")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def site_model(site_dir):
    """The model the site runs: its own float16 shards, read by gpt2_core in this process."""
    from transformer_explainer.gpt2_core import load_model_from_shards

    return load_model_from_shards(site_dir / "model")


@pytest.fixture(scope="session")
def site_server(site_dir):
    server = SiteServer(site_dir)
    yield server
    server.stop()


@pytest.fixture
def site_copy(site_dir, tmp_path):
    """A copy of the site whose model folder a test may damage (everything else linked, not copied)."""
    copy = tmp_path / "site"
    copy.mkdir()
    for item in site_dir.iterdir():
        if item.name == "model":
            shutil.copytree(item, copy / "model")
        else:
            (copy / item.name).symlink_to(item)
    server = SiteServer(copy)
    yield server
    server.stop()


@pytest.fixture
def open_site(browser):
    """``open_site(url, query="", context=None, width=1280, height=900, live=True, offline_model=False,
    offline=False)``: a page on the site, loaded until the live app is drawn (``live=False``: return at once).
    ``offline_model``: any request for the model's files fails (and is recorded as an error); ``offline``: every
    request the page or its workers send to the network is refused (and recorded in ``page.te_refused``). After
    the test: no foreign request, no page error, console error or dialog in any of its pages."""
    from app_server import FIND_MODEL_JS

    contexts, pages = [], []

    def opener(url: str, query: str = "", context=None, width: int = 1280, height: int = 900, live: bool = True,
               offline_model: bool = False, offline: bool = False):
        if context is None:
            context = browser.new_context(viewport={"width": width, "height": height})
            contexts.append(context)
        page = context.new_page()
        page.te_errors, page.te_requests, page.te_refused = [], [], []

        def route(request_route):
            request = request_route.request
            if offline:  # no network at all: what the page gets comes from its service worker's cache
                page.te_refused.append(request.url)
                request_route.abort()
            elif offline_model and "/model/" in request.url:
                page.te_errors.append(f"a model file was requested: {request.url}")
                request_route.abort()
            elif request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
                request_route.continue_()
            else:
                page.te_errors.append(f"request to another host: {request.url}")
                request_route.abort()

        page.route("**/*", route)
        if offline:  # the service worker's own requests pass the context's routes only (Chromium)
            context.route("**/*", lambda request_route: (page.te_refused.append(request_route.request.url),
                                                         request_route.abort()))
        page.on("request", lambda request: page.te_requests.append(request.url))
        page.on("pageerror", lambda error: page.te_errors.append(f"pageerror: {error}"))
        page.on("console", lambda message: page.te_errors.append(f"console: {message.text}")
                if message.type == "error" else None)
        page.on("dialog", lambda dialog: (page.te_errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        page.add_init_script(FIND_MODEL_JS)
        pages.append(page)
        page.goto(url + query)
        if live:
            wait_until_live(page)
        return page

    yield opener
    errors = [error for page in pages for error in page.te_errors]
    for context in contexts:
        context.close()
    assert errors == [], f"errors in the page: {errors}"


