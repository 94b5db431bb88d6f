"""Step history and export in the served app, in Chromium: Generate 5, tap the step that drew the third generated
token, and the picture and its probabilities are those of a traced pass over the prompt and the two generated ids
before it, the marked token the third id; the link carries the step and restores it; the picture downloads as a
PNG and an SVG that hold it, the step's trace as an .npz that Trace.load reads back equal to a pass over the
step's ids, and the report as HTML."""

from __future__ import annotations

import struct
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from app_server import SHOWN_IDS_JS, assert_a_step_shows_its_pass, find, opened_pages, source_data, values, wait_js

from transformer_explainer.gpt2_core import Trace

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "history"
PROMPT, TEMPERATURE = "The sky is", 0.9


@pytest.fixture
def open_page(browser, server):
    with opened_pages(browser, server.url) as opener:
        yield opener





def generate(page, count: int) -> None:
    find(page, ".te-generate-count input").fill(str(count))
    find(page, ".te-generate-count input").press("Enter")
    find(page, ".te-generate button").click()
    expect(find(page, ".te-status pre")).to_have_text(f"Generated {count} tokens.", timeout=30_000)


def test_a_step_shows_the_pass_that_drew_its_token_and_the_link_keeps_it(open_page, tiny_model):
    page = open_page({"prompt": PROMPT, "t": TEMPERATURE})
    prompt_ids = tiny_model.encode(PROMPT)
    assert len(prompt_ids) + 5 <= 16, "the picture draws up to 16 rows: prompt and generated tokens must fit"
    generate(page, 5)
    buttons = page.locator(".te-history-steps button")
    expect(buttons).to_have_count(6)  # the prompt, then one per generated token
    whole = [int(i) for i in page.evaluate(SHOWN_IDS_JS)]  # now: the model's own ids, prompt and generated
    assert whole[:len(prompt_ids)] == prompt_ids and len(whole) == len(prompt_ids) + 5

    buttons.nth(3).click()  # step 3: the pass that drew the third generated token
    page.wait_for_function("() => new URL(location.href).searchParams.get('step') === '3'", timeout=15_000)
    assert parse_qs(urlparse(page.url).query)["made"] == ["5"]
    before = whole[:len(prompt_ids) + 2]
    assert_a_step_shows_its_pass(page, tiny_model, before, whole[len(prompt_ids) + 2], TEMPERATURE,
                                 rel_tolerance=1e-4, abs_tolerance=1e-6)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "step_3_1280.png"))

    # The link: the same step (its steps rebuilt from the text, which this tokenizer reads back to the same ids).
    if tiny_model.encode(tiny_model.tokenizer.decode(whole)) == whole:
        again = open_page(page.url.split("?", 1)[1])
        expect(again.locator(".te-history-steps button")).to_have_count(6, timeout=15_000)
        wait_js(again, f"(ids) => JSON.stringify(({SHOWN_IDS_JS})()) === JSON.stringify(ids)", arg=before)


def test_the_picture_the_trace_and_the_report_download(open_page, tiny_model, tmp_path):
    page = open_page({"prompt": PROMPT, "t": TEMPERATURE})
    saved = {}
    for css, name in ((".te-export-png button", "picture.png"), (".te-export-svg button", "picture.svg"),
                      (".te-export-trace button", "trace.npz"), (".te-export-report button", "report.html")):
        button = find(page, css)
        with page.expect_download(timeout=30_000) as download:
            button.click()
        path = tmp_path / name
        download.value.save_as(path)
        assert download.value.suggested_filename == name
        saved[name] = path
    png = saved["picture.png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 300 and height > 200  # the picture, drawn
    svg = saved["picture.svg"].read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "<text" in svg
    shown_tokens = {key: values(column) for key, column in
                    source_data(page, "picture-token-source", ["token", "position"]).items()}
    token = next(t for t, p in zip(shown_tokens["token"], shown_tokens["position"]) if p == p and p >= 0 and t.strip())
    assert token in svg or token.replace("&", "&amp;").replace("<", "&lt;") in svg
    trace = Trace.load(saved["trace.npz"])
    reference = tiny_model.run_with_trace(tiny_model.encode(PROMPT), head_results=True)
    assert trace.token_ids == reference.token_ids
    for name in ("blocks.0.attn.hook_pattern", "blocks.1.hook_resid_post", "unembed.hook_logits"):
        np.testing.assert_allclose(trace[name], reference[name], atol=1e-6)
    report = saved["report.html"].read_text(encoding="utf-8")
    assert "<html" in report.lower() and "Transformer Explainer" in report
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in saved.values():
        (ARTIFACTS / path.name).write_bytes(path.read_bytes())


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)], ids=["laptop", "phone"])
def test_screenshots_of_the_history_and_the_downloads(open_page, lang, width, height):
    page = open_page({"prompt": PROMPT, "t": TEMPERATURE, "lang": lang}, width=width, height=height)
    find(page, ".te-generate-count input").fill("3")
    find(page, ".te-generate-count input").press("Enter")
    find(page, ".te-generate button").click()
    buttons = page.locator(".te-history-steps button")
    expect(buttons).to_have_count(4, timeout=30_000)
    buttons.nth(2).click()
    page.wait_for_function("() => new URL(location.href).searchParams.get('step') === '2'", timeout=15_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    find(page, ".te-history-steps").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"history_{lang}_{width}.png"))
    find(page, ".te-export-report").scroll_into_view_if_needed()  # (find opens the drawer that holds them)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"downloads_{lang}_{width}.png"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width + 1
