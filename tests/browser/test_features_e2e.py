"""Heads labelled by measurement, the commitment lens and two prompts side by side, in the served app on the tiny
checkpoint: what the page holds (its Bokeh data, its text) equals what gpt2_core computes here, and screenshots of
each feature on a laptop and a phone, in English and Chinese (test-artifacts/features/)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from app_server import (bokeh_widget_value, column, find, hover, image, opened_pages, source_data, tap,
                        values, wait_for_chips, wait_for_column, wait_js)

from transformer_explainer.gpt2_core import head_scores, sampling
from transformer_explainer.gpt2_core.commitment import commitment_blocks, lens_top_tokens
from transformer_explainer.gpt2_core.comparison import aligned_probabilities
from transformer_explainer.gpt2_core.interventions import zero_ablate_heads
from transformer_explainer.viz.i18n import text

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "features"
TEMPERATURE = 0.8  # the page's default
FIRST, SECOND = "The Eiffel Tower is in", "The Colosseum is in"


@pytest.fixture
def open_page(browser, server):
    with opened_pages(browser, server.url, width=1440, height=900) as opener:
        yield opener


def app_trace(model, text_or_ids):
    """The trace the app shows (runtime.trace): every hook point, per-head results, no head silenced."""
    ids = model.encode(text_or_ids) if isinstance(text_or_ids, str) else list(text_or_ids)
    return model.run_with_trace(ids, head_results=True, hooks=zero_ablate_heads([]))


# -- two prompts -------------------------------------------------------------------------------------------------

def test_a_compare_link_restores_both_prompts_and_shows_the_models_aligned_probabilities(open_page, tiny_model):
    page = open_page({"prompt": FIRST, "compare": SECOND, "view": "compare", "layer": 1, "head": 2},
                     wait_for="compare-source")
    first, second = app_trace(tiny_model, FIRST), app_trace(tiny_model, SECOND)
    wait_for_chips(page, first.tokens)
    assert find(page, ".te-prompt textarea").input_value() == FIRST
    assert find(page, ".te-compare-prompt input").input_value() == SECOND
    expect(find(page, ".te-compare-first pre")).to_have_text(f"A (in the picture): {FIRST}")

    aligned = aligned_probabilities(sampling.probabilities(first.logits, TEMPERATURE),
                                    sampling.probabilities(second.logits, TEMPERATURE), 10)
    wait_for_column(page, "compare-source", "token_id", aligned.ids.tolist())
    shown = source_data(page, "compare-source", ["first", "second", "difference", "token"])
    np.testing.assert_array_equal(np.asarray(values(shown["first"])), aligned.first)
    np.testing.assert_array_equal(np.asarray(values(shown["second"])), aligned.second)
    np.testing.assert_array_equal(np.asarray(values(shown["difference"])), aligned.difference)
    assert values(shown["token"]) == [tiny_model.tokenizer.display(int(i)) for i in aligned.ids]
    np.testing.assert_array_equal(image(page, "compare-pattern-a-source"), first["blocks.1.attn.hook_pattern"][2])
    np.testing.assert_array_equal(image(page, "compare-pattern-b-source"), second["blocks.1.attn.hook_pattern"][2])

    # "Show this prompt in the picture": the two swap, and the link keeps both.
    find(page, ".te-compare-swap button").click()
    wait_for_chips(page, second.tokens)
    page.wait_for_function("(parts) => parts.every((part) => location.search.includes(part))",
                           arg=[urlencode({"prompt": SECOND}), urlencode({"compare": FIRST})])
    assert find(page, ".te-compare-prompt input").input_value() == FIRST
    wait_for_column(page, "compare-source", "difference", (-aligned.difference[::-1]).tolist(), tolerance=1e-12)


def test_a_bad_second_prompt_is_said_and_the_comparison_stays(open_page, tiny_model):
    page = open_page({"prompt": FIRST, "compare": SECOND, "view": "compare", "lang": "zh"}, wait_for="compare-source")
    box = find(page, ".te-compare-prompt input")
    box.fill("word " * 200)
    box.press("Enter")
    n = len(tiny_model.encode("word " * 200))
    expect(find(page, ".te-compare-error pre")).to_contain_text(text("zh", "compare.too_long", n=n, n_ctx=128))
    second = app_trace(tiny_model, SECOND)
    shown = np.asarray(values(column(page, "compare-source", "second")))
    assert shown.size and set(shown) <= set(sampling.probabilities(second.logits, TEMPERATURE).tolist())
    expect(find(page, ".te-error")).to_be_hidden()  # the picture's prompt is fine


# -- heads ----------------------------------------------------------------------------------------------------

def test_the_heads_filter_lists_exactly_the_heads_above_the_threshold(open_page, tiny_model):
    prompt = "Data visualization empowers users to"
    page = open_page({"prompt": prompt, "view": "heads"}, wait_for="head-grid-source")
    trace = app_trace(tiny_model, prompt)
    scores = head_scores.head_scores(trace, head_scores.induction_scores(tiny_model))
    find(page, ".te-head-filter select").select_option(label=text("en", "heads.filter.previous"))
    handle = find(page, ".te-head-threshold .noUi-handle")
    handle.focus()
    handle.press("ArrowLeft")
    handle.press("ArrowLeft")  # 0.4 → 0.3
    threshold = bokeh_widget_value(page, "te-head-threshold")
    assert threshold == pytest.approx(0.3)
    expected = head_scores.heads_above(scores.previous, threshold)
    assert 0 < len(expected) < 8, "the threshold must split the heads for the test to mean something"
    rows = [layer * 4 + head for layer, head in expected]
    wait_for_column(page, "head-grid-source", "highlight_alpha", [1.0 if i in rows else 0.0 for i in range(8)])
    listed = ", ".join(f"L{l} H{h} ({scores.previous[l, h]:.2f})" for l, h in expected)
    expect(find(page, ".te-head-filter-note pre")).to_have_text(
        text("en", "heads.filter.result", n=len(expected), total=8, score=text("en", "heads.role.previous.score"),
             threshold=f"{threshold:.2f}", heads=listed))
    # Each head's scores on hover: layer 0, head 3.
    shown = hover(page, "head-grid-figure", 3.5, 0.5, rows=7)
    assert shown[3:6] == [f"{scores.previous[0, 3]:.3f}", f"{scores.first[0, 3]:.3f}", f"{scores.induction[0, 3]:.3f}"]


# -- the commitment lens ------------------------------------------------------------------------------------------

def test_the_commitment_strip_holds_each_tokens_block_and_a_tap_shows_that_tokens_lens(open_page, tiny_model):
    prompt = "The quick brown fox jumps over"
    page = open_page({"prompt": prompt, "view": "lens"}, wait_for="commitment-source")
    trace = app_trace(tiny_model, prompt)
    blocks = commitment_blocks(lens_top_tokens(tiny_model.params, tiny_model.config, trace).top_ids)
    wait_for_column(page, "commitment-source", "block", blocks.tolist())
    for p in range(trace.n_tokens):  # against the lens run one position at a time
        argmax = [int(np.argmax(row)) for row in tiny_model.logit_lens(trace, p)]
        assert blocks[p] == argmax.index(argmax[-1])
    tap(page, "commitment-figure", 1.5, 0.5)  # the second token
    page.wait_for_function("() => location.search.includes('pos=1')")
    lens = tiny_model.logit_lens(trace, 1)
    wait_for_column(page, "lens-marked-source", "layer", [int(blocks[1])])
    token_ids = np.asarray(values(column(page, "lens-source", "token_id")))
    ranks = np.asarray(values(column(page, "lens-source", "rank")))
    assert token_ids[ranks == 0].tolist() == [int(np.argmax(row)) for row in lens]


# -- screenshots --------------------------------------------------------------------------------------------------

FEATURES = {"heads": ({"prompt": "Data visualization empowers users to", "view": "heads"}, "head-grid-source"),
            "lens": ({"prompt": "The quick brown fox jumps over the lazy dog", "view": "lens"}, "commitment-source"),
            "compare": ({"prompt": FIRST, "compare": SECOND, "view": "compare"}, "compare-source")}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)], ids=["laptop", "phone"])
def test_screenshots_of_each_feature(open_page, lang, width, height):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for feature, (query, source) in FEATURES.items():
        page = open_page({**query, "lang": lang}, width=width, height=height, wait_for=source)
        if feature == "heads":  # previous token, above 0.3: some heads outlined
            find(page, ".te-head-filter select").select_option(index=1)
            handle = find(page, ".te-head-threshold .noUi-handle")
            handle.focus()
            handle.press("ArrowLeft")
            handle.press("ArrowLeft")
            wait_js(page, "() => window.__te_array(window.__te_data('head-grid-source', ['highlight_alpha'])"
                          ".highlight_alpha).some((alpha) => alpha > 0)")
        section = find(page, f".te-section-{feature}")
        section.scroll_into_view_if_needed()
        page.wait_for_timeout(800)  # let Bokeh finish its layout before the picture is taken
        section.screenshot(path=str(ARTIFACTS / f"{feature}_{lang}_{width}.png"))
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll_width <= width + 1, f"the {feature} section makes the page {scroll_width} px wide"
        page.close()
