"""The explainer app end to end: `transformer-explainer serve` with the tiny checkpoint, driven in headless
Chromium like a student would (typing, clicking, dragging, hovering), and every number on the page checked
against what gpt2_core computes in this process.

One server for the module; every test opens a fresh page (a fresh session and state on the server). The page's
numbers are read from its Bokeh document (sources found by name: ``output-source``, ``pattern-source``, ...);
widgets are found by the CSS classes the app gives them (``te-prompt``, ``te-temperature``, ...).

The app's trace is ``run_with_trace(ids, head_results=True)``: with per-head results, attn_out is the sum of
the heads' shares, so its logits differ from a plain forward pass in float32 rounding (about 1e-6). The page
is compared exactly with that trace, and within 1e-4 with the plain ``run_with_trace`` / ``run_with_hooks``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from app_server import (bokeh_widget_value, changes, chip_tokens, column, deep_query, drag_slider, find, hover,
                        hover_token, image, open_app, open_section, opened_pages, section_open, show_step, shown_tokens,
                        source_data, tap, type_prompt, values, wait_for_chips, wait_for_column, wait_for_tokens,
                        wait_js, watch)

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.gpt2_core.interventions import zero_ablate_heads
from transformer_explainer.viz.sections.output import top_candidates

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = pytest.mark.browser
WAIT_MS = 15_000

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "app"
DEFAULT_TEMPERATURE, DEFAULT_SEED, N_TOP_BARS = 0.8, 42, 10


# -- fixtures -------------------------------------------------------------------------------------------------

@pytest.fixture
def open_page(browser, server):
    """``open_page(query="", width=1280, wait_for=...)``: a fresh page on the app; after the test, no page or
    console error."""
    with opened_pages(browser, server.url) as opener:
        yield opener


@pytest.fixture
def page(open_page):
    return open_page()


# -- what Python computes ---------------------------------------------------------------------------------------

def app_trace(model, text_or_ids, ablated=()):
    """The trace the app shows: every hook point, per-head results, the given heads silenced."""
    ids = model.encode(text_or_ids) if isinstance(text_or_ids, str) else list(text_or_ids)
    return model.run_with_trace(ids, head_results=True, hooks=zero_ablate_heads(ablated))


def sampled_token(probabilities: np.ndarray, temperature: float, seed: int = DEFAULT_SEED) -> int:
    """The highlighted next token, as the app draws it: greedy at T = 0, else one draw with ``seed``."""
    if temperature == 0:
        return int(np.argmax(probabilities))
    return sampling.sample(probabilities, np.random.default_rng(seed))


def output_rows(logits, temperature: float, top_k=None, top_p=None) -> tuple[list[int], np.ndarray]:
    """(token ids, probabilities) of the output chart's rows: the top-10 logits, plus the sampled token."""
    probabilities = sampling.probabilities(logits, temperature, top_k, top_p)
    ids = [int(i) for i in top_candidates(np.asarray(logits), N_TOP_BARS + 1)]
    sampled = sampled_token(probabilities, temperature)
    ids = ids[:N_TOP_BARS] + [sampled] if sampled not in ids[:N_TOP_BARS] else ids  # always 11 rows
    return ids, probabilities[ids]


def shown_output(page) -> tuple[list[int], np.ndarray]:
    data = source_data(page, "output-source", ["token_id", "probability"])
    return [int(i) for i in values(data["token_id"])], np.asarray(values(data["probability"]), dtype=np.float64)


def wait_for_output(page, logits, temperature: float, top_k=None, top_p=None, exact: bool = True) -> np.ndarray:
    """Wait until the output chart shows the rows for these logits and settings; return its probabilities."""
    ids, expected = output_rows(logits, temperature, top_k, top_p)
    wait_for_column(page, "output-source", "token_id", ids)
    wait_for_column(page, "output-source", "probability", expected.tolist(), tolerance=0.0 if exact else 1e-4)
    shown_ids, shown = shown_output(page)
    assert shown_ids == ids
    return shown


def wait_for_url(page, parts: list[str], timeout: int = WAIT_MS) -> None:
    """Wait until the page's query string holds every one of ``parts``; say which are missing if it does not."""
    try:
        page.wait_for_function("(parts) => parts.every((part) => location.search.includes(part))", arg=parts,
                               timeout=timeout)
    except Exception as error:
        missing = [part for part in parts if part not in page.url]
        raise AssertionError(f"the link lacks {missing}: {page.url}") from error


def textarea_value(page) -> str:
    return find(page, ".te-prompt textarea").input_value()


def text_of(page, css: str) -> str:
    return find(page, f"{css} pre").inner_text()


# -- 1. a prompt ------------------------------------------------------------------------------------------------

def test_a_typed_prompt_shows_its_tokens_overview_and_exact_next_token_probabilities(page, tiny_model):
    prompt = "The cat sat on the mat"
    open_section(page, "output", "output-source")
    type_prompt(page, prompt)

    ids = tiny_model.encode(prompt)
    tokens = tiny_model.tokenizer.display_tokens(ids)
    assert 4 < len(ids) <= 16, "the picture draws up to 16 token rows; this prompt must fit"
    wait_for_chips(page, tokens)
    assert chip_tokens(page) == [(token, str(i)) for token, i in zip(tokens, ids)]
    assert text_of(page, ".te-token-count").startswith(f"{len(ids)} tokens of at most 128")

    wait_for_tokens(page, ids)
    assert shown_tokens(page, "token") == tokens
    assert shown_tokens(page, "position") == list(range(len(ids)))

    trace = app_trace(tiny_model, ids)
    expected = sampling.probabilities(trace.logits, DEFAULT_TEMPERATURE)
    # The picture's bars: the most likely next tokens (+ the sampled one) and "others", with their probabilities.
    overview = source_data(page, "picture-probability-source", ["token_id", "probability", "is_sampled"])
    shown_ids = [int(i) for i in values(overview["token_id"])]
    shown_p = np.asarray(values(overview["probability"]))
    sampled = sampled_token(expected, DEFAULT_TEMPERATURE)
    top5 = [int(i) for i in np.lexsort((np.arange(expected.size), -expected))[:5]]
    assert shown_ids[:5] == top5 and shown_ids[-1] == -1
    assert sampled in shown_ids and bool(values(overview["is_sampled"])[shown_ids.index(sampled)])
    real = [k for k, i in enumerate(shown_ids) if i >= 0]
    np.testing.assert_array_equal(shown_p[real], expected[[shown_ids[k] for k in real]])
    assert shown_p[-1] == pytest.approx(1 - shown_p[real].sum(), abs=1e-12)
    # The output chart: the top-10 logits' probabilities, exactly; and the plain forward pass agrees to 1e-4.
    shown = wait_for_output(page, trace.logits, DEFAULT_TEMPERATURE)
    plain = sampling.probabilities(tiny_model.run_with_trace(prompt).logits, DEFAULT_TEMPERATURE)
    np.testing.assert_allclose(shown, plain[output_rows(trace.logits, DEFAULT_TEMPERATURE)[0]], rtol=1e-4)
    assert "prompt=The+cat+sat+on+the+mat" in page.url


# -- 2. generation ----------------------------------------------------------------------------------------------

# Clicks Stop (a DOM click) the moment it is enabled: with the tiny model a long run takes well under a second,
# too short to be sure a click from the test process lands in time.
CLICK_STOP_WHEN_ENABLED_JS = """() => {
  const find = () => { let hit = null; const walk = (root) => { for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { if (!hit && el.classList.contains('te-stop')) hit = el.shadowRoot.querySelector('button');
                         walk(el.shadowRoot); } } }; walk(document); return hit; };
  window.__te_stop_clicked = null;
  const timer = setInterval(() => { const button = find();
    if (button && !button.disabled) {
      button.click(); window.__te_stop_clicked = performance.now(); clearInterval(timer);
    }
  }, 2);
}"""


def set_generate_count(page, count: int) -> None:
    box = find(page, ".te-generate-count input")
    box.fill(str(count))
    box.press("Enter")
    wait_js(page, "(n) => { for (const m of Bokeh.documents[0]._all_models.values()) if ((m.css_classes || [])"
                  ".includes('te-generate-count')) return m.value === n; return false; }", count)


def test_generate_appends_the_models_tokens_and_stop_ends_a_long_run_early(open_page, tiny_model):
    prompt = "Once upon a time"
    page = open_page({"prompt": prompt, "t": 0})
    assert bokeh_widget_value(page, "te-temperature") == 0

    # Generate 6 tokens greedily: the prompt grows by exactly the text gpt2_core generates.
    set_generate_count(page, 6)
    find(page, ".te-generate button").click()
    prompt_ids = tiny_model.encode(prompt)
    new_ids = [step.token_id for step in tiny_model.generate(prompt_ids, 6, temperature=0.0, seed=DEFAULT_SEED)]
    ids = prompt_ids + new_ids  # the model's own ids: the chips show exactly these, never a re-tokenized text
    grown = tiny_model.tokenizer.decode(ids)
    expect(find(page, ".te-prompt textarea")).to_have_value(grown, timeout=WAIT_MS)
    expect(find(page, ".te-status pre")).to_have_text("Generated 6 tokens.")
    expect(find(page, ".te-stop button")).to_be_disabled()
    wait_for_chips(page, tiny_model.tokenizer.display_tokens(ids))

    # A long run, stopped as soon as the Stop button is enabled: it ends early, and Stop is disabled again.
    room = 128 - len(ids)
    set_generate_count(page, room)
    page.evaluate(CLICK_STOP_WHEN_ENABLED_JS)
    find(page, ".te-generate button").click()
    page.wait_for_function("() => window.__te_stop_clicked !== null", timeout=15_000)
    expect(find(page, ".te-stop button")).to_be_disabled(timeout=30_000)
    expect(find(page, ".te-generate button")).to_be_enabled()
    expect(find(page, ".te-status pre")).to_contain_text("Generated ")
    status = text_of(page, ".te-status")
    match = re.fullmatch(r"Generated (\d+) tokens?\.", status)
    assert match, status
    made = int(match[1])
    assert 0 < made < room, f"Stop did not end the run early: {made} of {room} tokens"
    full = [step.token_id for step in tiny_model.generate(ids, room, temperature=0.0, seed=DEFAULT_SEED)]
    expect(find(page, ".te-prompt textarea")).to_have_value(tiny_model.tokenizer.decode(ids + full[:made]))
    wait_for_chips(page, tiny_model.tokenizer.display_tokens(ids + full[:made]))
    expect(find(page, ".te-prompt textarea")).to_be_enabled()


# -- 3. temperature ---------------------------------------------------------------------------------------------

def test_dragging_the_temperature_resamples_the_chart_without_a_forward_pass(page, tiny_model):
    open_section(page, "attention", "pattern-source")
    open_section(page, "output", "output-source")
    prompt = textarea_value(page)
    trace = app_trace(tiny_model, prompt)
    wait_for_output(page, trace.logits, DEFAULT_TEMPERATURE)
    pattern_before = image(page, "pattern-source")
    tokens_before = source_data(page, "picture-token-source")
    trace_views = ("picture-token-source", "picture-ribbon-source", "pattern-source", "q-source", "z-source")
    watch(page, *trace_views, "output-source", "picture-probability-source")

    drag_slider(page, ".te-temperature", 0.3)  # a real drag of the handle: 0.8 → about 3
    temperature = bokeh_widget_value(page, "te-temperature")
    assert 2.0 < temperature < 4.0, f"the drag moved the slider to {temperature}"
    shown = wait_for_output(page, trace.logits, temperature)
    ids, expected = output_rows(trace.logits, temperature)
    np.testing.assert_array_equal(shown, expected)
    plain = sampling.probabilities(tiny_model.run_with_trace(prompt).logits, temperature)
    np.testing.assert_allclose(shown, plain[ids], rtol=1e-4)
    title = page.evaluate("() => window.__te_find('output-bars').title.text")
    assert f"temperature {temperature:g}," in title, title
    overview = source_data(page, "picture-probability-source", ["token_id", "probability"])
    real = [(int(i), p) for i, p in zip(values(overview["token_id"]), values(overview["probability"])) if i >= 0]
    full = sampling.probabilities(trace.logits, temperature)
    assert [p for _, p in real] == [full[i] for i, _ in real]
    assert changes(page, "output-source") > 0 and changes(page, "picture-probability-source") > 0
    assert {name: changes(page, name) for name in trace_views} == dict.fromkeys(trace_views, 0), \
        "a temperature move re-sent views that only a new forward pass changes"
    np.testing.assert_array_equal(image(page, "pattern-source"), pattern_before)
    assert source_data(page, "picture-token-source") == tokens_before
    assert f"t={temperature:g}" in page.url


# -- 4. one head ------------------------------------------------------------------------------------------------

def test_a_head_opened_from_the_grid_and_the_slider_shows_its_exact_pattern_on_hover(page, tiny_model):
    prompt = textarea_value(page)
    trace = app_trace(tiny_model, prompt)
    open_section(page, "heads", "head-grid-figure")
    tap(page, "head-grid-figure", 2.5, 1.5)  # layer 1, head 2 ("click a head to open it"): the app opens it
    wait_js(page, "() => window.__te_find('section-attention').collapsed === false")
    wait_js(page, "() => window.__te_find('pattern-figure') !== null")
    pattern = trace["blocks.1.attn.hook_pattern"][2]
    wait_js(page, "(n) => { const d = window.__te_data('pattern-source', ['image']); "
                  "return d !== null && d.image[0].shape && d.image[0].shape[0] === n; }", trace.n_tokens)
    wait_for_url(page, ["layer=1", "head=2"])
    _wait_for_image(page, "pattern-source", pattern)
    assert bokeh_widget_value(page, "te-layer", section="attention") == 1
    assert bokeh_widget_value(page, "te-head", section="attention") == 2

    show_step(page, "attention", 1)  # "2 · q·kᵀ → weights": the pattern is in the head's second step
    query, key = 5, 2
    shown = hover(page, "pattern-figure", key + 0.5, query + 0.5, rows=3)
    assert shown[:2] == [f"{query}: {trace.tokens[query]}", f"{key}: {trace.tokens[key]}"]
    assert np.float32(float(shown[2])) == pattern[query, key], f"hover {shown[2]}, trace {pattern[query, key]!r}"

    # The head slider, moved with the keyboard on its handle: head 3 of the same layer.
    handle = find(page, ".te-section-attention .te-head .noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    pattern = trace["blocks.1.attn.hook_pattern"][3]
    _wait_for_image(page, "pattern-source", pattern)
    query, key = trace.n_tokens - 1, 3
    page.mouse.move(0, 0)
    shown = hover(page, "pattern-figure", key + 0.5, query + 0.5, rows=3)
    assert shown[:2] == [f"{query}: {trace.tokens[query]}", f"{key}: {trace.tokens[key]}"]
    assert np.float32(float(shown[2])) == pattern[query, key]


def _wait_for_image(page, name: str, expected: np.ndarray, timeout: int = WAIT_MS) -> None:
    """Wait until the named heatmap source holds exactly ``expected`` (as float32)."""
    page.wait_for_function("""([name, expected]) => {
        const d = window.__te_data(name, ['image']);
        if (d === null) return false;
        const flat = window.__te_array(d.image[0]);
        return flat.length === expected.length && flat.every((v, i) => Math.fround(v) === Math.fround(expected[i]));
      }""", arg=[name, expected.astype(np.float64).ravel().tolist()], timeout=timeout)
    np.testing.assert_array_equal(image(page, name), expected)


def widget_in(page, css_class: str, section: str) -> str:
    return str(bokeh_widget_value(page, css_class, section=section))


def test_token_pickers_follow_a_new_prompt_and_every_layer_slider_shows_the_layer(open_page, tiny_model):
    page = open_page({"view": "mlp"}, wait_for="section-mlp")
    open_section(page, "block")
    prompt = "Hi there"
    type_prompt(page, prompt)
    last = len(tiny_model.encode(prompt)) - 1
    wait_for_chips(page, tiny_model.tokenizer.display_tokens(tiny_model.encode(prompt)))
    # The per-token views show the new prompt's last token (not a position left over from the old prompt).
    page.wait_for_function("""(last) => ['mlp', 'block'].every((key) => {
        for (const m of Bokeh.documents[0]._all_models.values()) {
          if (!(m.css_classes || []).includes('te-position')) continue;
          const view = Bokeh.index.find_one_by_id(m.id);
          let el = view && view.el;
          while (el && !(el.classList && el.classList.contains('te-section-' + key))) el = el.parentNode || el.host;
          if (el) return String(m.value) === String(last);
        }
        return false; })""", arg=last, timeout=WAIT_MS)
    assert "pos=" not in page.url
    # One layer, every slider: moving the MLP section's layer slider moves the block section's too.
    handle = find(page, ".te-section-mlp .te-layer .noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    wait_for_url(page, ["layer=1"])
    page.wait_for_function("""() => { const values = [];
        for (const m of Bokeh.documents[0]._all_models.values())
          if ((m.css_classes || []).includes('te-layer')) values.push(m.value);
        return values.length >= 2 && values.every((v) => v === 1); }""", timeout=WAIT_MS)
    assert widget_in(page, "te-layer", "block") == widget_in(page, "te-layer", "mlp") == "1"


# -- 5. ablation ------------------------------------------------------------------------------------------------

def test_ablating_a_head_marks_it_and_changes_the_probabilities_to_run_with_hooks(page, tiny_model):
    prompt = textarea_value(page)
    ids = tiny_model.encode(prompt)
    layer, head = 0, 1
    open_section(page, "output", "output-source")
    before = wait_for_output(page, app_trace(tiny_model, ids).logits, DEFAULT_TEMPERATURE)
    open_section(page, "heads", "head-grid-figure")
    page.locator(".te-click-mode button", has_text="ablate").click()
    wait_js(page, "() => { for (const m of Bokeh.documents[0]._all_models.values()) "
                  "if ((m.css_classes || []).includes('te-click-mode')) return m.active === 1; return false; }")
    tap(page, "head-grid-figure", head + 0.5, layer + 0.5)

    wait_for_url(page, ["ablate=0.1"])
    expect(find(page, ".te-ablation-note pre")).to_have_text(f"Silenced: layer {layer} head {head}")
    page.wait_for_function("""() => { const d = window.__te_data('head-grid-source', ['ablated']);
                                      return d !== null && window.__te_array(d.ablated)[1] == 1; }""")
    marks = source_data(page, "head-grid-source", ["layer", "head", "ablated", "mark"])
    marked = [(int(l), int(h)) for l, h, a in zip(values(marks["layer"]), values(marks["head"]),
                                                   values(marks["ablated"])) if a]
    assert marked == [(layer, head)] and values(marks["mark"]).count("✕") == 1
    assert not section_open(page, "attention"), "in ablate mode a tap must not open the head"

    ablated = app_trace(tiny_model, ids, [(layer, head)])
    shown = wait_for_output(page, ablated.logits, DEFAULT_TEMPERATURE)
    hooked = tiny_model.run_with_hooks(ids, zero_ablate_heads([(layer, head)]), all_logits=False)[-1]
    rows, _ = output_rows(ablated.logits, DEFAULT_TEMPERATURE)
    np.testing.assert_allclose(shown, sampling.probabilities(hooked, DEFAULT_TEMPERATURE)[rows], rtol=1e-4)
    n = min(len(shown), len(before))
    assert np.max(np.abs(shown[:n] - before[:n])) > 1e-3, "the ablation left the probabilities as they were"

    page.locator(".te-section-heads button", has_text="Restore all heads").click()
    expect(find(page, ".te-ablation-note pre")).to_have_text("All heads active.")
    np.testing.assert_array_equal(wait_for_output(page, app_trace(tiny_model, ids).logits, DEFAULT_TEMPERATURE),
                                  before)
    assert "ablate=0.1" not in page.url


# -- 6. a shared link -------------------------------------------------------------------------------------------

def test_a_shared_link_restores_prompt_settings_open_view_and_ablation(open_page, tiny_model):
    prompt = "Grüße, 世界!\nA second line  with two spaces & <b>"
    page = open_page()
    type_prompt(page, prompt)
    ids = tiny_model.encode(prompt)
    wait_for_chips(page, tiny_model.tokenizer.display_tokens(ids))
    drag_slider(page, ".te-temperature", 0.15)
    temperature = bokeh_widget_value(page, "te-temperature")
    top_k = find(page, ".te-top-k input")
    top_k.fill("5")
    top_k.press("Enter")
    open_section(page, "output", "output-source")
    open_section(page, "heads", "head-grid-figure")
    page.locator(".te-click-mode button", has_text="ablate").click()
    wait_js(page, "() => { for (const m of Bokeh.documents[0]._all_models.values()) "
                  "if ((m.css_classes || []).includes('te-click-mode')) return m.active === 1; return false; }")
    tap(page, "head-grid-figure", 3.5, 0.5)  # ablate layer 0, head 3
    open_section(page, "attention", "pattern-figure")
    for css in (".te-section-attention .te-layer .noUi-handle", ".te-section-attention .te-head .noUi-handle"):
        find(page, css).focus()
        find(page, css).press("ArrowRight")  # layer 1, head 1
    # The link carries all of it; the section opened last is the link's view.
    wait_for_url(page, ["k=5", "ablate=0.3", "view=attention", "layer=1", "head=1", "t=", "%0A"])

    ablated = app_trace(tiny_model, ids, [(0, 3)])
    pattern = ablated["blocks.1.attn.hook_pattern"][1]
    _wait_for_image(page, "pattern-source", pattern)
    shown_here = wait_for_output(page, ablated.logits, temperature, top_k=5)
    url = page.url

    shared = open_page(url.split("?", 1)[1], wait_for="pattern-source")
    assert textarea_value(shared) == prompt
    wait_for_chips(shared, tiny_model.tokenizer.display_tokens(ids))
    assert bokeh_widget_value(shared, "te-temperature") == temperature
    assert bokeh_widget_value(shared, "te-top-k") == 5
    assert bokeh_widget_value(shared, "te-layer", section="attention") == 1
    assert bokeh_widget_value(shared, "te-head", section="attention") == 1
    assert [key for key in ("embedding", "block", "attention", "heads", "mlp", "output", "lens")
            if section_open(shared, key)] == ["attention"]
    _wait_for_image(shared, "pattern-source", pattern)
    np.testing.assert_array_equal(image(shared, "pattern-source"), image(page, "pattern-source"))
    open_section(shared, "output", "output-source")
    np.testing.assert_array_equal(wait_for_output(shared, ablated.logits, temperature, top_k=5), shown_here)
    open_section(shared, "heads", "head-grid-source")
    expect(find(shared, ".te-ablation-note pre")).to_have_text("Silenced: layer 0 head 3")
    marks = values(column(shared, "head-grid-source", "ablated"))
    assert [i for i, a in enumerate(marks) if a] == [3]
    expect(find(shared, ".te-error")).to_be_hidden()


# -- 7. HTML in the prompt --------------------------------------------------------------------------------------

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
NEXT_FRAMES_JS = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"
PWNED_JS = "() => window.__pwned === undefined"


def assert_shown_as_text(page, tiny_model, text: str) -> None:
    ids = tiny_model.encode(text)
    tokens = tiny_model.tokenizer.display_tokens(ids)
    wait_for_chips(page, tokens)
    assert "".join(token for token, _ in chip_tokens(page)) == text.replace(" ", "␣")
    assert textarea_value(page) == text
    # The picture draws the last 16 tokens (and says how many earlier ones it leaves out).
    wait_for_tokens(page, ids[-16:])
    assert shown_tokens(page, "token") == tokens[-16:]
    assert page.evaluate(PWNED_JS), "the prompt's HTML ran"
    assert deep_query(page, 'img[src="x"]') == [], "an <img> from the prompt reached the page"
    scripts = [html for tag, _, html in deep_query(page, "script") if "__pwned" in html]
    assert scripts == [], scripts


def test_html_typed_or_linked_as_a_prompt_is_shown_as_text_and_never_runs(open_page, tiny_model):
    page = open_page()
    type_prompt(page, PAYLOAD)
    assert_shown_as_text(page, tiny_model, PAYLOAD)
    open_section(page, "embedding", "embedding-token-source")
    tokens = tiny_model.tokenizer.display_tokens(tiny_model.encode(PAYLOAD))
    wait_for_column(page, "embedding-token-source", "token", tokens)
    shown = hover_token(page, 0)  # the first token row drawn
    assert tokens[-16] in shown[0] and "<" in "".join(tokens), shown
    assert page.evaluate(PWNED_JS)

    linked = open_page({"prompt": PAYLOAD, "view": "embedding"}, wait_for="embedding-token-source")
    assert_shown_as_text(linked, tiny_model, PAYLOAD)
    wait_for_column(linked, "embedding-token-source", "token", tokens)
    expect(find(linked, ".te-error")).to_be_hidden()


# -- 8. bad input -----------------------------------------------------------------------------------------------

def test_bad_input_shows_a_clear_message_and_keeps_the_previous_views(page, tiny_model):
    before_chips = chip_tokens(page)
    before_tokens = source_data(page, "picture-token-source")
    open_section(page, "output", "output-source")
    before_output = shown_output(page)

    type_prompt(page, "")
    expect(find(page, ".te-error pre")).to_have_text("the prompt is empty: type at least one character")
    assert chip_tokens(page) == before_chips and source_data(page, "picture-token-source") == before_tokens

    too_long = "ab " * 60  # 180 tokens with this tokenizer: past the context of 128
    n = len(tiny_model.encode(too_long))
    assert n > 128
    type_prompt(page, too_long)
    expect(find(page, ".te-error pre")).to_contain_text(f"the prompt is {n} tokens long; this model reads at most 128")
    expect(find(page, ".te-token-count pre")).to_have_text(f"{n} tokens of at most 128 — too long")
    assert chip_tokens(page) == before_chips and source_data(page, "picture-token-source") == before_tokens
    assert shown_output(page)[0] == before_output[0]
    np.testing.assert_array_equal(shown_output(page)[1], before_output[1])

    type_prompt(page, "All good again")
    wait_for_chips(page, tiny_model.tokenizer.display_tokens(tiny_model.encode("All good again")))
    expect(find(page, ".te-error")).to_be_hidden()


def test_invalid_link_settings_are_named_and_the_valid_ones_still_apply(open_page, tiny_model):
    # "1984" and "0.1" look like numbers to Panel's URL parser; they are a prompt and an ablation here.
    page = open_page({"prompt": "1984", "t": "99", "k": "3", "view": "output", "ablate": "0.1"},
                     wait_for="output-source")
    expect(find(page, ".te-error pre")).to_have_text(
        "Some settings in the link were invalid and were ignored: temperature")
    expect(find(page, ".te-prompt textarea")).to_have_value("1984")
    assert section_open(page, "output") and bokeh_widget_value(page, "te-top-k") == 3
    assert bokeh_widget_value(page, "te-temperature") == DEFAULT_TEMPERATURE
    wait_for_output(page, app_trace(tiny_model, "1984", [(0, 1)]).logits, DEFAULT_TEMPERATURE, top_k=3)


# -- 9. screenshots ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_screenshots_of_the_page_on_a_laptop_and_a_phone(open_page, width):
    page = open_page({"prompt": "The quick brown fox jumps over the lazy dog", "view": "attention"},
                     width=width, height=900 if width > 600 else 844, wait_for="pattern-figure")
    for key, name in (("heads", "head-grid-figure"), ("output", "output-bars")):
        open_section(page, key, name)
    page.evaluate("() => window.scrollTo(0, 0)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = "desktop" if width > 600 else "phone"
    page.screenshot(path=str(ARTIFACTS / f"app_{name}.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / f"app_{name}_top.png"))
    # The page itself never scrolls sideways (wide figures scroll inside their own box).
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"the page is {scroll_width} px wide on a {width} px screen"


# -- a BokehJS race, avoided -------------------------------------------------------------------------------------
# BokehJS can paint a glyph between the steps of replacing its source's columns; when the number of rows changed,
# that paint reads past a column's end ("Out of bounds", "Offset is outside the bounds of the DataView"). The
# picture's sources keep a constant number of rows (``pad``) so it cannot happen.

def test_the_page_logs_no_errors_while_the_ribbons_and_bars_change(browser, server):
    page = open_app(browser, server.url)
    try:
        type_prompt(page, "A short one")
        page.wait_for_function("() => location.search.includes('prompt=A+short+one')")
        for fraction in (0.3, 0.05, 0.5, 0.02):
            drag_slider(page, ".te-temperature", fraction)
            page.wait_for_function(NEXT_FRAMES_JS)
        assert page.te_errors == []
    finally:
        page.close()


# -- 10. hostile links: no setting in a URL ever runs script ---------------------------------------------------

HOSTILE_VALUES = [
    "<img src=x onerror=alert(2)>",
    '"><svg onload=alert(3)>',
    "<script>alert(4)</script>",
    "</pre><iframe srcdoc='<script>parent.alert(5)</script>'>",
    "javascript:alert(6)",
    "&lt;b&gt;1e400 NaN -1 \ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
]


@pytest.mark.parametrize("every_setting", [False, True], ids=["ablate", "every-setting"])
@pytest.mark.parametrize("hostile", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
def test_a_hostile_link_runs_nothing_and_quotes_what_it_ignored_as_text(open_page, tiny_model, hostile, every_setting):
    from transformer_explainer.app.links import URL_PARAMETERS

    query = {key: hostile for key in URL_PARAMETERS.values()} if every_setting else {"ablate": hostile}
    page = open_page(query)  # open_page fails the test on any dialog (alert) the page opens
    expect(find(page, ".te-error pre")).to_contain_text("Ignored ablation entries")
    message = find(page, ".te-error pre").text_content()
    assert repr(hostile.strip()) in message  # quoted, character for character
    if every_setting:
        assert "Some settings in the link were invalid and were ignored: expanded, head, lang, layer, made, " \
               "position, step, temperature, top_p, tour, view" in message
        # The boxes kept as typed (top-k, seed) say what they hold, quoted, and what is used instead.
        assert f"Top-k is {hostile!r}: it must be a whole number, 0 (no cutoff) or more. The chart still uses " \
               f"top-k 0." in message
        assert f"The seed is {hostile!r}: it must be a whole number from 0 to 9,223,372,036,854,775,807. The " \
               f"highlighted token is still drawn with seed 42." in message
        expect(find(page, ".te-prompt textarea")).to_have_value(hostile)
        wait_for_chips(page, tiny_model.tokenizer.display_tokens(tiny_model.encode(hostile)))
    page.evaluate(NEXT_FRAMES_JS)
    assert [error for error in page.te_errors if error.startswith("dialog")] == [], page.te_errors
    for selector in ("img[src='x']", "svg[onload]", "iframe"):
        assert deep_query(page, selector) == [], f"{selector} from the link reached the page"
    assert [html for _, _, html in deep_query(page, "script") if "alert(" in html] == []
