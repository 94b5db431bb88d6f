"""``Capture``: what the views show of one forward pass, as plain float32 NumPy arrays.

Every adapter (gpt2_core, Hugging Face, hooked PyTorch modules, ``from_arrays``) ends in ``make_capture``,
which takes arrays from any framework (PyTorch tensors, JAX or TensorFlow arrays, NumPy, nested lists),
drops a batch dimension of 1, and checks the shapes once, so the views can trust them. Values are kept as
float32 (what the views draw): float16 and bfloat16 widen exactly, float64 is rounded to the nearest float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import CaptureError, InputError


@dataclass(frozen=True)
class Capture:
    """``attentions[layer]``: [heads, tokens, tokens] (row = query, column = key); ``hidden_states[i]``:
    [tokens, width], labelled ``hidden_state_labels[i]`` (the embeddings first, where the model gives them)."""

    tokens: list[str]
    attentions: list[np.ndarray]
    hidden_states: list[np.ndarray]
    hidden_state_labels: list[str]
    token_ids: list[int] | None = None
    model_name: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def n_layers(self) -> int:
        return len(self.attentions)

    @property
    def n_heads(self) -> int:
        return self.attentions[0].shape[0] if self.attentions else 0


def to_numpy(value) -> np.ndarray:
    """An array from any framework, as NumPy (the values unchanged; float16/bfloat16 widen exactly to float32)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a PyTorch tensor
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":  # NumPy has no bfloat16
            value = value.float()
        return value.numpy()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # TensorFlow eager tensors
        try:
            return np.asarray(value.numpy())
        except TypeError:
            pass
    return np.asarray(value)


def as_float32(value, what: str) -> np.ndarray:
    array = to_numpy(value)
    if array.dtype.kind not in "fiu":
        raise CaptureError(f"{what} must hold numbers, got an array of dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=np.float32)


def drop_batch(array: np.ndarray, ndim: int, what: str, shape_text: str) -> np.ndarray:
    if array.ndim == ndim + 1:
        if array.shape[0] != 1:
            raise CaptureError(f"{what} has a batch of {array.shape[0]} (shape {array.shape}): the explainer shows one "
                               f"sequence at a time; pass [{shape_text}] or a batch of 1")
        array = array[0]
    if array.ndim != ndim:
        raise CaptureError(f"{what} must be [{shape_text}] (or [1, {shape_text}]), got shape {array.shape}")
    return array


def check_tokens(tokens) -> list[str]:
    if isinstance(tokens, str) or tokens is None:
        raise InputError("tokens must be a list of token strings (or ids), one per position, "
                         f"got {type(tokens).__name__}")
    tokens = [str(token) for token in tokens]
    if not tokens:
        raise InputError("there are no tokens: give at least one")
    return tokens


def make_capture(tokens, attentions: Sequence | None, hidden_states: Sequence | None,
                 hidden_state_labels: Sequence[str] | None = None, *, token_ids=None, model_name: str = "",
                 notes: Sequence[str] = ()) -> Capture:
    """A checked ``Capture``: every attention [heads, n, n] with the same number of heads, every hidden state
    [n, width] with the same width, n = the number of tokens, all values finite."""
    tokens = check_tokens(tokens)
    n = len(tokens)
    layers = []
    for layer, value in enumerate(attentions or ()):
        what = f"the attention of layer {layer}"
        array = drop_batch(as_float32(value, what), 3, what, "heads, tokens, tokens")
        if array.shape[1:] != (n, n):
            raise CaptureError(f"{what} has shape {array.shape}, but there are {n} tokens: expected [heads, {n}, {n}]")
        if not np.isfinite(array).all():
            raise CaptureError(f"{what} holds NaN or infinite values")
        if layers and array.shape[0] != layers[0].shape[0]:
            raise CaptureError(f"{what} has {array.shape[0]} heads but layer 0 has {layers[0].shape[0]}: "
                               f"every layer must have the same number of heads")
        layers.append(array)
    states = []
    for i, value in enumerate(hidden_states or ()):
        what = f"hidden state {i}"
        array = drop_batch(as_float32(value, what), 2, what, "tokens, width")
        if array.shape[0] != n:
            raise CaptureError(f"{what} has shape {array.shape}, but there are {n} tokens: expected [{n}, width]")
        if states and array.shape[1] != states[0].shape[1]:
            raise CaptureError(f"{what} is {array.shape[1]} wide but hidden state 0 is {states[0].shape[1]}")
        if not np.isfinite(array).all():
            raise CaptureError(f"{what} holds NaN or infinite values")
        states.append(array)
    if not layers and not states:
        raise CaptureError("nothing to show: give attentions, hidden states, or both")
    labels = [str(label) for label in hidden_state_labels] if hidden_state_labels is not None \
        else default_hidden_state_labels(len(states), len(layers))
    if len(labels) != len(states):
        raise CaptureError(f"{len(labels)} hidden-state labels for {len(states)} hidden states")
    ids = [int(i) for i in token_ids] if token_ids is not None else None
    return Capture(tokens, layers, states, labels, ids, model_name, tuple(notes))


def default_hidden_state_labels(n_states: int, n_layers: int) -> list[str]:
    """Hugging Face's convention when there is one more state than layers: the embeddings, then each layer's
    output (layers counted from 0, as the attention views count them)."""
    if n_states == n_layers + 1:
        return ["embeddings"] + [f"after layer {i}" for i in range(n_layers)]
    return [f"hidden state {i}" for i in range(n_states)]
