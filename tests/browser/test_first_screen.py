"""The first screen at every laptop size and on a phone, served, in Chromium (issue 18): after load, the prompt,
Generate, the temperature slider and the whole picture (its tokens, the attention matrix, the MLP and the
probability bars: one plot) lie inside the window; the page never scrolls sideways; the header is one row of at
most 64 px on a laptop; a phone shows the picture turned (tokens at the top, probabilities at the bottom).
Screenshots in English and Chinese go to test-artifacts/first-screen/."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_server import open_app

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "first-screen"
LAPTOPS = [(1280, 720), (1366, 768), (1440, 900), (1920, 1080)]
PHONES = [(390, 844), (360, 740)]

# Every box the first screen must show whole: the page's elements by class, and the picture's canvas.
BOXES_JS = """() => {
  const boxes = {};
  const walk = (root) => { for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) walk(el.shadowRoot);
    const cls = el.classList;
    if (!cls) continue;
    const note = (name) => { if (!(name in boxes)) { const b = el.getBoundingClientRect();
                             if (b.width > 0) boxes[name] = [b.left, b.top, b.right, b.bottom]; } };
    const host = el.getRootNode().host;  // (Panel draws each widget in its own shadow root)
    if (el.tagName === 'TEXTAREA' && host && host.classList.contains('te-prompt')) note('prompt');
    if (el.tagName === 'BUTTON' && host && host.classList.contains('te-generate')) note('generate');
    if (cls.contains('te-temperature')) note('temperature');
    if (cls.contains('te-header-row')) note('header');
  } };
  walk(document);
  const plot = window.__te_find('picture-figure');
  const view = plot && Bokeh.index.find_one_by_id(plot.id);
  if (view) { const b = view.canvas_view.el.getBoundingClientRect(); boxes.picture = [b.left, b.top, b.right, b.bottom]; }
  return {boxes, width: window.innerWidth, height: window.innerHeight,
          scroll_width: document.documentElement.scrollWidth, client_width: document.documentElement.clientWidth};
}"""
FITTED_JS = """() => { const plot = window.__te_find('picture-figure');
  const fit = plot && window['__te_picture_fit_' + plot.id];
  return fit != null && fit.scale != null; }"""


def first_screen(page) -> dict:
    page.wait_for_function(FITTED_JS, timeout=20_000)
    page.wait_for_timeout(400)  # the last frame of the fit
    return page.evaluate(BOXES_JS)


def assert_inside(shown: dict, names) -> None:
    for name in names:
        assert name in shown["boxes"], f"no {name} on the page"
        left, top, right, bottom = shown["boxes"][name]
        assert left >= -0.5 and top >= -0.5 and right <= shown["width"] + 0.5 and bottom <= shown["height"] + 0.5, \
            f"{name} {shown['boxes'][name]} is not inside the {shown['width']}×{shown['height']} window"


@pytest.mark.parametrize("width, height", LAPTOPS + PHONES, ids=[f"{w}x{h}" for w, h in LAPTOPS + PHONES])
def test_the_first_screen_shows_the_prompt_generate_the_temperature_and_the_whole_picture(browser, server, width,
                                                                                            height):
    page = open_app(browser, server.url, width=width, height=height, wait_for="picture-token-source")
    try:
        shown = first_screen(page)
        assert_inside(shown, ["prompt", "generate", "temperature", "picture"])
        assert shown["scroll_width"] <= shown["client_width"], "the page scrolls sideways"
        header_top, header_bottom = shown["boxes"]["header"][1], shown["boxes"]["header"][3]
        if width >= 1280:
            assert header_bottom - header_top <= 64, f"the header is {header_bottom - header_top:.0f} px tall"
        else:  # a phone: the picture turned, taller than wide
            left, top, right, bottom = shown["boxes"]["picture"]
            assert bottom - top > right - left
        assert page.te_errors == []
    finally:
        page.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width, height", LAPTOPS + PHONES[:1], ids=[f"{w}x{h}" for w, h in LAPTOPS + PHONES[:1]])
def test_screenshots_of_the_first_screen(browser, server, width, height, lang):
    query = "?prompt=Data+visualization+empowers+users+to&lang=" + lang
    page = open_app(browser, server.url + query, width=width, height=height, wait_for="picture-token-source")
    try:
        first_screen(page)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{lang}_{width}x{height}.png"))
        assert page.te_errors == []
    finally:
        page.close()
