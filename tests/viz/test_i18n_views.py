"""Every view speaks the language it is built in: with ``lang="zh"`` each title, axis label, hover label, button,
step text and drawn word comes from the Chinese catalogue (no English word is left but the names the glossary
keeps: hook names, formulas, token, logits, softmax, GELU, MLP, LayerNorm); with ``lang="en"`` (the default) the
texts are today's English ones.

The trace's token strings are replaced by Chinese ones here, so any ASCII word found in a view is one of ours.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from bokeh.models import (AbstractButton, Axis, ColumnDataSource, CustomJS, CustomJSHover, Div, HoverTool, Paragraph,
                          PlainText, RadioButtonGroup, Slider, Title)

from transformer_explainer.gpt2_core import Trace, sampling
from transformer_explainer.gpt2_core.weight_products import KINDS, weight_product
from transformer_explainer.viz.sections.attention import AttentionHeadView, ConcatProjectionView, HeadGridView
from transformer_explainer.viz.derivation import AttentionDerivationView
from transformer_explainer.viz.sections.embedding import EmbeddingView
from transformer_explainer.viz.i18n import translator
from transformer_explainer.viz.sections.layer_norm import LayerNormView
from transformer_explainer.viz.sections.logit_lens import LogitLensView
from transformer_explainer.viz.sections.mlp import MlpView
from transformer_explainer.viz.sections.output import OutputView
from transformer_explainer.viz.sections.overview import OverviewView
from transformer_explainer.viz.picture import PictureView
from transformer_explainer.viz.popover import WeightPopoverView
from transformer_explainer.viz.sections.residual import ResidualView

EN, ZH = translator("en"), translator("zh")

# Words the Chinese texts keep as they are (the glossary's, and names of functions in formulas).
KEPT = {"token", "logits", "logit", "softmax", "gelu", "layernorm", "mlp", "query", "key", "value", "hook", "tanh",
        "attn", "transformer"}
# A hover field (@name, $x, with a {format}), a template's {field}, a subscript (d<sub>head</sub>), an HTML tag or
# entity: not words.
FIELD = re.compile(r"[@$][A-Za-z_]+(\{[a-z]+\})?|\{\w+\}|<sub>[^<]*</sub>|<[^>]+>|&[a-z]+;")
INTERNAL_ARGS = {"kind"}  # a CustomJS's string arguments that are never shown (the popover's kind)
WORD = re.compile(r"[A-Za-z0-9_.\[\]:/|·ᵀ-]+")


def chinese_tokens(trace: Trace) -> Trace:
    return Trace(trace.arrays, trace.token_ids, [f"词{i}" for i in range(trace.n_tokens)], trace.config)


def display(token_id: int) -> str:
    return f"词{token_id}"


def next_token(trace: Trace):
    probabilities = sampling.probabilities(trace.logits, 1.0, None, None)
    return probabilities, int(np.argmax(probabilities))


def build_views(trace: Trace, params, lens, ln_weights, **lang) -> dict:
    probabilities, sampled = next_token(trace)
    views = {
        "picture": PictureView(trace, 1, 2, probabilities, sampled, display, n_layer=trace.config.n_layer, **lang),
        "overview": OverviewView(trace, probabilities, sampled, display, **lang),
        "overview_expanded": OverviewView(trace, probabilities, sampled, display, expanded=True, **lang),
        "embedding": EmbeddingView(trace, **lang),
        "ln1": LayerNormView(trace, 1, "ln1", *ln_weights(1, "ln1"), **lang),
        "ln_final": LayerNormView(trace, None, "ln_final", *ln_weights(0, "ln_final"), **lang),
        "residual": ResidualView(trace, 1, 2, **lang),
        "head": AttentionHeadView(trace, 1, 2, **lang),
        "concat": ConcatProjectionView(trace, 1, **lang),
        "heads": HeadGridView(trace, ablated={(0, 1)}, **lang),
        "mlp": MlpView(trace, 1, 2, **lang),
        "output": OutputView(trace.logits, display, 0.7, 5, 0.9, sampled_id=sampled, **lang),
        "greedy": OutputView(trace.logits, display, 0.0, None, None, sampled_id=sampled, **lang),
        "lens": LogitLensView(lens, display, trace.tokens, **lang),
        "derivation": AttentionDerivationView(trace, 1, 2, trace.tokens, **lang),
    }
    for kind in KINDS:
        views[f"popover_{kind}"] = WeightPopoverView(weight_product(kind, trace, 1, 2, params), trace, token_text=display, **lang)
    views["picture"].set_ablated({(1, 0)})
    return views


def texts_of(view) -> list[str]:
    """Every text the view shows: titles, axis labels, hover labels (and the plain text of hover values), button
    and pill labels, step texts, the words drawn from its sources, and the JavaScript's own strings."""
    texts = []
    for model in view.layout.references():
        if isinstance(model, Title):
            texts.append(model.text.text if isinstance(model.text, PlainText) else model.text)
        elif isinstance(model, Axis) and isinstance(model.axis_label, str):
            texts.append(model.axis_label)
        elif isinstance(model, Axis):
            texts += [v for v in model.major_label_overrides.values() if isinstance(v, str)]
        elif isinstance(model, HoverTool) and isinstance(model.tooltips, list):
            for label, field in model.tooltips:
                texts += [label, field]
        elif isinstance(model, AbstractButton):
            texts.append(model.label)
        elif isinstance(model, RadioButtonGroup):
            texts += list(model.labels)
        elif isinstance(model, (Div, Paragraph)):
            texts.append(model.text)
        elif isinstance(model, Slider):
            texts.append(model.title)
        elif isinstance(model, ColumnDataSource):
            for name in ("text", "label", "dims", "description", "status", "token"):
                column = model.data.get(name)
                if column is not None and len(column) and isinstance(column[0], str):
                    texts += [t for t in column if t]
        elif isinstance(model, (CustomJS, CustomJSHover)):
            texts += [v for k, v in model.args.items() if isinstance(v, str) and k not in INTERNAL_ARGS]
            texts += [v for arg in model.args.values() if isinstance(arg, dict) for v in arg.values()
                      if isinstance(v, str)]
            texts += [v for arg in model.args.values() if isinstance(arg, list) for v in arg if isinstance(v, str)]
            texts += re.findall(r'return "([^"]*)"', model.code)
    return [t for t in texts if t]


def english_words(text: str) -> set[str]:
    """The English words of ``text``: runs of 4+ letters that are not a field, a tag, a hook name or formula
    (anything with _, . or [ in it) or a word the glossary keeps."""
    words = set()
    for run in WORD.findall(FIELD.sub(" ", text)):
        if "_" in run or "." in run.strip(".") or "[" in run:
            continue
        for word in re.findall(r"[A-Za-z]{4,}", run):
            if word.lower() not in KEPT:
                words.add(word)
    return words


@pytest.fixture(scope="module")
def zh_trace(trace):
    return chinese_tokens(trace)


@pytest.fixture(scope="module")
def zh_views(zh_trace, tiny_model, lens_for, ln_weights):
    return build_views(zh_trace, tiny_model.params, lens_for(zh_trace), ln_weights, lang="zh")


@pytest.fixture(scope="module")
def en_views(zh_trace, tiny_model, lens_for, ln_weights):
    return build_views(zh_trace, tiny_model.params, lens_for(zh_trace), ln_weights, lang="en")


@pytest.fixture(scope="module")
def default_views(zh_trace, tiny_model, lens_for, ln_weights):
    return build_views(zh_trace, tiny_model.params, lens_for(zh_trace), ln_weights)


def test_no_english_word_is_left_in_any_chinese_view(zh_views):
    for name, view in zh_views.items():
        left = {word: text for text in texts_of(view) for word in english_words(text)}
        assert not left, f"{name}: English words {sorted(left)} in e.g. {next(iter(left.values()))!r}"


def test_every_chinese_view_has_chinese_in_it(zh_views):
    for name, view in zh_views.items():
        assert any(re.search(r"[\u4e00-\u9fff]", text) for text in texts_of(view) if "词" not in text), name


def test_english_is_the_default_and_lang_en_changes_nothing(en_views, default_views):
    for name in en_views:
        assert sorted(texts_of(en_views[name])) == sorted(texts_of(default_views[name])), name


def test_the_english_views_say_what_they_said_before(en_views):
    picture = en_views["picture"]
    assert picture.caption_source.data["text"][0] == (
        "Hover (or tap) a token to follow it through the block · hover any cell for its exact value · "
        "tap a stage to open it")
    assert picture.group_source.data["text"][0] == "Embedding"
    assert picture.group_source.data["text"][1] == "Multi-head self attention"
    assert picture.group_source.data["dims"][1] == "4 heads × 16 dims"
    assert picture.pickers.text_source.data["text"] == ["Block 1 (0–1)", "Head 2 (0–3)"]
    assert "Attention: row = query, column = key" in picture.flow_label_source.data["text"]
    description = dict(reversed(list(zip(picture.stage_source.data["stage"], picture.stage_source.data["description"]))))
    assert description["ln1"] == "LayerNorm 1 of block 1: blocks.1.ln1.hook_out"
    assert description["blocks"] == ("the other 1 blocks: 1 before this one, 0 after "
                                      "(tap to choose which block is drawn)")
    assert "1 block before" in picture.blocks.label_source.data["text"]
    assert "the last of 2 blocks" in picture.blocks.label_source.data["text"]
    assert picture.attention_output.concat_source.data["text"] == ["concat all 4 heads' z"]
    assert en_views["overview"].figure.title.text == "from prompt to next token (hover a token, tap a stage)"
    assert "× 2\nblocks" in en_views["overview"].stage_source.data["label"]
    assert en_views["heads"].figure.title.text == "every head's attention pattern (tap one)"
    assert en_views["heads"].head_source.data["status"][1] == "ablated"
    assert en_views["output"].bars_figure.title.text == "next-token probabilities (temperature 0.7, top-k 5, top-p 0.9)"
    assert en_views["greedy"].bars_figure.title.text == (
        "next-token probabilities (temperature 0 (greedy: always the top logit), no top-k, no top-p)")
    assert en_views["residual"].heatmap.figure.title.text == (
        "block 1, token #2: the residual stream and what attention and the MLP add to it")
    player = en_views["derivation"].player
    assert [player.replay.label, player.back.label, player.play.label, player.forward.label, player.skip.label] == \
        ["↺ Replay", "‹ Back", "▶ Play", "Next ›", "Skip »"]
    assert player.steps.labels == ["1 q·kᵀ", "2 ÷√dₕ", "3 mask", "4 softmax", "5 × V"]
    assert player.step_div.text.startswith("<b>Attention, block 1, head 2</b>: Q, K and V are this head's")
    assert en_views["popover_output"].title.text.startswith(
        "Output: the final LayerNorm's vector × the token embeddings = one logit per token.   Token 2: ")


def test_the_chinese_views_show_the_catalogues_texts(zh_views, zh_trace):
    picture = zh_views["picture"]
    assert picture.caption_source.data["text"][0] == ZH("picture.hint")
    assert picture.group_source.data["text"][0] == ZH("picture.group.embedding")
    description = dict(zip(picture.stage_source.data["stage"], picture.stage_source.data["description"]))
    assert description["attention"] == ZH("picture.stage.attention", head=2)
    assert ZH("picture.label.weights") in picture.flow_label_source.data["text"]
    strip_hover = picture.ln1.strip.hover.tooltips
    assert (ZH("picture.tooltip.dimension"), ZH("picture.tooltip.dimension_of", total=64)) in strip_hover
    assert zh_views["overview"].figure.title.text == ZH("overview.title")
    assert zh_views["heads"].head_source.data["status"][1] == ZH("attention.ablated")
    assert zh_views["head"].heatmaps["pattern"].figure.title.text == ZH("attention.pattern_title")
    assert zh_views["mlp"].gelu_figure.xaxis[0].axis_label == ZH("mlp_view.before_axis")
    assert zh_views["output"].table_figure.title.text == ZH("output.table_title")
    assert zh_views["lens"].figure.title.text.text == ZH("logit_lens.title", token=zh_trace.tokens[-1])
    player = zh_views["derivation"].player
    assert player.play.label == ZH("player.play") and player.callback.args["pause_label"] == ZH("player.pause")
    assert player.steps.labels[2] == ZH("derivation.pill.mask")
    assert player.step_div.text == ZH("derivation.ready", where=ZH("derivation.where", layer=1, head=2), d_head=16)
    assert player.callback.args["texts"]["cell"] == ZH("derivation.detail.cell")
    assert zh_views["popover_qkv"].player.steps.labels[0] == ZH("popover.pill.one")
    assert "已掩码" in zh_views["head"].heatmaps["pattern"].hover.formatters["@image"].args["masked"]
