"""Issue 15's features in the static site (Pyodide, the site's float16 weights), compared with gpt2_core here on the
same weights: the step history (Generate 5, tap the step that drew the third generated token), its downloads made
in the browser (the picture as PNG and SVG, the step's trace as .npz, the HTML report with BokehJS inline), a
``compare=`` link's two prompts side by side, and the heads filter."""

from __future__ import annotations

import re
import struct
from urllib.parse import urlencode

import numpy as np
import pytest
from app_server import (SHOWN_IDS_JS, assert_a_step_shows_its_pass, find, open_section, source_data, values,
                        wait_for_chips, wait_for_column, wait_js)

from environment import REPO_ROOT
from transformer_explainer.app.sections.heads import DEFAULT_THRESHOLD
from transformer_explainer.gpt2_core import Trace, head_scores, sampling
from transformer_explainer.gpt2_core.comparison import aligned_probabilities
from transformer_explainer.viz.i18n import text

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = [pytest.mark.browser, pytest.mark.site]

ARTIFACTS = REPO_ROOT / "test-artifacts" / "site-features"
TOLERANCE = 2e-5  # float32 rounding between Pyodide's kernels and CPython's BLAS
PROMPT, TEMPERATURE = "The sky is", 0.9
FIRST, SECOND = "The Eiffel Tower is in", "The Colosseum is in"



def test_a_step_of_the_history_and_its_downloads_in_the_site(open_site, site_server, site_model, tmp_path):
    page = open_site(site_server.url, "?" + urlencode({"prompt": PROMPT, "t": TEMPERATURE, "runtime": "numpy"}))
    prompt_ids = site_model.encode(PROMPT)
    find(page, ".te-generate-count input").fill("5")
    find(page, ".te-generate-count input").press("Enter")
    find(page, ".te-generate button").click()
    buttons = page.locator(".te-history-steps button")
    expect(buttons).to_have_count(6, timeout=60_000)  # the prompt, then one per generated token
    whole = [int(i) for i in page.evaluate(SHOWN_IDS_JS)]
    assert whole[:len(prompt_ids)] == prompt_ids and len(whole) == len(prompt_ids) + 5

    buttons.nth(3).click()  # the pass that drew the third generated token
    page.wait_for_function("() => new URL(location.href).searchParams.get('step') === '3'", timeout=30_000)
    before = whole[:len(prompt_ids) + 2]
    reference = assert_a_step_shows_its_pass(page, site_model, before, whole[len(prompt_ids) + 2], TEMPERATURE,
                                             rel_tolerance=1e-3, abs_tolerance=TOLERANCE, timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "step_3_1280.png"))

    # The downloads, made in the page's Python (no server): the shown step's trace, the report, the picture.
    saved = {}  # (find() opens the header's drawer, where the downloads are)
    for css, name in ((".te-export-trace button", "trace.npz"), (".te-export-report button", "report.html"),
                      (".te-export-png button", "picture.png"), (".te-export-svg button", "picture.svg")):
        with page.expect_download(timeout=60_000) as download:
            find(page, css).click()
        saved[name] = tmp_path / name
        download.value.save_as(saved[name])
        assert download.value.suggested_filename == name
    trace = Trace.load(saved["trace.npz"])
    assert trace.token_ids == before
    for name in ("blocks.0.attn.hook_pattern", "blocks.1.hook_resid_post", "unembed.hook_logits"):
        np.testing.assert_allclose(trace[name], reference[name], atol=1e-4, rtol=1e-4)
    report = saved["report.html"].read_text(encoding="utf-8")
    assert "Transformer Explainer" in report
    assert not re.search(r"<script[^>]*\ssrc=|<link[^>]*\shref=", report), "the report loads a file from elsewhere"
    assert "Bokeh" in report and len(report) > 500_000, "the report must carry BokehJS inline to open offline"
    png = saved["picture.png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24])[0] > 300
    assert "<text" in saved["picture.svg"].read_text(encoding="utf-8")


def test_a_compare_link_and_the_heads_filter_in_the_site(open_site, site_server, site_model):
    query = urlencode({"prompt": FIRST, "compare": SECOND, "view": "compare", "layer": 1, "head": 2})
    page = open_site(site_server.url, "?" + query, width=1440)
    first, second = (site_model.run_with_trace(site_model.encode(p), head_results=True) for p in (FIRST, SECOND))
    wait_for_chips(page, first.tokens, timeout=30_000)
    assert find(page, ".te-compare-prompt input").input_value() == SECOND
    aligned = aligned_probabilities(sampling.probabilities(first.logits, 0.8),
                                    sampling.probabilities(second.logits, 0.8), 10)
    wait_for_column(page, "compare-source", "token_id", aligned.ids.tolist(), timeout=30_000)
    shown = source_data(page, "compare-source", ["first", "second", "difference"])
    for key in ("first", "second", "difference"):
        np.testing.assert_allclose(np.asarray(values(shown[key]), dtype=float), getattr(aligned, key), atol=TOLERANCE)

    open_section(page, "heads")
    wait_js(page, "() => window.__te_find('head-grid-source') !== null", timeout=30_000)
    scores = head_scores.head_scores(first, head_scores.induction_scores(site_model))
    find(page, ".te-head-filter select").select_option(label=text("en", "heads.filter.first"))
    threshold = DEFAULT_THRESHOLD
    expected = head_scores.heads_above(scores.first, threshold)
    n_layer, n_head = site_model.config.n_layer, site_model.config.n_head
    rows = {layer * n_head + head for layer, head in expected}
    wait_for_column(page, "head-grid-source", "highlight_alpha",
                    [1.0 if i in rows else 0.0 for i in range(n_layer * n_head)], timeout=30_000)


def test_the_first_screen_of_the_site_at_every_laptop_size_and_on_a_phone(open_site, site_server):
    """Issue 18 on the static site: one page, resized through the sizes (the picture refits at each); the prompt,
    Generate, the temperature and the whole picture inside the window, no sideways scroll, a one-row header on a
    laptop and the picture turned on a phone."""
    from test_first_screen import LAPTOPS, PHONES, assert_inside, first_screen

    page = open_site(site_server.url, "?prompt=Data+visualization+empowers+users+to", width=1280, height=720)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in LAPTOPS + PHONES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(1500)  # the page reports its width; a phone's picture turns
        if width < 700:
            wait_js(page, "() => { const f = window.__te_find('picture-figure'); "
                          "const v = f && Bokeh.index.find_one_by_id(f.id); if (!v) return false; "
                          "const b = v.canvas_view.el.getBoundingClientRect(); return b.height > b.width; }",
                    timeout=30_000)
        shown = first_screen(page)
        assert_inside(shown, ["prompt", "generate", "temperature", "picture"])
        assert shown["scroll_width"] <= shown["client_width"], f"the page scrolls sideways at {width}×{height}"
        if width >= 1280:
            top, bottom = shown["boxes"]["header"][1], shown["boxes"]["header"][3]
            assert bottom - top <= 64, f"the header is {bottom - top:.0f} px tall at {width}×{height}"
        page.screenshot(path=str(ARTIFACTS / f"first_screen_{width}x{height}.png"))
