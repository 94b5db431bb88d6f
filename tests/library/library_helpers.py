"""What the library tests share (imported as ``library_helpers``: every conftest.py is a module named
``conftest``, so ``from conftest import`` would get whichever was imported first).

Tiny random Hugging Face checkpoints' reference outputs, computed independently of the explainer, and the
checks that a view shows exactly the arrays it was given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from environment import REPO_ROOT

HF_KINDS = ("gpt2", "bert", "distilbert", "roberta")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "library"
SENTENCE = "Transformer models are powerful for language understanding."


def need_transformers():
    pytest.importorskip("torch", reason="needs PyTorch (pip install torch==2.13.0; CI: WITH_PARITY=1)")
    pytest.importorskip("transformers", reason="needs transformers (pip install transformers)")


def load_hf(folder: Path, kind: str, **options):
    """The model as a user loads it (default attention implementation unless told), and its tokenizer."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    model_class = AutoModelForCausalLM if kind == "gpt2" else AutoModel  # GPT-2 with its LM head, the rest bare
    return model_class.from_pretrained(folder, **options), AutoTokenizer.from_pretrained(folder)


def reference_outputs(folder: Path, kind: str, text: str = SENTENCE):
    """(inputs, attentions [L][heads, n, n], hidden states [n, d] each) computed here, independently of the
    explainer: a fresh copy of the model with eager attention, output_attentions and output_hidden_states."""
    import torch

    model, tokenizer = load_hf(folder, kind, attn_implementation="eager")
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        outputs = model.eval()(**inputs, output_attentions=True, output_hidden_states=True)
    return inputs, [a[0].numpy() for a in outputs.attentions], [h[0].numpy() for h in outputs.hidden_states]


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def assert_explorer_shows(explorer, attentions) -> None:
    """Every head, selected in turn, is exactly the array given; and so is every image the page carries."""
    from transformer_explainer.viz.attention_explorer import pattern_title

    n_layer, n_head = len(attentions), attentions[0].shape[0]
    for layer in range(n_layer):
        for head in range(n_head):
            explorer.select(layer, head)
            np.testing.assert_array_equal(explorer.heatmap.values, attentions[layer][head])
            assert explorer.heatmap.figure.title.text == pattern_title(layer, head)
            row = explorer.patterns_source.data["layer"].tolist().index(layer) + head
            np.testing.assert_array_equal(explorer.patterns_source.data["image"][row], attentions[layer][head])
            np.testing.assert_array_equal(explorer.overview.source.data["image"][row], attentions[layer][head])


def assert_hidden_view_shows(view, states) -> None:
    """Every hidden state, selected in turn, is exactly the array given; norms and cosine similarities are
    those of the states (computed here in float64)."""
    for i, state in enumerate(states):
        view.select(i)
        np.testing.assert_array_equal(view.strip.values, state)
        np.testing.assert_array_equal(view.states_source.data["image"][i], state)
        unit = state / np.linalg.norm(state.astype(np.float64), axis=1, keepdims=True)
        np.testing.assert_allclose(view.similarity.values, unit @ unit.T, atol=2e-6)
    norms = np.sqrt((np.asarray(states, dtype=np.float64) ** 2).sum(axis=-1))
    np.testing.assert_allclose(view.norms.values, norms, rtol=1e-6)


# -- image models ------------------------------------------------------------------------------------------------

IMAGE_KINDS = ("vit", "deit", "clip", "vision-encoder-decoder")
PROMPTS = ["a photo of a cat", "the capital of france", "attention heads"]


def need_pillow():
    return pytest.importorskip("PIL.Image", reason="needs Pillow (pip install 'transformer-explainer[vision]')")


def sample_picture(height: int = 50, width: int = 70, mode: str = "RGB"):
    """A picture of another size than the models read (so the processor resizes it): a gradient with a bright
    square in the lower right, that a row/column mix-up would move."""
    Image = need_pillow()
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([255 * x / width, 255 * y / height, np.full_like(x, 96)], axis=-1).astype(np.uint8)
    rgb[height // 2:height - 5, width // 2:width - 5] = [250, 240, 40]
    return Image.fromarray(rgb).convert(mode)


def load_image_model(folder: Path, kind: str, **options):
    """The model as a user loads it, and its processor (AutoProcessor: the image processor, or one that holds a
    tokenizer too)."""
    from transformers import AutoModel, AutoProcessor, VisionEncoderDecoderModel

    model_class = VisionEncoderDecoderModel if kind == "vision-encoder-decoder" else AutoModel
    return model_class.from_pretrained(folder, **options), AutoProcessor.from_pretrained(folder)


def reference_image_outputs(folder: Path, kind: str, image, text=None):
    """The model's own outputs, computed here independently of the explainer: a fresh eager copy of the model, the
    processor's pixel values, output_attentions and output_hidden_states. For CLIP, ``text`` is the prompts (the
    processor pads them into one batch); for a vision encoder-decoder, ``text`` is the decoder's ids."""
    import torch

    model, processor = load_image_model(folder, kind, attn_implementation="eager")
    model.eval()
    image_processor = getattr(processor, "image_processor", processor)
    pixels = image_processor(images=image, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        if kind == "clip":
            inputs = processor.tokenizer(text, padding=True, return_tensors="pt")
            return model(pixel_values=pixels, **inputs, output_attentions=True, output_hidden_states=True), inputs
        if kind == "vision-encoder-decoder":
            return model(pixel_values=pixels, decoder_input_ids=torch.tensor([text]), output_attentions=True,
                         output_hidden_states=True), pixels
        return model(pixel_values=pixels, output_attentions=True, output_hidden_states=True), pixels


def first_of_batch(layers) -> list[np.ndarray]:
    return [layer[0].numpy() for layer in layers]


def rollout_by_paths(attentions, query: int) -> np.ndarray:
    """Attention rollout of one query, computed as Abnar & Zuidema describe it, by another route than the view's:
    a row vector carried down from the last layer to the input, v ← v · (½·mean_heads(A_l) + ½·I), rows
    renormalized."""
    n = attentions[0].shape[-1]
    vector = np.zeros(n)
    vector[query] = 1.0
    for layer in reversed(attentions):
        mixed = 0.5 * np.mean(np.asarray(layer, dtype=np.float64), axis=0) + 0.5 * np.eye(n)
        vector = vector @ (mixed / mixed.sum(axis=1, keepdims=True))
    return vector


# -- reports in a browser ---------------------------------------------------------------------------------------

# The named Bokeh model of the page, and a column of its data as plain numbers (NDArrays flattened, with shape).
PAGE_JS = """() => {
window.__find = (name) => {
  for (const model of Bokeh.documents[0]._all_models.values()) if (model.name === name) return model;
  return null;
};
window.__column = (name, column) => {
  const source = window.__find(name);
  const data = source.data instanceof Map ? Object.fromEntries(source.data) : source.data;
  return Array.from(data[column], (item) => ArrayBuffer.isView(item)
    ? {shape: Array.from(item.shape || [item.length]), values: Array.from(item)} : item);
};
window.__drawn = (name) => {
  const model = window.__find(name);
  const view = model === null ? null : Bokeh.index.find_one_by_id(model.id);
  return view !== null && view.is_idle && view.canvas_view.el.getBoundingClientRect().width > 0;
};
}"""
IDLE_JS = "() => window.Bokeh && Bokeh.documents.length > 0 && [...Bokeh.index].length > 0 && " \
          "[...Bokeh.index].every((view) => view.is_idle)"


def as_arrays(column) -> list[np.ndarray]:
    return [np.array(item["values"], dtype=np.float32).reshape(item["shape"]) for item in column]


def set_value(page, name: str, value: str) -> None:
    """Set a widget's value as the browser would; CustomJS runs its code after awaiting (microtasks), so the
    next macrotask sees its result."""
    page.evaluate("async ([name, value]) => { window.__find(name).value = value; "
                  "await new Promise((done) => setTimeout(done, 0)); }", [name, value])


def open_report(browser, path: Path):
    """A page of ``path`` opened from file:// with every other request aborted and recorded (``page.requests``), and
    every console error or warning, page error and dialog recorded (``page.problems``); drawn, with PAGE_JS's
    helpers loaded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.problems, page.requests = [], []
    page.on("console", lambda message: page.problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog (script ran): {dialog.message}"),
                                      dialog.dismiss()))

    def route(route):
        if route.request.url.startswith("file://"):
            return route.continue_()
        page.requests.append(route.request.url)
        return route.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_function(IDLE_JS, timeout=30_000)
    page.evaluate(PAGE_JS)
    return page
