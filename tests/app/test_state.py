"""The app's state reacts as a student expects: a prompt makes a new trace, sampling settings
re-sample without running the model, ablations change the logits exactly as run_with_hooks does,
and bad input is a message that keeps the last good trace."""

import asyncio

import numpy as np
import pytest

from environment import run_async
from transformer_explainer.app.runtime import ModelRuntime
from transformer_explainer.app.state import ExplainerState
from transformer_explainer.gpt2_core import sampling
from transformer_explainer.gpt2_core.interventions import zero_ablate_heads


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
    run_async(state.generate(5))
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
    run_async(generate_and_stop())
    assert start < len(state.trace.token_ids) < start + 50


def test_generation_stops_at_the_context_and_says_so(state, tiny_model):
    state.temperature = 0
    state.prompt = "word " * 120
    ids, n_ctx = list(state.trace.token_ids), tiny_model.config.n_ctx
    assert n_ctx - len(ids) < 50
    expected = [s.token_id for s in tiny_model.generate(ids, n_ctx - len(ids), temperature=0)]
    run_async(state.generate(50))  # more than the context has room for
    assert list(state.trace.token_ids) == ids + expected and state.trace.n_tokens == n_ctx
    assert state.prompt == tiny_model.tokenizer.decode(ids + expected)
    assert state.status == f"Generated {n_ctx - len(ids)} tokens: the model's context of {n_ctx} tokens is now full."
    assert state.error == ""  # the page shows the prompt it made, and does not refuse its own output
    state.append_sampled_token()
    assert state.error == f"Next token did nothing: the prompt already fills the model's context of {n_ctx} tokens."


def test_generated_and_next_tokens_are_kept_as_the_models_ids_never_re_tokenized(state, tiny_model):
    """A byte-level token (part of a character) decodes to "�", which would encode as other ids: the state keeps
    the model's ids, so the views show exactly the tokens it chose."""
    state.param.update(prompt="Hello", temperature=1.5, seed=0)
    ids = list(state.trace.token_ids)
    generated = [step.token_id for step in tiny_model.generate(ids, 20, temperature=1.5, seed=0)]
    assert tiny_model.encode(tiny_model.tokenizer.decode(ids + generated)) != ids + generated  # the trap is real
    run_async(state.generate(20))
    assert list(state.trace.token_ids) == ids + generated
    before = list(state.trace.token_ids)
    sampled = state.sampled_id
    state.append_sampled_token()
    assert list(state.trace.token_ids) == before + [sampled]
    state.prompt = state.prompt + " typed"  # the student edits the text: the tokenizer's ids again
    assert list(state.trace.token_ids) == tiny_model.encode(state.prompt)


def test_with_the_onnx_fast_path_generation_gives_the_numpy_models_tokens(tiny_model, tmp_path):
    pytest.importorskip("onnxruntime", reason="the ONNX fast path needs onnxruntime")
    from transformer_explainer.app.runtime import fast_generator_for
    from transformer_explainer.gpt2_core.onnx_runtime import OnnxGPT2

    runtime = ModelRuntime(tiny_model, fast_generator_for(tiny_model, tmp_path))
    assert isinstance(runtime.fast_generator, OnnxGPT2)
    state = ExplainerState(runtime, prompt="The capital of France is", temperature=0.9, seed=5)
    ids = list(state.trace.token_ids)
    expected = [step.token_id for step in tiny_model.generate(ids, 8, temperature=0.9, seed=5)]
    run_async(state.generate(8))
    assert state.prompt == "The capital of France is" + tiny_model.tokenizer.decode(expected)
    # With a head ablated the graph (no hooks) cannot serve: the hooked NumPy model generates.
    ids = list(state.trace.token_ids)
    ablated = [s.token_id for s in runtime.generate(ids, 3, 0, None, None, 0, [(0, 1)])]
    expected, sequence = [], list(ids)
    for _ in range(3):
        expected.append(int(np.argmax(tiny_model.run_with_hooks(sequence, zero_ablate_heads([(0, 1)]))[-1])))
        sequence.append(expected[-1])
    assert ablated == expected


# -- Generate and Next token never mix two prompts ----------------------------------------------------------------

BAD_PROMPTS = {
    "empty": ("", "the prompt is empty"),
    "too many tokens": ("word " * 200, "this model reads at most 128"),
    "too many characters": ("x" * 30_000, "30,000 characters"),
    "lone surrogate": ("bad \ud800 surrogate", "not valid Unicode"),
}


@pytest.mark.parametrize("bad_prompt, reason", BAD_PROMPTS.values(), ids=BAD_PROMPTS.keys())
def test_after_a_prompt_error_generate_and_next_token_refuse_and_leave_the_box_as_typed(state, bad_prompt, reason):
    good = state.trace
    state.prompt = bad_prompt
    run_async(state.generate(5))
    assert state.prompt == bad_prompt and state.trace is good and not state.generating
    assert reason in state.error
    assert "Generate did nothing: the prompt in the box could not be run (see above), and the page still shows " \
           "the previous one. Fix the prompt and press Run first." in state.error
    state.append_sampled_token()
    assert state.prompt == bad_prompt and state.trace is good
    assert "Next token did nothing: the prompt in the box could not be run" in state.error
    assert "Generate did nothing" not in state.error  # one refusal at a time: the latest


def test_once_the_prompt_is_fixed_generate_continues_the_prompt_shown(state, tiny_model):
    state.temperature = 0
    state.prompt = ""
    run_async(state.generate(3))
    state.prompt = "A fixed prompt"
    assert state.error == ""  # the prompt's problem and the refusal are both past
    expected = [step.token_id for step in tiny_model.generate(tiny_model.encode("A fixed prompt"), 3, temperature=0)]
    run_async(state.generate(3))
    assert state.prompt == "A fixed prompt" + tiny_model.tokenizer.decode(expected)
    assert state.trace.token_ids == tiny_model.encode(state.prompt) and state.shows_prompt


def test_an_ignored_ablation_entry_or_link_setting_does_not_stop_next_token(state, tiny_model):
    state.ablated = "9.9"  # reported, not used: the views still show the prompt in the box
    state.report("link", "Some settings in the link were invalid and were ignored: temperature")
    assert "Ignored ablation entries '9.9'" in state.error and state.shows_prompt
    state.temperature = 0
    expected = state.prompt + tiny_model.tokenizer.decode([int(np.argmax(state.trace.logits))])
    state.append_sampled_token()
    assert state.prompt == expected and state.shows_prompt
    assert "Next token did nothing" not in state.error


def test_a_prompt_changed_while_generating_does_not_get_the_tokens_of_the_previous_one(state):
    async def generate_and_pick_an_example():
        task = asyncio.ensure_future(state.generate(50))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        state.prompt = "An example picked meanwhile"
        await task

    run_async(generate_and_pick_an_example())
    assert state.prompt == "An example picked meanwhile" and state.shows_prompt
    assert "The prompt changed while generating, so the" in state.error and "were not added to it." in state.error
    assert state.status == ""


class FailingRuntime(ModelRuntime):
    """Generation that fails after two tokens, as a runtime that lost its model would."""

    def agenerate(self, ids, max_new_tokens, **settings):
        async def steps():
            for step in list(self.model.generate(ids, 2, temperature=0)):
                yield step
            raise sampling.SamplingError("the logits contain NaN or infinite values; the model's weights may be "
                                         "corrupt")
        return steps()


def test_a_generation_that_fails_keeps_its_tokens_and_says_why(tiny_model):
    state = ExplainerState(FailingRuntime(tiny_model), prompt="The capital of France is")
    expected = [step.token_id for step in tiny_model.generate(state.trace.token_ids, 2, temperature=0)]
    run_async(state.generate(10))
    assert state.prompt == "The capital of France is" + tiny_model.tokenizer.decode(expected)
    assert state.shows_prompt and state.status == "Generated 2 tokens."
    assert state.error == "the logits contain NaN or infinite values; the model's weights may be corrupt"


@pytest.mark.parametrize("count", [None, 0, -3, 1.5, 1e23, "7", True])
def test_a_tokens_count_that_is_not_a_whole_number_from_one_is_refused_with_a_message(state, count):
    before = state.prompt
    run_async(state.generate(count))
    assert state.prompt == before and not state.generating
    assert state.error.startswith("Tokens is ") and "type how many tokens to generate, a whole number from 1 to" \
        in state.error


# -- seed and top-k boxes: kept as typed, checked, explained ------------------------------------------------------

def draw(state, seed: int) -> int:
    return sampling.sample(state.probabilities, np.random.default_rng(seed))


@pytest.mark.parametrize("seed, shown", [(-1, "-1"), (-1.0, "-1"), (2**63, "9223372036854775808"),
                                         (1e23, "1e+23"), (None, "an empty box"), ("abc", "'abc'"), (True, "True"),
                                         (2.5, "2.5")])
def test_a_bad_seed_is_named_in_the_page_and_sampling_keeps_the_last_valid_seed(state, runtime, seed, shown):
    state.param.update(temperature=1.5, seed=7)
    drawn_with_7, before = state.sampled_id, state.prompt
    assert drawn_with_7 == draw(state, 7)
    state.seed = seed  # no exception, no traceback: a message
    assert state.error == (f"The seed is {shown}: it must be a whole number from 0 to 9,223,372,036,854,775,807. "
                           f"The highlighted token is still drawn with seed 7.")
    assert state.sampled_id == drawn_with_7 and state.seed is seed
    run_async(state.generate(3))
    state.append_sampled_token()
    assert state.prompt == before
    assert state.error.endswith("Next token did nothing: fix the sampling settings named above first.")
    state.seed = 11
    assert state.error == "" and state.sampled_id == draw(state, 11)
    state.append_sampled_token()
    assert state.prompt != before and state.shows_prompt


def test_the_highest_seed_is_valid_and_the_next_one_is_not(state):
    state.seed = 2**63 - 1
    assert state.error == ""
    state.seed = 2**63
    assert state.error.startswith("The seed is 9223372036854775808:")


@pytest.mark.parametrize("top_k, shown", [(-5, "-5"), (None, "an empty box"), (2.5, "2.5"), ("abc", "'abc'"),
                                          (False, "False")])
def test_a_bad_top_k_is_named_and_the_chart_keeps_the_last_valid_top_k(state, top_k, shown):
    state.top_k = 3
    kept = state.probabilities.copy()
    assert np.count_nonzero(kept) == 3
    state.top_k = top_k
    assert state.error == (f"Top-k is {shown}: it must be a whole number, 0 (no cutoff) or more. The chart still "
                           f"uses top-k 3.")
    np.testing.assert_array_equal(state.probabilities, kept)
    assert state.sampling_settings()["top_k"] == 3
    state.top_k = 0
    assert state.error == "" and np.count_nonzero(state.probabilities) == state.probabilities.size


def test_a_long_value_is_quoted_in_part(state):
    state.seed = "9" * 100_000 + "x"
    first_line = state.error.splitlines()[0]
    assert first_line.startswith(f"The seed is {'9' * 60!r}… (100,001 characters): it must be")
    assert len(first_line) < 250


def test_a_prompt_no_url_can_carry_is_kept_as_typed_and_linked_with_a_replacement_character(state):
    from urllib.parse import urlencode

    state.prompt = "half an emoji \ud83d here"
    assert state.prompt == "half an emoji \ud83d here" and "not valid Unicode" in state.error
    linked = state.param.prompt.serialize(state.prompt)
    assert linked == "half an emoji \ufffd here"
    assert urlencode({"prompt": linked}) == "prompt=half+an+emoji+%EF%BF%BD+here"


@pytest.mark.parametrize("name", ["temperature", "top_p", "layer", "head", "position"])
def test_true_or_false_is_not_a_number_here(state, name):
    # A link's "true" arrives as True; param would take it for 1, and the page's slider would then fail in Bokeh.
    with pytest.raises(ValueError, match="not True"):
        state.param.update({name: True})
