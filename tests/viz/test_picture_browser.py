"""The picture in headless Chromium, as a standalone page: hovering a token lights its path in every stage (read
back from the page's sources), an attention cell's hover gives the exact numbers, taps select a stage or a head,
no console errors, and screenshots at 1440 and 390 px wide go to test-artifacts/picture/ (git-ignored)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.viz.picture import PictureView
from transformer_explainer.viz.common import shorten_to_ems
from transformer_explainer.viz.picture.embedding import TOKEN_LABEL_EMS
from transformer_explainer.viz.picture.layout import CANDIDATE_LABEL_RIGHT, COLUMNS, TOKEN_PX, Rows, centre
from transformer_explainer.viz.picture.output import CANDIDATE_LABEL_EMS
from transformer_explainer.viz.standalone import standalone_html

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "picture"

TOOLTIP_TEXT_JS = """() => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (el.classList && el.classList.contains('bk-tooltip-row-value')) out.push(el.textContent.trim());
    }
  };
  walk(document);
  return out;
}"""

DATA_TO_PAGE_JS = """([plot_id, x, y]) => {
  const view = Bokeh.index.find_one_by_id(plot_id);
  const box = view.canvas_view.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
}"""

COLUMNS_JS = """([ids, names]) => ids.map((id) => {
  const data = Bokeh.documents[0].get_model_by_id(id).data;
  const out = {};
  for (const name of names) out[name] = data[name] === undefined ? null : Array.from(data[name]);
  return out;
})"""

SELECTED_JS = "(id) => Array.from(Bokeh.documents[0].get_model_by_id(id).selected.indices)"
LIT_SLOT_JS = "([id, slot]) => Bokeh.documents[0].get_model_by_id(id).data.slot[0] === slot"
SELECTION_IS_JS = """([id, indices]) => JSON.stringify(Array.from(Bokeh.documents[0].get_model_by_id(id).selected.indices))
                     === JSON.stringify(indices)"""


@pytest.fixture(scope="module")
def picture(trace, display):
    probabilities = sampling.probabilities(trace.logits, 0.8)
    sampled = int(np.argsort(-probabilities, kind="stable")[1])
    return PictureView(trace, 1, 2, probabilities, sampled, display, n_layer=trace.config.n_layer,
                       selected_position=trace.n_tokens - 1, ablated_heads={(1, 0)})


@pytest.fixture(scope="module")
def page_file(picture, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("picture") / "picture.html"
    path.write_text(standalone_html(picture.layout, "picture"), encoding="utf-8")
    return path


def open_page(browser, path: Path, width: int = 1440, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type in ("error", "warning") else None)
    page.goto(path.as_uri())
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.index.roots.length > 0")
    page.wait_for_timeout(300)
    return page, errors


@pytest.fixture(scope="module")
def page(browser, page_file):
    page, errors = open_page(browser, page_file)
    page.te_errors = errors
    yield page
    page.close()


def move_to(page, plot, x: float, y: float) -> None:
    sx, sy = page.evaluate(DATA_TO_PAGE_JS, [plot.id, x, y])
    page.mouse.move(sx, sy)
    page.wait_for_timeout(120)


DOUBLE_TAP_WINDOW_MS = 300  # BokehJS reads a second tap within this time as a double tap, not a tap


def click(page, plot, x: float, y: float) -> None:
    """One tap: waits out BokehJS's double-tap window first, so two taps in a row are two taps."""
    page.wait_for_timeout(DOUBLE_TAP_WINDOW_MS + 150)
    page.mouse.click(*page.evaluate(DATA_TO_PAGE_JS, [plot.id, x, y]))


def wait_until_lit(page, picture, slot: int) -> None:
    """Waits (the page may be slow under load) until the highlight state names ``slot``; a wrong one fails below."""
    try:
        page.wait_for_function(LIT_SLOT_JS, arg=[picture.highlight_source.id, slot], timeout=3000)
    except Exception:
        pass


def tooltip_after(page, expected_first: str) -> list[str]:
    """The tooltip's values once its first row says ``expected_first`` (or what it says after 3 s)."""
    try:
        page.wait_for_function(f"() => ({TOOLTIP_TEXT_JS})().includes({json.dumps(expected_first)})", timeout=3000)
    except Exception:
        pass
    return page.evaluate(TOOLTIP_TEXT_JS)


def wait_until_selected(page, source, indices: list[int]) -> None:
    try:
        page.wait_for_function(SELECTION_IS_JS, arg=[source.id, indices], timeout=3000)
    except Exception:
        pass


def read(page, sources, names=("slot", "key_slot", "alpha", "base_alpha")) -> list[dict]:
    return page.evaluate(COLUMNS_JS, [[source.id for source in sources], list(names)])


def assert_lit(page, picture, slot: int) -> None:
    sources = picture.highlighted_sources
    for source, columns in zip(sources, read(page, sources)):
        slots, alpha, base = (np.asarray(columns[k], dtype=float) for k in ("slot", "alpha", "base_alpha"))
        keys = np.asarray(columns["key_slot"], dtype=float) if columns["key_slot"] is not None else None
        real = slots >= 0
        lit = slots == slot if keys is None else (slots == slot) | (keys == slot)
        assert np.all(alpha[real & lit] >= 0.85), f"{source.name}: the hovered token's rows are not lit"
        assert np.all(alpha[real & ~lit] < base[real & ~lit]), f"{source.name}: the other rows are not dimmed"
        if source is not picture.output.fan_source:  # only the last token's vector reaches the output
            assert (real & lit).any(), f"{source.name} has no row of token {slot}"


def assert_at_rest(page, picture) -> None:
    for source, columns in zip(picture.highlighted_sources, read(page, picture.highlighted_sources)):
        assert columns["alpha"] == columns["base_alpha"], source.name


def highlighted(page, picture) -> tuple[int, int]:
    state = read(page, [picture.highlight_source], ("slot", "position"))[0]
    return state["slot"][0], state["position"][0]


def test_hovering_a_token_lights_its_path_through_every_stage_and_leaving_puts_it_back(page, picture, trace):
    rows = Rows.for_prompt(trace.n_tokens)
    move_to(page, picture.figure, centre("tokens"), float(rows.y(2)))
    wait_until_lit(page, picture, 2)
    assert highlighted(page, picture) == (2, rows.positions[2])
    assert_lit(page, picture, 2)
    move_to(page, picture.figure, COLUMNS["mlp_pre"][0] + 10, float(rows.y(5)))  # any cell of a token's row
    wait_until_lit(page, picture, 5)
    assert highlighted(page, picture) == (5, rows.positions[5])
    assert_lit(page, picture, 5)
    move_to(page, picture.figure, 20.0, 552.0)  # nothing there
    wait_until_lit(page, picture, -1)
    assert highlighted(page, picture) == (-1, -1)
    assert_at_rest(page, picture)
    assert page.te_errors == []


def test_tapping_a_token_pins_its_path_until_a_tap_elsewhere(page, picture, trace):
    rows = Rows.for_prompt(trace.n_tokens)
    click(page, picture.figure, centre("tokens"), float(rows.y(3)))
    wait_until_selected(page, picture.token_source, [3])
    move_to(page, picture.figure, 20.0, 552.0)
    wait_until_lit(page, picture, 3)
    assert highlighted(page, picture) == (3, rows.positions[3]), "the tapped token stays lit (phones have no hover)"
    assert_lit(page, picture, 3)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "picture_desktop_token_lit.png"))
    click(page, picture.figure, 20.0, 552.0)
    wait_until_lit(page, picture, -1)
    assert highlighted(page, picture) == (-1, -1)
    assert_at_rest(page, picture)
    assert page.te_errors == []


def test_hovering_an_attention_cell_shows_both_tokens_q_dot_k_the_masked_score_and_the_weight(page, picture, trace):
    rows = Rows.for_prompt(trace.n_tokens)
    attn = "blocks.1.attn"
    for query, key in ((5, 2), (1, 4)):
        move_to(page, picture.figure, rows.matrix_left + (key + 0.5) * rows.matrix_cell, float(rows.y(query)))
        shown = tooltip_after(page, f"{query}: {trace.tokens[query]}")[:5]
        assert shown[:2] == [f"{query}: {trace.tokens[query]}", f"{key}: {trace.tokens[key]}"], shown
        assert np.float32(float(shown[2])) == trace[f"{attn}.hook_attn_raw"][2][query, key]
        score = trace[f"{attn}.hook_attn_scores"][2][query, key]
        assert shown[3] == "masked (\u2212\u221e)" if np.isneginf(score) else np.float32(float(shown[3])) == score
        assert np.float32(float(shown[4])) == trace[f"{attn}.hook_pattern"][2][query, key]
    assert page.te_errors == []


def test_hovering_a_strip_cell_shows_its_hook_token_dimension_and_exact_value(page, picture, trace):
    rows = Rows.for_prompt(trace.n_tokens)
    left, right = COLUMNS["ln2"]
    dim = 3
    move_to(page, picture.figure, left + (dim + 0.5) * (right - left) / 16, float(rows.y(4)))
    shown = tooltip_after(page, "blocks.1.ln2.hook_out")[:4]
    assert shown[:3] == ["blocks.1.ln2.hook_out", f"4: {trace.tokens[4]}", f"{dim} of {trace.config.n_embd}"]
    assert np.float32(float(shown[3])) == trace["blocks.1.ln2.hook_out"][4, dim]


def test_tapping_a_stage_or_a_head_card_selects_it_in_the_page(page, picture, trace):
    rows = Rows.for_prompt(trace.n_tokens)
    stages = list(picture.stage_source.data["stage"])
    for x, stage in ((centre("mlp_post"), "mlp"), (rows.matrix_left + 3, "attention"), (centre("qkv"), "qkv")):
        click(page, picture.figure, x, float(rows.y(1)))
        wait_until_selected(page, picture.stage_source, [stages.index(stage)])
        selected = page.evaluate(SELECTED_JS, picture.stage_source.id)
        assert [picture.stage_source.data["stage"][i] for i in selected] == [stage]
    cards = picture.head_source.data
    click(page, picture.figure, float(cards["x"][3]), float(cards["y"][3]))
    wait_until_selected(page, picture.head_source, [3])
    assert page.evaluate(SELECTED_JS, picture.head_source.id) == [3]
    assert page.evaluate(SELECTED_JS, picture.stage_source.id) == [], "a head card is not also a stage"
    assert page.te_errors == []


@pytest.mark.parametrize("width", [1440, 390], ids=["desktop", "phone"])
def test_screenshots_and_the_page_never_widens(browser, page_file, picture, width):
    page, errors = open_page(browser, page_file, width, 900 if width > 600 else 844)
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = "desktop" if width > 600 else "phone"
        page.screenshot(path=str(ARTIFACTS / f"picture_{name}.png"))
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width + 1
        box = page.evaluate("""() => { const el = Bokeh.index.roots[0].el;
                                       return [el.scrollWidth, el.clientWidth, getComputedStyle(el).overflowX]; }""")
        if width < box[0]:
            assert box[2] == "auto" and box[1] <= width, "the picture scrolls inside its own box"
        plot_width = page.evaluate("""(id) => Bokeh.index.find_one_by_id(id).canvas_view.el
                                      .getBoundingClientRect().width""", picture.figure.id)
        assert plot_width == picture.figure.width, "the picture keeps its size (no squeezed labels)"
        assert errors == []
    finally:
        page.close()


def test_a_screenshot_of_a_prompt_longer_than_the_picture_shows(browser, longer_trace, display, tmp_path):
    probabilities = sampling.probabilities(longer_trace.logits, 1.0)
    view = PictureView(longer_trace, 0, 1, probabilities, int(np.argmax(probabilities)), display,
                       n_layer=longer_trace.config.n_layer)
    path = tmp_path / "long.html"
    path.write_text(standalone_html(view.layout, "picture"), encoding="utf-8")
    page, errors = open_page(browser, path)
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "picture_desktop_long_prompt.png"))
        assert errors == []
    finally:
        page.close()


def test_the_keyboard_reaches_the_pickers_and_enter_taps_them(browser, trace, display, tmp_path):
    """The pickers drawn on the picture are parts of the keyboard cursor's ring: Enter on one selects it, as a tap."""
    from bokeh.document import Document
    from bokeh.embed import file_html

    from transformer_explainer.viz.picture.keyboard import PictureKeyboard
    from transformer_explainer.viz.standalone import SelfContainedResources

    probabilities = sampling.probabilities(trace.logits, 0.8)
    view = PictureView(trace, 0, 1, probabilities, None, display, n_layer=trace.config.n_layer)
    document = Document()
    document.add_root(view.layout)
    PictureKeyboard(view).attach(document)
    path = tmp_path / "keyboard.html"
    path.write_text(file_html(document, SelfContainedResources(mode="inline"), title="picture"), encoding="utf-8")
    page, errors = open_page(browser, path)
    try:
        page.wait_for_function(f"""() => {{ const v = Bokeh.index.find_one_by_id('{view.figure.id}');
                                           return v != null && v.canvas_view.el.getAttribute('tabindex') === '0'; }}""")
        page.evaluate(f"() => Bokeh.index.find_one_by_id('{view.figure.id}').canvas_view.el.focus()")
        seen = []
        cursor = document.get_model_by_name("picture-keyboard-source")
        for _ in range(30):
            item = page.evaluate("(id) => Bokeh.documents[0].get_model_by_id(id).data.item[0]", cursor.id)
            seen.append(item)
            if item == "head_next":
                break
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(60)
        assert "block_next" in seen and seen[-1] == "head_next", seen
        assert "block_prev" not in seen, "block 0 has no block before: no button in the ring"
        page.keyboard.press("Enter")
        stages = list(view.stage_source.data["stage"])
        wait_until_selected(page, view.stage_source, [stages.index("head_next")])
        assert page.evaluate(SELECTED_JS, view.stage_source.id) == [stages.index("head_next")]
        assert errors == []
    finally:
        page.close()


# Tokens whose labels are wider than their length says: bytes of a character cut by the tokenizer, CJK, emoji,
# capitals, symbols (a student's own prompt holds any of them)
WIDE_TOKENS = ["<0xF0><0x9F><0x98><0x80>", "<0xE4><0xB8>", "␣Washington", "中文中文中文中文", "😀😀😀😀😀😀😀",
               "<U+200B><U+200B>", "MMMMMMMMMMMM", "WWWWWWWWWWWW", "@@@@@@@@@@", "␣visualization", "0x0x0x0x0x0x0x"]
TEXT_WIDTH_JS = """([labels, px]) => { const context = document.createElement('canvas').getContext('2d');
  context.font = `${px}px helvetica`;  // BokehJS's Text default, which the picture keeps
  return labels.map((label) => context.measureText(label).width); }"""


def test_token_and_candidate_labels_fit_their_boxes_in_the_browsers_own_font(page):
    """Measured in the page's font (the boxes and the type scale together: design pixels compare)."""
    left, right = COLUMNS["tokens"]
    rooms = {"token box": ((right - 5.0) - left - 2.0, TOKEN_LABEL_EMS),  # right-aligned 5 px inside the box
             "candidate": (CANDIDATE_LABEL_RIGHT - COLUMNS["logit"][1] - 2.0, CANDIDATE_LABEL_EMS)}  # logit cell → bars
    for where, (room, ems) in rooms.items():
        labels = [shorten_to_ems(token, ems) for token in WIDE_TOKENS]
        for token, label, width in zip(WIDE_TOKENS, labels, page.evaluate(TEXT_WIDTH_JS, [labels, TOKEN_PX])):
            assert width <= room, f"{where}: {label!r} (from {token!r}) is {width:.0f} px wide, the room {room:.0f} px"
