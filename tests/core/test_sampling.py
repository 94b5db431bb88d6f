"""Sampling: temperature, top-k, top-p over the full vocabulary, seeded draws, no overflow."""

import numpy as np
import pytest

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.gpt2_core.sampling import SamplingError, next_token, probabilities, sample

LOGITS = np.array([2.0, 1.0, 0.5, -1.0, 3.0], dtype=np.float32)


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def test_temperature_one_is_the_plain_softmax():
    np.testing.assert_allclose(probabilities(LOGITS), softmax(LOGITS.astype(np.float64)), rtol=1e-12)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0, 10.0])
def test_temperature_divides_the_logits(temperature):
    np.testing.assert_allclose(probabilities(LOGITS, temperature), softmax(LOGITS / temperature), rtol=1e-6)


def test_temperature_zero_is_greedy():
    probs = probabilities(LOGITS, 0)
    np.testing.assert_array_equal(probs, [0, 0, 0, 0, 1])
    assert next_token(LOGITS, 0) == 4


@pytest.mark.parametrize("temperature", [1e-30, 1e-12, 1e-6])
def test_tiny_temperatures_do_not_overflow(temperature):
    with np.errstate(over="raise", invalid="raise"):  # underflow to 0 is what a tiny T means
        probs = probabilities(LOGITS, temperature)
    np.testing.assert_array_equal(probs, [0, 0, 0, 0, 1])


def test_high_temperature_flattens_towards_uniform():
    probs = probabilities(LOGITS, 1e6)
    np.testing.assert_allclose(probs, np.full(5, 0.2), atol=1e-5)


def test_top_k_keeps_the_k_most_likely_tokens():
    probs = probabilities(LOGITS, 1.0, top_k=2)
    assert set(np.flatnonzero(probs)) == {0, 4}
    np.testing.assert_allclose(probs[[0, 4]], softmax(LOGITS[[0, 4]].astype(np.float64)))
    np.testing.assert_allclose(probabilities(LOGITS, 1.0, top_k=0), probabilities(LOGITS))


def test_top_k_keeps_ties_at_the_cutoff():
    probs = probabilities(np.array([1.0, 1.0, 1.0, 0.0]), top_k=2)
    np.testing.assert_allclose(probs, [1 / 3, 1 / 3, 1 / 3, 0])


def test_top_p_keeps_the_fewest_tokens_reaching_p():
    full = softmax(LOGITS.astype(np.float64))  # sorted: 4 (0.61), 0 (0.22), 1 (0.08), ...
    keep_two = full[4] + full[0] - 1e-9
    probs = probabilities(LOGITS, 1.0, top_p=keep_two)
    assert set(np.flatnonzero(probs)) == {4, 0}
    assert set(np.flatnonzero(probabilities(LOGITS, 1.0, top_p=full[4] + 1e-9))) == {4, 0}
    assert set(np.flatnonzero(probabilities(LOGITS, 1.0, top_p=0.01))) == {4}  # the top token always survives


def test_top_k_and_top_p_work_over_the_full_vocabulary():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(50257).astype(np.float32)
    probs = probabilities(logits, 0.7, top_k=40, top_p=0.9)
    kept = np.flatnonzero(probs)
    assert 1 <= len(kept) <= 40
    assert set(kept) <= set(np.argsort(-logits)[:40])
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    assert probs.dtype == np.float64


def test_seeded_sampling_is_reproducible_and_follows_the_distribution():
    probs = probabilities(LOGITS, 1.0)
    draws = [sample(probs, np.random.default_rng(seed)) for seed in range(4000)]
    frequencies = np.bincount(draws, minlength=5) / len(draws)
    np.testing.assert_allclose(frequencies, probs, atol=0.025)
    assert [next_token(LOGITS, 1.0, rng=np.random.default_rng(7)) for _ in range(3)] == \
           [next_token(LOGITS, 1.0, rng=np.random.default_rng(7))] * 3


def test_a_token_with_zero_probability_is_never_drawn():
    probs = probabilities(LOGITS, 1.0, top_k=1)
    assert {sample(probs, np.random.default_rng(seed)) for seed in range(200)} == {4}


@pytest.mark.parametrize("settings, message", [
    ({"temperature": -1}, "temperature"), ({"temperature": float("nan")}, "temperature"),
    ({"temperature": "hot"}, "temperature"), ({"top_k": -3}, "top_k"), ({"top_k": 2.5}, "top_k"),
    ({"top_p": 0}, "top_p"), ({"top_p": 1.5}, "top_p"),
])
def test_bad_settings_are_clear_errors(settings, message):
    with pytest.raises(SamplingError, match=message):
        probabilities(LOGITS, **{"temperature": 1.0, **settings})


def test_non_finite_logits_are_refused():
    with pytest.raises(SamplingError, match="NaN or infinite"):
        probabilities(np.array([1.0, np.nan]))


def test_settings_object_validates():
    assert sampling.SamplingSettings(0.7, 40, 0.9).top_k == 40
    with pytest.raises(SamplingError):
        sampling.SamplingSettings(temperature=-0.1)
