"""The served app for someone without a mouse or without sight: axe-core finds no serious or critical violation
in the page (Panel's shadow roots included), and the keyboard alone (Tab, arrows, Enter) reaches the picture,
steps over the attention matrix's cells, opens and steps the derivation, and draws another head, with what the
cursor is on announced in the picture's aria-live region, in the hover's numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from app_server import open_app, source_data

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "assets" / "node_modules" / "axe-core" / "axe.min.js"

# Violations in Bokeh's or Panel's own markup, which we cannot change: (rule id, a piece of the element's HTML or
# selector, why). Everything else axe finds fails the test.
NOT_OURS: list[tuple[str, str, str]] = [
    # A slider's handle (BokehJS 3.9 draws its sliders with noUiSlider: a div with role="slider") gets no
    # accessible name: BokehJS writes the title in a separate div and sets no aria-label/aria-labelledby, and
    # neither Bokeh's Slider nor Panel's sliders have an option for it. The handle does carry aria-valuenow/text.
    ("aria-input-field-name", "noUi-handle", "BokehJS's noUiSlider handle is given no accessible name"),
    # A number box's ▲/▼ buttons (BokehJS 3.9's NumericInput/Spinner, under Panel's IntInput) are empty <button>s
    # with no aria-label; the box itself is labelled, and its arrow keys do the same.
    ("button-name", "bk-spin-btn", "BokehJS's spinner buttons are empty and unlabelled"),
]

ACTIVE_JS = """() => { let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  return a ? [a.tagName, String(a.className), a.getAttribute('role') || ''] : null; }"""


@pytest.fixture
def page(browser, server):
    page = open_app(browser, server.url + "?prompt=The+quick+brown+fox", width=1440, height=900,
                    wait_for="picture-token-source")
    yield page
    errors = page.te_errors
    page.close()
    assert errors == [], f"errors in the page: {errors}"


def run_axe(page) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix assets`")
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
      const result = await axe.run(document, {resultTypes: ['violations']});
      return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({target: n.target, impact: n.impact, html: n.html.slice(0, 160),
                                    summary: n.failureSummary}))}));
    }""")


def not_ours(rule: str, node: dict) -> bool:
    where = json.dumps(node["target"]) + node["html"]
    return any(rule == r and piece in where for r, piece, _ in NOT_OURS)


def serious(violations: list[dict]) -> list[str]:
    out = []
    for violation in violations:
        for node in violation["nodes"]:
            impact = node["impact"] or violation["impact"]
            if impact in ("serious", "critical") and not not_ours(violation["id"], node):
                out.append(f"{impact} {violation['id']} ({violation['help']}): {node['target']}\n    {node['html']}\n"
                           f"    {node['summary']}")
    return out


def test_axe_finds_no_serious_or_critical_violation(page):
    page.wait_for_function("() => document.getElementById('te-picture-live') !== null", timeout=20_000)
    found = serious(run_axe(page))
    assert not found, "axe-core found:\n" + "\n".join(found)


SR_TEXTS_JS = """() => { const out = [];
  const walk = (root) => { for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) walk(el.shadowRoot);
    if (el.classList && el.classList.contains('te-sr-only')) out.push(el.textContent); } };
  walk(document); return out; }"""


def test_the_picture_has_a_screen_reader_summary(page, tiny_model):
    try:  # Panel fills the pane's markup just after the page's first draw
        page.wait_for_function(f"() => ({SR_TEXTS_JS})().some((t) => t.includes('The most likely next token is'))",
                               timeout=10_000)
    except Exception:
        pass  # what it holds then is asserted below
    text = page.evaluate(SR_TEXTS_JS)
    assert any("The most likely next token is" in t for t in text), text
    assert any("head 0" in t for t in text), text


ACTIVE_TEXT_JS = """() => { let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  return a ? a.textContent.trim() : null; }"""


def model_label(page, css_class: str) -> str:
    return page.evaluate("""(cls) => { for (const m of Bokeh.documents[0]._all_models.values())
      if ((m.css_classes || []).includes(cls)) return m.label; return null; }""", css_class)


def tab_to(page, text: str, key: str = "Tab", limit: int = 30) -> None:
    """Press Tab (or Shift+Tab) until the focused element's text is ``text``."""
    for _ in range(limit):
        if page.evaluate(ACTIVE_TEXT_JS) == text:
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {text!r}; the focus is on {page.evaluate(ACTIVE_TEXT_JS)!r}")


def live(page) -> str:
    return source_data(page, "picture-keyboard-source", ["text"])["text"][0]


def cursor(page) -> dict:
    data = source_data(page, "picture-keyboard-source", ["mode", "item", "index", "text"])
    return {key: value[0] for key, value in data.items()}


def press(page, key: str, times: int = 1) -> dict:
    for _ in range(times):
        page.keyboard.press(key)
    page.wait_for_timeout(80)
    return cursor(page)


def test_the_keyboard_alone_reaches_the_picture_opens_the_derivation_and_draws_a_head(page, tiny_model):
    page.wait_for_function("() => document.getElementById('te-picture-live') !== null", timeout=20_000)
    for _ in range(80):  # Tab through the controls above the picture until its canvas has the focus
        page.keyboard.press("Tab")
        active = page.evaluate(ACTIVE_JS)
        if active is not None and active[2] == "application":
            break
    else:
        pytest.fail(f"Tab never reached the picture; the focus is on {active}")
    assert "bk-Canvas" in active[1]
    page.wait_for_function("() => window.__te_data('picture-keyboard-source', ['mode']).mode[0] === 'ring' && "
                           "window.__te_data('picture-keyboard-source', ['text']).text[0] !== ''")

    # Right to the attention matrix; its description and the hint are announced.
    for _ in range(20):
        if cursor(page)["item"] == "attention":
            break
        press(page, "ArrowRight")
    assert cursor(page)["item"] == "attention"
    # Inside: the cursor starts on the last query's first key; the announcement has the hover's numbers.
    state = press(page, "ArrowDown")
    assert state["mode"] == "cells"
    ids = tiny_model.encode("The quick brown fox")
    trace = tiny_model.run_with_trace(ids, head_results=True)
    n = trace.n_tokens
    state = press(page, "ArrowRight")  # key 1
    assert state["index"] == (n - 1) * n + 1
    weight = float(trace["blocks.0.attn.hook_pattern"][0][n - 1, 1])
    assert f"weight {weight:.4g}"[:12] in state["text"] or f"{weight:.5f}"[:6] in state["text"], state["text"]
    page.wait_for_function("(text) => document.getElementById('te-picture-live').textContent === text",
                           arg=state["text"])
    state = press(page, "ArrowUp")
    assert state["index"] == (n - 2) * n + 1
    # Enter on the matrix opens the derivation, as a tap does; the focus moves to its Back button.
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__te_find('derivation-player') !== null", timeout=20_000)
    page.wait_for_function(f"() => ({ACTIVE_TEXT_JS})() === {json.dumps(model_label(page, 'te-picture-back'))}",
                           timeout=20_000)
    # Tab to the player's "skip to the end" button; Enter shows the last frame.
    skip = page.evaluate("() => window.__te_find('derivation-skip').label")
    tab_to(page, skip)
    page.keyboard.press("Enter")
    page.wait_for_function("() => { const p = window.__te_find('derivation-player'); return p.value === p.end; }")
    # Back (Shift+Tab to it, Enter): the picture again, and the focus on its new canvas.
    tab_to(page, model_label(page, "te-picture-back"), key="Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => {{ const a = ({ACTIVE_JS})(); return a !== null && a[2] === 'application'; }}",
                           timeout=20_000)
    assert cursor(page)["mode"] == "ring"
    for _ in range(20):
        if cursor(page)["item"] == "heads":
            break
        press(page, "ArrowRight")
    assert cursor(page)["item"] == "heads"
    state = press(page, "ArrowDown")
    assert state["mode"] == "heads"
    state = press(page, "ArrowDown", times=2)
    head = source_data(page, "picture-head-source", ["head"])["head"]
    head = (head["values"] if isinstance(head, dict) else head)[state["index"]]
    page.keyboard.press("Enter")
    page.wait_for_function("(head) => location.search.includes('head=' + head)", arg=int(head), timeout=20_000)
    page.wait_for_function("""(head) => { const d = window.__te_data('picture-head-source', ['head', 'selected']);
      const h = window.__te_array(d.head), s = window.__te_array(d.selected); return Boolean(s[h.indexOf(head)]); }""",
                           arg=int(head))
    assert f"Head {int(head)}" in live(page)


def test_the_keyboard_silences_a_head_where_the_mouse_clicks_the_grid(browser, server, tiny_model):
    """The heads section's grid is clicked with a mouse; its box takes the same heads from the keyboard."""
    from app_server import find, wait_js
    from playwright.sync_api import expect

    page = open_app(browser, server.url + "?prompt=The+quick+brown+fox&view=heads", width=1440, height=900,
                    wait_for="picture-token-source")
    try:
        box = find(page, ".te-ablation-box input")
        box.focus()  # where Tab would bring it; the typing below is the keyboard's alone
        page.keyboard.type("1.0")
        page.keyboard.press("Enter")
        wait_js(page, "() => new URLSearchParams(location.search).get('ablate') === '1.0'")
        expect(find(page, ".te-ablation-note")).to_contain_text("layer 1 head 0")
        assert page.te_errors == []
    finally:
        page.close()
