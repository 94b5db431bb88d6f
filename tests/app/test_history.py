"""The steps of a generation (app/history.py): each drawn token's probability and rank as drawn, a step shows the
pass that drew its token (recomputed from the model's own ids), Next token and Generate go back to now first, a
link's made/step restore the steps, and a new prompt starts over."""

import numpy as np
import pytest

from environment import run_async
from transformer_explainer.app.history import History, drawn_token
from transformer_explainer.app.runtime import ModelRuntime
from transformer_explainer.app.state import ExplainerState
from transformer_explainer.gpt2_core import sampling


@pytest.fixture
def state(tiny_model):
    return ExplainerState(ModelRuntime(tiny_model), prompt="The cat sat", temperature=0.9)


def test_a_drawn_tokens_probability_and_rank_are_those_of_its_logits():
    logits = np.array([0.1, 2.0, 1.5, -1.0], dtype=np.float32)
    token = drawn_token(2, logits, {"temperature": 0.5, "top_k": None, "top_p": None})
    assert token.probability == pytest.approx(sampling.probabilities(logits, 0.5)[2])
    assert token.rank == 2 and token.temperature == 0.5


def test_generate_records_each_token_as_drawn_and_a_step_shows_the_pass_that_drew_it(state, tiny_model):
    prompt_ids = list(state.trace.token_ids)
    run_async(state.generate(5))
    history = state.history
    assert history.prompt_ids == tuple(prompt_ids) and history.steps == 5 and state.made == 5
    assert history.ids == list(state.trace.token_ids)
    for k, token in enumerate(history.drawn, 1):  # each token's probability and rank under the logits it came from
        before = history.ids_before(k)
        logits = tiny_model.run_with_trace(before).logits
        expected = sampling.probabilities(logits, 0.9)
        assert token.token_id == history.ids[len(before)]
        assert token.probability == pytest.approx(float(expected[token.token_id]), rel=1e-4, abs=1e-6)
        assert token.rank == int(np.sum(sampling.probabilities(logits, 1.0) > sampling.probabilities(logits, 1.0)[token.token_id])) + 1

    state.step = 3  # the step that drew the third generated token
    third = history.drawn[2].token_id
    assert list(state.trace.token_ids) == prompt_ids + [t.token_id for t in history.drawn[:2]]
    reference = tiny_model.run_with_trace(prompt_ids + [t.token_id for t in history.drawn[:2]])
    np.testing.assert_allclose(state.trace.logits, reference.logits, atol=1e-5)
    np.testing.assert_allclose(state.probabilities, sampling.probabilities(reference.logits, 0.9), atol=1e-6)
    assert state.sampled_id == third
    state.temperature = 1.7  # the bars re-sample; the token marked stays the one drawn at this step
    assert state.sampled_id == third
    state.step = 0
    assert list(state.trace.token_ids) == history.ids and state.traced_prompt == state.prompt


def test_next_token_on_a_step_goes_back_to_now_and_continues_the_whole_text(state):
    run_async(state.generate(3))
    whole = state.history.ids
    state.step = 2
    state.append_sampled_token()
    assert state.step == 0 and state.history.steps == 4 and state.history.ids[:-1] == whole
    assert list(state.trace.token_ids) == state.history.ids and state.made == 4


def test_a_new_prompt_starts_over_and_a_link_restores_the_steps(state, tiny_model):
    run_async(state.generate(3))
    text, made = state.prompt, state.made
    state.prompt = "Something else"
    assert state.history.steps == 0 and state.made == 0 and state.step == 0

    linked = ExplainerState(ModelRuntime(tiny_model))
    linked.param.update(prompt=text, made=made, step=2, temperature=0.9)  # as the link's settings arrive
    ids = tiny_model.encode(text)
    assert linked.history.ids == ids and linked.history.steps == 3 and linked.step == 2
    assert list(linked.trace.token_ids) == ids[:len(ids) - 2] and linked.sampled_id == ids[len(ids) - 2]


def test_a_step_past_the_drawn_tokens_shows_the_last(state):
    run_async(state.generate(2))
    state.step = 9
    assert state.step == 2 and state.sampled_id == state.history.drawn[-1].token_id


def test_history_from_a_link_with_more_made_than_the_text_has_keeps_one_prompt_token():
    history = History.from_link([5, 6, 7], 10, np.zeros((3, 10), np.float32), {"temperature": 1.0})
    assert history.prompt_ids == (5,) and history.steps == 2
