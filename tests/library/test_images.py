"""Image models (tiny random ViT, DeiT, CLIP and a vision encoder-decoder, written on the spot by transformers):
every drawn value equals the model's own ``output_attentions``, ``cross_attentions`` and ``output_hidden_states``;
the picture's overlay for a query is that row laid on the patch grid; the rollout equals a direct computation.

The reference values come from a second, eager copy of each model fed the processor's pixel values; the explainer
gets the model as a user loads it (``sdpa``) and the picture as a PIL image."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs PyTorch (pip install torch==2.13.0; CI: WITH_PARITY=1)")
transformers = pytest.importorskip("transformers", reason="needs transformers (pip install transformers)")

from library_helpers import (PROMPTS, assert_explorer_shows, assert_hidden_view_shows, first_of_batch,  # noqa: E402
                             load_image_model, need_pillow, reference_image_outputs, rollout_by_paths,
                             sample_picture)
from transformer_explainer import CaptureError, Explainer, InputError  # noqa: E402
from transformer_explainer.viz.hidden_states import token_norms  # noqa: E402

pytestmark = pytest.mark.torch
transformers.utils.logging.set_verbosity_error()
ROWS, COLS = 4, 6  # the tiny ViT and DeiT: 32×48 pixels in 8×8 patches


def explainer_for(image_checkpoint, kind: str) -> Explainer:
    model, processor = load_image_model(image_checkpoint(kind), kind)
    explainer = Explainer(model, processor)
    explainer.adapter.warned = True  # the note about eager attention is checked in its own test
    return explainer


def on_grid(row: np.ndarray, first: int, rows: int = ROWS, cols: int = COLS) -> np.ndarray:
    return row[first:first + rows * cols].reshape(rows, cols)


@pytest.mark.parametrize("kind, prefix", [("vit", ["[CLS]"]), ("deit", ["[CLS]", "[DIST]"])])
def test_a_vision_transformers_attention_is_its_own_and_is_drawn_on_its_patches(image_checkpoint, kind, prefix):
    picture = sample_picture()
    outputs, _ = reference_image_outputs(image_checkpoint(kind), kind, picture)
    attentions, hidden = first_of_batch(outputs.attentions), first_of_batch(outputs.hidden_states)
    widget = explainer_for(image_checkpoint, kind).show_attention(picture)
    capture, view, first = widget.capture, widget.view, len(prefix)
    assert capture.tokens[:first + 2] == prefix + ["(0, 0)", "(0, 1)"] and capture.tokens[-1] == "(3, 5)"
    assert (capture.patches.rows, capture.patches.cols, capture.patches.first) == (ROWS, COLS, first)
    assert_explorer_shows(view.explorer, attentions)
    # The picture shows the chosen query's row on the grid: [CLS] first, then patches as a tap chooses them.
    view.select(0, 0)
    np.testing.assert_array_equal(view.overlay.values, on_grid(attentions[0][0][0], first))
    for layer, head, query in ((1, 3, first + 7), (0, 2, first + ROWS * COLS - 1), (1, 0, 0)):
        view.select(layer, head, query)
        np.testing.assert_array_equal(view.overlay.values, on_grid(attentions[layer][head][query], first))
        assert view.overlay.cells.data["what"][0].startswith(f"the attention weight of query #{query} ")
        assert view.overlay.figure.title.text.startswith(f"layer {layer}, head {head}: what query #{query}")
    # The rollout: what reaches each query through all the layers.
    for query in (0, first + 9):
        np.testing.assert_allclose(view.rollout[query], rollout_by_paths(attentions, query), rtol=1e-5, atol=1e-7)
        view.select(query=query, rollout=True)
        np.testing.assert_array_equal(view.overlay.values, on_grid(view.rollout[query], first))
        what = view.overlay.cells.data["what"][0]
        assert "all 2 layers" in what and "½·A + ½·I" in what
    np.testing.assert_array_equal(view.rollout_source.data["image"][0], view.rollout)
    # Hidden states: the model's own, and each state's patch norms on the grid.
    hidden_view = explainer_for(image_checkpoint, kind).show_hidden_states(picture).view
    assert_hidden_view_shows(hidden_view, hidden)
    for i, state in enumerate(hidden):
        hidden_view.select(i)
        np.testing.assert_array_equal(hidden_view.patch_norms.values, on_grid(token_norms(state), first))
        np.testing.assert_allclose(hidden_view.patch_norms.values,
                                   on_grid(np.linalg.norm(state.astype(np.float64), axis=-1), first), rtol=1e-6)


def test_the_picture_under_the_attention_is_what_the_model_saw(image_checkpoint):
    picture = sample_picture()
    capture = explainer_for(image_checkpoint, "vit").capture(picture)
    shown = capture.patches.picture
    assert shown.shape == (32, 48, 3) and shown.dtype == np.uint8
    # The processor resized it to 32×48 and normalized it with mean 0.5 and std 0.5: undone, it is the resized
    # picture, up to the rounding of the resize.
    resized = np.asarray(picture.resize((48, 32), resample=2), dtype=np.int16)
    assert np.abs(shown.astype(np.int16) - resized).max() <= 1
    square, corner = shown[18:26, 26:42].mean(axis=(0, 1)), shown[:8, :12].mean(axis=(0, 1))
    assert square[0] > 200 and square[1] > 200 and square[2] < 60 < corner[2] < corner[0] + 100  # yellow lower right


def test_every_form_of_an_image_gives_the_same_numbers(image_checkpoint, tmp_path):
    need_pillow()
    picture = sample_picture()
    explainer = explainer_for(image_checkpoint, "vit")
    expected = explainer.capture(picture)
    path = tmp_path / "picture.png"
    picture.save(path)
    pixels = explainer.adapter.processor(images=picture, return_tensors="pt")["pixel_values"]
    bare = Explainer(explainer.model)  # no processor: pixel values only
    bare.adapter.warned = True
    for given, by in ((path, explainer), (np.asarray(picture), explainer), (np.asarray(picture) / 255.0, explainer),
                      (pixels, explainer), (pixels, bare), (pixels[0].numpy(), bare), ({"pixel_values": pixels}, bare)):
        capture = by.capture(given)
        for layer, reference in zip(capture.attentions, expected.attentions, strict=True):
            np.testing.assert_allclose(layer, reference, atol=2e-6)
    np.testing.assert_array_equal(bare.capture(image=pixels).attentions[1],
                                  explainer.capture(image=pixels).attentions[1])


def test_a_grey_or_rgba_picture_is_converted_to_rgb_and_the_notes_say_so(image_checkpoint):
    explainer = explainer_for(image_checkpoint, "vit")
    for mode, said in (("L", "a greyscale image"), ("RGBA", "an RGBA image")):
        picture = sample_picture(mode=mode)
        capture = explainer.capture(picture)
        assert f"the input was {said}: it was converted to RGB" in capture.notes[0]
        expected = explainer.capture(picture.convert("RGB"))
        np.testing.assert_array_equal(capture.attentions[0], expected.attentions[0])
    assert "transparency dropped" in explainer.capture(sample_picture(mode="RGBA")).notes[0]
    grey = np.asarray(sample_picture(mode="L"))  # [H, W] array
    np.testing.assert_array_equal(explainer.capture(grey).attentions[1],
                                  explainer.capture(sample_picture(mode="L")).attentions[1])


def test_an_image_model_whose_kernel_returns_no_weights_runs_eagerly_and_says_so(image_checkpoint):
    model, processor = load_image_model(image_checkpoint("deit"), "deit")
    assert model.config._attn_implementation == "sdpa"
    with pytest.warns(UserWarning, match="it ran with attn_implementation='eager'"):
        capture = Explainer(model, processor).capture(sample_picture())
    assert "DeiTModel uses 'sdpa' attention" in capture.notes[0]
    assert model.config._attn_implementation == "sdpa"


def test_clip_shows_both_towers_and_the_similarity_the_model_computes(image_checkpoint):
    picture = sample_picture()
    outputs, inputs = reference_image_outputs(image_checkpoint("clip"), "clip", picture, PROMPTS)
    explainer = explainer_for(image_checkpoint, "clip")
    widget = explainer.show_attention(image=picture, text=PROMPTS)
    capture, view = widget.capture, widget.view
    vision = first_of_batch(outputs.vision_model_output.attentions)
    assert (capture.image.patches.rows, capture.image.patches.cols, capture.image.patches.first) == (4, 4, 1)
    assert_explorer_shows(view.image.explorer, vision)
    view.select(1, 2, 0)
    np.testing.assert_array_equal(view.image.overlay.values, on_grid(vision[1][2][0], 1, 4, 4))
    # Each prompt's text tower: its own rows of the padded batch, without the padding.
    lengths = inputs["attention_mask"].sum(dim=1).tolist()
    assert len(set(lengths)) > 1  # the prompts differ in length: padding had to be taken off
    for i, (length, explorer) in enumerate(zip(lengths, view.texts, strict=True)):
        text_attentions = [layer[i, :, :length, :length].numpy() for layer in outputs.text_model_output.attentions]
        assert_explorer_shows(explorer, text_attentions)
        assert capture.texts[i].token_ids == inputs["input_ids"][i, :length].tolist()
        assert capture.texts[i].tokens[0] == "[CLS]" and capture.texts[i].tokens[-1] == "[SEP]"
    # The similarity: the model's logits per prompt, their softmax, the embeddings' cosines.
    data = view.similarity.source.data
    np.testing.assert_array_equal(data["logit"], outputs.logits_per_image[0].numpy())
    np.testing.assert_array_equal(data["probability"], outputs.logits_per_image.softmax(-1)[0].numpy())
    np.testing.assert_allclose(data["cosine"],
                               (outputs.image_embeds @ outputs.text_embeds.T)[0].numpy(), rtol=1e-6)
    scale = float(explainer.model.logit_scale.detach().exp())
    np.testing.assert_allclose(data["logit"], data["cosine"] * scale, rtol=1e-5)
    assert list(data["text"]) == [f"{i}: {prompt}" for i, prompt in enumerate(PROMPTS)]
    # Hidden states of both towers.
    hidden = explainer.show_hidden_states(image=picture, text=PROMPTS).view
    assert_hidden_view_shows(hidden.image, first_of_batch(outputs.vision_model_output.hidden_states))
    assert_hidden_view_shows(hidden.texts[1], [state[1, :lengths[1]].numpy()
                                               for state in outputs.text_model_output.hidden_states])
    # The image tower alone, without prompts.
    alone = explainer.capture(picture)
    assert alone.texts == () and alone.similarity is None
    np.testing.assert_array_equal(alone.image.attentions[1], vision[1])


@pytest.mark.parametrize("given_text", [False, True])
def test_a_vision_to_text_models_cross_attention_is_its_own_and_is_drawn_per_token(image_checkpoint, given_text):
    picture = sample_picture()
    explainer = explainer_for(image_checkpoint, "vision-encoder-decoder")
    model, tokenizer = explainer.model, explainer.adapter.tokenizer
    start = model.config.decoder_start_token_id
    if given_text:
        text = "attention heads look at the image"
        ids = [start] + tokenizer(text, add_special_tokens=False)["input_ids"]
    else:  # the model's own greedy caption, written here with generate()
        text = None
        pixels = explainer.adapter.processor.image_processor(images=picture, return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            ids = model.eval().generate(pixel_values=pixels, max_new_tokens=12, do_sample=False)[0].tolist()
    outputs, _ = reference_image_outputs(image_checkpoint("vision-encoder-decoder"), "vision-encoder-decoder", picture,
                                         ids)
    widget = explainer.show_attention(picture, text=text)
    capture, view = widget.capture, widget.view
    assert capture.texts[0].token_ids == ids
    assert any("greedy caption" in note for note in capture.notes) != given_text
    cross = first_of_batch(outputs.cross_attentions)
    assert cross[0].shape == (4, len(ids), 1 + ROWS * COLS)
    for layer in range(2):
        for head in range(4):
            for token in (0, len(ids) - 1):
                view.cross.select(layer, head, token)
                np.testing.assert_array_equal(view.cross.heatmap.values, cross[layer][head])
                np.testing.assert_array_equal(view.cross.overlay.values, on_grid(cross[layer][head][token], 1))
            row = layer * 4 + head
            np.testing.assert_array_equal(view.cross.patterns_source.data["image"][row], cross[layer][head])
    last = len(ids) - 1
    assert view.cross.overlay.figure.title.text == f"layer 1, head 3: where text token #{last} looks on the image"
    assert_explorer_shows(view.image.explorer, first_of_batch(outputs.encoder_attentions))
    assert_explorer_shows(view.texts[0], first_of_batch(outputs.decoder_attentions))
    hidden = explainer.show_hidden_states(picture, text=text).view
    assert_hidden_view_shows(hidden.image, first_of_batch(outputs.encoder_hidden_states))
    assert_hidden_view_shows(hidden.texts[0], first_of_batch(outputs.decoder_hidden_states))


# -- bad input: one clear error each ------------------------------------------------------------------------------

def one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


def test_bad_images_are_refused_saying_what_to_do(image_checkpoint, tmp_path):
    explainer = explainer_for(image_checkpoint, "vit")
    bare = Explainer(explainer.model)
    pixels = explainer.adapter.processor(images=sample_picture(), return_tensors="pt")["pixel_values"]
    cases = [
        (bare, sample_picture(), "a picture needs the model's image processor"),
        (bare, torch.zeros(1, 3, 40, 40), "reads images of 32×48 pixels (its config's image_size), these pixel values "
                                          "are 40×40: resize the image, or give the model's image processor"),
        (explainer, torch.cat([pixels, pixels]), "a batch of 2 images"),
        (explainer, [sample_picture(), sample_picture()],
         "a list of 2 images: the explainer shows one image at a time"),
        (explainer, torch.zeros(1, 1, 32, 48), "pixel_values must be [1, 3, height, width]"),
        (explainer, np.full((20, 20, 3), 2.5), "an image array of floats must hold values from 0 to 1"),
        (explainer, tmp_path / "missing.png", "there is no image file"),
        (explainer, "a photo of a cat", "a string is read as text"),
        (explainer, None, "give an image"),
    ]
    for by, given, message in cases:
        with pytest.raises(InputError) as error:
            by.capture(given)
        assert message in one_line(error), given if not hasattr(given, "shape") else given.shape
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(InputError) as error:
        explainer.capture(tmp_path / "notes.txt")
    assert "is not an image Pillow can read" in one_line(error)
    with pytest.raises(InputError) as error:
        explainer.capture(sample_picture(), text="a cat")
    assert "reads images only" in one_line(error)


def test_a_text_model_given_an_image_says_it_reads_text(hf_checkpoint):
    from library_helpers import load_hf

    model, tokenizer = load_hf(hf_checkpoint("bert"), "bert")
    explainer = Explainer(model, tokenizer)
    for given in (sample_picture(), torch.zeros(1, 3, 32, 32)):
        with pytest.raises(InputError) as error:
            explainer.capture(given)
        assert one_line(error).startswith(f"{explainer.name} reads text, not images")


def test_a_model_whose_attention_is_not_over_its_patches_or_that_has_none_is_refused():
    need_pillow()
    swin = transformers.SwinModel(transformers.SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1, 1],
                                                          num_heads=[2, 2], window_size=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(CaptureError) as error:
            Explainer(swin).capture(torch.zeros(1, 3, 32, 32))
    assert "cannot be drawn on the image" in one_line(error) and "Swin" in one_line(error)
    config = transformers.ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2, image_size=32)
    convnext = transformers.ConvNextModel(config)
    with pytest.raises(CaptureError) as error:
        Explainer(convnext).capture(torch.zeros(1, 3, 32, 32))
    assert one_line(error).startswith("ConvNextModel returned no attention weights for the image")


def test_clip_and_vision_to_text_input_errors(image_checkpoint):
    clip = explainer_for(image_checkpoint, "clip")
    with pytest.raises(InputError) as error:
        clip.capture(sample_picture(), text=["a cat", " "])
    assert one_line(error) == "text 2 is empty: give at least one character"
    with pytest.raises(InputError) as error:
        clip.capture(sample_picture(), text=" ".join(["the"] * 80))
    assert "text 1 is 82 tokens long, but" in one_line(error) and "reads at most 64" in one_line(error)
    decoder = explainer_for(image_checkpoint, "vision-encoder-decoder")
    with pytest.raises(InputError) as error:
        decoder.capture(sample_picture(), text=["one", "two"])
    assert "reads one text at a time" in one_line(error)


def test_an_image_processor_and_a_tokenizer_can_be_given_as_a_pair(image_checkpoint):
    joint = explainer_for(image_checkpoint, "vision-encoder-decoder")
    processor = joint.adapter.processor
    for pair in ((processor.image_processor, processor.tokenizer), (processor.tokenizer, processor.image_processor)):
        apart = Explainer(joint.model, pair)
        apart.adapter.warned = True
        shown = apart.capture(sample_picture(), text="the capital of france")
        expected = joint.capture(sample_picture(), text="the capital of france")
        assert shown.texts[0].tokens == expected.texts[0].tokens and len(shown.texts[0].tokens) > 3
        np.testing.assert_array_equal(shown.cross_attentions[1], expected.cross_attentions[1])
    with pytest.raises(InputError) as error:
        Explainer(joint.model, (1, 2))
    assert "a pair (image processor, tokenizer)" in one_line(error)
