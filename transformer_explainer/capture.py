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
class PatchGrid:
    """Where an image model's tokens lie on its image: ``first`` tokens before the patches (``[CLS]``, DeiT's
    distillation token), then one token per patch, row by row, of a ``rows`` × ``cols`` grid; ``picture``: the
    image as the model saw it, [height, width, 3] uint8 (its pixel values, un-normalized)."""

    rows: int
    cols: int
    first: int
    picture: np.ndarray

    @property
    def n_patches(self) -> int:
        return self.rows * self.cols

    def on_grid(self, values: np.ndarray) -> np.ndarray:  # [first + rows * cols] -> [rows, cols]
        """One value per token, the patches' laid out on the image's grid (the tokens before them left out)."""
        return np.asarray(values)[self.first:self.first + self.n_patches].reshape(self.rows, self.cols)


@dataclass(frozen=True)
class Capture:
    """``attentions[layer]``: [heads, tokens, tokens] (row = query, column = key); ``hidden_states[i]``:
    [tokens, width], labelled ``hidden_state_labels[i]`` (the embeddings first, where the model gives them);
    ``patches``: for an image model, where its tokens lie on the image (else None)."""

    tokens: list[str]
    attentions: list[np.ndarray]
    hidden_states: list[np.ndarray]
    hidden_state_labels: list[str]
    token_ids: list[int] | None = None
    model_name: str = ""
    notes: tuple[str, ...] = field(default=())
    patches: PatchGrid | None = None

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def n_layers(self) -> int:
        return len(self.attentions)

    @property
    def n_heads(self) -> int:
        return self.attentions[0].shape[0] if self.attentions else 0


@dataclass(frozen=True)
class Similarity:
    """CLIP's image–text similarity for each prompt: ``logits`` (what the model computes: the cosine of the two
    embeddings × exp(logit_scale)), ``cosines``, and ``probabilities`` (the softmax of the logits over these
    prompts, as zero-shot classification reads them)."""

    texts: list[str]
    logits: np.ndarray
    cosines: np.ndarray
    probabilities: np.ndarray


@dataclass(frozen=True)
class ImageTextCapture:
    """One forward pass of a model with an image tower and a text tower: ``image`` (a ``Capture`` with
    ``patches``), ``texts`` (CLIP: the text tower, one capture per prompt; a vision-to-text model: its decoder's
    self-attention), and what joins them: ``similarity`` (CLIP) or ``cross_attentions`` (a vision-to-text model:
    per layer [heads, text tokens, image tokens], each text token's attention over the encoder's tokens)."""

    image: Capture
    texts: tuple[Capture, ...]
    similarity: Similarity | None = None
    cross_attentions: tuple[np.ndarray, ...] = ()
    model_name: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def captures(self) -> tuple[Capture, ...]:
        return (self.image, *self.texts)


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
                 notes: Sequence[str] = (), patches: PatchGrid | None = None) -> Capture:
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
    if patches is not None and patches.first + patches.n_patches != n:
        raise CaptureError(f"{n} tokens, but {patches.first} before the patches and {patches.rows} × {patches.cols} "
                           f"patches make {patches.first + patches.n_patches}")
    return Capture(tokens, layers, states, labels, ids, model_name, tuple(notes), patches)


def make_cross_attentions(values: Sequence, n_queries: int, n_keys: int) -> tuple[np.ndarray, ...]:
    """One float32 [heads, queries, keys] array per layer (a batch of 1 dropped), checked like ``make_capture``'s."""
    layers = []
    for layer, value in enumerate(values):
        what = f"the cross-attention of layer {layer}"
        array = drop_batch(as_float32(value, what), 3, what, "heads, text tokens, image tokens")
        if array.shape[1:] != (n_queries, n_keys):
            raise CaptureError(f"{what} has shape {array.shape}: expected [heads, {n_queries}, {n_keys}]")
        if not np.isfinite(array).all():
            raise CaptureError(f"{what} holds NaN or infinite values")
        layers.append(array)
    return tuple(layers)


def default_hidden_state_labels(n_states: int, n_layers: int) -> list[str]:
    """Hugging Face's convention when there is one more state than layers: the embeddings, then each layer's
    output (layers counted from 0, as the attention views count them)."""
    if n_states == n_layers + 1:
        return ["embeddings"] + [f"after layer {i}" for i in range(n_layers)]
    return [f"hidden state {i}" for i in range(n_states)]
