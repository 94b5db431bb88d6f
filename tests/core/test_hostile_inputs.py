"""Inputs a user might pass to break the library: each gets a clear GPT2CoreError naming the value,
never a raw NumPy error, an IndexError deep in the pass, or a silently wrong answer."""

import json
import math
import re
import shutil

import numpy as np
import pytest

from transformer_explainer.gpt2_core import GPT2Config, GPT2CoreError, HookError, PromptError, WeightsError, load_model
from transformer_explainer.gpt2_core.interventions import patch_residual, zero_ablate_heads
from transformer_explainer.gpt2_core.sampling import SEED_LIMIT, SamplingError, check_seed, next_token, rng_from_seed

PROMPT = "The quick brown fox jumps over the lazy dog"
LOGITS = np.array([2.0, 1.0, 0.5, -1.0, 3.0], dtype=np.float32)


# -- seeds -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [-1, "abc", 1e23, 3.0, 2**63, True, np.float64(5)])
def test_generate_refuses_a_seed_that_is_not_a_whole_number_from_0_to_2_63_naming_it(tiny_model, seed):
    with pytest.raises(SamplingError, match=re.escape(repr(seed))) as error:
        tiny_model.generate(PROMPT, 3, seed=seed)  # refused when called, before the first token
    assert "seed must be None (random) or a whole number from 0 to 2**63 - 1" in str(error.value)
    assert isinstance(error.value, GPT2CoreError)


@pytest.mark.parametrize("seed", [0, 7, SEED_LIMIT - 1, np.int64(7), np.uint64(SEED_LIMIT - 1)])
def test_a_valid_seed_draws_what_numpy_draws_with_it(seed):
    check_seed(seed)
    assert rng_from_seed(seed).random() == np.random.default_rng(int(seed)).random()


def test_a_numpy_integer_seed_generates_the_same_tokens_as_the_same_python_int(tiny_model):
    def tokens(seed):
        return [step.token_id for step in tiny_model.generate(PROMPT, 6, temperature=1.5, seed=seed)]

    assert tokens(np.int64(11)) == tokens(11)


def test_no_seed_means_fresh_randomness():
    check_seed(None)
    assert rng_from_seed(None).random() != rng_from_seed(None).random()


# -- logits that cannot be sampled -------------------------------------------------------------------

@pytest.mark.parametrize("temperature", [0, 0.7, 1.0])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_next_token_refuses_non_finite_logits_at_every_temperature_including_greedy(temperature, bad):
    logits = LOGITS.copy()
    logits[2] = bad
    with pytest.raises(SamplingError, match="the logits contain NaN or infinite values"):
        next_token(logits, temperature, rng=np.random.default_rng(0))


def test_greedy_next_token_refuses_what_is_not_one_vector_of_logits():
    with pytest.raises(SamplingError, match=r"one vector of logits, got shape \(2, 5\)"):
        next_token(np.stack([LOGITS, LOGITS]), 0)
    assert next_token(LOGITS, 0) == 4  # a good vector still gives its argmax


# -- head ablation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("pair, message", [
    ((0, -1), "cannot ablate head (0, -1): the head must be a whole number in 0..3, got -1"),
    ((0, 4), "cannot ablate head (0, 4): the head must be a whole number in 0..3, got 4"),
    ((-1, 0), "cannot ablate head (-1, 0): the layer must be a whole number in 0..1, got -1"),
    ((2, 0), "cannot ablate head (2, 0): the layer must be a whole number in 0..1, got 2"),
    ((0, 1.0), "cannot ablate head (0, 1.0): the head must be a whole number in 0..3, got 1.0"),
])
def test_ablating_a_head_the_model_does_not_have_names_the_pair_and_the_valid_range(tiny_model, pair, message):
    c = tiny_model.config
    with pytest.raises(HookError) as error:
        zero_ablate_heads([pair], n_layer=c.n_layer, n_head=c.n_head)
    assert str(error.value) == message


def test_a_negative_head_is_refused_even_without_the_config():
    with pytest.raises(HookError, match=r"\(0, -1\).*head must be a whole number in 0 or more, got -1"):
        zero_ablate_heads([(0, -1)])


@pytest.mark.parametrize("run", ["run_with_hooks", "run_with_trace"])
def test_a_head_past_the_last_is_refused_when_the_pass_reaches_it(tiny_model, run):
    hooks = zero_ablate_heads([(1, 2), (1, 99)])  # no config given: the hook sees the model has 4 heads
    with pytest.raises(HookError, match=r"cannot ablate head \(1, 99\): the head must be in 0\.\.3 "
                                        r"\(this model has 4 heads per layer\)"):
        getattr(tiny_model, run)(PROMPT, hooks=hooks)


def test_a_layer_past_the_last_is_refused_before_the_pass_without_the_config(tiny_model):
    with pytest.raises(HookError, match=r"'blocks\.5\.attn\.hook_z' for a 2-layer model"):
        tiny_model.run_with_hooks(PROMPT, zero_ablate_heads([(5, 0)]))


@pytest.mark.parametrize("heads, shown", [((0, 1), "0"), ([(0,)], r"\(0,\)"), ([(0, 1, 2)], r"\(0, 1, 2\)"),
                                          (["01"], "'01'"), (5, "5")])
def test_heads_must_be_a_list_of_layer_head_pairs(heads, shown):
    with pytest.raises(HookError, match=rf"\(layer, head\) pairs?, got {shown}"):
        zero_ablate_heads(heads)


def test_checked_ablation_silences_the_same_heads_as_before(tiny_model):
    c = tiny_model.config
    checked = tiny_model.run_with_hooks(PROMPT, zero_ablate_heads([(1, 2), (0, 3)], n_layer=c.n_layer, n_head=c.n_head))
    unchecked = tiny_model.run_with_hooks(PROMPT, zero_ablate_heads([(0, 3), (1, 2)]))
    np.testing.assert_array_equal(checked, unchecked)
    assert not np.allclose(checked, tiny_model.forward(PROMPT))  # it does change the output
    trace = tiny_model.run_with_trace(PROMPT, hooks=zero_ablate_heads([(1, 2)], n_layer=2, n_head=4))
    assert not trace["blocks.1.attn.hook_z"][:, 2].any() and trace["blocks.1.attn.hook_z"][:, 1].any()


# -- patching the residual stream --------------------------------------------------------------------

def test_patch_residual_refuses_a_negative_or_missing_layer_or_position(tiny_model):
    d = tiny_model.config.n_embd
    with pytest.raises(HookError, match=r"layer -1, position 0: the layer must be a whole number in 0 or more"):
        patch_residual(-1, 0, np.zeros(d))
    with pytest.raises(HookError, match=r"layer 2, position 0: the layer must be a whole number in 0\.\.1, got 2"):
        patch_residual(2, 0, np.zeros(d), n_layer=2)
    with pytest.raises(HookError, match=r"layer 0, position -1: the position must be a whole number in 0 or more"):
        patch_residual(0, -1, np.zeros(d))
    n = len(tiny_model.encode(PROMPT))
    with pytest.raises(HookError, match=rf"position {n}: the position must be in 0\.\.{n - 1} "
                                        rf"\(the prompt has {n} tokens\)"):
        tiny_model.run_with_hooks(PROMPT, patch_residual(1, n, np.zeros(d)))


def test_patch_residual_refuses_a_value_of_the_wrong_width_or_not_finite(tiny_model):
    d = tiny_model.config.n_embd
    with pytest.raises(HookError, match=rf"the value has shape \({d + 1},\), the residual stream's width is {d}"):
        tiny_model.run_with_hooks(PROMPT, patch_residual(0, 1, np.zeros(d + 1)))
    with pytest.raises(HookError, match=rf"one finite vector.*got shape \(2, {d}\)"):
        patch_residual(0, 1, np.zeros((2, d)))
    with pytest.raises(HookError, match="NaN or infinite"):
        patch_residual(0, 1, np.full(d, np.nan))
    with pytest.raises(HookError, match="a vector of numbers, got str"):
        patch_residual(0, 1, "zeros")


def test_patch_residual_refuses_a_point_that_is_not_a_residual_vector(tiny_model):
    with pytest.raises(HookError, match=r"point must be one of hook_resid_pre, .*got 'attn.hook_q'"):
        patch_residual(0, 1, np.zeros(tiny_model.config.n_embd), point="attn.hook_q")


def test_a_valid_patch_still_replaces_exactly_that_vector(tiny_model):
    value = np.linspace(-1, 1, tiny_model.config.n_embd, dtype=np.float32)
    trace = tiny_model.run_with_trace(PROMPT, hooks=patch_residual(1, 2, value, point="hook_resid_mid", n_layer=2))
    np.testing.assert_array_equal(trace["blocks.1.hook_resid_mid"][2], value)
    plain = tiny_model.run_with_trace(PROMPT)
    np.testing.assert_array_equal(trace["blocks.1.hook_resid_mid"][:2], plain["blocks.1.hook_resid_mid"][:2])


# -- the logit lens ----------------------------------------------------------------------------------

@pytest.mark.parametrize("position", [999, -999, "1", 1.0, True])
def test_logit_lens_refuses_a_position_outside_the_prompt_naming_the_range(tiny_model, position):
    trace = tiny_model.run_with_trace(PROMPT)
    n = trace.n_tokens
    with pytest.raises(PromptError, match=rf"position must be a whole number in 0\.\.{n - 1} \(or -{n}\.\.-1 from "
                                          rf"the end\) for this {n}-token prompt, got {re.escape(repr(position))}"):
        tiny_model.logit_lens(trace, position)


def test_logit_lens_counts_negative_positions_from_the_end(tiny_model):
    trace = tiny_model.run_with_trace(PROMPT, all_logits=True)
    np.testing.assert_array_equal(tiny_model.logit_lens(trace, -1), tiny_model.logit_lens(trace, trace.n_tokens - 1))
    np.testing.assert_allclose(tiny_model.logit_lens(trace, 3)[-1], trace["unembed.hook_logits"][3], atol=1e-4)


def test_logit_lens_refuses_a_trace_of_another_model(tiny_model, small_random_model):
    trace = small_random_model.run_with_trace("hello")
    with pytest.raises(PromptError, match="the trace is of a model with 2 layers of width 768, this one has 2 of "
                                          "width 64"):
        tiny_model.logit_lens(trace)


# -- configs -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"layer_norm_epsilon": -1}, "config layer_norm_epsilon must be a number between 0 and 1"),
    ({"layer_norm_epsilon": 0}, "config layer_norm_epsilon must be a number between 0 and 1"),
    ({"layer_norm_epsilon": math.nan}, "config layer_norm_epsilon must be a number between 0 and 1"),
    ({"layer_norm_epsilon": math.inf}, "config layer_norm_epsilon must be a number between 0 and 1"),
    ({"layer_norm_epsilon": 1e-50}, "representable in float32"),  # 0 in float32: a zero variance divides by 0
    ({"layer_norm_epsilon": "1e-5"}, "config layer_norm_epsilon must be a number"),
    ({"layer_norm_epsilon": True}, "config layer_norm_epsilon must be a number"),
    ({"n_embd": 64, "n_head": 5}, "config n_embd (64) must be divisible by n_head (5)"),
    ({"n_ctx": 0}, "config n_ctx (n_positions in config.json) must be a positive integer, got 0"),
    ({"n_vocab": -3}, "config n_vocab (vocab_size in config.json) must be a positive integer, got -3"),
    ({"n_layer": 0}, "config n_layer must be a positive integer, got 0"),
    ({"n_inner": 0}, "config n_inner must be a positive integer, got 0"),
    ({"n_embd": 64.5}, "config n_embd must be a positive integer, got 64.5"),
    ({"n_head": "4"}, "config n_head must be a positive integer, got '4'"),
    ({"n_head": True}, "config n_head must be a positive integer, got True"),
])
def test_a_config_with_nonsense_numbers_is_refused_naming_the_field(change, message):
    with pytest.raises(WeightsError) as error:
        GPT2Config(**{"n_vocab": 457, "n_ctx": 128, "n_embd": 64, "n_head": 4, "n_layer": 2, **change})
    assert message in str(error.value)


def test_a_config_keeps_valid_numbers_as_plain_python_values():
    config = GPT2Config(n_vocab=np.int64(457), n_ctx=128, n_embd=64, n_head=4, n_layer=2, layer_norm_epsilon=1e-6)
    assert type(config.n_vocab) is int and config.n_vocab == 457 and config.layer_norm_epsilon == 1e-6


@pytest.mark.parametrize("change, message", [
    ({"layer_norm_epsilon": -1}, "config layer_norm_epsilon must be a number between 0 and 1"),
    ({"layer_norm_epsilon": 0.0}, "config layer_norm_epsilon must be a number between 0 and 1"),
    ({"layer_norm_epsilon": "1e-5"}, "config.json's 'layer_norm_epsilon' must be a number, got '1e-5'"),
    ({"n_positions": 0}, "config n_ctx (n_positions in config.json) must be a positive integer, got 0"),
    ({"n_inner": -4}, "config n_inner must be a positive integer, got -4"),
])
def test_a_checkpoint_whose_config_json_has_nonsense_numbers_is_refused_naming_the_file(
        tiny_checkpoint, tmp_path, change, message):
    directory = tmp_path / "bad-config"
    shutil.copytree(tiny_checkpoint, directory)
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(WeightsError) as error:
        load_model(directory)
    assert str(error.value).startswith(f"{directory / 'config.json'}: ") and message in str(error.value)


def test_a_nan_epsilon_in_config_json_is_refused_not_run_into_nan_logits(tiny_checkpoint, tmp_path):
    directory = tmp_path / "nan-epsilon"
    shutil.copytree(tiny_checkpoint, directory)
    config = json.loads((directory / "config.json").read_text())
    config["layer_norm_epsilon"] = math.nan  # json writes NaN, which Python's json reads back
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="layer_norm_epsilon must be a number between 0 and 1.*got nan"):
        load_model(directory)
