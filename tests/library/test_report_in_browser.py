"""The report as a reader gets it: written by ``transformer-explainer generate``, opened from file:// in headless
Chromium with every request that is not file:// aborted (and recorded). Every layer's heatmaps are drawn, the
page's data equal the model's attentions and hidden states, the selectors swap in exactly the chosen head,
token and layer, text with HTML in it stays text, and the console stays clean. Screenshots go to
test-artifacts/library/.

Two models: the demo GPT-2 of gpt2_core (no PyTorch needed) and a tiny random BERT read by transformers
(its reference values from a second, eager copy of the model)."""

from __future__ import annotations

import numpy as np
import pytest

from transformer_explainer.app.cli import main
from library_helpers import (ARTIFACTS, IDLE_JS, as_arrays, need_transformers, open_report, reference_outputs,
                             set_value)
from transformer_explainer.viz.attention_explorer import pattern_title, query_title
from transformer_explainer.viz.hidden_states import cosine_similarity, strip_title

pytestmark = pytest.mark.browser

TEXTS = ["What is the capital of France?", "<img src=x onerror=alert(1)> $$x^2$$ is the capital"]


@pytest.fixture(scope="module", params=["demo", "bert"])
def report(request, tmp_path_factory):
    """(kind, path, expected): the report of TEXTS written by the CLI, and per text (tokens, attentions, hidden)."""
    folder = tmp_path_factory.mktemp(f"report-{request.param}")
    texts = folder / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n\n", encoding="utf-8")
    if request.param == "demo":
        from transformer_explainer.gpt2_core.demo import demo_model
        from transformer_explainer import Explainer

        model_name, explainer = "demo", Explainer(demo_model())
        expected = [(c.tokens, c.attentions, c.hidden_states) for c in map(explainer.capture, TEXTS)]
    else:
        need_transformers()
        from transformer_explainer.tiny import save_tiny_checkpoint

        model_name = str(save_tiny_checkpoint(folder / "tiny-bert", "bert", seed=5))
        expected = []
        for text in TEXTS:
            inputs, attentions, hidden = reference_outputs(folder / "tiny-bert", "bert", text)
            expected.append((None, attentions, hidden))
    path = folder / "report.html"
    assert main(["generate", "--model", model_name, "--text-file", str(texts), "--output", str(path)]) == 0
    return request.param, path, expected


@pytest.fixture(scope="module")
def page(browser, report):
    """One page per report (the tests read it in turn: drawn, then selected, then its text)."""
    page = open_report(browser, report[1])
    yield page
    page.close()


def test_every_layers_heatmaps_are_drawn_with_the_models_numbers(page, report):
    kind, path, expected = report
    for section, (_, attentions, hidden) in enumerate(expected):
        prefix = f"s{section}-"
        for figure in ("attention-figure", "attention-query-figure", "attention-overview-figure",
                       "hidden-norms-figure", "hidden-strip-figure", "hidden-similarity-figure"):
            assert page.evaluate("(name) => window.__drawn(name)", prefix + figure), f"{prefix + figure} not drawn"
        n_layer, n_head = len(attentions), attentions[0].shape[0]
        overview = as_arrays(page.evaluate("(name) => window.__column(name, 'image')", prefix + "attention-overview"))
        patterns = as_arrays(page.evaluate("(name) => window.__column(name, 'image')", prefix + "attention-patterns"))
        assert len(overview) == len(patterns) == n_layer * n_head
        for layer in range(n_layer):
            for head in range(n_head):
                np.testing.assert_array_equal(overview[layer * n_head + head], attentions[layer][head])
                np.testing.assert_array_equal(patterns[layer * n_head + head], attentions[layer][head])
        states = as_arrays(page.evaluate("(name) => window.__column(name, 'image')", prefix + "hidden-states"))
        for state, reference in zip(states, hidden, strict=True):
            np.testing.assert_array_equal(state, reference)
    assert page.requests == [] and page.problems == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report_{kind}.png"), full_page=True)


def test_the_selectors_show_exactly_the_chosen_head_token_and_layer(page, report):
    _, _, expected = report
    _, attentions, hidden = expected[1]
    n_layer, n_head, n = len(attentions), attentions[0].shape[0], attentions[0].shape[1]
    for layer, head, query in ((n_layer - 1, n_head - 1, 2), (0, 2, n - 1), (1, 1, 0)):
        set_value(page, "s1-attention-layer-select", str(layer))
        set_value(page, "s1-attention-head-select", str(head))
        set_value(page, "s1-attention-query-select", str(query))
        shown = as_arrays(page.evaluate("() => window.__column('s1-attention-heatmap', 'image')"))[0]
        np.testing.assert_array_equal(shown, attentions[layer][head])
        row = page.evaluate("() => window.__column('s1-attention-query-row', 'weight')")
        np.testing.assert_array_equal(np.array(row, dtype=np.float32), attentions[layer][head][query])
        titles = page.evaluate("""() => [window.__find('s1-attention-figure').title.text,
                                          window.__find('s1-attention-query-figure').title.text]""")
        assert titles == [pattern_title(layer, head), query_title(query)]
    # Tapping a head in the overview selects it.
    page.evaluate(f"async () => {{ window.__find('s1-attention-overview-cells').selected.indices = [{n_head + 3}]; "
                  f"for (let i = 0; i < 2; i++) await new Promise((done) => setTimeout(done, 0)); }}")
    assert page.evaluate("() => [window.__find('s1-attention-layer-select').value, "
                         "window.__find('s1-attention-head-select').value]") == ["1", "3"]
    shown = as_arrays(page.evaluate("() => window.__column('s1-attention-heatmap', 'image')"))[0]
    np.testing.assert_array_equal(shown, attentions[1][3])
    # The hidden-state selector.
    for i in range(len(hidden)):
        set_value(page, "s1-hidden-layer-select", str(i))
        strip = as_arrays(page.evaluate("() => window.__column('s1-hidden-strip', 'image')"))[0]
        similarity = as_arrays(page.evaluate("() => window.__column('s1-hidden-similarity', 'image')"))[0]
        np.testing.assert_array_equal(strip, hidden[i])
        np.testing.assert_array_equal(similarity, cosine_similarity(hidden[i]))
        label = "embeddings" if i == 0 else f"after layer {i - 1}"
        assert page.evaluate("() => window.__find('s1-hidden-strip-figure').title.text") == strip_title(label)
    page.wait_for_function(IDLE_JS)
    assert page.problems == []


def test_text_with_html_in_it_stays_text(page, report):
    heading = page.evaluate("() => window.__find('s1-heading').text")
    assert "&lt;img src=x onerror=alert(1)&gt; $$x^2$$" in heading  # escaped where it becomes HTML
    images, texts = page.evaluate("""() => { const images = [], texts = [];
        const walk = (root) => { for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) walk(el.shadowRoot);
            if (el.tagName === 'IMG') images.push(el.outerHTML);
            if (el.tagName === 'CODE') texts.push(el.textContent); } };
        walk(document); return [images, texts]; }""")
    assert texts == TEXTS and images == []  # shown as the characters typed; no <img> element was made
    assert page.problems == []
