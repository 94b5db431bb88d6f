"""Adapter: gpt2_core's NumPy GPT-2. Its trace already holds every value, by hook name; no PyTorch needed.

Attention: ``blocks.{L}.attn.hook_pattern`` ([heads, q, k], after the causal mask and softmax).
Hidden states: the residual stream entering each block (``hook_resid_pre``; block 0's is the embeddings)
and leaving the last one (``hook_resid_post``), before the final LayerNorm.
"""

from __future__ import annotations

from transformer_explainer.gpt2_core import GPT2, GPT2CoreError

from .capture import Capture, make_capture
from .errors import InputError
from .inputs import Encoded, check_length, check_vocabulary, token_labels


class Gpt2CoreAdapter:
    def __init__(self, model: GPT2, tokenizer=None):
        self.model = model
        self.tokenizer = tokenizer if tokenizer is not None else model.tokenizer
        self.name = model.name
        self.max_tokens = model.config.n_ctx

    def capture(self, encoded: Encoded) -> Capture:
        check_length(encoded, self.max_tokens, self.name)
        check_vocabulary(encoded, self.model.config.n_vocab)
        try:
            trace = self.model.run_with_trace(encoded.ids)
        except GPT2CoreError as error:
            raise InputError(str(error)) from None
        n_layer = self.model.config.n_layer
        attentions = [trace[f"blocks.{layer}.attn.hook_pattern"] for layer in range(n_layer)]
        hidden = [trace[f"blocks.{layer}.hook_resid_pre"] for layer in range(n_layer)]
        hidden.append(trace[f"blocks.{n_layer - 1}.hook_resid_post"])
        labels = ["embeddings"] + [f"after layer {layer}" for layer in range(n_layer)]
        return make_capture(token_labels(self.tokenizer, encoded.ids), attentions, hidden, labels,
                            token_ids=encoded.ids, model_name=self.name)
