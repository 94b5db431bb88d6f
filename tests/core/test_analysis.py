"""Head scores, the commitment lens and two prompts' aligned probabilities: every number against a direct,
loop-by-loop computation from the trace (or from the model run position by position)."""

import numpy as np
import pytest

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.gpt2_core.commitment import (MAX_POSITIONS, commitment_blocks, lens_positions,
                                                        lens_top_tokens, settled_blocks)
from transformer_explainer.gpt2_core.comparison import aligned_probabilities
from transformer_explainer.gpt2_core.head_scores import (ROLES, HeadScores, head_scores, heads_above,
                                                         induction_probe, induction_scores, probe_length)

PROMPT = "The quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def trace(tiny_model):
    return tiny_model.run_with_trace(PROMPT, head_results=True)


# -- head scores -------------------------------------------------------------------------------------------

def loop_scores(trace):
    """Each head's previous-token and first-token score, one weight at a time."""
    n_layer, n_head, n = trace.config.n_layer, trace.config.n_head, trace.n_tokens
    previous, first = np.zeros((n_layer, n_head)), np.zeros((n_layer, n_head))
    for layer in range(n_layer):
        pattern = trace[f"blocks.{layer}.attn.hook_pattern"]
        for head in range(n_head):
            previous[layer, head] = sum(float(pattern[head, i, i - 1]) for i in range(1, n)) / (n - 1)
            first[layer, head] = sum(float(pattern[head, i, 0]) for i in range(1, n)) / (n - 1)
    return previous, first


def test_previous_and_first_token_scores_equal_a_loop_over_the_trace(tiny_model, trace):
    induction = np.zeros((2, 4), np.float32)
    scores = head_scores(trace, induction)
    previous, first = loop_scores(trace)
    assert scores.previous.dtype == np.float32 and scores.previous.shape == (2, 4)
    np.testing.assert_allclose(scores.previous, previous, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(scores.first, first, rtol=1e-5, atol=1e-7)
    assert not np.allclose(scores.previous, scores.first)  # two different measurements


def test_a_one_token_prompt_has_no_previous_or_first_token_score(tiny_model):
    scores = head_scores(tiny_model.run_with_trace([5]), np.zeros((2, 4), np.float32))
    assert np.isnan(scores.previous).all() and np.isnan(scores.first).all()
    assert heads_above(scores.previous, 0.0) == []


def test_the_induction_score_is_the_attention_to_the_token_after_the_previous_occurrence(tiny_model):
    length = probe_length(tiny_model.config.n_ctx)
    probe = induction_probe(tiny_model.tokenizer.vocab_size, length)
    assert len(probe) == 2 * length and probe[:length] == probe[length:]
    assert len(set(probe[:length])) > length // 2  # random, not one token repeated
    assert probe == induction_probe(tiny_model.tokenizer.vocab_size, length)  # a fixed seed: the same probe
    probe_trace = tiny_model.run_with_trace(probe)
    expected = np.zeros((2, 4))
    for layer in range(2):
        pattern = probe_trace[f"blocks.{layer}.attn.hook_pattern"]
        for head in range(4):
            weights = []
            for i in range(length, 2 * length):
                j = i - length  # the previous occurrence of the token at i
                assert probe[j] == probe[i]
                weights.append(float(pattern[head, i, j + 1]))  # the token after it
            expected[layer, head] = np.mean(weights)
    np.testing.assert_allclose(induction_scores(tiny_model), expected, rtol=1e-5, atol=1e-7)


def test_an_induction_head_built_by_hand_scores_one_and_others_less():
    """A pattern that puts all weight on i-L+1 in the second half scores 1; a previous-token pattern scores 0."""
    from transformer_explainer.gpt2_core.head_scores import (induction_scores_on_probe, previous_token_scores)
    length, n = 5, 10
    induction, previous = np.zeros((n, n), np.float32), np.zeros((n, n), np.float32)
    previous[0, 0] = induction[0, 0] = 1
    for i in range(1, n):
        previous[i, i - 1] = 1
        induction[i, i - length + 1 if i >= length else 0] = 1
    both = np.stack([induction, previous])
    np.testing.assert_array_equal(induction_scores_on_probe(both, length), [1, 0])
    np.testing.assert_array_equal(previous_token_scores(both), [np.float32(1 / 9), 1])  # only A[1, 0]


def test_the_filter_lists_exactly_the_heads_above_the_threshold():
    scores = np.array([[0.1, 0.5, np.nan], [0.51, 0.49, 0.9]], np.float32)
    assert heads_above(scores, 0.5) == [(1, 0), (1, 2)]  # 0.5 itself is not above
    assert heads_above(scores, 0.0) == [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    assert heads_above(scores, 0.95) == []


def test_each_heads_strongest_role_is_its_highest_score():
    scores = HeadScores(previous=np.array([[0.9, 0.1]], np.float32), first=np.array([[0.05, 0.2]], np.float32),
                        induction=np.array([[0.0, 0.7]], np.float32))
    assert scores.strongest_role().tolist() == [["previous", "induction"]]
    assert [scores[role][0, 0] for role in ROLES] == pytest.approx([0.9, 0.05, 0.0])
    with pytest.raises(KeyError, match="previous, first, induction"):
        scores["copying"]


# -- the commitment lens -------------------------------------------------------------------------------------

def test_the_lens_at_every_position_equals_the_logit_lens_run_one_position_at_a_time(tiny_model, trace):
    top = lens_top_tokens(tiny_model.params, tiny_model.config, trace, k=5)
    assert top.ids.shape == (2, trace.n_tokens, 5)
    np.testing.assert_array_equal(top.positions, np.arange(trace.n_tokens))
    for p in range(trace.n_tokens):
        lens = tiny_model.logit_lens(trace, p)  # [n_layer, V], gpt2_core/lens.py
        for layer in range(2):
            probabilities = sampling.softmax64(lens[layer].astype(np.float64))
            expected = sorted(range(lens.shape[1]), key=lambda i: (-lens[layer, i], i))[:5]
            assert top.ids[layer, p].tolist() == expected
            np.testing.assert_allclose(top.logits[layer, p], lens[layer, expected], rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(top.probabilities[layer, p], probabilities[expected], rtol=1e-4, atol=1e-7)


def test_the_last_blocks_top_token_is_the_models_own_prediction(tiny_model, trace):
    top = lens_top_tokens(tiny_model.params, tiny_model.config, trace)
    logits = tiny_model.forward(trace.token_ids)  # [pos, V]
    assert top.top_ids[-1].tolist() == np.argmax(logits, axis=-1).tolist()


def test_the_commitment_block_is_the_first_block_whose_top_token_is_the_final_one():
    top_ids = np.array([[7, 1, 3, 9],
                        [7, 2, 4, 8],
                        [5, 2, 4, 9],
                        [7, 2, 6, 9]])  # 4 blocks × 4 positions
    expected_first, expected_settled = [], []
    for p in range(4):
        final = top_ids[-1, p]
        expected_first.append(next(layer for layer in range(4) if top_ids[layer, p] == final))
        expected_settled.append(next(layer for layer in range(4) if (top_ids[layer:, p] == final).all()))
    assert commitment_blocks(top_ids).tolist() == expected_first == [0, 1, 3, 0]
    assert settled_blocks(top_ids).tolist() == expected_settled == [3, 1, 3, 2]


def test_the_commitment_of_the_traced_prompt_equals_a_loop_over_the_lens(tiny_model, trace):
    top = lens_top_tokens(tiny_model.params, tiny_model.config, trace, k=1)
    blocks = commitment_blocks(top.top_ids)
    for p in range(trace.n_tokens):
        lens_argmax = [int(np.argmax(row)) for row in tiny_model.logit_lens(trace, p)]
        assert blocks[p] == lens_argmax.index(lens_argmax[-1])


def test_a_long_prompt_is_read_at_its_last_positions(tiny_model):
    trace = tiny_model.run_with_trace(list(range(3, 3 + MAX_POSITIONS + 7)))
    assert lens_positions(trace.n_tokens).tolist() == list(range(7, 7 + MAX_POSITIONS))
    top = lens_top_tokens(tiny_model.params, tiny_model.config, trace, k=2)
    assert top.ids.shape == (2, MAX_POSITIONS, 2)
    assert top.top_ids[:, 0].tolist() == [int(np.argmax(row)) for row in tiny_model.logit_lens(trace, 7)]


# -- two prompts -------------------------------------------------------------------------------------------

def test_two_prompts_probabilities_are_aligned_on_the_union_of_their_top_tokens(tiny_model):
    first = sampling.probabilities(tiny_model.run_with_trace("The doctor said that he").logits, 1.0)
    second = sampling.probabilities(tiny_model.run_with_trace("The doctor said that she").logits, 1.0)
    aligned = aligned_probabilities(first, second, k=10)
    top_first = sorted(range(first.size), key=lambda i: (-first[i], i))[:10]
    top_second = sorted(range(second.size), key=lambda i: (-second[i], i))[:10]
    union = set(top_first) | set(top_second)
    assert sorted(aligned.ids.tolist()) == sorted(union) and len(aligned.ids) == len(union) > 10
    rows = sorted(union, key=lambda i: (-(first[i] - second[i]), i))
    assert aligned.ids.tolist() == rows
    for row, token in enumerate(rows):
        assert aligned.first[row] == first[token] and aligned.second[row] == second[token]
        assert aligned.difference[row] == first[token] - second[token]
    assert aligned.difference[0] > 0 > aligned.difference[-1]


def test_the_same_prompt_twice_differs_nowhere(tiny_model):
    probabilities = sampling.probabilities(tiny_model.run_with_trace("Same prompt").logits, 0.8)
    aligned = aligned_probabilities(probabilities, probabilities, k=5)
    assert len(aligned.ids) == 5 and not aligned.difference.any()
    assert aligned.ids.tolist() == sorted(aligned.ids.tolist())  # ties: by id
