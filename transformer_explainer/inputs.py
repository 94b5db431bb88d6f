"""What a user may pass as the input, and the tokenizers that turn text into it.

Inputs: text (needs a tokenizer), token ids (a list, a NumPy array, a PyTorch tensor, [n] or [1, n]), or a
dict of model inputs such as a Hugging Face ``BatchEncoding`` (``input_ids`` plus ``attention_mask``,
``token_type_ids``, ...). Tokenizers: a Hugging Face tokenizer, gpt2_core's ``Tokenizer``, or any callable
from text to one of those inputs (``lambda text: torch.tensor([[1, 2, 3]])``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

# How whitespace looks in a token label (as gpt2_core shows GPT-2's tokens).
VISIBLE_WHITESPACE = str.maketrans({" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"})


@dataclass
class Encoded:
    """One sequence: its token ids, and everything else the model is given (``attention_mask``, ...) as
    [n] NumPy arrays, or as the user gave it when it is not aligned with the tokens."""

    ids: list[int]
    extras: dict = field(default_factory=dict)
    as_mapping: bool = False  # the user gave a dict: call the model with keyword arguments

    @property
    def n_tokens(self) -> int:
        return len(self.ids)


def is_hf_tokenizer(tokenizer) -> bool:
    return hasattr(tokenizer, "convert_ids_to_tokens") and callable(tokenizer)


def is_gpt2_core_tokenizer(tokenizer) -> bool:
    from transformer_explainer.gpt2_core import Tokenizer
    return isinstance(tokenizer, Tokenizer)


def check_tokenizer(tokenizer) -> None:
    from .images import is_processor_pair

    if tokenizer is not None and not (callable(tokenizer) or is_gpt2_core_tokenizer(tokenizer)
                                      or is_processor_pair(tokenizer)):
        raise InputError(f"a tokenizer is a Hugging Face tokenizer, gpt2_core's Tokenizer, or a function from text to "
                         f"token ids (for an image model: its processor, or a pair (image processor, tokenizer)); got "
                         f"{type(tokenizer).__name__}")


def tokenize(tokenizer, text: str):
    """Whatever ``tokenizer`` makes of ``text``: a dict of inputs, or token ids."""
    if tokenizer is None:
        raise InputError("this explainer has no tokenizer, so it cannot read text: pass token ids, or give a "
                         "tokenizer: Explainer(model, tokenizer)")
    if not text:
        raise InputError("the text is empty: give at least one character")
    if is_gpt2_core_tokenizer(tokenizer):
        return tokenizer.encode(text)
    if is_hf_tokenizer(tokenizer):
        return dict(tokenizer(text))  # plain lists: converted for the model's framework later
    return tokenizer(text)


def token_labels(tokenizer, ids: list[int]) -> list[str]:
    """A readable label per token: the text it stands for, whitespace made visible; or the id itself when
    the tokenizer cannot say (a plain function)."""
    if tokenizer is not None and is_gpt2_core_tokenizer(tokenizer):
        return tokenizer.display_tokens(ids)
    if tokenizer is not None and is_hf_tokenizer(tokenizer):
        pieces = tokenizer.convert_ids_to_tokens(ids)
        labels = []
        for token_id, piece in zip(ids, pieces):
            try:
                text = tokenizer.decode([token_id], clean_up_tokenization_spaces=False)
            except Exception:  # some tokenizers cannot decode a lone id; their own piece is a fine label
                text = ""
            # A byte-level piece of a longer character decodes to U+FFFD: its own piece says more.
            labels.append((text if text and "\ufffd" not in text else str(piece)).translate(VISIBLE_WHITESPACE))
        return labels
    return [str(token_id) for token_id in ids]


def as_array(value, what: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # PyTorch
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (ValueError, TypeError):
        raise InputError(f"{what} must be a list or array of token ids, got {type(value).__name__}") from None


def one_sequence(value, what: str) -> np.ndarray:
    """[n] from [n] or [1, n]."""
    array = as_array(value, what)
    if array.ndim == 2:
        if array.shape[0] != 1:
            raise InputError(f"{what} is a batch of {array.shape[0]} sequences (shape {tuple(array.shape)}): the "
                             f"explainer shows one at a time; pass one, e.g. inputs['input_ids'][0:1]")
        array = array[0]
    if array.ndim != 1:
        raise InputError(f"{what} must be token ids of shape [n] or [1, n], got shape {tuple(array.shape)}")
    return array


def as_token_ids(value, what: str = "the input") -> list[int]:
    if isinstance(value, (list, tuple)) and any(isinstance(i, bool) for i in value):
        raise InputError(f"{what} must be token ids (whole numbers), got a bool")
    array = one_sequence(value, what)
    if array.size == 0:
        raise InputError(f"{what} is empty: give at least one token")
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            array = array.astype(np.int64)  # ids that went through a float array on the way
        else:
            raise InputError(f"{what} must be token ids (whole numbers), got dtype {array.dtype}")
    return [int(i) for i in array]


def encode(inputs, tokenizer) -> Encoded:
    """``inputs`` (text, ids or a dict of model inputs) as one checked sequence."""
    if isinstance(inputs, str):
        inputs = tokenize(tokenizer, inputs)
    if isinstance(inputs, Mapping) or (hasattr(inputs, "keys") and hasattr(inputs, "__getitem__")
                                       and not hasattr(inputs, "shape")):
        if "input_ids" not in inputs:
            raise InputError(f"a dict of model inputs must hold 'input_ids'; it has {', '.join(map(str, inputs))}")
        ids = as_token_ids(inputs["input_ids"], "input_ids")
        extras = {}
        for name, value in inputs.items():
            if name == "input_ids":
                continue
            array = as_array(value, name) if not isinstance(value, (bool, int, float, str, type(None))) else None
            if array is not None and array.ndim in (1, 2) and array.shape[-1] == len(ids):
                extras[name] = one_sequence(array, name)
            else:
                extras[name] = value  # not aligned with the tokens: handed to the model as it is
        return Encoded(ids, extras, as_mapping=True)
    if inputs is None:
        raise InputError("give an input: text, token ids, or a dict of model inputs")
    return Encoded(as_token_ids(inputs))


def check_length(encoded: Encoded, max_tokens: int | None, model_name: str) -> None:
    if max_tokens is not None and encoded.n_tokens > max_tokens:
        raise InputError(f"the input is {encoded.n_tokens} tokens long, but {model_name} reads at most {max_tokens}: "
                         f"shorten the text")


def check_vocabulary(encoded: Encoded, vocab_size: int | None) -> None:
    if vocab_size:
        outside = next((i for i in encoded.ids if not 0 <= i < vocab_size), None)
        if outside is not None:
            raise InputError(f"token id {outside} is outside the model's vocabulary (0..{vocab_size - 1})")
