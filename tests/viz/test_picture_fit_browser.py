"""The picture fits the window, in headless Chromium: a standalone page with a header-sized spacer above the picture
and its fit script, at four laptop sizes (under a 64 px header) and two phones (the picture turned, under a 140 px
header). The tokens, the attention matrix and the probability bars lie inside the viewport below the header (read
from the page's own Bokeh data and the plot's scales), the page never scrolls sideways, and every text on the
picture is at least 12 px on a laptop (10 px on a phone). Screenshots in English and Chinese, with GPT-2 small's
shapes, go to test-artifacts/picture/ (git-ignored): look at them beside the tool we beat.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.models import Column, Spacer

from transformer_explainer.gpt2_core import load_model, sampling
from transformer_explainer.viz.picture import PictureView
from transformer_explainer.viz.standalone import SelfContainedResources
from gpt2_small_views import PROMPT

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "picture"
SHORT_PROMPT = "Data visualization empowers users to"

# (width, height, header px, smallest text px)
SIZES = [(1280, 720, 64, 12.0), (1366, 768, 64, 12.0), (1440, 900, 64, 12.0), (1920, 1080, 64, 12.0),
         (390, 844, 140, 10.0), (360, 740, 140, 10.0)]

BOX_JS = """([plot_id, source_id, xf, yf, key]) => {
  const view = Bokeh.index.find_one_by_id(plot_id);
  const canvas = view.canvas_view.el.getBoundingClientRect();
  const data = Bokeh.documents[0].get_model_by_id(source_id).data;
  let l = Infinity, r = -Infinity, t = Infinity, b = -Infinity;
  for (let i = 0; i < data[xf[0]].length; i++) {
    if (key !== null && !(data[key][i] >= 0)) continue;
    const xs = [data[xf[0]][i], data[xf[1]][i]], ys = [data[yf[0]][i], data[yf[1]][i]];
    if (!xs.concat(ys).every(Number.isFinite)) continue;
    for (const x of xs) { const p = canvas.left + view.frame.x_scale.compute(x); l = Math.min(l, p); r = Math.max(r, p); }
    for (const y of ys) { const p = canvas.top + view.frame.y_scale.compute(y); t = Math.min(t, p); b = Math.max(b, p); }
  }
  return [l, r, t, b];
}"""

FONT_SIZES_JS = """(ids) => ids.map((id) => {
  const size = Bokeh.documents[0].get_model_by_id(id).text_font_size;
  return parseFloat(typeof size === 'string' ? size : size.value);
})"""

FITTED_JS = """(id) => { const view = Bokeh.index.find_one_by_id(id);
                         return view != null && view.el.dataset.teScale !== undefined; }"""


@pytest.fixture(scope="module")
def small_model(small_shaped_checkpoint):
    return load_model(small_shaped_checkpoint)


@pytest.fixture(scope="module")
def traces(small_model):
    return {prompt: small_model.run_with_trace(prompt, head_results=True) for prompt in (PROMPT, SHORT_PROMPT)}


def picture_page(model, trace, lang: str, orientation: str, header: int, path: Path) -> PictureView:
    probabilities = sampling.probabilities(trace.logits, 0.8)
    view = PictureView(trace, 3, 5, probabilities, int(np.argsort(-probabilities, kind="stable")[1]),
                       model.tokenizer.display, n_layer=model.config.n_layer, lang=lang, orientation=orientation,
                       token_bytes=model.tokenizer.token_bytes)
    document = Document()
    document.add_root(Column(children=[Spacer(height=header, sizing_mode="stretch_width"), view.layout],
                             sizing_mode="stretch_width"))
    view.attach_fit(document)
    html = file_html(document, SelfContainedResources(mode="inline"), title="picture")
    head, body = html.rsplit("<body>", 1)  # (the page's own body tag is the last one)
    path.write_text(head + '<body style="margin: 0">' + body, encoding="utf-8")
    return view


def open_fitted(browser, path: Path, view: PictureView, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type in ("error", "warning") else None)
    page.goto(path.as_uri())
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.index.roots.length > 0")
    page.wait_for_function(FITTED_JS, arg=view.layout.id, timeout=10_000)
    page.wait_for_timeout(400)  # the plot's new size drawn
    return page, errors


def box(page, view, source, turned: bool, key: str | None = "slot", unturned_fields=None) -> list[float]:
    if unturned_fields is not None:
        xf, yf = unturned_fields
    else:
        xf, yf = (["top", "bottom"], ["left", "right"]) if turned else (["left", "right"], ["top", "bottom"])
    return page.evaluate(BOX_JS, [view.figure.id, source.id, xf, yf, key])


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width, height, header, smallest", SIZES, ids=[f"{w}x{h}" for w, h, _, _ in SIZES])
def test_the_picture_fits_the_window_under_the_header(browser, small_model, traces, tmp_path, width, height, header,
                                                      smallest, lang):
    phone = width < 600
    view = picture_page(small_model, traces[PROMPT], lang, "vertical" if phone else "horizontal", header,
                        tmp_path / "picture.html")
    page, errors = open_fitted(browser, tmp_path / "picture.html", view, width, height)
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"fit_{width}x{height}_{lang}.png"))
        parts = {"tokens": box(page, view, view.token_source, phone),
                 "matrix": box(page, view, view.attention_source, phone, key="query_slot"),
                 "bars": box(page, view, view.probability_source, phone, key="token_id",
                             unturned_fields=(["bar_left", "bar_right"], ["top", "bottom"])),
                 "logits": box(page, view, view.probability_source, phone, key="token_id",
                               unturned_fields=(["logit_left", "logit_right"], ["top", "bottom"]))}
        for name, (left, right, top, bottom) in parts.items():
            assert left >= 0 and right <= width, f"{name} is cut at the side: {left:.0f}..{right:.0f} of {width}"
            assert top >= header - 0.5 and bottom <= height, \
                f"{name} is not between the header and the bottom: {top:.0f}..{bottom:.0f} of {height}"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
        plot_width = page.evaluate("(id) => Bokeh.index.find_one_by_id(id).canvas_view.el"
                                   ".getBoundingClientRect().width", view.figure.id)
        scale = float(page.evaluate("(id) => Bokeh.index.find_one_by_id(id).el.dataset.teScale", view.layout.id))
        assert plot_width >= 0.9 * width or scale == pytest.approx((height - header - 8) / view.figure.y_range.start,
                                                                   rel=0.02), "it uses the room it has"
        sizes = page.evaluate(FONT_SIZES_JS, [glyph.id for glyph, _ in view.canvas.texts])
        assert min(sizes) >= smallest, f"text of {min(sizes)} px"
        if not phone:
            assert min(sizes) >= 11 * scale - 0.1, "the type grows with the picture"
        assert errors == []
    finally:
        page.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width, height, header", [(1280, 720, 64), (1440, 900, 64), (390, 844, 140)],
                         ids=["1280x720", "1440x900", "390x844"])
def test_screenshots_of_a_short_prompt(browser, small_model, traces, tmp_path, width, height, header, lang):
    """The prompt of the tool we beat's own teaser, for the comparison: weights written in the matrix."""
    view = picture_page(small_model, traces[SHORT_PROMPT], lang, "vertical" if width < 600 else "horizontal", header,
                        tmp_path / "short.html")
    page, errors = open_fitted(browser, tmp_path / "short.html", view, width, height)
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"short_{width}x{height}_{lang}.png"))
        labels = [t for t in view.attention_source.data["label"] if t]
        assert len(labels) == 6 * 7 // 2, "every weight of a 6-token prompt is written in its cell"
        assert errors == []
    finally:
        page.close()


def test_a_window_resized_refits_the_picture(browser, small_model, traces, tmp_path):
    view = picture_page(small_model, traces[PROMPT], "en", "horizontal", 64, tmp_path / "resize.html")
    page, errors = open_fitted(browser, tmp_path / "resize.html", view, 1440, 900)
    try:
        wide = page.evaluate("(id) => Bokeh.index.find_one_by_id(id).el.dataset.teScale", view.layout.id)
        page.set_viewport_size({"width": 1280, "height": 720})
        page.wait_for_function("([id, before]) => Bokeh.index.find_one_by_id(id).el.dataset.teScale !== before",
                               arg=[view.layout.id, wide], timeout=5_000)
        page.wait_for_timeout(300)
        left, right, top, bottom = box(page, view, view.probability_source, False, key="token_id",
                                       unturned_fields=(["bar_left", "bar_right"], ["top", "bottom"]))
        assert right <= 1280 and bottom <= 720
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
        assert errors == []
    finally:
        page.close()
