"""The animated derivations in headless Chromium: standalone pages (viz/standalone.py) opened from file://, the
player driven as a page or a test would (setting the frame on the ``<prefix>-player`` Slider, clicking the buttons),
and the values drawn read back from the page's Bokeh data at every frame.

GPT-2 small's widths (12 heads of 64, d = 768) with two random blocks and a 16-token prompt. Every frame's drawing
equals ``drawn_at`` (the rule written out in Python), and at each step's end the trace's hook: after the dot
products ``hook_attn_raw``, after the mask ``hook_attn_scores``, after softmax ``hook_pattern``, after × V
``hook_z``; the popover's result ``mlp.hook_pre`` and ``mlp.hook_post``. Screenshots go to
test-artifacts/derivation/ (1440 and 390 px wide).
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from app_server import free_port, hover, open_app, wait_js
from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.server.server import Server
from tornado.ioloop import IOLoop

from transformer_explainer.gpt2_core.weight_products import weight_product
from transformer_explainer.viz.common import DIVERGING, MASKED_COLOUR
from transformer_explainer.viz.derivation import AttentionDerivationView
from transformer_explainer.viz.popover import WeightPopoverView
from transformer_explainer.viz.standalone import standalone_html

pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "derivation"
PROMPT = "The quick brown fox jumps over the lazy"
LAYER, HEAD, POSITION = 1, 5, 9

# Set the frame (unless it is already shown) and wait until the player has drawn it (the player notes the last
# drawing on the slider's JS object as "frame:t"); then read what is drawn: typed arrays as their bytes in base64
# (exact, NaN and -inf included, and far quicker for Playwright than thousands of numbers), the rest as they are.
SHOW_FRAMES_JS = """async ([prefix, frames, sources]) => {
  const slider = window.__te_find(prefix + '-player');
  const encode = (value) => {
    const array = Array.isArray(value) && value.length > 0 && ArrayBuffer.isView(value[0]) ? value[0] : value;
    if (!ArrayBuffer.isView(array)) return Array.from(array);
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    let text = '';
    for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    const dtype = array instanceof Float32Array ? 'float32' : array instanceof Float64Array ? 'float64'
                : array instanceof Int32Array ? 'int32' : array instanceof Uint8Array ? 'uint8' : 'unknown';
    return {dtype, base64: btoa(text)};
  };
  const out = [];
  for (const frame of frames) {
    if (slider.value !== frame) slider.value = frame;
    for (let i = 0; i < 300; i++) {
      const state = slider.__te_player;
      if (state && state.drawn === frame + ':1') break;
      await new Promise((done) => setTimeout(done, 0));
    }
    const shown = {drawn: slider.__te_player ? slider.__te_player.drawn : null};
    for (const [name, column] of sources) {
      const data = window.__te_find(name).data;
      shown[name + '.' + column] = encode(data instanceof Map ? data.get(column) : data[column]);
    }
    out.push(shown);
  }
  return out;
}"""

DERIVATION_SOURCES = [["derivation-cells", "shown"], ["derivation-z-source", "image"],
                      ["derivation-highlight", "alpha"], ["derivation-highlight", "x"],
                      ["derivation-highlight", "y"], ["derivation-detail", "text"]]
POPOVER_SOURCES = [["popover-result-source", "image"], ["popover-post-source", "image"],
                   ["popover-highlight", "left"], ["popover-detail", "text"]]


@pytest.fixture(scope="module")
def trace(small_random_model):
    trace = small_random_model.run_with_trace(PROMPT)
    assert trace.n_tokens == 16 and trace.config.d_head == 64
    return trace


@pytest.fixture(scope="module")
def derivation(trace):
    return AttentionDerivationView(trace, LAYER, HEAD)


@pytest.fixture(scope="module")
def popover(trace, small_random_model):
    return WeightPopoverView(weight_product("mlp_up", trace, LAYER, POSITION, small_random_model.params), trace)


@pytest.fixture(scope="module")
def pages(tmp_path_factory, derivation, popover) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("derivation-pages")
    urls = {}
    for name, view in (("derivation", derivation), ("popover", popover)):
        path = folder / f"{name}.html"
        path.write_text(standalone_html(view.layout, name), encoding="utf-8")
        urls[name] = path.as_uri()
    return urls


def open_page(browser, pages, name: str, width: int = 1440, height: int = 900):
    page = open_app(browser, pages[name], width=width, height=height, wait_for=f"{name}-player")
    wait_js(page, "(name) => { const m = window.__te_find(name); return m !== null && "
                  "Bokeh.index.find_one_by_id(m.id) != null; }", f"{name}-figure")
    return page




def show_frames(page, prefix: str, frames, sources) -> list[dict]:
    """Show each frame in turn (in one evaluate: one round trip) and read what each drew."""
    drawn = page.evaluate(SHOW_FRAMES_JS, [prefix, list(frames), sources])
    for frame, shown in zip(frames, drawn):
        assert shown["drawn"] == f"{frame}:1", f"frame {frame} was not drawn ({shown['drawn']})"
        for key, value in shown.items():
            if isinstance(value, dict):
                shown[key] = np.frombuffer(base64.b64decode(value["base64"]), np.dtype(value["dtype"]))
    return drawn


def show(page, prefix: str, frame: int, sources) -> dict:
    return show_frames(page, prefix, [frame], sources)[0]


# The colour painted at data point (x, y) of the named plot (its primary canvas layer), once it is painted.
PIXEL_JS = """async ([name, x, y, want, tolerance]) => {
  const view = Bokeh.index.find_one_by_id(window.__te_find(name).id);
  let rgb = null;
  for (let i = 0; i < 120; i++) {
    const layer = view.canvas_view.primary, ratio = layer.pixel_ratio;
    const sx = view.frame.x_scale.compute(x), sy = view.frame.y_scale.compute(y);
    rgb = Array.from(layer.ctx.getImageData(Math.round(sx * ratio), Math.round(sy * ratio), 1, 1).data.slice(0, 3));
    if (rgb.every((c, k) => Math.abs(c - want[k]) <= tolerance)) return rgb;
    await new Promise((done) => requestAnimationFrame(done));
  }
  return rgb;
}"""


def painted(page, figure: str, x: float, y: float, colour: str, tolerance: int = 3) -> list[int]:
    want = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return page.evaluate(PIXEL_JS, [figure, x, y, want, tolerance]), want


def as_float32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def player(page, prefix: str) -> tuple[int, bool]:
    return tuple(page.evaluate("(p) => [window.__te_find(p + '-player').value, window.__te_find(p + '-play').active]",
                               prefix))


def button(page, label: str):
    return page.get_by_role("button", name=label, exact=True)


def hooks(trace) -> dict:
    attn = f"blocks.{LAYER}.attn"
    return {name: trace[f"{attn}.hook_{name}"][HEAD] for name in ("attn_raw", "attn_scores", "pattern")} | {
        "z": trace[f"{attn}.hook_z"][:, HEAD]}


# -- the derivation -----------------------------------------------------------------------------------------------

def test_every_frame_draws_the_traces_values(browser, pages, derivation, trace):
    page = open_page(browser, pages, "derivation")
    n, expected = trace.n_tokens, hooks(trace)
    frames = derivation.frames
    step_ends = {derivation.last_frame_of(step): step for step in range(1, 6)}
    order = [*range(1, derivation.player.n_frames), 0]
    for frame, shown in zip(order, show_frames(page, "derivation", order, DERIVATION_SOURCES)):
        s = as_float32(shown["derivation-cells.shown"]).reshape(n, n)
        z = as_float32(shown["derivation-z-source.image"]).reshape(n, -1)
        want_s, want_z = derivation.drawn_at(frame)
        np.testing.assert_array_equal(s, want_s, err_msg=f"S at frame {frame}")
        np.testing.assert_array_equal(z, want_z, err_msg=f"Z at frame {frame}")
        step, row, col = frames["step"][frame], frames["row"][frame], frames["col"][frame]
        if step == 1 and col >= 0:  # one dot product: its query row and key column outlined, its value written out
            alpha, x, y = (shown[f"derivation-highlight.{c}"] for c in ("alpha", "x", "y"))
            assert list(alpha[:3]) == [1, 1, 1] and y[0] == row + 0.5 and x[1] == col + 0.5 and (x[2], y[2]) == (col + .5, .5)
            assert shown["derivation-detail.text"][0].startswith(f"S[{row}, {col}] = q{row} · k{col} = ")
        if frame in step_ends:
            done = step_ends[frame]
            if done == 1:
                np.testing.assert_array_equal(s, expected["attn_raw"])
            if done == 2:
                kept = np.isfinite(expected["attn_scores"])
                np.testing.assert_array_equal(s[kept], expected["attn_scores"][kept])
            if done == 3:
                np.testing.assert_array_equal(s, expected["attn_scores"])
            if done in (4, 5):
                np.testing.assert_array_equal(s, expected["pattern"])
            if done == 5:
                np.testing.assert_array_equal(z, expected["z"])
    assert np.isnan(s).all() and np.isnan(z).all()  # frame 0 again: nothing computed
    assert page.te_errors == []


def test_the_canvas_paints_each_frames_colours(browser, pages, derivation, trace):
    """The data drawn is also what is painted: masked cells grey, scores in the diverging palette, Z's rows."""
    page = open_page(browser, pages, "derivation")
    n, expected = trace.n_tokens, hooks(trace)
    corner = 0.2  # off the cell's centre, where its number is written
    show(page, "derivation", derivation.last_frame_of(3), DERIVATION_SOURCES)
    got, want = painted(page, "derivation-figure", n - 1 + corner, 0 + corner, MASKED_COLOUR)
    assert got == want or max(abs(a - b) for a, b in zip(got, want)) <= 3, (got, want)
    limit = derivation.geometry.data["limit"][0]
    score = expected["attn_scores"][n - 1, 0]
    colour = DIVERGING[int(round((np.clip(score / limit, -1, 1) + 1) / 2 * (len(DIVERGING) - 1)))]
    got, want = painted(page, "derivation-figure", 0 + corner, n - 1 + corner, colour)
    assert max(abs(a - b) for a, b in zip(got, want)) <= 3, (got, want)
    show(page, "derivation", 1, DERIVATION_SOURCES)
    got, want = painted(page, "derivation-figure", n - 1 + corner, 0 + corner, "#ffffff")
    assert got == want, (got, want)  # not computed yet: blank
    assert page.te_errors == []


def test_play_advances_and_pause_stops(browser, pages, derivation):
    page = open_page(browser, pages, "derivation")
    assert player(page, "derivation") == (0, False)
    button(page, "▶ Play").click()
    wait_js(page, "() => window.__te_find('derivation-player').value >= 3")
    assert player(page, "derivation")[1] is True
    button(page, "❚❚ Pause").click()
    wait_js(page, "() => !window.__te_find('derivation-play').active")
    frame, _ = player(page, "derivation")
    page.wait_for_timeout(400)
    assert player(page, "derivation") == (frame, False)
    shown = show(page, "derivation", frame, DERIVATION_SOURCES)
    np.testing.assert_array_equal(as_float32(shown["derivation-cells.shown"]).reshape(16, 16),
                                  derivation.drawn_at(frame)[0])
    assert page.te_errors == []


def test_skip_replay_back_and_next(browser, pages, derivation, trace):
    page = open_page(browser, pages, "derivation")
    last = derivation.player.n_frames - 1
    button(page, "Skip »").click()
    wait_js(page, f"() => window.__te_find('derivation-player').value === {last}")
    shown = show(page, "derivation", last, DERIVATION_SOURCES)
    np.testing.assert_array_equal(as_float32(shown["derivation-z-source.image"]).reshape(16, -1), hooks(trace)["z"])
    assert "Step 5 of 5" in page.evaluate("() => window.__te_find('derivation-step').text")
    button(page, "‹ Back").click()
    wait_js(page, f"() => window.__te_find('derivation-player').value === {last - 1}")
    button(page, "Next ›").click()
    wait_js(page, f"() => window.__te_find('derivation-player').value === {last}")
    button(page, "↺ Replay").click()  # from the start, playing
    wait_js(page, "() => window.__te_find('derivation-play').active")
    frame, playing = player(page, "derivation")
    assert frame < 5 and playing
    wait_js(page, "(start) => window.__te_find('derivation-player').value > start", frame)
    assert page.te_errors == []


def test_a_step_pill_plays_that_step_and_playing_stops_at_the_end(browser, pages, derivation):
    page = open_page(browser, pages, "derivation")
    set_durations = "(ms) => { const f = window.__te_find('derivation-frames'); f.data.duration.fill(ms); }"
    page.evaluate(set_durations, 60_000)  # every frame a minute long: the pill's step stays on its first frame
    first_softmax = derivation.frames["step"].index(4)
    page.get_by_role("button", name="4 softmax", exact=True).click()
    wait_js(page, f"() => window.__te_find('derivation-player').value === {first_softmax}")
    assert player(page, "derivation")[1] is True
    wait_js(page, "() => window.__te_find('derivation-step').text.includes('softmax')")
    page.evaluate(set_durations, 5)  # then every frame 5 ms: the rest plays at once, and stops on the last frame
    last = derivation.player.n_frames - 1
    wait_js(page, f"() => window.__te_find('derivation-player').value === {last} && "
                  "!window.__te_find('derivation-play').active")
    wait_js(page, "() => window.__te_find('derivation-steps').active === 4")
    assert page.te_errors == []


def test_hover_on_a_cell_gives_the_tokens_and_exact_values(browser, pages, derivation, trace):
    page = open_page(browser, pages, "derivation")
    show(page, "derivation", derivation.last_frame_of(4), DERIVATION_SOURCES)
    row, col = 6, 2
    texts = hover(page, "derivation-figure", col + 0.5, row + 0.5, rows=7)
    assert texts[0] == f"{row}: {trace.tokens[row]}" and texts[1] == f"{col}: {trace.tokens[col]}"
    numbers = [float(re.sub("\u2212", "-", text)) for text in texts[2:7]]
    expected = hooks(trace)
    assert np.float32(numbers[0]) == expected["pattern"][row, col]  # the value shown now: the weight
    assert np.float32(numbers[1]) == expected["attn_raw"][row, col]
    assert np.float32(numbers[3]) == expected["attn_scores"][row, col]
    assert np.float32(numbers[4]) == expected["pattern"][row, col]
    assert page.te_errors == []


# -- the MLP popover ----------------------------------------------------------------------------------------------

def test_popover_frames_draw_the_product_and_the_hooks(browser, pages, popover, trace):
    page = open_page(browser, pages, "popover")
    order = list(range(1, popover.player.n_frames))
    for frame, shown in zip(order, show_frames(page, "popover", order, POPOVER_SOURCES)):
        y, post = popover.drawn_at(frame)
        np.testing.assert_array_equal(as_float32(shown["popover-result-source.image"]), y, err_msg=f"y, frame {frame}")
        np.testing.assert_array_equal(as_float32(shown["popover-post-source.image"]), post,
                                      err_msg=f"GELU, frame {frame}")
    y_end, _ = popover.drawn_at(popover.last_frame_of(2))
    np.testing.assert_allclose(y_end, trace[f"blocks.{LAYER}.mlp.hook_pre"][POSITION], rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(as_float32(shown["popover-post-source.image"]),
                               trace[f"blocks.{LAYER}.mlp.hook_post"][POSITION], rtol=2e-5, atol=2e-5)
    detail = show(page, "popover", popover.last_frame_of(1), POPOVER_SOURCES)["popover-detail.text"][0]
    assert detail.startswith("y[0] = ") and detail.endswith(f"= blocks.{LAYER}.mlp.hook_pre[{POSITION}, 0]")
    assert page.te_errors == []


def test_popover_plays_pauses_and_names_the_hook_on_hover(browser, pages, popover, trace):
    page = open_page(browser, pages, "popover")
    button(page, "Skip »").click()
    last = popover.player.n_frames - 1
    wait_js(page, f"() => window.__te_find('popover-player').value === {last}")
    j = 1000
    g = popover.g
    texts = hover(page, "popover-figure", j + 0.5, (g["out_top"] + g["out_bottom"]) / 2, rows=2)
    assert texts[0] == f"blocks.{LAYER}.mlp.hook_pre[{POSITION}, {j}]"
    assert np.float32(float(texts[1].replace("\u2212", "-"))) == np.float32(popover.product.y[j])
    button(page, "↺ Replay").click()
    wait_js(page, "() => window.__te_find('popover-player').value >= 3")
    button(page, "❚❚ Pause").click()
    wait_js(page, "() => !window.__te_find('popover-play').active")
    assert page.te_errors == []


# -- served: Python drives the view through a Bokeh server ------------------------------------------------------

@pytest.fixture()
def served_derivation(trace):
    """A Bokeh server in a thread showing one AttentionDerivationView; yields (url, {"view", ...}, run_in_server)."""
    made, ready = {}, threading.Event()

    def make_document(document):
        made["view"], made["document"] = AttentionDerivationView(trace, LAYER, HEAD), document
        document.add_root(made["view"].layout)

    def serve():
        asyncio.set_event_loop(asyncio.new_event_loop())
        made["loop"] = IOLoop.current()
        made["server"] = Server({"/": Application(FunctionHandler(make_document))}, port=port,
                                io_loop=made["loop"], allow_websocket_origin=[f"127.0.0.1:{port}"])
        made["server"].start()
        ready.set()
        made["loop"].start()

    def run_in_server(function):
        made["loop"].add_callback(lambda: made["document"].add_next_tick_callback(function))

    port = free_port()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield f"http://127.0.0.1:{port}/", made, run_in_server
    made["loop"].add_callback(made["server"].stop)
    made["loop"].add_callback(made["loop"].stop)
    thread.join(10)


def test_served_python_starts_it_and_updates_it_in_place(browser, served_derivation, small_random_model):
    url, made, run_in_server = served_derivation
    page = open_app(browser, url, wait_for="derivation-player")
    view = made["view"]
    run_in_server(view.play_from_start)  # as the app does when the student opens the derivation
    wait_js(page, "() => window.__te_find('derivation-player').value >= 3")
    assert player(page, "derivation")[1] is True
    other = small_random_model.run_with_trace("Hello world, again")
    run_in_server(lambda: view.update(other, 0, 7))  # another prompt, layer and head while it plays
    n = other.n_tokens
    wait_js(page, f"() => window.__te_find('derivation-cells').data.raw.length === {n * n} && "
                  "window.__te_find('derivation-player').value === 0 && !window.__te_find('derivation-play').active")
    want = derivation_values_of(other, 0, 7)
    for frame, shown in zip([view.last_frame_of(3), view.last_frame_of(5)],
                            show_frames(page, "derivation", [view.last_frame_of(3), view.last_frame_of(5)],
                                        DERIVATION_SOURCES)):
        s = as_float32(shown["derivation-cells.shown"]).reshape(n, n)
        np.testing.assert_array_equal(s, want["attn_scores"] if frame == view.last_frame_of(3) else want["pattern"])
    np.testing.assert_array_equal(as_float32(shown["derivation-z-source.image"]).reshape(n, -1), want["z"])
    deadline = time.monotonic() + 10
    while view.player.slider.value != view.last_frame_of(5) and time.monotonic() < deadline:
        time.sleep(0.05)  # the page's frame reaches the server
    assert view.player.slider.value == view.last_frame_of(5)
    assert page.te_errors == []


def derivation_values_of(trace, layer, head) -> dict:
    attn = f"blocks.{layer}.attn"
    return {"attn_scores": trace[f"{attn}.hook_attn_scores"][head], "pattern": trace[f"{attn}.hook_pattern"][head],
            "z": trace[f"{attn}.hook_z"][:, head]}


# -- screenshots ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_screenshots(browser, pages, derivation, popover, width, height):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, pages, "derivation", width, height)
    # mid-animation: softmax reaching row 9, paused there
    show(page, "derivation", derivation.frames["step"].index(4) + 9, DERIVATION_SOURCES)
    page.screenshot(path=str(ARTIFACTS / f"derivation-softmax-{width}.png"), full_page=True)
    show(page, "derivation", derivation.frames["step"].index(1) + 4, DERIVATION_SOURCES)
    page.screenshot(path=str(ARTIFACTS / f"derivation-dot-product-{width}.png"), full_page=True)
    show(page, "derivation", derivation.frames["step"].index(5) + 6, DERIVATION_SOURCES)
    page.screenshot(path=str(ARTIFACTS / f"derivation-times-v-{width}.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert page.te_errors == []
    page = open_page(browser, pages, "popover", width, height)
    show(page, "popover", popover.frames["step"].index(2) + 20, POPOVER_SOURCES)
    page.screenshot(path=str(ARTIFACTS / f"popover-mlp-{width}.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert page.te_errors == []
