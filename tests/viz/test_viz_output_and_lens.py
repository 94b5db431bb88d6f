"""Output probabilities (temperature, top-k, top-p, the sampled token) and the logit lens."""

import time

import numpy as np
import pytest

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.viz.common import SAMPLED_COLOUR
from transformer_explainer.viz.sections.logit_lens import LogitLensView
from transformer_explainer.viz.sections.output import OutputView, sampling_steps, top_candidates

SETTINGS = [(1.0, None, None), (0.7, None, None), (2.5, None, None), (1.0, 5, None), (1.0, None, 0.5),
            (0.8, 20, 0.9), (0.0, None, None), (0.0, 3, 0.2), (1e-4, None, None)]


@pytest.mark.parametrize("temperature, top_k, top_p", SETTINGS)
def test_bar_probabilities_equal_sampling_probabilities_at_the_candidates(trace, display, temperature, top_k, top_p):
    view = OutputView(trace.logits, display, temperature, top_k, top_p, sampled_id=None)
    expected = sampling.probabilities(trace.logits, temperature, top_k, top_p)
    data = view.source.data
    assert np.array_equal(data["probability"], expected[data["token_id"]])


@pytest.mark.parametrize("temperature, top_k, top_p", SETTINGS)
def test_the_step_by_step_distribution_is_the_one_sampling_uses(trace, temperature, top_k, top_p):
    steps = sampling_steps(trace.logits, temperature, top_k, top_p)
    assert np.array_equal(steps.probabilities, sampling.probabilities(trace.logits, temperature, top_k, top_p))


def test_candidates_are_the_top_logits_in_order_with_logit_and_scaled_logit(trace, display):
    view = OutputView(trace.logits, display, 0.5, None, None, None, n_top=7)
    data = view.source.data
    expected_ids = np.argsort(-trace.logits, kind="stable")[:8]  # the top 7, and the next as the last row
    assert list(data["token_id"]) == list(expected_ids)
    assert list(data["token"]) == [display(int(i)) for i in expected_ids]
    np.testing.assert_array_equal(data["logit"], trace.logits[expected_ids])
    np.testing.assert_allclose(data["scaled_logit"], trace.logits[expected_ids].astype(np.float64) / 0.5)


def test_temperature_change_updates_the_bars_in_place(trace, display):
    view = OutputView(trace.logits, display, 1.0, None, None, None)
    figure, source = view.bars_figure, view.source
    before = np.array(source.data["probability"])
    view.update(trace.logits, 0.3, None, None, None)
    assert view.bars_figure is figure and view.source is source
    after = source.data["probability"]
    assert not np.array_equal(before, after)
    assert after[0] > before[0], "a lower temperature sharpens the distribution"
    assert np.array_equal(after, sampling.probabilities(trace.logits, 0.3)[source.data["token_id"]])


def test_the_sampled_token_is_highlighted(trace, display):
    candidates = top_candidates(trace.logits, 10)
    sampled = int(candidates[3])
    data = OutputView(trace.logits, display, 1.0, None, None, sampled).source.data
    assert list(data["is_sampled"]) == [i == sampled for i in data["token_id"]]
    assert data["colour"][3] == SAMPLED_COLOUR
    assert "sampled" in data["label"][3]
    assert sum(1 for c in data["colour"] if c == SAMPLED_COLOUR) == 1


def test_a_sampled_token_outside_the_top_candidates_is_added_as_a_row(trace, display):
    unlikely = int(np.argmin(trace.logits))
    view = OutputView(trace.logits, display, 1.0, None, None, unlikely, n_top=5)
    data = view.source.data
    assert len(data["token_id"]) == 6 and data["token_id"][-1] == unlikely and data["is_sampled"][-1]
    assert view.bars_figure.y_range.start == 6


def test_the_chart_keeps_its_number_of_rows_as_the_sampled_token_moves_in_and_out_of_the_top(trace, display):
    candidates = top_candidates(trace.logits, 11)
    unlikely = int(np.argmin(trace.logits))
    view = OutputView(trace.logits, display, 1.0, None, None, int(candidates[2]))
    assert list(view.source.data["token_id"]) == list(candidates)  # sampled in the top 10: the 11th follows
    view.update(trace.logits, 1.0, None, None, unlikely)
    assert list(view.source.data["token_id"]) == [*candidates[:10], unlikely]
    assert view.source.data["is_sampled"][-1] and len(view.source.data["token_id"]) == 11


def test_cutoffs_are_shown_per_candidate(trace, display):
    data = OutputView(trace.logits, display, 1.0, 3, None, None).source.data
    assert list(data["kept_by_top_k"]) == [True] * 3 + [False] * (len(data["token_id"]) - 3)
    assert all(p == 0 for p, kept in zip(data["probability"], data["kept"]) if not kept)
    assert data["top_k_text"][5] == "✗ cut"
    data = OutputView(trace.logits, display, 1.0, None, 0.3, None).source.data
    kept = np.asarray(data["kept_by_top_p"])
    assert kept[0] and not kept.all()


def test_temperature_zero_is_greedy(trace, display):
    data = OutputView(trace.logits, display, 0.0, None, None, None).source.data
    assert data["probability"][0] == 1.0 and np.all(np.asarray(data["probability"][1:]) == 0)
    assert data["scaled_text"][0] == "max (greedy)" and set(data["scaled_text"][1:]) == {"−∞"}
    assert data["token_id"][0] == int(np.argmax(trace.logits))


def test_temperature_update_takes_under_10_ms_for_the_full_gpt2_vocabulary():
    logits = np.random.default_rng(0).normal(0, 3, 50257).astype(np.float32)
    view = OutputView(logits, lambda i: f"token {i}", 1.0, None, None, None)
    durations = []
    for temperature in np.linspace(0.05, 3.0, 40):
        start = time.perf_counter()
        view.update(logits, float(temperature), 40, 0.95, 7)
        durations.append(time.perf_counter() - start)
    assert np.median(durations) < 0.010, f"median {1000 * np.median(durations):.1f} ms"


def test_output_refuses_invalid_settings(trace, display):
    with pytest.raises(sampling.SamplingError):
        OutputView(trace.logits, display, -1.0)


# -- logit lens --------------------------------------------------------------------------------------------

def test_logit_lens_shows_the_argmax_of_each_row_first(trace, display, lens_for):
    lens_logits = lens_for(trace)
    view = LogitLensView(lens_logits, display, trace.tokens)
    assert list(view.argmax_ids()) == [int(np.argmax(row)) for row in lens_logits]
    data = view.source.data
    for layer, rank, token_id, probability in zip(data["layer"], data["rank"], data["token_id"], data["probability"]):
        expected = sampling.softmax64(lens_logits[layer].astype(np.float64))[token_id]
        assert probability == pytest.approx(expected, rel=1e-12)
        assert rank < view.top_k


def test_the_last_lens_row_is_the_models_own_prediction(trace, display, lens_for):
    lens_logits = lens_for(trace)
    np.testing.assert_allclose(lens_logits[-1], trace.logits, rtol=1e-5, atol=1e-5)
    view = LogitLensView(lens_logits, display, trace.tokens)
    assert view.argmax_ids()[-1] == int(np.argmax(trace.logits))


def test_logit_lens_update_in_place(trace, longer_trace, display, lens_for):
    view = LogitLensView(lens_for(trace), display, trace.tokens)
    figure = view.figure
    longer = lens_for(longer_trace)
    view.update(longer, longer_trace.tokens)
    assert view.figure is figure
    assert list(view.argmax_ids()) == [int(np.argmax(row)) for row in longer]
