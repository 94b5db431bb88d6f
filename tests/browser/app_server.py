"""Drive the served explainer app in a browser: start ``transformer-explainer serve`` as a subprocess, open
pages, read the Bokeh document's data, and work its widgets like a person would (typing, clicking, dragging).

Shared by tests/browser/test_app_e2e.py and scripts/bench_app.py (which adds this folder to ``sys.path``).
Elements are found by the ``css_classes`` the app gives its widgets (``te-prompt``, ``te-temperature``, ...),
sections by ``te-section-<key>``, and Bokeh models by ``name`` (``output-source``, ``pattern-figure``, ...).
Every wait is on a condition, with a timeout; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SECTIONS = ("embedding", "block", "attention", "heads", "mlp", "output", "lens", "compare")
WAIT_MS = 15_000


# -- the server ------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command(model: str | Path, port: int) -> list[str]:
    """``transformer-explainer serve`` from this environment (the console script next to this Python)."""
    script = Path(sys.executable).with_name("transformer-explainer")
    if not script.exists():
        found = shutil.which("transformer-explainer")
        script = Path(found) if found else None
    base = [str(script)] if script else [sys.executable, "-c", "import sys; from transformer_explainer.app.cli import main; sys.exit(main())"]
    return [*base, "serve", "--model", str(model), "--port", str(port)]


class AppServer:
    """A ``transformer-explainer serve`` subprocess on a free port; ``url`` once it answers HTTP."""

    def __init__(self, model: str | Path, port: int | None = None, timeout: float = 120.0, env: dict | None = None,
                 command: list[str] | None = None):
        """``command``: another way to run ``serve --model MODEL`` (e.g. under a profiler); ``--port`` is added."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = Path(tempfile.mkstemp(prefix="te-serve-", suffix=".log")[1])
        self._log = self.log_path.open("w")
        command = [*command, "--port", str(self.port)] if command else serve_command(model, self.port)
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})})
        try:
            self._wait_until_up(timeout)
        except Exception:
            self.stop()
            raise

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app server exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the app server did not answer {self.url} within {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


# -- JavaScript run in the page --------------------------------------------------------------------------------

# The Bokeh model with this name in the page's document (null if none), and its data as plain arrays.
FIND_MODEL_JS = """
window.__te_find = (name) => {
  if (!window.Bokeh || Bokeh.documents.length === 0) return null;
  for (const model of Bokeh.documents[0]._all_models.values()) if (model.name === name) return model;
  return null;
};
window.__te_plain = (value) => {
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'number'
      || typeof value === 'boolean') return value;
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    const out = Array.from(value, (item) => window.__te_plain(item));
    if (value.shape) return {shape: Array.from(value.shape), values: out};
    return out;
  }
  return value;
};
// A column as a plain array, whether __te_plain gave an array or {shape, values}.
window.__te_array = (column) => Array.isArray(column) ? column : column.values;
window.__te_data = (name, columns) => {
  const source = window.__te_find(name);
  if (source === null) return null;
  const data = source.data instanceof Map ? Object.fromEntries(source.data) : source.data;
  const out = {};
  for (const key of columns || Object.keys(data)) out[key] = window.__te_plain(data[key]);
  return out;
};
// Count the replacements of a source's data (what the server sends; a CustomJS that edits a column in place
// and emits source.change is not counted) and note when the latest came (performance.now()).
window.__te_watch = (name) => {
  const source = window.__te_find(name);
  if (source === null) return false;
  window.__te_changes = window.__te_changes || {};
  const record = window.__te_changes[name] = {count: 0, last: null, any_change: 0};
  source.properties.data.change.connect(() => { record.count += 1; record.last = performance.now(); });
  source.change.connect(() => { record.any_change += 1; });
  return true;
};
"""

TOOLTIP_TEXT_JS = """() => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (el.classList && el.classList.contains('bk-tooltip-row-value') && el.offsetParent !== null)
        out.push(el.textContent.trim());
    }
  };
  walk(document);
  return out;
}"""

# Every element in the page, shadow roots included, that matches a CSS selector: [tag, src, outerHTML].
DEEP_QUERY_JS = """(selector) => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (el.matches(selector)) out.push([el.tagName, el.getAttribute('src'), el.outerHTML.slice(0, 200)]);
    }
  };
  walk(document);
  return out;
}"""

# The page coordinates of data point (x, y) in the named plot, once its view is drawn, scrolled into view and
# no longer moving (a section that just opened is still being laid out).
DATA_TO_PAGE_JS = """async ([name, x, y]) => {
  const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
  let view = null;
  for (let i = 0; i < 600 && view === null; i++) {
    const plot = window.__te_find(name);
    view = plot === null ? null : Bokeh.index.find_one_by_id(plot.id);
    if (view === null || !view.is_idle) { view = null; await frame(); }
  }
  if (view === null) throw new Error(`no drawn plot named ${name}`);
  let last = null;
  for (let i = 0; i < 600; i++) {
    view.el.scrollIntoView({block: 'center'});
    await frame();
    const box = view.canvas_view.el.getBoundingClientRect();
    const point = [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
    if (last !== null && point[0] === last[0] && point[1] === last[1]) return point;
    last = point;
  }
  return last;
}"""


# -- pages ----------------------------------------------------------------------------------------------------

def open_app(browser, url: str, width: int = 1280, height: int = 900, wait_for: str = "picture-token-source",
             before_goto=None):
    """A fresh page on the app at ``url``, loaded up to the named Bokeh model; ``page.te_errors`` collects page
    errors, console errors and dialogs (an ``alert`` means script from the page's data ran)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.te_errors = []
    page.on("pageerror", lambda error: page.te_errors.append(f"pageerror: {error}"))
    page.on("console", lambda message: page.te_errors.append(f"console: {message.text}")
            if message.type == "error" else None)
    page.on("dialog", lambda dialog: (page.te_errors.append(f"dialog (script ran): {dialog.message}"),
                                      dialog.dismiss()))
    page.add_init_script(FIND_MODEL_JS)
    if before_goto is not None:  # e.g. listen to the page's websocket from its first message
        before_goto(page)
    page.goto(url)
    page.wait_for_function("(name) => window.__te_find && window.__te_find(name) !== null", arg=wait_for,
                           timeout=60_000)
    return page


@contextmanager
def opened_pages(browser, base_url: str, width: int = 1280, height: int = 900,
                 wait_for: str = "picture-token-source"):
    """``opener(query="", width=..., height=..., wait_for=...)`` opens a fresh page on the app (``query``: a dict or
    a query string; the defaults are this call's); on leaving, every page closes and none may have had a page error,
    a console error or a dialog. The browser tests' ``open_page`` fixtures are this."""
    pages = []
    defaults = {"width": width, "height": height, "wait_for": wait_for}

    def opener(query: str | dict = "", **options):
        query = urlencode(query) if isinstance(query, dict) else query
        page = open_app(browser, base_url + (f"?{query}" if query else ""), **{**defaults, **options})
        pages.append(page)
        return page

    yield opener
    errors = [error for page in pages for error in page.te_errors]
    for page in pages:
        page.close()
    assert errors == [], f"errors in the page: {errors}"


def find(page, css: str):
    """The first element matching ``css`` (Playwright's CSS engine pierces Panel's shadow roots). A control in the
    header's drawer ("⋯ More": Next token, the number of tokens, top-k, top-p, seed, language, the tour, the
    picture's pickers, the token list) is found as a student finds it: the drawer is opened first."""
    open_menu_holding(page, css)
    return page.locator(css).first


def open_menu_holding(page, css: str) -> None:
    """Open the header's drawer if ``css`` names something inside it and it is closed."""
    if css.startswith("#") or page.locator(f".te-menu {css}").count() == 0:
        return
    if page.locator(".te-menu").first.is_visible():
        return
    page.locator(".te-menu-toggle button").first.click()
    page.locator(".te-menu").first.wait_for(state="visible")


def source_data(page, name: str, columns: list[str] | None = None) -> dict | None:
    return page.evaluate("([name, columns]) => window.__te_data(name, columns)", [name, columns])


def values(column) -> list:
    """A source's column as a list (a typed array arrives as ``{"values": [...]}``)."""
    return column["values"] if isinstance(column, dict) else column


# The picture's token rows (its source keeps a constant number of rows: those drawn have a position >= 0).
SHOWN_TOKENS_JS = """(key) => {
  const d = window.__te_data('picture-token-source', [key, 'position']);
  if (d === null) return null;
  const position = window.__te_array(d.position);
  return Array.from(window.__te_array(d[key])).filter((_, i) => position[i] >= 0);
}"""


def shown_tokens(page, key: str = "token_id") -> list:
    """A column (``token_id``, ``token``, ``position``) of the token rows the picture draws, top to bottom."""
    return page.evaluate(SHOWN_TOKENS_JS, key)


def wait_for_tokens(page, expected: list, key: str = "token_id", timeout: int = WAIT_MS) -> None:
    """Wait until the picture draws the token rows ``expected`` (the last rows of the prompt, as it shows them)."""
    page.wait_for_function(f"([key, expected]) => JSON.stringify(({SHOWN_TOKENS_JS})(key)) === JSON.stringify(expected)",
                           arg=[key, list(expected)], timeout=timeout)


def column(page, name: str, key: str) -> list:
    data = source_data(page, name, [key])
    return None if data is None else data[key]


def image(page, name: str) -> np.ndarray:
    """``data["image"][0]`` of a heatmap source, as a 2-D float32 array."""
    shown = column(page, name, "image")[0]
    if isinstance(shown, dict):
        return np.asarray(shown["values"], dtype=np.float32).reshape(shown["shape"])
    return np.asarray(shown, dtype=np.float32)


def model_property(page, name: str, prop: str):
    return page.evaluate("([name, prop]) => { const m = window.__te_find(name); return m === null ? null : "
                         "window.__te_plain(m[prop]); }", [name, prop])


def wait_js(page, expression: str, arg=None, timeout: int = WAIT_MS) -> None:
    """Wait until the JS function ``expression`` (of ``arg``) returns true."""
    page.wait_for_function(expression, arg=arg, timeout=timeout)


def wait_for_column(page, name: str, key: str, expected, timeout: int = WAIT_MS, tolerance: float = 0.0) -> None:
    """Wait until ``source.data[key]`` equals ``expected`` (numbers within ``tolerance`` relative)."""
    page.wait_for_function(
        """([name, key, expected, tolerance]) => {
             const data = window.__te_data(name, [key]);
             if (data === null || data[key] === undefined) return false;
             const shown = window.__te_array(data[key]);
             if (shown.length !== expected.length) return false;
             return shown.every((value, i) => typeof value === 'number' && typeof expected[i] === 'number'
               ? Math.abs(value - expected[i]) <= tolerance * Math.max(Math.abs(expected[i]), 1e-300)
               : value === expected[i]);
           }""", arg=[name, key, list(expected), tolerance], timeout=timeout)


def watch(page, *names: str) -> None:
    for name in names:
        assert page.evaluate("(name) => window.__te_watch(name)", name), f"no Bokeh model named {name!r}"


def changes(page, name: str) -> int:
    return page.evaluate("(name) => window.__te_changes[name].count", name)


# -- widgets --------------------------------------------------------------------------------------------------

def bokeh_widget_value(page, css_class: str, prop: str = "value", section: str | None = None):
    """A widget's value as the browser holds it: the Bokeh model of the (first) element with ``css_class``."""
    return page.evaluate("""([cls, prop, section]) => {
      for (const model of Bokeh.documents[0]._all_models.values()) {
        if (!(model.css_classes || []).includes(cls)) continue;
        if (section !== null) {
          const view = Bokeh.index.find_one_by_id(model.id);
          if (!view || !view.el.closest) continue;
          let el = view.el, inside = false;
          while (el) { if (el.classList && el.classList.contains('te-section-' + section)) { inside = true; break; }
                       el = el.parentNode || el.host; }
          if (!inside) continue;
        }
        return window.__te_plain(model[prop]);
      }
      return null;
    }""", [css_class, prop, section])


def section_open(page, key: str) -> bool:
    """Whether a section's card is expanded (its Bokeh model's ``collapsed`` is false)."""
    return page.evaluate("""(key) => { for (const m of Bokeh.documents[0]._all_models.values())
      if (m.name === 'section-' + key) return !m.collapsed; return null; }""", key)


def open_section(page, key: str, wait_for: str | None = None) -> None:
    """Click a section's header if it is closed; wait for one of its views (a Bokeh model name) to arrive."""
    if not section_open(page, key):
        header = page.locator(f".te-section-{key} .card-header").first
        header.scroll_into_view_if_needed()
        header.click()
        wait_js(page, "(key) => { for (const m of Bokeh.documents[0]._all_models.values()) "
                      "if (m.name === 'section-' + key) return !m.collapsed; return false; }", key)
    if wait_for:
        wait_js(page, "(name) => window.__te_find(name) !== null", wait_for)


def show_step(page, key: str, index: int) -> None:
    """Click the button of a section's step ``index`` (from 0); wait until that step is shown."""
    page.locator(f".te-steps-{key} button").nth(index).click()
    wait_js(page, """([key, index]) => { for (const m of Bokeh.documents[0]._all_models.values())
      if ((m.css_classes || []).includes(`te-step-${key}-${index}`)) return m.visible; return false; }""", [key, index])


def type_prompt(page, text: str, submit: bool = True) -> None:
    """Type ``text`` into the prompt box (replacing what is there) and press Run."""
    box = find(page, ".te-prompt textarea")
    box.click()
    box.press("Control+a")
    box.press("Delete")
    if text:
        box.type(text) if len(text) < 40 else box.fill(text)
    if submit:
        find(page, ".te-run button").click()


def chip_tokens(page) -> list[tuple[str, str]]:
    """The token chips under the prompt: (token text, id text) each, exactly as in the DOM."""
    return [tuple(chip) for chip in page.evaluate("""() => {
      const out = [];
      const walk = (root) => { for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) walk(el.shadowRoot);
        if (el.classList && el.classList.contains('te-token')) {
          const small = el.querySelector('small');
          out.push([el.firstChild.nodeType === Node.TEXT_NODE ? el.firstChild.textContent : '',
                    small ? small.textContent : '']);
        }
      } };
      walk(document);
      return out;
    }""")]


def wait_for_chips(page, tokens: list[str], timeout: int = WAIT_MS) -> None:
    page.wait_for_function("""(expected) => {
      const out = [];
      const walk = (root) => { for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) walk(el.shadowRoot);
        if (el.classList && el.classList.contains('te-token')) out.push(el.firstChild ? el.firstChild.textContent : '');
      } };
      walk(document);
      return out.length === expected.length && out.every((t, i) => t === expected[i]);
    }""", arg=tokens, timeout=timeout)


def slider_geometry(page, css: str) -> dict:
    """The noUiSlider under ``css``: the track's box and the handle's centre, in page (viewport) pixels."""
    find(page, f"{css} .noUi-handle").scroll_into_view_if_needed()
    track = find(page, f"{css} .noUi-base").bounding_box()
    handle = find(page, f"{css} .noUi-handle").bounding_box()
    return {"left": track["x"], "width": track["width"], "y": track["y"] + track["height"] / 2,
            "handle_x": handle["x"] + handle["width"] / 2, "handle_y": handle["y"] + handle["height"] / 2}


def drag_slider(page, css: str, fraction: float, steps: int = 12) -> None:
    """A real mouse drag: press on the handle, move in ``steps`` to ``fraction`` of the track, release."""
    box = slider_geometry(page, css)
    page.mouse.move(box["handle_x"], box["handle_y"])
    page.mouse.down()
    page.mouse.move(box["left"] + fraction * box["width"], box["handle_y"], steps=steps)
    page.mouse.up()


def hover(page, figure_name: str, x: float, y: float, rows: int = 1, timeout: int = WAIT_MS) -> list[str]:
    """Move the mouse over data point (x, y) of the named plot; the visible tooltip's values once shown."""
    sx, sy = page.evaluate(DATA_TO_PAGE_JS, [figure_name, x, y])
    page.mouse.move(sx - 3, sy - 3)
    page.mouse.move(sx, sy)
    page.wait_for_function(f"() => ({TOOLTIP_TEXT_JS})().length >= {rows}", timeout=timeout)
    return page.evaluate(TOOLTIP_TEXT_JS)


def hover_token(page, row: int, timeout: int = WAIT_MS) -> list[str]:
    """Hover the ``row``-th token row the picture draws; its tooltip's lines (position, token, id, bytes)."""
    data = source_data(page, "picture-token-source", ["left", "right", "y", "position"])
    drawn = [i for i, p in enumerate(values(data["position"])) if p == p and p >= 0]
    i = drawn[row]
    x = (values(data["left"])[i] + values(data["right"])[i]) / 2
    return hover(page, "picture-figure", x, values(data["y"])[i], rows=1, timeout=timeout)


# Note where the next pointerdown on the named plot lands, in data coordinates.
WATCH_TAP_JS = """(name) => {
  const view = Bokeh.index.find_one_by_id(window.__te_find(name).id);
  const canvas = view.canvas_view.el;
  window.__te_tap = null;
  canvas.addEventListener('pointerdown', (event) => {
    const box = canvas.getBoundingClientRect();
    window.__te_tap = [view.frame.x_scale.invert(event.clientX - box.left),
                       view.frame.y_scale.invert(event.clientY - box.top)];
  }, {capture: true, once: true});
}"""


def tap(page, figure_name: str, x: float, y: float, attempts: int = 3) -> None:
    """Click data point (x, y) of the named plot, and check that the click landed in the same cell (the page can
    move between measuring and clicking while a section is still being laid out); try again if it did not."""
    for _ in range(attempts):
        sx, sy = page.evaluate(DATA_TO_PAGE_JS, [figure_name, x, y])
        page.evaluate(WATCH_TAP_JS, figure_name)
        page.wait_for_timeout(450)  # past BokehJS's 300 ms double-tap window: two taps in a row stay two taps
        page.mouse.click(sx, sy)
        landed = page.evaluate("() => window.__te_tap")
        # (a picture scaled to the window gives the point back within a fraction of a unit, not exactly)
        if landed is not None and abs(landed[0] - x) < 0.5 and abs(landed[1] - y) < 0.5:
            return
    raise AssertionError(f"a tap on {figure_name} at ({x}, {y}) landed at {landed}")


def deep_query(page, selector: str) -> list:
    return page.evaluate(DEEP_QUERY_JS, selector)


SHOWN_IDS_JS = ("() => { const d = window.__te_data('picture-token-source', ['token_id', 'position']); "
                "if (d === null) return null; const position = window.__te_array(d.position); "
                "return Array.from(window.__te_array(d.token_id)).filter((_, i) => position[i] >= 0); }")


def assert_a_step_shows_its_pass(page, model, ids_before: list, drawn_id: int, temperature: float, *,
                                 rel_tolerance: float, abs_tolerance: float, timeout: int = WAIT_MS):
    """The picture shows the pass over ``ids_before`` (a step of the history): its token rows are those ids, its
    probabilities those of a traced pass here at ``temperature``, and the marked token ``drawn_id``. Returns that
    trace."""
    import pytest

    from transformer_explainer.gpt2_core import sampling

    wait_js(page, f"(ids) => JSON.stringify(({SHOWN_IDS_JS})()) === JSON.stringify(ids)", arg=ids_before,
            timeout=timeout)
    reference = model.run_with_trace(ids_before, head_results=True)
    expected = sampling.probabilities(reference.logits, temperature)
    shown = {key: values(column) for key, column in
             source_data(page, "picture-probability-source", ["token_id", "probability", "is_sampled"]).items()}
    ids = [int(i) for i in shown["token_id"]]
    for token_id, probability in zip(ids, shown["probability"]):
        if token_id >= 0:
            assert float(probability) == pytest.approx(float(expected[token_id]), rel=rel_tolerance,
                                                       abs=abs_tolerance)
    assert [token_id for token_id, sampled in zip(ids, shown["is_sampled"]) if sampled] == [drawn_id]
    return reference
