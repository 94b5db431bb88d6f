"""Trace files and generation with the KV cache."""

import copy

import numpy as np
import pytest

from transformer_explainer.gpt2_core import GPT2, PromptError, Trace, kernels
from transformer_explainer.gpt2_core.sampling import SamplingError

PROMPT = "The capital of France is"


def test_a_trace_saves_and_loads_exactly(tiny_model, tmp_path):
    trace = tiny_model.run_with_trace(PROMPT, head_results=True)
    path = trace.save(tmp_path / "trace.npz")
    loaded = Trace.load(path)
    assert loaded.names == trace.names
    assert loaded.tokens == trace.tokens and loaded.token_ids == trace.token_ids
    assert loaded.config == trace.config and loaded.model_name == trace.model_name
    for name in trace.names:
        np.testing.assert_array_equal(loaded[name], trace[name])


def test_a_float16_trace_is_half_the_size_and_keeps_the_masked_scores(tiny_model, tmp_path):
    trace = tiny_model.run_with_trace(PROMPT)
    full = trace.save(tmp_path / "full.npz").stat().st_size
    half_path = trace.save(tmp_path / "half.npz", float16=True)
    assert half_path.stat().st_size < 0.65 * full
    loaded = Trace.load(half_path)
    scores = loaded["blocks.0.attn.hook_attn_scores"]
    assert np.array_equal(np.isneginf(scores), np.isneginf(trace["blocks.0.attn.hook_attn_scores"]))
    np.testing.assert_allclose(loaded.logits, trace.logits, rtol=2e-3, atol=2e-3)


def test_a_missing_hook_name_says_what_the_trace_has(tiny_model):
    with pytest.raises(KeyError, match="no hook point 'blocks.9.hook_resid_pre'"):
        tiny_model.run_with_trace(PROMPT)["blocks.9.hook_resid_pre"]


def test_trace_keeps_all_positions_logits_only_when_asked(tiny_model):
    assert tiny_model.run_with_trace(PROMPT)["unembed.hook_logits"].shape[0] == 1
    everything = tiny_model.run_with_trace(PROMPT, all_logits=True)
    np.testing.assert_allclose(everything["unembed.hook_logits"], tiny_model.forward(PROMPT), rtol=1e-5, atol=1e-5)


def test_greedy_generation_repeats_the_argmax_of_the_full_forward(tiny_model):
    ids = tiny_model.encode(PROMPT)
    steps = list(tiny_model.generate(ids, max_new_tokens=6, temperature=0))
    assert [step.index for step in steps] == list(range(6))
    sequence = list(ids)
    for step in steps:
        expected_logits = tiny_model.forward(sequence)[-1]
        np.testing.assert_allclose(step.logits, expected_logits, rtol=1e-4, atol=1e-4)
        assert step.token_id == int(np.argmax(expected_logits))
        sequence.append(step.token_id)


def test_seeded_sampling_repeats_and_different_seeds_differ(tiny_model):
    def run(seed):
        return [s.token_id for s in tiny_model.generate(PROMPT, 12, temperature=1.5, top_k=50, top_p=0.95, seed=seed)]
    assert run(1) == run(1)
    assert len({tuple(run(seed)) for seed in range(5)}) > 1


def test_generation_yields_one_step_at_a_time(tiny_model):
    steps = tiny_model.generate(PROMPT, max_new_tokens=3, temperature=0)
    first = next(steps)
    assert first.index == 0 and first.logits.shape == (tiny_model.config.n_vocab,)
    assert first.probabilities(0).argmax() == first.token_id
    assert len(list(steps)) == 2


def test_generation_can_stop_at_end_of_text(tiny_model):
    # A copy of the model whose final LayerNorm outputs a constant that only <|endoftext|>'s column reads.
    eot = tiny_model.tokenizer.end_of_text_id
    params = copy.deepcopy(tiny_model.params)
    params["ln_f"]["g"][:] = 0
    params["ln_f"]["b"][:] = 0
    params["ln_f"]["b"][0] = 10
    lm_head = kernels.as_in_out(params["lm_head"])  # [d, V] view into the kernel's layout
    lm_head[0, :] = 0
    lm_head[0, eot] = 10
    always_eot = GPT2(params, tiny_model.config, tiny_model.tokenizer)
    assert [s.token_id for s in always_eot.generate(PROMPT, 4, temperature=0)] == [eot] * 4
    assert [s.token_id for s in always_eot.generate(PROMPT, 4, temperature=0, stop_at_end_of_text=True)] == [eot]


def test_generation_past_the_context_is_refused_up_front(tiny_model):
    n_ctx = tiny_model.config.n_ctx
    with pytest.raises(PromptError, match=rf"exceed the model's context of {n_ctx} tokens; generate at most 3"):
        tiny_model.generate([1] * (n_ctx - 3), max_new_tokens=4)
    assert len(list(tiny_model.generate([1] * (n_ctx - 3), max_new_tokens=3, temperature=0))) == 3


@pytest.mark.parametrize("kwargs, error", [
    ({"max_new_tokens": 0}, PromptError), ({"max_new_tokens": 2.5}, PromptError),
    ({"temperature": -1}, SamplingError), ({"top_p": 2}, SamplingError),
])
def test_bad_generation_settings_fail_before_any_work(tiny_model, kwargs, error):
    with pytest.raises(error):
        tiny_model.generate(PROMPT, **{"max_new_tokens": 3, **kwargs})
