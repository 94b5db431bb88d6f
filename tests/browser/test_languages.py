"""The served app in each language, in Chromium: a link's lang=zh shows every word in Chinese (the page's text
and what its figures draw and show on hover, scanned for English words left untranslated), the language picker
redraws the page in the other language on the same state and the link keeps it, the browser's own language is the
default, and a Chinese prompt runs end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_server import find, open_app, open_section, source_data, type_prompt, wait_js
from page_words import english_words, page_texts

from transformer_explainer.app.examples import EXAMPLE_PROMPTS
from transformer_explainer.app.sections.compare import EXAMPLE_PAIRS
from transformer_explainer.app import sections
from transformer_explainer.viz.i18n import text

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "languages"
SECTIONS = sections.keys()


@pytest.fixture
def pages(browser):
    opened = []
    yield opened
    errors = [error for page in opened for error in page.te_errors]
    for page in opened:
        page.close()
    assert errors == [], f"errors in the page: {errors}"


def vocabulary(model) -> list[str]:
    return [model.tokenizer.display(i) for i in range(model.config.n_vocab)]


def test_a_chinese_link_shows_every_word_in_chinese(browser, server, pages, tiny_model):
    page = open_app(browser, server.url + "?lang=zh", width=1440, height=900, wait_for="picture-token-source")
    pages.append(page)
    wait_js(page, "() => document.documentElement.lang === 'zh-Hans'")
    expect(find(page, ".te-header")).to_contain_text("（2 层、4 个注意力头、宽 64）如何预测下一个 token")
    for key in SECTIONS:
        open_section(page, key)
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "zh_1440.png"))
    prompt = page.evaluate("() => window.__te_find('picture-token-source') && "
                           "Array.from(window.__te_find('picture-token-source').data.token || []).join(' ')")
    formulas = [section.explanation.formula for section in sections.SECTIONS]
    examples = [*EXAMPLE_PROMPTS, *(prompt for pair in EXAMPLE_PAIRS for prompt in pair)]
    names = [str(prompt), *examples, tiny_model.name, *vocabulary(tiny_model)]  # the student's and the model's
    left = english_words(page_texts(page), names, formulas)
    assert left == {}, f"English left in the Chinese page: {left}"


def test_the_language_picker_redraws_the_page_on_the_same_state_and_the_link_keeps_it(browser, server, pages):
    page = open_app(browser, server.url + "?t=1.5&layer=1", width=1440, height=900, wait_for="picture-token-source")
    pages.append(page)
    expect(find(page, ".te-run button")).to_have_text(text("en", "app.run"))
    find(page, ".te-language select").select_option(label="中文")
    expect(find(page, ".te-run button")).to_have_text(text("zh", "app.run"))
    expect(find(page, ".te-header")).to_contain_text("如何预测下一个 token")
    wait_js(page, "() => new URLSearchParams(location.search).get('lang') === 'zh'")
    query = page.evaluate("() => Object.fromEntries(new URLSearchParams(location.search))")
    assert query["t"] == "1.5" and query["layer"] == "1", f"the settings stayed: {query}"
    wait_js(page, "() => document.documentElement.lang === 'zh-Hans'")
    find(page, ".te-language select").select_option(label="English")
    expect(find(page, ".te-run button")).to_have_text(text("en", "app.run"))
    wait_js(page, "() => document.documentElement.lang === 'en'")


@pytest.mark.parametrize("locale, lang", [("zh-CN", "zh"), ("en-US", "en"), ("fr-FR", "en")])
def test_the_browsers_language_is_the_default(browser, server, locale, lang):
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.url)
        expect(find(page, ".te-run button")).to_have_text(text(lang, "app.run"), timeout=60_000)
        page.goto(server.url + "?lang=en")  # the link wins over the browser
        expect(find(page, ".te-run button")).to_have_text(text("en", "app.run"), timeout=60_000)
    finally:
        context.close()


def test_a_chinese_prompt_runs_end_to_end(browser, server, pages, tiny_model):
    page = open_app(browser, server.url + "?lang=zh", width=1440, height=900, wait_for="picture-token-source")
    pages.append(page)
    prompt = "中国的首都是北京。😀"
    type_prompt(page, prompt)
    expected = tiny_model.encode(prompt)
    expect(find(page, ".te-token-count")).to_have_text(text("zh", "app.token_count.other", n=len(expected),
                                                            limit=tiny_model.config.n_ctx), timeout=30_000)
    wait_js(page, "(last) => { const s = window.__te_find('picture-token-source'); if (!s) return false; "
                  "const ids = Array.from(s.data.token_id).filter((i) => i >= 0); "
                  "return ids.length > 0 && ids[ids.length - 1] === last; }", expected[-1])
    column = source_data(page, "picture-token-source", ["token_id"])["token_id"]
    shown = [int(i) for i in (column["values"] if isinstance(column, dict) else column) if int(i) >= 0]
    assert shown == expected[-len(shown):], "the picture shows the prompt's own token ids, the newest last"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "zh_prompt_1440.png"))
