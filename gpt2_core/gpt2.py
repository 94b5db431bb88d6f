"""``GPT2``: the model with its weights and tokenizer, and the ways to run it.

- ``forward(ids)``: logits for every position.
- ``run_with_trace(ids)``: a ``Trace`` with every hook point's value.
- ``run_with_hooks(ids, hooks={name: fn})``: read or replace values inside the pass.
- ``generate(ids, ...)``: new tokens one at a time, with a KV cache.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from . import generation
from .config import GPT2Config
from .errors import PromptError
from .hooks import Hooks, HookFunction, check_hook_names, hook_names
from .kv_cache import KVCache
from .lens import logit_lens
from .model import attention_pattern, gpt2, gpt2_in_steps
from .tokenizer import Tokenizer
from .trace import Trace
from .weights import check_params


class GPT2:
    def __init__(self, params: dict, config: GPT2Config, tokenizer: Tokenizer | None = None, name: str = "gpt2"):
        check_params(params, config)
        if tokenizer is not None and tokenizer.vocab_size > config.n_vocab:
            raise PromptError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model only {config.n_vocab}")
        self.params, self.config, self.tokenizer, self.name = params, config, tokenizer, name

    def __repr__(self) -> str:
        c = self.config
        return f"GPT2({self.name!r}, n_layer={c.n_layer}, n_head={c.n_head}, n_embd={c.n_embd}, n_ctx={c.n_ctx})"

    @property
    def hook_names(self) -> list[str]:
        return hook_names(self.config.n_layer)

    # -- input -------------------------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        if self.tokenizer is None:
            raise PromptError("this model has no tokenizer: pass token ids instead of text")
        return self.tokenizer.encode(text)

    def check_ids(self, ids) -> list[int]:
        return check_token_ids(ids, self.config, self.tokenizer)

    # -- running -----------------------------------------------------------------------------------

    def forward(self, ids) -> np.ndarray:  # [pos] -> [pos, V]
        return gpt2(np.asarray(self.check_ids(ids)), self.params, self.config)

    def run_with_hooks(self, ids, hooks: dict[str, HookFunction], all_logits: bool = True) -> np.ndarray:
        """Logits of a pass where ``hooks[name](value)`` runs at each named point; a returned array
        replaces the value for the rest of the pass (e.g. zero a head's ``hook_z`` slice)."""
        check_hook_names(hooks, self.config.n_layer)
        return gpt2(np.asarray(self.check_ids(ids)), self.params, self.config, Hooks(hooks), all_logits=all_logits)

    def run_with_trace(self, ids, *, all_logits: bool = False, head_results: bool = False,
                       hooks: dict[str, HookFunction] | None = None) -> Trace:
        """One pass that keeps every hook point's value. ``all_logits`` keeps every position's logits
        (else the last), ``head_results`` adds each head's output (``attn.hook_result``); ``hooks``
        intervene as in ``run_with_hooks`` and the trace shows the changed values."""
        *_, trace = self.trace_in_steps(ids, all_logits=all_logits, head_results=head_results, hooks=hooks)
        return trace

    def trace_in_steps(self, ids, *, all_logits: bool = False, head_results: bool = False,
                       hooks: dict[str, HookFunction] | None = None) -> Iterator[int | Trace]:
        """``run_with_trace`` one block at a time, for a long prompt: yields how many blocks are done after each
        one (a caller may show it, let other work run in between, or stop iterating: nothing is kept), then
        the ``Trace``. Its input is checked before the first block."""
        ids = self.check_ids(ids)
        hooks = hooks or {}
        check_hook_names(hooks, self.config.n_layer)
        return self._trace_steps(ids, all_logits, head_results, hooks)

    def _trace_steps(self, ids, all_logits, head_results, hooks) -> Iterator[int | Trace]:
        record: dict[str, np.ndarray] = {}
        if len(ids) >= RECOMPUTED_PATTERNS_TOKENS and not any(is_attention_matrix(name) for name in hooks):
            record = AttentionRecomputed(self.config.n_layer)
        optional = {f"blocks.{layer}.attn.hook_result" for layer in range(self.config.n_layer)} if head_results else set()
        for blocks_done in gpt2_in_steps(np.asarray(ids), self.params, self.config,
                                         Hooks(hooks, record=record, optional=optional), all_logits=all_logits):
            if isinstance(blocks_done, int):
                yield blocks_done
        tokens = self.tokenizer.display_tokens(ids) if self.tokenizer else None
        yield Trace(record, ids, tokens, self.config, self.name, all_logits)

    def logit_lens(self, trace: Trace, position: int = -1) -> np.ndarray:  # -> [n_layer, V]
        """Each block's prediction for the token after ``position``: its residual stream through ln_f and
        the unembedding (see lens.py)."""
        return logit_lens(self.params, self.config, trace, position)

    # -- generation --------------------------------------------------------------------------------

    def start_session(self, capacity: int) -> "NumpySession":
        return NumpySession(self, capacity)

    def generate(self, ids, max_new_tokens: int = 20, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None,
                 stop_at_end_of_text: bool = False) -> Iterator[generation.GenerationStep]:
        """New tokens one at a time (a ``GenerationStep`` each), with a KV cache: the prompt runs once,
        then each step runs one token. Temperature 0 is greedy; ``seed`` makes sampling repeatable."""
        ids = self.check_ids(ids)
        stop_at = self.tokenizer.end_of_text_id if (stop_at_end_of_text and self.tokenizer) else None
        return generation.generate(self.start_session, ids, self.config.n_ctx, max_new_tokens,
                                   temperature, top_k, top_p, seed, stop_at)


def check_token_ids(ids, config: GPT2Config, tokenizer: Tokenizer | None) -> list[int]:
    """Token ids as a list of ints, each in the vocabulary, between 1 and n_ctx of them; text is tokenized
    first. Every runtime (NumPy, ONNX) checks its input here, so the errors read the same."""
    if isinstance(ids, str):
        if tokenizer is None:
            raise PromptError("this model has no tokenizer: pass token ids instead of text")
        ids = tokenizer.encode(ids)
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise PromptError(f"token ids must be a 1-D array of integers, got shape {ids.shape} dtype {ids.dtype}")
        ids = ids.tolist()
    if not isinstance(ids, (list, tuple)):
        raise PromptError(f"expected text or a list of token ids, got {type(ids).__name__}")
    bad = next((i for i in ids if isinstance(i, bool) or not isinstance(i, (int, np.integer))), None)
    if bad is not None:
        raise PromptError(f"token ids must be integers, got {bad!r} ({type(bad).__name__})")
    if not ids:
        raise PromptError("the prompt is empty: type at least one character")
    if len(ids) > config.n_ctx:
        raise PromptError(f"the prompt is {len(ids)} tokens long; this model reads at most {config.n_ctx} "
                          f"(its context length). Shorten the prompt.")
    outside = next((i for i in ids if not 0 <= i < config.n_vocab), None)
    if outside is not None:
        raise PromptError(f"token id {outside} is outside the vocabulary (0..{config.n_vocab - 1})")
    return [int(i) for i in ids]


RECOMPUTED_PATTERNS_TOKENS = 256
ATTENTION_MATRICES = ("hook_attn_raw", "hook_attn_scores", "hook_pattern")


def is_attention_matrix(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in ATTENTION_MATRICES


class AttentionRecomputed(dict):
    """A trace's values for a long prompt: the three attention matrices of a block ([h, pos, ctx] each: GPT-2 small
    at 1,000 tokens, 1.6 GB for all blocks) are not kept from the pass but worked out again, by the same code from
    the block's recorded queries and keys, when first read (the same numbers; a view shows a block or two)."""

    def __init__(self, n_layer: int):
        super().__init__()
        self.matrices = {f"blocks.{layer}.attn.{point}" for layer in range(n_layer) for point in ATTENTION_MATRICES}

    def __setitem__(self, name, value):  # what the pass records, but these matrices
        if name not in self.matrices:
            super().__setitem__(name, value)

    def __contains__(self, name) -> bool:
        return name in self.matrices or super().__contains__(name)

    def __missing__(self, name):
        if name not in self.matrices:
            raise KeyError(name)
        block = name.rsplit(".", 1)[0]  # blocks.L.attn
        kept: dict[str, np.ndarray] = {}
        attention_pattern(self[f"{block}.hook_q"], self[f"{block}.hook_k"], Hooks(record=kept).at(block))
        for point, value in kept.items():
            dict.__setitem__(self, point, value)
        return dict.__getitem__(self, name)


class NumpySession:
    """A KV cache and the model: ``feed`` runs only the new tokens."""

    def __init__(self, model: GPT2, capacity: int):
        self.model = model
        self.cache = KVCache(model.config, capacity)

    def feed(self, ids) -> np.ndarray:  # [pos] -> [V]
        ids = self.model.check_ids(ids)
        if len(ids) > self.cache.room():
            raise PromptError(f"the KV cache is full: {self.cache.length} tokens cached, room for "
                              f"{self.cache.room()} more, {len(ids)} given")
        return gpt2(np.asarray(ids), self.model.params, self.model.config, cache=self.cache, all_logits=False)[-1]
