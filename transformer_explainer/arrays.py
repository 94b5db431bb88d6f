"""Adapter: arrays from anywhere (JAX, TensorFlow, NumPy, ...): the views need no model, only its numbers.

``Explainer.from_arrays(tokens, attentions=[...], hidden_states=[...])``: one attention array per layer,
[heads, n, n] (or [1, heads, n, n]); one hidden state per point, [n, width] (or [1, n, width]); anything
``numpy.asarray`` reads (a JAX array, a TensorFlow tensor, a list). Their values are shown as given.
"""

from __future__ import annotations

from typing import Sequence

from .capture import Capture, make_capture
from .errors import InputError


class ArraysAdapter:
    def __init__(self, tokens, attentions: Sequence | None = None, hidden_states: Sequence | None = None, *,
                 hidden_state_labels: Sequence[str] | None = None, name: str = "arrays"):
        self.name = name
        self.tokenizer = None
        self.max_tokens = None
        self.fixed = make_capture(tokens, attentions, hidden_states, hidden_state_labels, model_name=name)

    def capture(self, inputs=None) -> Capture:
        if inputs is not None:
            raise InputError("this explainer shows the arrays it was made from: call it without an input, "
                             "e.g. explainer.show_attention()")
        return self.fixed
