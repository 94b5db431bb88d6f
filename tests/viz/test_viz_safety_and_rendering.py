"""Every view serializes to standalone HTML, token strings stay text, and in a real browser the views draw, hover
shows the trace's exact values, and HTML typed as a token is shown, never run.

Screenshots of the main views go to test-artifacts/viz/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import Axis, HoverTool, Markup, PlainText, Title

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.viz.sections.attention import AttentionHeadView, ConcatProjectionView, HeadGridView
from transformer_explainer.viz.common import TEX_DELIMITERS
from transformer_explainer.viz.sections.embedding import EmbeddingView
from transformer_explainer.viz.sections.layer_norm import LayerNormView
from transformer_explainer.viz.sections.logit_lens import LogitLensView
from transformer_explainer.viz.sections.mlp import MlpView
from transformer_explainer.viz.sections.output import OutputView
from transformer_explainer.viz.sections.overview import OverviewView
from transformer_explainer.viz.sections.residual import ResidualView
from transformer_explainer.viz.standalone import standalone_html

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "viz"


def build_views(trace, display, ln_weights, lens_logits) -> dict:
    probabilities = sampling.probabilities(trace.logits, 0.8)
    sampled = int(np.argsort(-probabilities, kind="stable")[1])
    return {
        "overview": OverviewView(trace, probabilities, sampled, display),
        "overview_expanded": OverviewView(trace, probabilities, sampled, display, expanded=True),
        "embedding": EmbeddingView(trace),
        "layer_norm": LayerNormView(trace, 0, "ln1", *ln_weights(0, "ln1")),
        "attention_head": AttentionHeadView(trace, 0, 1),
        "concat_projection": ConcatProjectionView(trace, 1),
        "head_grid": HeadGridView(trace, ablated={(1, 2)}),
        "mlp": MlpView(trace, 1, 3),
        "residual": ResidualView(trace, 1),
        "output": OutputView(trace.logits, display, 0.8, None, None, sampled),
        "logit_lens": LogitLensView(lens_logits, display, trace.tokens),
    }


@pytest.fixture(scope="module")
def views(trace, display, ln_weights, lens_for):
    return build_views(trace, display, ln_weights, lens_for(trace))


@pytest.fixture(scope="module")
def hostile_views(hostile_trace, hostile_tokens, ln_weights, lens_for):
    def hostile_display(token_id: int) -> str:
        return hostile_tokens[token_id % len(hostile_tokens)]
    return build_views(hostile_trace, hostile_display, ln_weights, lens_for(hostile_trace))


def models_of(view):
    return view.layout.references()


# -- serialization -------------------------------------------------------------------------------------------

def test_every_view_renders_to_standalone_html(views, tmp_path):
    for name, view in views.items():
        html = standalone_html(view.layout, name)
        assert "Bokeh" in html and len(html) > 10_000, name
        (tmp_path / f"{name}.html").write_text(html, encoding="utf-8")


def test_every_view_updates_in_place_inside_a_live_document(trace, longer_trace, display, ln_weights, lens_for):
    views = build_views(trace, display, ln_weights, lens_for(trace))
    document = Document()
    for view in views.values():
        document.add_root(view.layout)
    roots = list(document.roots)
    probabilities = sampling.probabilities(longer_trace.logits, 0.5)
    updates = {
        "overview": lambda v: v.update(longer_trace, probabilities, 3, expanded=True),
        "overview_expanded": lambda v: v.update_probabilities(probabilities, 4),
        "embedding": lambda v: v.update(longer_trace),
        "layer_norm": lambda v: v.update(longer_trace, None, "ln_final", *ln_weights(None, "ln_final")),
        "attention_head": lambda v: v.update(longer_trace, 1, 3),
        "concat_projection": lambda v: v.update(longer_trace, 0, 2),
        "head_grid": lambda v: v.update(longer_trace, ablated={(0, 1)}),
        "mlp": lambda v: v.update(longer_trace, 0, 5),
        "residual": lambda v: v.update(longer_trace, 0, 5),
        "output": lambda v: v.update(longer_trace.logits, 0.5, 10, 0.9, 3),
        "logit_lens": lambda v: v.update(lens_for(longer_trace), longer_trace.tokens),
    }
    assert set(updates) == set(views)
    for name, view in views.items():
        updates[name](view)
    assert list(document.roots) == roots, "updates never replace a figure"
    document.to_json()  # every model the updates made belongs to this document and serializes


# -- token strings are text ----------------------------------------------------------------------------------

def test_hostile_token_strings_survive_literally_in_the_sources(hostile_views, hostile_trace, hostile_tokens):
    assert list(hostile_views["embedding"].token_source.data["token"]) == hostile_trace.tokens
    assert list(hostile_views["overview"].token_source.data["token"]) == hostile_trace.tokens
    pattern = hostile_views["attention_head"].heatmaps["pattern"]
    assert pattern.row_formatter.args["labels"] == [f"{i}: {t}" for i, t in enumerate(hostile_trace.tokens)]
    assert set(hostile_views["output"].source.data["token"]) <= set(hostile_tokens)


def test_no_view_puts_text_into_html_models_or_unescaped_tooltips(hostile_views):
    for name, view in hostile_views.items():
        for model in models_of(view):
            assert not isinstance(model, Markup), f"{name} has an HTML {type(model).__name__}"
            if isinstance(model, HoverTool):
                assert isinstance(model.tooltips, list), f"{name}: tooltips must be (label, @field) pairs"
                for label, field in model.tooltips:
                    assert "{safe}" not in field and "<" not in label + field, f"{name}: {label} {field}"


def test_token_labels_on_axes_and_titles_are_never_read_as_tex(hostile_views):
    for name, view in hostile_views.items():
        for model in models_of(view):
            texts = []
            if isinstance(model, Axis):
                texts = list(model.major_label_overrides.values())
            elif isinstance(model, Title):
                texts = [model.text]
            for text in texts:
                if isinstance(text, str):
                    assert not any(d in text for d in TEX_DELIMITERS), f"{name}: {text!r} would be parsed as TeX"
                else:
                    assert isinstance(text, PlainText), name


def test_standalone_html_never_contains_the_raw_markup(hostile_views):
    for name, view in hostile_views.items():
        html = standalone_html(view.layout, name)
        assert "<img src=x" not in html and "<script>alert(2)" not in html, name


# -- in a browser --------------------------------------------------------------------------------------------

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

COUNT_IMAGES_JS = """() => {
  let n = 0;
  const walk = (root) => { for (const el of root.querySelectorAll('*')) { if (el.shadowRoot) walk(el.shadowRoot);
                                                                         if (el.tagName === 'IMG') n++; } };
  walk(document);
  return n;
}"""

# Page coordinates of a data point (x, y) in the plot with this id.
DATA_TO_PAGE_JS = """([plot_id, x, y]) => {
  const view = Bokeh.index.find_one_by_id(plot_id);
  const box = view.canvas_view.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
}"""


def open_page(browser, html_path: Path, width: int = 1200):
    page = browser.new_page(viewport={"width": width, "height": 800})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.add_init_script("window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));")
    page.goto(html_path.as_uri())
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.index.roots.length > 0")
    page.wait_for_timeout(300)
    return page, errors


def hover_text(page, plot_id: str, x: float, y: float) -> list[str]:
    sx, sy = page.evaluate(DATA_TO_PAGE_JS, [plot_id, x, y])
    page.mouse.move(sx, sy)
    page.wait_for_timeout(150)
    return page.evaluate(TOOLTIP_TEXT_JS)


@pytest.mark.browser
def test_views_draw_without_errors_and_screenshots_are_saved(browser, views, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, view in views.items():
        path = tmp_path / f"{name}.html"
        path.write_text(standalone_html(view.layout, name), encoding="utf-8")
        for width, suffix in ((1200, ""), (390, "_phone")):
            if suffix and name not in ("overview", "attention_head", "output", "embedding"):
                continue
            page, errors = open_page(browser, path, width)
            page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
            page.close()
            assert errors == [], f"{name}: {errors}"


@pytest.mark.browser
def test_hovering_a_pattern_cell_shows_its_tokens_and_exact_value(browser, trace, views, tmp_path):
    view = views["attention_head"]
    heatmap = view.heatmaps["pattern"]
    path = tmp_path / "pattern.html"
    path.write_text(standalone_html(heatmap.figure, "pattern"), encoding="utf-8")
    page, errors = open_page(browser, path)
    query, key = 3, 1
    shown = hover_text(page, heatmap.figure.id, key + 0.5, query + 0.5)
    page.close()
    value = trace["blocks.0.attn.hook_pattern"][1][query, key]
    assert shown[:2] == [f"{query}: {trace.tokens[query]}", f"{key}: {trace.tokens[key]}"]
    assert np.float32(float(shown[2])) == value, f"hover says {shown[2]}, the trace {value!r}"
    assert errors == []


@pytest.mark.browser
def test_hovering_a_masked_score_says_masked(browser, views, tmp_path):
    heatmap = views["attention_head"].heatmaps["scores"]
    path = tmp_path / "scores.html"
    path.write_text(standalone_html(heatmap.figure, "scores"), encoding="utf-8")
    page, _ = open_page(browser, path)
    shown = hover_text(page, heatmap.figure.id, 2.5, 0.5)  # query 0 looking at the later token 2
    page.close()
    assert shown[2] == "masked (\u2212\u221e)"


@pytest.mark.browser
def test_html_typed_as_a_token_is_shown_as_text_and_never_runs(browser, hostile_views, hostile_trace, tmp_path):
    heatmap = hostile_views["attention_head"].heatmaps["pattern"]
    overview = hostile_views["overview"]
    for name, model, (x, y), expected in (
            ("pattern", heatmap.figure, (0.5, 0.5), f"0: {hostile_trace.tokens[0]}"),
            ("overview", overview.figure, (1.1, 0.0), hostile_trace.tokens[0])):
        path = tmp_path / f"hostile_{name}.html"
        path.write_text(standalone_html(model, name), encoding="utf-8")
        page, errors = open_page(browser, path)
        shown = hover_text(page, model.id, x, y)
        assert expected in shown, f"{name}: the tooltip shows {shown}"
        assert page.evaluate(COUNT_IMAGES_JS) == 0, f"{name}: an <img> from a token reached the page"
        assert page.evaluate("() => window.__alerts") == []
        page.close()
        assert errors == []


@pytest.mark.browser
def test_hovering_a_token_in_the_overview_highlights_its_path(browser, views, tmp_path):
    view = views["overview"]
    path = tmp_path / "overview.html"
    path.write_text(standalone_html(view.figure, "overview"), encoding="utf-8")
    page, errors = open_page(browser, path)
    hover_text(page, view.figure.id, 1.1, 2.0)  # the token in row 2
    alphas = page.evaluate("""(id) => Array.from(Bokeh.documents[0].get_model_by_id(id).data.fill_alpha)""",
                           view.ribbon_source.id)
    page.close()
    slots = np.asarray(view.ribbon_source.data["slot"])
    alphas = np.asarray(alphas)
    assert np.all(alphas[slots == 2] > 0.5) and np.all(alphas[slots != 2] < 0.2), json.dumps(alphas.tolist())
    assert errors == []
