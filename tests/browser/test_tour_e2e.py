"""The guided tour in the served app, in headless Chromium as a teacher would use it: a link opens it at a step,
Next and Back walk every step (each outlining its stage, each formula showing the prompt's real numbers), Esc
closes it and the link forgets it, in English and in Chinese; screenshots of three steps at two sizes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from app_server import find, opened_pages, wait_js

from transformer_explainer.app.runtime import ModelRuntime
from transformer_explainer.app.state import ExplainerState
from transformer_explainer.app.tour import N_STEPS, TOUR_STEPS, step_formula
from transformer_explainer.viz import i18n

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "tour"
PROMPT = "The quick brown fox jumps over"
SETTINGS = {"prompt": PROMPT, "layer": 1, "head": 2}
SCREENSHOT_STEPS = (1, 7, 15)


@pytest.fixture
def open_page(browser, server):
    with opened_pages(browser, server.url, width=1440, wait_for="picture-spotlight-source") as opener:
        yield opener


@pytest.fixture(scope="module")
def expected(tiny_model):
    """What each step's formula says for SETTINGS, per language: the same state as the page's, worked out here."""
    state = ExplainerState(ModelRuntime(tiny_model), prompt=PROMPT, layer=1, head=2)
    return {lang: [step_formula(step, state, i18n.translator(lang)) for step in TOUR_STEPS] for lang in i18n.LANGUAGES}


def wait_for_step(page, step: int, lang: str, expected: dict) -> None:
    """The card shows step ``step`` (its progress line, title and formula) and the picture outlines its stage."""
    words = i18n.translator(lang)
    card = find(page, ".te-tour")
    expect(card.locator(".te-tour-progress")).to_have_text(words("tour.progress", step=step, n=N_STEPS))
    expect(card.locator(".te-tour-title")).to_have_text(words(TOUR_STEPS[step - 1].title))
    expect(card.locator(".te-tour-formula")).to_have_text(expected[lang][step - 1])
    wait_js(page, """(stage) => { const d = window.__te_data('picture-spotlight-source', ['stage']);
                                  const shown = window.__te_array(d.stage);
                                  return shown.length > 0 && shown.every((s) => s === stage); }""",
            TOUR_STEPS[step - 1].stage)


def click(page, css: str) -> None:
    button = find(page, f"{css} button")
    button.scroll_into_view_if_needed()
    button.click()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    find(page, ".te-tour").scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / name))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_next_walks_every_step_to_the_end_back_returns_and_esc_closes(open_page, expected, lang):
    page = open_page({**SETTINGS, "tour": 1, "lang": lang})
    expect(find(page, ".te-tour")).to_be_visible()
    expect(find(page, ".te-tour-next button")).to_have_text(i18n.text(lang, "tour.next"))
    for step in range(1, N_STEPS + 1):
        wait_for_step(page, step, lang, expected)
        page.wait_for_function("(step) => new URLSearchParams(location.search).get('tour') === String(step)", arg=step)
        if step < N_STEPS:
            click(page, ".te-tour-next")
    expect(find(page, ".te-tour-next button")).to_be_disabled()
    click(page, ".te-tour-back")
    wait_for_step(page, N_STEPS - 1, lang, expected)
    find(page, ".te-prompt textarea").press("Escape")  # in the prompt box Esc is the box's: the tour stays
    page.wait_for_timeout(300)
    expect(find(page, ".te-tour")).to_be_visible()
    find(page, ".te-tour-back button").focus()
    page.keyboard.press("Escape")
    expect(find(page, ".te-tour")).to_be_hidden()
    page.wait_for_function("() => !location.search.includes('tour=')")
    wait_js(page, "() => window.__te_array(window.__te_data('picture-spotlight-source', ['stage']).stage).length === 0")
    click(page, ".te-tour-start")  # and the start button opens it again, at the first step
    wait_for_step(page, 1, lang, expected)


def test_a_link_opens_its_step_and_one_past_the_end_opens_the_last_saying_why(open_page, expected):
    page = open_page({**SETTINGS, "tour": 7})
    wait_for_step(page, 7, "en", expected)
    assert TOUR_STEPS[6].name == "scaling"
    page = open_page({**SETTINGS, "tour": 99})
    wait_for_step(page, N_STEPS, "en", expected)
    expect(find(page, ".te-tour-note")).to_contain_text("There is no step 99")
    page.wait_for_function(f"() => location.search.includes('tour={N_STEPS}')")


def test_the_tour_works_from_the_keyboard_with_a_visible_focus(open_page, expected):
    page = open_page({**SETTINGS, "tour": 2})
    wait_for_step(page, 2, "en", expected)
    next_button = find(page, ".te-tour-next button")
    next_button.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")  # focus by keyboard: the focus ring shows
    outline = next_button.evaluate("(el) => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith(" 0px"), outline
    page.keyboard.press("Enter")
    wait_for_step(page, 3, "en", expected)
    find(page, ".te-tour-glossary-toggle button").focus()
    page.keyboard.press("Enter")
    expect(find(page, ".te-tour-glossary")).to_contain_text(i18n.text("en", "tour.glossary.causal_mask"))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)], ids=["laptop", "phone"])
def test_screenshots_of_three_steps(open_page, expected, lang, width, height):
    page = open_page({**SETTINGS, "tour": SCREENSHOT_STEPS[0], "lang": lang}, width=width, height=height)
    for step in SCREENSHOT_STEPS:
        while int(page.evaluate("() => new URLSearchParams(location.search).get('tour')")) < step:
            current = int(page.evaluate("() => new URLSearchParams(location.search).get('tour')"))
            click(page, ".te-tour-next")
            page.wait_for_function("(n) => new URLSearchParams(location.search).get('tour') === String(n)",
                                   arg=current + 1)
        wait_for_step(page, step, lang, expected)
        if width < 600 and TOUR_STEPS[step - 1].stage == "attention":  # the lit stage is in view (the picture
            # fits the phone's width; the page scrolls down to the stage when it is below the window)
            wait_js(page, """() => { const f = window.__te_find('picture-figure');
                const view = f === null ? null : Bokeh.index.find_one_by_id(f.id);
                const d = window.__te_data('picture-spotlight-source', ['left', 'right', 'top', 'bottom']);
                if (view == null || d === null || window.__te_array(d.left).length === 0) return false;
                const canvas = view.canvas_view.el.getBoundingClientRect();
                const x = [...window.__te_array(d.left), ...window.__te_array(d.right)]
                  .map((v) => canvas.left + view.frame.x_scale.compute(v));
                const y = window.__te_array(d.top).map((v) => canvas.top + view.frame.y_scale.compute(v));
                return Math.min(...x) >= 0 && Math.max(...x) <= window.innerWidth
                  && Math.min(...y) >= 0 && Math.min(...y) < window.innerHeight; }""")
        screenshot(page, f"step{step:02d}_{lang}_{width}.png")
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"the page is {scroll_width} px wide on a {width} px screen"


def test_the_mask_step_plays_the_heads_math_from_the_mask_in_the_pictures_place(open_page):
    mask = next(i for i, step in enumerate(TOUR_STEPS, 1) if step.name == "mask")
    page = open_page({**SETTINGS, "tour": mask})
    find(page, ".te-tour-math button").click()
    wait_js(page, "() => { const f = window.__te_find('derivation-figure'); "
                  "return f !== null && Bokeh.index.find_one_by_id(f.id) != null; }", timeout=20_000)
    # The player starts at the mask's first frame (step 3), not at the dot product, and plays on from there.
    seen = page.evaluate("""() => new Promise((resolve) => {
        const player = window.__te_find('derivation-player'), frames = window.__te_data('derivation-frames', ['step']);
        const steps = window.__te_array(frames.step), seen = [];
        const began = performance.now();
        const tick = () => { seen.push([player.value, steps[player.value]]);  // until it moves on (or 6 s)
                             if (player.value === seen[0][0] && performance.now() - began < 6000)
                               requestAnimationFrame(tick);
                             else resolve(seen); };
        requestAnimationFrame(tick); })""")
    shown_steps = [step for _, step in seen]
    assert min(shown_steps) == 3, seen  # never the dot product or the scaling
    assert seen[-1][0] > seen[0][0], seen  # playing
    page.screenshot(path=str(ARTIFACTS / "tour_mask_math_1440.png"))
