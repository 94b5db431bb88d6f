"""The report of an image, as a reader gets it: written by ``transformer-explainer generate --image``, opened from
file:// in headless Chromium with every other request aborted. The page holds the model's own attentions, hidden
states, rollout, CLIP similarity and cross-attention (reference values from a second, eager copy of each tiny
random model fed the same PNG); the picture's overlay follows the selectors, a tap on a patch, the rollout option
and the hidden-state selector, each time equal to the row the model computed; the console stays clean.
Screenshots go to test-artifacts/library/."""

from __future__ import annotations

import json

import numpy as np
import pytest

from library_helpers import (ARTIFACTS, IDLE_JS, as_arrays, first_of_batch, need_pillow, need_transformers,
                             open_report, reference_image_outputs, rollout_by_paths, sample_picture, set_value)
from transformer_explainer.app.cli import main
from transformer_explainer.viz.hidden_states import token_norms

pytestmark = [pytest.mark.browser, pytest.mark.torch]
PROMPTS = ["a photo of a cat", "<img src=x onerror=alert(1)> $$x^2$$"]
CAPTION = "attention heads look at the image"
SETTLE_JS = "async () => { for (let i = 0; i < 2; i++) await new Promise((done) => setTimeout(done, 0)); }"


@pytest.fixture(scope="module", params=["vit", "clip", "vision-encoder-decoder"])
def image_report(request, image_checkpoint, tmp_path_factory):
    """(kind, path, prefix of the image tower's models, reference outputs, extra): the CLI's report of one PNG."""
    need_transformers()
    Image = need_pillow()
    kind, folder = request.param, image_checkpoint(request.param)
    work = tmp_path_factory.mktemp(f"image-report-{kind}")
    picture_path = work / "cat & <dog>.png"
    sample_picture().save(picture_path)
    picture = Image.open(picture_path).convert("RGB")
    path = work / "report.html"
    args = ["generate", "--model", str(folder), "--image", str(picture_path), "--output", str(path)]
    extra = None
    if kind == "clip":
        args += [arg for prompt in PROMPTS for arg in ("--text", prompt)]
        outputs, extra = reference_image_outputs(folder, kind, picture, PROMPTS)
    elif kind == "vision-encoder-decoder":
        from transformers import AutoProcessor

        tokenizer = AutoProcessor.from_pretrained(folder).tokenizer
        start = json.loads((folder / "config.json").read_text())["decoder_start_token_id"]
        extra = [start] + tokenizer(CAPTION, add_special_tokens=False)["input_ids"]
        args += ["--text", CAPTION]
        outputs, _ = reference_image_outputs(folder, kind, picture, extra)
    else:
        outputs, _ = reference_image_outputs(folder, kind, picture)
    assert main(args) == 0
    return kind, path, "s0-" if kind == "vit" else "s0-image-", outputs, extra


@pytest.fixture(scope="module")
def page(browser, image_report):
    page = open_report(browser, image_report[1])
    yield page
    page.close()


def column(page, name: str, field: str = "image"):
    return page.evaluate("([name, field]) => window.__column(name, field)", [name, field])


def shown_on_picture(page, name: str) -> np.ndarray:
    return np.array(column(page, name, "value"), dtype=np.float32)


def vision_outputs(kind, outputs):
    if kind == "clip":
        return outputs.vision_model_output.attentions, outputs.vision_model_output.hidden_states
    if kind == "vision-encoder-decoder":
        return outputs.encoder_attentions, outputs.encoder_hidden_states
    return outputs.attentions, outputs.hidden_states


def test_the_report_holds_the_models_numbers_for_the_image(page, image_report):
    kind, _, prefix, outputs, extra = image_report
    attentions, hidden = (first_of_batch(values) for values in vision_outputs(kind, outputs))
    for figure in ("attention-figure", "attention-picture-figure", "attention-overview-figure", "hidden-norms-figure",
                   "hidden-patch-norms-figure", "hidden-strip-figure"):
        assert page.evaluate("(name) => window.__drawn(name)", prefix + figure), f"{prefix + figure} not drawn"
    patterns = as_arrays(column(page, prefix + "attention-patterns"))
    n_head = attentions[0].shape[0]
    for layer, values in enumerate(attentions):
        for head in range(n_head):
            np.testing.assert_array_equal(patterns[layer * n_head + head], values[head])
    # The picture at first: [CLS]'s row of layer 0, head 0, on the patches.
    np.testing.assert_array_equal(shown_on_picture(page, prefix + "attention-picture-cells"), attentions[0][0][0][1:])
    rollout = as_arrays(column(page, prefix + "attention-rollout"))[0]
    np.testing.assert_allclose(rollout[0], rollout_by_paths(attentions, 0), rtol=1e-5, atol=1e-7)
    for state, reference in zip(as_arrays(column(page, prefix + "hidden-states")), hidden, strict=True):
        np.testing.assert_array_equal(state, reference)
    np.testing.assert_array_equal(shown_on_picture(page, prefix + "hidden-patch-norms-cells"),
                                  token_norms(hidden[-1])[1:])  # the last state is shown first
    if kind == "clip":
        lengths = extra["attention_mask"].sum(dim=1).tolist()
        for i, length in enumerate(lengths):
            text = as_arrays(column(page, f"s0-text{i}-attention-patterns"))
            np.testing.assert_array_equal(text[1 * n_head + 2], outputs.text_model_output.attentions[1][i, 2, :length,
                                                                                                      :length].numpy())
        np.testing.assert_array_equal(np.array(column(page, "s0-image-text-similarity", "logit"), np.float32),
                                      outputs.logits_per_image[0].numpy())
        assert column(page, "s0-image-text-similarity", "text") == [f"{i}: {p}" for i, p in enumerate(PROMPTS)]
    if kind == "vision-encoder-decoder":
        cross = as_arrays(column(page, "s0-cross-attention-patterns"))
        for layer, values in enumerate(first_of_batch(outputs.cross_attentions)):
            for head in range(n_head):
                np.testing.assert_array_equal(cross[layer * n_head + head], values[head])
        decoder = as_arrays(column(page, "s0-decoder-attention-patterns"))
        np.testing.assert_array_equal(decoder[n_head + 1], outputs.decoder_attentions[1][0, 1].numpy())
    assert page.requests == [] and page.problems == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report_image_{kind}.png"), full_page=True)


def test_the_picture_follows_the_selectors_a_tap_and_the_rollout_option(page, image_report):
    kind, _, prefix, outputs, extra = image_report
    attentions, hidden = (first_of_batch(values) for values in vision_outputs(kind, outputs))
    cells = prefix + "attention-picture-cells"
    for layer, head, query in ((1, 3, 0), (0, 2, 5), (1, 1, attentions[0].shape[-1] - 1)):
        set_value(page, prefix + "attention-layer-select", str(layer))
        set_value(page, prefix + "attention-head-select", str(head))
        set_value(page, prefix + "attention-query-select", str(query))
        np.testing.assert_array_equal(shown_on_picture(page, cells), attentions[layer][head][query][1:])
        assert page.evaluate("(name) => window.__find(name).title.text", prefix + "attention-picture-figure") \
            == f"layer {layer}, head {head}: what query #{query} attends to, on the image"
    # A tap on patch 7 makes its token (after [CLS]) the query.
    page.evaluate(f"async () => {{ window.__find('{cells}').selected.indices = [7]; }}")
    page.evaluate(SETTLE_JS)
    assert page.evaluate("(name) => window.__find(name).value", prefix + "attention-query-select") == "8"
    np.testing.assert_array_equal(shown_on_picture(page, cells), attentions[1][1][8][1:])
    shown = as_arrays(column(page, prefix + "attention-heatmap"))[0]
    np.testing.assert_array_equal(shown, attentions[1][1])
    # The rollout option: what reaches the query through every layer.
    set_value(page, prefix + "image-attention-mode-select", "rollout")
    np.testing.assert_allclose(shown_on_picture(page, cells), rollout_by_paths(attentions, 8)[1:], rtol=1e-5,
                               atol=1e-7)
    what = column(page, cells, "what")[0]
    assert what.startswith("attention rollout (Abnar & Zuidema): the share of query #8 ")
    set_value(page, prefix + "attention-query-select", "0")
    np.testing.assert_allclose(shown_on_picture(page, cells), rollout_by_paths(attentions, 0)[1:], rtol=1e-5,
                               atol=1e-7)
    # The hidden-state selector moves the patch norms too.
    for i, state in enumerate(hidden):
        set_value(page, prefix + "hidden-layer-select", str(i))
        np.testing.assert_array_equal(shown_on_picture(page, prefix + "hidden-patch-norms-cells"),
                                      token_norms(state)[1:])
    if kind == "vision-encoder-decoder":
        cross = first_of_batch(outputs.cross_attentions)
        for layer, head, token in ((1, 2, 3), (0, 0, len(extra) - 1)):
            set_value(page, "s0-cross-attention-layer-select", str(layer))
            set_value(page, "s0-cross-attention-head-select", str(head))
            set_value(page, "s0-cross-attention-token-select", str(token))
            np.testing.assert_array_equal(as_arrays(column(page, "s0-cross-attention-heatmap"))[0], cross[layer][head])
            np.testing.assert_array_equal(shown_on_picture(page, "s0-cross-attention-picture-cells"),
                                          cross[layer][head][token][1:])
    page.wait_for_function(IDLE_JS)
    assert page.problems == []


def test_the_file_name_and_the_prompts_stay_text(page, image_report):
    kind = image_report[0]
    heading = page.evaluate("() => window.__find('s0-heading').text")
    n_tokens = 17 if kind == "clip" else 25  # [CLS] and 4 × 4 patches, or 4 × 6
    assert f"<code>cat &amp; &lt;dog&gt;.png</code> &middot; {n_tokens} tokens: 1 before the patches" in heading
    images = page.evaluate("""() => { const found = [];
        const walk = (root) => { for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) walk(el.shadowRoot);
            if (el.tagName === 'IMG') found.push(el.outerHTML); } };
        walk(document); return found; }""")
    assert images == [] and page.problems == []
