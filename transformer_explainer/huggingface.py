"""Adapter: a Hugging Face ``transformers`` PyTorch model (GPT-2, BERT, RoBERTa, DistilBERT, ...).

The model is asked for ``output_attentions=True, output_hidden_states=True``. Fast attention kernels
(``sdpa``, flash attention) compute the same softmax without returning it, so for the capture the model runs
with ``attn_implementation="eager"`` (the same formula, written out) and is switched back afterwards; the
capture's notes say so. The model runs in eval mode (no dropout) and without gradients, and is put back as
it was.

Limits: one sequence at a time; decoder-only and encoder-only models (encoder-decoder models such as T5 or
BART are refused: their two stacks and cross-attention are not shown yet); models that have no attention
(Mamba, RWKV) are refused with a ``CaptureError``.
"""

from __future__ import annotations

import contextlib
import sys
import warnings

from .capture import Capture, make_capture
from .errors import CaptureError, InputError
from .inputs import Encoded, check_length, check_vocabulary, is_hf_tokenizer, token_labels

HUGE = 10 ** 9  # Hugging Face tokenizers say model_max_length = 1e30 when they do not know


def is_hf_model(model) -> bool:
    if "transformers" not in sys.modules:  # it cannot be one if transformers was never imported
        return False
    from transformers import PreTrainedModel
    return isinstance(model, PreTrainedModel)


def model_name(model) -> str:
    return str(getattr(model, "name_or_path", "") or getattr(model.config, "_name_or_path", "")
               or type(model).__name__)


def max_positions(model, tokenizer) -> int | None:
    """The longest input the model reads: its position table (``n_positions``, ``max_position_embeddings``),
    or its tokenizer's ``model_max_length`` when that is smaller (RoBERTa's table has 2 extra rows)."""
    config = model.config
    limits = [getattr(config, name) for name in ("n_positions", "max_position_embeddings")
              if isinstance(getattr(config, name, None), int)]
    if tokenizer is not None and is_hf_tokenizer(tokenizer):
        length = getattr(tokenizer, "model_max_length", None)
        if isinstance(length, int) and 0 < length < HUGE:
            limits.append(length)
    return min(limits) if limits else None


@contextlib.contextmanager
def evaluating(model):
    """Eval mode (no dropout) for the capture, then the mode the model had."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@contextlib.contextmanager
def eager_attention(model, notes: list[str]):
    """The model with ``attn_implementation="eager"`` for the capture (noted), then its own again."""
    current = getattr(model.config, "_attn_implementation", None)
    if current in (None, "eager") or not hasattr(model, "set_attn_implementation"):
        yield
        return
    try:
        model.set_attn_implementation("eager")
    except (ValueError, ImportError, AttributeError, NotImplementedError):
        yield  # this model cannot switch: the output says whether it returned attentions anyway
        return
    notes.append(f"{type(model).__name__} uses {current!r} attention, which returns no attention weights: it ran with "
                 f"attn_implementation='eager' (the same computation, written out) to capture them, and was switched "
                 f"back to {current!r} afterwards.")
    try:
        yield
    finally:
        model.set_attn_implementation(current)


class HuggingFaceAdapter:
    def __init__(self, model, tokenizer=None):
        if getattr(model.config, "is_encoder_decoder", False):
            raise CaptureError(f"{type(model).__name__} is an encoder-decoder model: the explainer shows one stack's "
                               f"self-attention (encoder-only or decoder-only models such as BERT or GPT-2)")
        self.model, self.tokenizer = model, tokenizer
        self.name = model_name(model)
        self.max_tokens = max_positions(model, tokenizer)
        self.warned = False

    def model_inputs(self, encoded: Encoded) -> dict:
        import torch

        device = next(self.model.parameters()).device
        inputs = {"input_ids": torch.tensor([encoded.ids], dtype=torch.long, device=device)}
        for name, value in encoded.extras.items():
            if hasattr(value, "ndim") and getattr(value, "ndim", None) == 1:
                inputs[name] = torch.as_tensor(value[None]).to(device)
            else:
                inputs[name] = value
        return inputs

    def capture(self, encoded: Encoded) -> Capture:
        import torch

        check_length(encoded, self.max_tokens, self.name)
        check_vocabulary(encoded, getattr(self.model.config, "vocab_size", None))
        notes: list[str] = []
        with evaluating(self.model), eager_attention(self.model, notes), torch.no_grad():
            try:
                outputs = self.model(**self.model_inputs(encoded), output_attentions=True,
                                     output_hidden_states=True, return_dict=True)
            except IndexError as error:  # an embedding table too short for the input: say which limit
                raise InputError(f"{self.name} cannot read this input of {encoded.n_tokens} tokens ({error}); "
                                 f"shorten it") from None
        attentions = getattr(outputs, "attentions", None)
        if not attentions or any(layer is None for layer in attentions):
            raise CaptureError(f"{type(self.model).__name__} returned no attention weights (asked with "
                               f"output_attentions=True, attn_implementation='eager'): it may have no attention "
                               f"layers (Mamba, RWKV); for a model of your own, see Explainer(..., attention_modules=)")
        hidden = getattr(outputs, "hidden_states", None) or ()
        if notes and not self.warned:
            warnings.warn(notes[0], stacklevel=4)
            self.warned = True
        return make_capture(token_labels(self.tokenizer, encoded.ids), list(attentions), list(hidden),
                            token_ids=encoded.ids, model_name=self.name, notes=notes)
