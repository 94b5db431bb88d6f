"""The views' JavaScript gets what it reads: every CustomJS and CustomJSHover the views build is given exactly the
arguments its files name in their ``/* global */`` lines (eslint checks the other half: that a script reads nothing
it does not name), every file of viz/js is used, and no script is built from spliced text."""

from __future__ import annotations

import re
from importlib.resources import files
from types import SimpleNamespace

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import CustomJS, CustomJSHover

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.gpt2_core.weight_products import KINDS, weight_product
from transformer_explainer.viz import js_code
from transformer_explainer.viz.attention_explorer import AttentionExplorer
from transformer_explainer.viz.derivation import AttentionDerivationView
from transformer_explainer.viz.hidden_states import HiddenStatesView
from transformer_explainer.viz.image_attention import CrossAttentionView, ImageAttentionView
from transformer_explainer.viz.image_text_similarity import SimilarityView
from transformer_explainer.viz.picture import PictureView
from transformer_explainer.viz.picture.keyboard import PictureKeyboard
from transformer_explainer.viz.popover import WeightPopoverView
from transformer_explainer.viz.sections.attention import AttentionHeadView
from transformer_explainer.viz.sections.logit_lens import LogitLensView
from transformer_explainer.viz.sections.mlp import MlpView
from transformer_explainer.viz.sections.output import OutputView
from transformer_explainer.viz.sections.overview import OverviewView

GIVEN_BY_BOKEH = {CustomJS: {"cb_obj", "cb_data", "cb_context"}, CustomJSHover: {"value", "format", "special_vars"}}
PAGE_GLOBALS = {"Bokeh"}  # BokehJS itself, in every page that shows a Bokeh document
JS_FOLDER = files("transformer_explainer.viz").joinpath("js")


def image_views() -> dict:
    """The image views, on arrays shaped like a vision transformer's: [CLS] and a 2 × 3 grid of patches."""
    rng = np.random.default_rng(0)
    patches = SimpleNamespace(rows=2, cols=3, first=1, picture=rng.integers(0, 256, (16, 24, 3), dtype=np.uint8))
    tokens = ["[CLS]"] + [f"({r}, {c})" for r in range(2) for c in range(3)]
    attentions = [rng.dirichlet(np.ones(7), size=(2, 7)).astype(np.float32) for _ in range(2)]
    cross = [rng.dirichlet(np.ones(7), size=(2, 4)).astype(np.float32) for _ in range(2)]
    states = [rng.standard_normal((7, 8)).astype(np.float32) for _ in range(3)]
    return {"image attention": (ImageAttentionView(attentions, tokens, patches).layout,),
            "image hidden states": (HiddenStatesView(states, tokens, patches=patches).layout,),
            "cross-attention": (CrossAttentionView(cross, list("abcd"), tokens, patches).layout,),
            "image-text similarity": (SimilarityView(["a", "b"], [1, 2], [0.1, 0.2], [0.3, 0.7]).layout,)}


def names_in(code: str, directive: str) -> set[str]:
    return {name.strip() for line in re.findall(rf"/\* {directive} ([^*]*)\*/", code) for name in line.split(",")
            if name.strip()}


@pytest.fixture(scope="module")
def scripts(tiny_model, trace, lens_for, display) -> list:
    """Every CustomJS and CustomJSHover of every view that has one, with the view's name."""
    probabilities = sampling.probabilities(trace.logits, 1.0, None, None)
    sampled = int(np.argmax(probabilities))
    picture = PictureView(trace, 1, 0, probabilities, sampled, display, n_layer=trace.config.n_layer)
    attentions = [trace[f"blocks.{layer}.attn.hook_pattern"] for layer in range(trace.config.n_layer)]
    states = [trace[f"blocks.{layer}.hook_resid_post"] for layer in range(trace.config.n_layer)]
    views = {
        "picture": (picture.layout, PictureKeyboard(picture).callback, picture.fit_script()),
        "derivation": (AttentionDerivationView(trace, 1, 0).layout,),
        "overview": (OverviewView(trace, probabilities, sampled, display).figure,),
        "head": (AttentionHeadView(trace, 1, 0).layout,),
        "mlp": (MlpView(trace, 1, 2).layout,),
        "output": (OutputView(trace.logits, display, 0.7, 5, 0.9, sampled_id=sampled).layout,),
        "lens": (LogitLensView(lens_for(trace), display, trace.tokens).layout,),
        "explorer": (AttentionExplorer(attentions, trace.tokens).layout,),
        "hidden states": (HiddenStatesView(states, trace.tokens).layout,),
        **{f"popover {kind}": (WeightPopoverView(weight_product(kind, trace, 1, 2, tiny_model.params), trace).layout,)
           for kind in KINDS},
        **image_views(),
    }
    found = []
    for view, roots in views.items():
        document = Document()
        for root in roots:
            if isinstance(root, CustomJS):
                found.append((view, root))
            else:
                document.add_root(root)
        found += [(view, model) for model in document.models if isinstance(model, (CustomJS, CustomJSHover))]
    return found


def test_every_script_gets_exactly_the_arguments_its_files_name(scripts):
    assert len(scripts) > 40
    for view, script in scripts:
        declared = names_in(script.code, "global") - names_in(script.code, "exported") - PAGE_GLOBALS
        expected = declared - GIVEN_BY_BOKEH[type(script)]
        first_line = script.code.splitlines()[0] if script.code else ""
        assert set(script.args) == expected, f"{view}: {first_line!r} gets {sorted(script.args)}"


def test_every_script_is_made_of_viz_js_files_and_every_file_is_used(scripts):
    codes = {script.code for _, script in scripts}
    texts = {entry.name: entry.read_text(encoding="utf-8") for entry in JS_FOLDER.iterdir() if entry.name.endswith(".js")}
    unused = sorted(name for name, text in texts.items() if not any(text in code for code in codes))
    assert not unused, f"files of viz/js no view uses: {unused}"
    for code in codes:
        rest = code
        for text in texts.values():
            rest = rest.replace(text, "")
        assert rest.strip() == "", f"a script holds code from no viz/js file: {rest.strip()[:200]!r}"


def test_js_code_puts_the_functions_first_then_the_body():
    code = js_code("exact_number_hover", "exact_number")
    function = JS_FOLDER.joinpath("exact_number.functions.js").read_text(encoding="utf-8")
    body = JS_FOLDER.joinpath("exact_number_hover.js").read_text(encoding="utf-8")
    assert code == function + "\n" + body
    assert js_code("cell_label_hover") == JS_FOLDER.joinpath("cell_label_hover.js").read_text(encoding="utf-8")
