"""Hugging Face models (GPT-2 with its LM head, BERT, DistilBERT, RoBERTa; tiny random checkpoints written by
transformers): the heatmaps hold exactly ``output_attentions``, the heat strips exactly ``output_hidden_states``.

The reference values come from a second copy of each model, loaded here with eager attention; the explainer
gets the model as a user loads it (``sdpa``, which returns no weights), so these tests also prove the switch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs PyTorch (pip install torch==2.13.0; CI: WITH_PARITY=1)")
transformers = pytest.importorskip("transformers", reason="needs transformers (pip install transformers)")

from library_helpers import (HF_KINDS, SENTENCE, assert_explorer_shows, assert_hidden_view_shows,  # noqa: E402
                             load_hf, reference_outputs)
from transformer_explainer import CaptureError, Explainer, InputError  # noqa: E402

pytestmark = pytest.mark.torch
transformers.utils.logging.set_verbosity_error()


@pytest.mark.parametrize("kind", HF_KINDS)
def test_heatmaps_and_strips_hold_the_models_own_outputs(hf_checkpoint, kind):
    folder = hf_checkpoint(kind)
    inputs, attentions, hidden = reference_outputs(folder, kind)
    model, tokenizer = load_hf(folder, kind)
    explainer = Explainer(model, tokenizer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the note about eager attention: checked below
        attention = explainer.show_attention(inputs["input_ids"])
        hidden_widget = explainer.show_hidden_states(inputs["input_ids"])
    assert attention.capture.n_layers == 2 and attention.capture.n_heads == 4
    assert attention.capture.tokens[:1] == {"gpt2": ["T"], "bert": ["[CLS]"], "distilbert": ["[CLS]"],
                                            "roberta": ["<s>"]}[kind]
    assert_explorer_shows(attention.view, attentions)
    assert hidden_widget.view.labels == ["embeddings", "after layer 0", "after layer 1"]
    assert_hidden_view_shows(hidden_widget.view, hidden)


def test_a_model_whose_attention_kernel_returns_no_weights_runs_eagerly_and_says_so(hf_checkpoint):
    model, tokenizer = load_hf(hf_checkpoint("bert"), "bert")
    assert model.config._attn_implementation == "sdpa"
    with pytest.warns(UserWarning, match="it ran with attn_implementation='eager'"):
        capture = Explainer(model, tokenizer).capture(SENTENCE)
    assert "BertModel uses 'sdpa' attention, which returns no attention weights" in capture.notes[0]
    assert model.config._attn_implementation == "sdpa"  # given back as it was


def test_text_ids_tensors_and_batch_encodings_give_the_same_numbers(hf_checkpoint):
    folder = hf_checkpoint("bert")
    inputs, attentions, _ = reference_outputs(folder, "bert")
    model, tokenizer = load_hf(folder, "bert", attn_implementation="eager")
    explainer = Explainer(model, tokenizer)
    ids = inputs["input_ids"][0].tolist()
    for given in (SENTENCE, inputs, inputs["input_ids"], inputs["input_ids"][0], ids, np.array(ids)):
        capture = explainer.capture(given)
        assert capture.token_ids == ids
        np.testing.assert_array_equal(capture.attentions[1], attentions[1])
    assert explainer.capture(SENTENCE).notes == ()  # loaded with eager attention: nothing switched


def test_the_attention_mask_given_with_the_ids_reaches_the_model(hf_checkpoint):
    folder = hf_checkpoint("bert")
    model, tokenizer = load_hf(folder, "bert", attn_implementation="eager")
    inputs = tokenizer(SENTENCE, return_tensors="pt")
    inputs["attention_mask"][0, -3:] = 0  # the last three keys hidden
    capture = Explainer(model, tokenizer).capture(inputs)
    with torch.no_grad():
        expected = model(**inputs, output_attentions=True).attentions[0][0].numpy()
    np.testing.assert_array_equal(capture.attentions[0], expected)
    assert np.all(capture.attentions[0][:, :, -3:] == 0)


def test_dropout_is_off_during_the_capture_and_the_training_mode_is_given_back(hf_checkpoint):
    folder = hf_checkpoint("distilbert")
    _, attentions, _ = reference_outputs(folder, "distilbert")
    model, tokenizer = load_hf(folder, "distilbert", attn_implementation="eager", attention_dropout=0.5)
    model.train()
    capture = Explainer(model, tokenizer).capture(SENTENCE)
    np.testing.assert_array_equal(capture.attentions[0], attentions[0])
    assert model.training


@pytest.mark.parametrize("given, message", [
    ("batch", "is a batch of 2 sequences"),
    ("long", "is 70 tokens long, but"),
    ("outside", "token id 5000 is outside the model's vocabulary (0.."),
])
def test_inputs_the_model_cannot_read_get_one_clear_line(hf_checkpoint, given, message):
    model, tokenizer = load_hf(hf_checkpoint("bert"), "bert", attn_implementation="eager")
    inputs = {"batch": tokenizer([SENTENCE, SENTENCE], return_tensors="pt"), "long": " ".join(["the"] * 68),
              "outside": [2, 5000, 3]}[given]
    with pytest.raises(InputError) as error:
        Explainer(model, tokenizer).capture(inputs)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_text_needs_a_tokenizer(hf_checkpoint):
    model, _ = load_hf(hf_checkpoint("bert"), "bert", attn_implementation="eager")
    with pytest.raises(InputError, match=r"no tokenizer, so it cannot read text"):
        Explainer(model).capture(SENTENCE)
    assert Explainer(model).capture([2, 40, 3]).tokens == ["2", "40", "3"]  # ids need none


def test_a_model_with_no_attention_is_refused_saying_so():
    config = transformers.MambaConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, state_size=4, expand=2,
                                      conv_kernel=2)
    transformers.utils.logging.set_verbosity_error()
    model = transformers.MambaModel(config)
    with pytest.raises(CaptureError, match="MambaModel returned no attention weights"):
        Explainer(model).capture([1, 2, 3])
