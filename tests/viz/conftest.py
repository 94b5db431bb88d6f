"""Traces and app-side values the viz tests share (the tiny random model from tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from transformer_explainer.gpt2_core import Trace, kernels

PROMPT = "The capital of France is"
LONGER_PROMPT = "The quick brown fox jumps over the lazy dog. The capital of France is"
HOSTILE_TOKENS = ["<img src=x onerror=alert(1)>", "$$x^2$$", "<script>alert(2)</script>", "&amp; \\(y\\)", "@token",
                  "{safe}", "</div>", "\"quoted\""]


@pytest.fixture(scope="session")
def trace(tiny_model) -> Trace:
    return tiny_model.run_with_trace(PROMPT, head_results=True)


@pytest.fixture(scope="session")
def longer_trace(tiny_model) -> Trace:
    return tiny_model.run_with_trace(LONGER_PROMPT, head_results=True)


@pytest.fixture(scope="session")
def trace_without_head_results(tiny_model) -> Trace:
    return tiny_model.run_with_trace(PROMPT)


@pytest.fixture(scope="session")
def hostile_tokens() -> list[str]:
    """Token strings a user could type to attack the page: HTML, TeX, template syntax."""
    return list(HOSTILE_TOKENS)


@pytest.fixture(scope="session")
def hostile_trace(trace, hostile_tokens) -> Trace:
    """The same values, with hostile token strings."""
    tokens = [hostile_tokens[i % len(hostile_tokens)] for i in range(trace.n_tokens)]
    return Trace(trace.arrays, trace.token_ids, tokens, trace.config)


@pytest.fixture(scope="session")
def display(tiny_model):
    return tiny_model.tokenizer.display


def logit_lens(model, trace: Trace) -> np.ndarray:  # [n_layer, V], as the app computes it
    params, eps = model.params, np.float32(model.config.layer_norm_epsilon)
    x = np.stack([trace[f"blocks.{layer}.hook_resid_post"][-1] for layer in range(model.config.n_layer)])
    centered = x - x.mean(axis=-1, keepdims=True)
    normalized = centered / np.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
    return kernels.matmul(normalized * params["ln_f"]["g"] + params["ln_f"]["b"], params["lm_head"])


@pytest.fixture(scope="session")
def lens_for(tiny_model):
    """trace -> its logit lens [n_layer, V]."""
    return lambda trace: logit_lens(tiny_model, trace)


@pytest.fixture(scope="session")
def ln_weights(tiny_model):
    """(layer, which) -> (gamma, beta) of that LayerNorm, as the app passes them."""
    def weights(layer: int, which: str):
        if which == "ln_final":
            params = tiny_model.params["ln_f"]
        else:
            params = tiny_model.params["blocks"][layer]["ln_1" if which == "ln1" else "ln_2"]
        return params["g"], params["b"]
    return weights
