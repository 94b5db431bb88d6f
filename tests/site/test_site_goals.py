"""The static site's promises beyond its first visit (issue 19): a second visit with no network at all, a long
prompt that says how far it got and can be stopped, and a float16 site that says what its numbers are.

Speeds and memory are printed by scripts/bench_site.py, not asserted here; these tests check what the page holds.
"""

from __future__ import annotations

import re

import pytest
from app_server import find, open_section, source_data, type_prompt, wait_for_chips
from site_support import BUILD_OUTPUT, LIVE_TIMEOUT_MS, SiteServer
from test_static_site import DEFAULT_TEMPERATURE, app_trace, generate, values, wait_for_output, wait_for_tokens

from transformer_explainer.viz.i18n import text

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = [pytest.mark.browser, pytest.mark.site]


def test_a_second_visit_opens_with_no_network_at_all_and_computes_what_it_computed_online(
        open_site, site_server, browser, site_model):
    context = browser.new_context()
    try:
        first = open_site(site_server.url, context=context)
        first.wait_for_function("() => window.__te_site.offlineReady === true", timeout=60_000)
        first.close()
        second = open_site(site_server.url, context=context, offline=True)  # every request refused
        assert second.te_refused, "the page never asked the network: this was not an offline visit"
        prompt = "Offline, the model still answers"
        type_prompt(second, prompt)
        ids = site_model.encode(prompt)
        wait_for_chips(second, site_model.tokenizer.display_tokens(ids), timeout=30_000)
        open_section(second, "output", "output-source")
        wait_for_output(second, app_trace(site_model, ids).logits, DEFAULT_TEMPERATURE)
    finally:
        context.close()


def test_a_host_without_isolation_headers_is_isolated_by_the_service_worker_from_the_second_visit(
        open_site, site_dir, browser, site_model):
    """A host like GitHub Pages sends no COOP/COEP headers: the first visit is not cross-origin isolated
    (onnxruntime-web runs one thread); from the second on, the service worker serves every file with them, and
    onnxruntime-web runs on every core (up to 4), with the same greedy tokens."""
    server = SiteServer(site_dir, isolation_headers=False)
    context = browser.new_context()
    try:
        first = open_site(server.url, context=context)
        assert first.evaluate("() => crossOriginIsolated") is False
        first.wait_for_function("() => window.__te_site.offlineReady === true", timeout=60_000)
        first.close()
        second = open_site(server.url, "?prompt=The+capital+of+France+is&t=0", context=context)
        assert second.evaluate("() => crossOriginIsolated") is True
        ids = site_model.encode("The capital of France is")
        expected = ids + [step.token_id for step in site_model.generate(ids, 4, temperature=0)]
        generate(second, 4)  # the first Generate runs on NumPy and loads onnxruntime-web
        wait_for_tokens(second, expected[-16:], timeout=60_000)
        second.wait_for_function("() => window.__te_site.fast !== undefined", timeout=LIVE_TIMEOUT_MS)
        cores = second.evaluate("() => Math.min(4, navigator.hardwareConcurrency)")
        assert second.evaluate("() => [window.__te_site.fast, window.__te_site.fastThreads]") == ["wasm", cores]
        type_prompt(second, "The capital of France is")  # again, now on onnxruntime-web's threads
        wait_for_chips(second, site_model.tokenizer.display_tokens(ids), timeout=30_000)
        generate(second, 4)
        wait_for_tokens(second, expected[-16:], timeout=60_000)
    finally:
        context.close()
        server.stop()


def test_the_float16_site_says_so_with_the_numbers_the_build_printed(open_site, site_server, site_dir):
    printed = (site_dir.parent / BUILD_OUTPUT).read_text()
    found = re.search(r"float16 against float32 on the 7 example prompts \(\d+ positions\): top-1 agreement "
                      r"(\S+)%, largest logit error (\S+), largest probability error (\S+)\n", printed)
    assert found, printed
    agreement, logit_error, probability_error = found.groups()
    assert float(logit_error) > 0  # float16 is not exact: the build measured a real difference
    expected = text("en", "notice.float16", agreement=float(agreement) / 100, logit_error=float(logit_error),
                    probability_error=float(probability_error))
    page = open_site(site_server.url)
    shown = page.get_by_text("Half-precision weights").first
    expect(shown).to_be_visible()
    assert shown.inner_text().strip() == expected
    assert f"{agreement}%" in expected and logit_error in expected and probability_error in expected


def thousand_token_prompt(model) -> tuple[str, list[int]]:
    words = "the quick brown fox jumps over the lazy dog and then it runs far away ".split()
    text_words, ids = [], []
    while len(ids) < 1000:
        text_words.append(words[len(text_words) % len(words)])
        ids = model.encode(" ".join(text_words))
    prompt = " ".join(text_words)
    return prompt, model.encode(prompt)


def test_a_thousand_token_prompt_says_which_block_runs_can_be_stopped_and_then_completes(open_site, long_site):
    from transformer_explainer.gpt2_core import load_model_from_shards

    model = load_model_from_shards(long_site.directory / "model")
    prompt, ids = thousand_token_prompt(model)
    assert 1000 <= len(ids) <= model.config.n_ctx
    page = open_site(long_site.url)
    before = shown_token_ids(page)
    n_layer = model.config.n_layer
    progress = re.compile(re.escape(text("en", "state.reading", done=999, total=n_layer)).replace("999", r"\d+"))

    type_prompt(page, prompt)  # and Run
    status = find(page, ".te-status")
    expect(status).to_have_text(progress, timeout=60_000)  # the page is told which block runs
    find(page, ".te-stop button").click()
    expect(status).to_have_text(text("en", "state.reading_stopped"), timeout=60_000)
    assert shown_token_ids(page) == before, "the views changed although the new prompt was stopped"

    find(page, ".te-run button").click()  # again, to the end this time
    expect(status).to_have_text(progress, timeout=60_000)
    page.wait_for_function("(last) => { const d = window.__te_data('picture-token-source', ['token_id']); "
                           "return d !== null && window.__te_array(d.token_id).includes(last); }",
                           arg=ids[-1], timeout=120_000)
    expect(status).to_have_text("")
    open_section(page, "output", "output-source")
    wait_for_output(page, model.run_with_trace(ids).logits, DEFAULT_TEMPERATURE)


def shown_token_ids(page) -> list[int]:
    return [int(i) for i in values(source_data(page, "picture-token-source", ["token_id"])["token_id"])]
