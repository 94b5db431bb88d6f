"""The app's state reacts as a student expects: a prompt makes a new trace, sampling settings
re-sample without running the model, ablations change the logits exactly as run_with_hooks does,
and bad input is a message that keeps the last good trace."""

import asyncio

import numpy as np
import pytest

from app.runtime import ModelRuntime
from app.state import ExplainerState
from gpt2_core import sampling
from gpt2_core.interventions import zero_ablate_heads


class CountingRuntime(ModelRuntime):
    """The real runtime, counting forward passes."""

    def __init__(self, model):
        super().__init__(model)
        self.traces = 0

    def trace(self, ids, ablated=()):
        self.traces += 1
        return super().trace(ids, ablated)


@pytest.fixture
def runtime(tiny_model):
    return CountingRuntime(tiny_model)


@pytest.fixture
def state(runtime):
    return ExplainerState(runtime, prompt="The capital of France is")


def test_a_new_prompt_makes_a_new_trace(state, runtime, tiny_model):
    state.prompt = "In the beginning there was the word"
    assert state.trace.token_ids == tiny_model.encode("In the beginning there was the word")
    np.testing.assert_allclose(state.trace.logits, tiny_model.forward(state.trace.token_ids)[-1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(state.lens_logits[-1], state.trace.logits, rtol=1e-5, atol=1e-5)
    assert state.error == ""


def test_sampling_settings_resample_without_a_forward_pass(state, runtime):
    before = runtime.traces
    for temperature, top_k, top_p in [(0.3, 0, 1.0), (2.0, 5, 1.0), (1.0, 0, 0.5), (0.0, 0, 1.0)]:
        state.param.update(temperature=temperature, top_k=top_k, top_p=top_p)
        expected = sampling.probabilities(state.trace.logits, temperature, top_k or None, None if top_p == 1 else top_p)
        np.testing.assert_allclose(state.probabilities, expected, rtol=1e-12)
        assert state.probabilities[state.sampled_id] > 0
    assert state.sampled_id == int(np.argmax(state.trace.logits))  # temperature 0: greedy
    assert runtime.traces == before


def test_the_sampled_token_follows_the_seed(state):
    state.param.update(temperature=1.5)
    drawn = {}
    for seed in range(20):
        state.seed = seed
        drawn[seed] = state.sampled_id
    state.seed = 3
    assert state.sampled_id == drawn[3]
    assert len(set(drawn.values())) > 1


def test_ablating_a_head_changes_the_logits_as_run_with_hooks_does(state, tiny_model):
    baseline = state.trace.logits.copy()
    state.toggle_ablation(1, 2)
    assert state.ablated == "1.2" and state.ablated_heads == [(1, 2)]
    expected = tiny_model.run_with_hooks(state.trace.token_ids, zero_ablate_heads([(1, 2)]))[-1]
    np.testing.assert_allclose(state.trace.logits, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(state.trace.logits, baseline)
    assert np.all(state.trace["blocks.1.attn.hook_z"][:, 2] == 0)
    state.toggle_ablation(1, 2)
    assert state.ablated == ""
    np.testing.assert_allclose(state.trace.logits, baseline, rtol=1e-6)


@pytest.mark.parametrize("prompt, message", [
    ("", "empty"),
    ("word " * 200, "this model reads at most 128"),
    ("x" * 30_000, "characters"),
    ("bad \ud800 surrogate", "not valid Unicode"),
])
def test_bad_input_is_a_message_and_the_last_good_trace_stays(state, prompt, message):
    good = state.trace
    state.prompt = prompt
    assert message in state.error
    assert state.trace is good
    state.prompt = "Back to normal"
    assert state.error == "" and state.trace is not good


def test_html_in_the_prompt_is_tokenized_as_text(state, tiny_model):
    state.prompt = "<script>alert(1)</script>"
    assert state.error == ""
    assert "".join(state.trace.tokens).replace("␣", " ") == "<script>alert(1)</script>"


def test_invalid_ablation_entries_are_reported_not_used(state):
    state.ablated = "1.2, 7.7, nonsense, 0.3"
    assert state.ablated_heads == [(0, 3), (1, 2)]
    assert "'7.7'" in state.error and "'nonsense'" in state.error


def test_next_token_appends_the_sampled_token(state, tiny_model):
    state.temperature = 0
    expected = state.prompt + tiny_model.tokenizer.decode([int(np.argmax(state.trace.logits))])
    state.append_sampled_token()
    assert state.prompt == expected


def test_generation_appends_the_tokens_and_traces_once_at_the_end(state, runtime, tiny_model):
    state.temperature = 0
    ids = list(state.trace.token_ids)
    expected = [step.token_id for step in tiny_model.generate(ids, 5, temperature=0)]
    before = runtime.traces
    asyncio.run(state.generate(5))
    assert state.prompt == "The capital of France is" + tiny_model.tokenizer.decode(expected)
    assert runtime.traces == before + 1
    assert not state.generating and "5 tokens" in state.status


def test_stop_ends_generation_early(state, runtime):
    async def generate_and_stop():
        task = asyncio.ensure_future(state.generate(50))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        state.stop()
        await task

    start = len(state.trace.token_ids)
    asyncio.run(generate_and_stop())
    assert start < len(state.trace.token_ids) < start + 50


def test_generation_is_clamped_to_the_context(state, tiny_model):
    state.temperature = 0
    state.prompt = "word " * 120
    n, n_ctx = state.trace.n_tokens, tiny_model.config.n_ctx
    assert n_ctx - n < 50
    expected = [s.token_id for s in tiny_model.generate(state.trace.token_ids, n_ctx - n, temperature=0)]
    asyncio.run(state.generate(50))  # more than the context has room for
    assert state.prompt == "word " * 120 + tiny_model.tokenizer.decode(expected)
    assert state.status == f"Generated {n_ctx - n} tokens."


def test_with_the_onnx_fast_path_generation_gives_the_numpy_models_tokens(tiny_model, tmp_path):
    pytest.importorskip("onnxruntime", reason="the ONNX fast path needs onnxruntime")
    from app.runtime import fast_generator_for
    from gpt2_core.onnx_runtime import OnnxGPT2

    runtime = ModelRuntime(tiny_model, fast_generator_for(tiny_model, tmp_path))
    assert isinstance(runtime.fast_generator, OnnxGPT2)
    state = ExplainerState(runtime, prompt="The capital of France is", temperature=0.9, seed=5)
    ids = list(state.trace.token_ids)
    expected = [step.token_id for step in tiny_model.generate(ids, 8, temperature=0.9, seed=5)]
    asyncio.run(state.generate(8))
    assert state.prompt == "The capital of France is" + tiny_model.tokenizer.decode(expected)
    # With a head ablated the graph (no hooks) cannot serve: the hooked NumPy model generates.
    ids = list(state.trace.token_ids)
    ablated = [s.token_id for s in runtime.generate(ids, 3, 0, None, None, 0, [(0, 1)])]
    expected, sequence = [], list(ids)
    for _ in range(3):
        expected.append(int(np.argmax(tiny_model.run_with_hooks(sequence, zero_ablate_heads([(0, 1)]))[-1])))
        sequence.append(expected[-1])
    assert ablated == expected
