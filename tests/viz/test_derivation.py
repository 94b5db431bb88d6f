"""The attention derivation's data: every array it sends is the trace's, each step's frames draw the trace's values
(after the dot products hook_attn_raw, after scaling the unmasked hook_attn_scores, after the mask hook_attn_scores,
after softmax hook_pattern, after × V hook_z), updates swap everything in place, and what is sent stays small.

The page itself (the JavaScript player drawing these frames) is checked in tests/browser/test_derivation_e2e.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.core.json_encoder import serialize_json
from bokeh.document import Document
from bokeh.models import Div, PlainText

from transformer_explainer.viz.derivation import AttentionDerivationView, derivation_frames, drawn_at


def hooks(trace, layer, head) -> dict:
    attn = f"blocks.{layer}.attn"
    return {"raw": trace[f"{attn}.hook_attn_raw"][head], "scores": trace[f"{attn}.hook_attn_scores"][head],
            "pattern": trace[f"{attn}.hook_pattern"][head], "z": trace[f"{attn}.hook_z"][:, head],
            "q": trace[f"{attn}.hook_q"][:, head], "k": trace[f"{attn}.hook_k"][:, head],
            "v": trace[f"{attn}.hook_v"][:, head]}


def assert_same(shown, expected):
    """Equal as float32, NaN where NaN, −inf where −inf."""
    np.testing.assert_array_equal(np.asarray(shown, np.float32), np.asarray(expected, np.float32))


@pytest.fixture(scope="module")
def view(trace):
    return AttentionDerivationView(trace, 1, 2)


def test_the_arrays_sent_are_the_traces_values(view, trace):
    n, expected = trace.n_tokens, hooks(trace, 1, 2)
    cells = view.cells.data
    assert_same(cells["raw"], expected["raw"].ravel())
    assert_same(cells["scores"], expected["scores"].ravel())
    assert_same(cells["pattern"], expected["pattern"].ravel())
    assert_same(view.z_source.data["final"][0], expected["z"])
    assert_same(view.q_source.data["image"][0], expected["q"])
    assert_same(view.k_source.data["image"][0], expected["k"].T)
    assert_same(view.v_source.data["image"][0], expected["v"])
    assert list(cells["row"][:n + 1]) == [0] * n + [1] and list(cells["col"][:n + 1]) == [*range(n), 0]


def test_scaling_gives_the_unmasked_scores_exactly(view, trace):
    expected = hooks(trace, 1, 2)
    scaled = np.asarray(view.cells.data["scaled"]).reshape(expected["raw"].shape)
    kept = np.isfinite(expected["scores"])
    assert kept.sum() == trace.n_tokens * (trace.n_tokens + 1) // 2  # the causal mask keeps the lower triangle
    np.testing.assert_array_equal(scaled[kept], expected["scores"][kept])
    np.testing.assert_array_equal(scaled, expected["raw"] * np.float32(1 / np.sqrt(trace.config.d_head)))


def test_each_steps_last_frame_draws_the_hook_it_computes(view, trace):
    expected = hooks(trace, 1, 2)
    after = {step: view.drawn_at(view.last_frame_of(step)) for step in range(6)}
    assert np.isnan(after[0][0]).all() and np.isnan(after[0][1]).all()  # ready: nothing computed
    assert_same(after[1][0], expected["raw"])
    scaled, _ = after[2]
    kept = np.isfinite(expected["scores"])
    np.testing.assert_array_equal(scaled[kept], expected["scores"][kept])
    assert_same(after[3][0], expected["scores"])
    assert_same(after[4][0], expected["pattern"])
    assert np.isnan(after[4][1]).all()
    assert_same(after[5][0], expected["pattern"])
    assert_same(after[5][1], expected["z"])


def test_frames_fill_in_cell_by_cell_then_row_by_row(view, trace):
    n, frames = trace.n_tokens, view.frames
    expected = hooks(trace, 1, 2)
    steps = list(frames["step"])
    assert steps == sorted(steps) and set(steps) == set(range(6))
    assert steps.count(1) == n + (n - 1) and all(steps.count(s) == n for s in (2, 3, 4, 5))
    for frame in range(1, n + 1):  # the first query's row, one key at a time, the query and key in focus
        shown, _ = view.drawn_at(frame)
        assert (frames["row"][frame], frames["col"][frame]) == (0, frame - 1)
        assert_same(shown[0, :frame], expected["raw"][0, :frame])
        assert np.isnan(shown[0, frame:]).all() and np.isnan(shown[1:]).all()
    for frame in range(view.last_frame_of(1) + 1, view.last_frame_of(5) + 1):
        shown, z = view.drawn_at(frame)
        step, done = frames["step"][frame], frames["done"][frame]
        if step in (2, 3, 4):  # rows done show this step's values, the rest the previous step's
            previous = {2: expected["raw"], 3: None, 4: expected["scores"]}[step]
            current = {2: None, 3: expected["scores"], 4: expected["pattern"]}[step]
            if current is not None:
                assert_same(shown[:done], current[:done])
            if previous is not None:
                assert_same(shown[done:], previous[done:])
        if step == 5:
            assert_same(z[:done], expected["z"][:done])
            assert np.isnan(z[done:]).all()


def test_the_start_is_drawn_by_python_as_the_player_draws_frame_zero(view):
    cells = view.cells.data
    assert np.isnan(np.asarray(cells["shown"])).all()
    assert set(cells["fill_color"]) == {0xFFFFFFFF}  # white, as packed RGBA
    assert set(view.cell_text.data["text"]) == {None}
    assert np.isnan(view.z_source.data["image"][0]).all()
    assert view.player.slider.value == 0 and view.player.slider.end == view.player.n_frames - 1
    assert view.player.play.active is False


def test_model_names_a_page_or_test_finds(view):
    document = Document()
    document.add_root(view.layout)
    for name in ("derivation-figure", "derivation-player", "derivation-play", "derivation-back", "derivation-forward",
                 "derivation-replay", "derivation-skip", "derivation-steps", "derivation-step", "derivation-frames",
                 "derivation-cells", "derivation-z-source", "derivation-q-source", "derivation-k-source",
                 "derivation-v-source"):
        assert document.get_model_by_name(name) is not None, name


def test_update_swaps_in_another_prompt_layer_and_head(trace, longer_trace):
    view = AttentionDerivationView(trace, 0, 0)
    old_width = view.figure.width
    view.player.slider.value = 7
    view.update(longer_trace, 1, 3)
    n, expected = longer_trace.n_tokens, hooks(longer_trace, 1, 3)
    assert_same(view.cells.data["raw"], expected["raw"].ravel())
    assert_same(view.cells.data["pattern"], expected["pattern"].ravel())
    assert_same(view.z_source.data["final"][0], expected["z"])
    assert_same(view.drawn_at(view.last_frame_of(3))[0], expected["scores"])
    assert view.player.n_frames == len(derivation_frames(n)["step"]) and view.player.slider.end == view.player.n_frames - 1
    assert view.player.slider.value == 0 and np.isnan(np.asarray(view.cells.data["shown"])).all()
    assert len(view.cell_text.data["text"]) == n * n and len(view.weights.data["y"]) == n
    assert view.figure.x_range.end > n and view.figure.y_range.start > n
    assert "head 3" in view.player.step_div.text and "block 1" in view.player.step_div.text
    assert view.figure.width <= old_width + 1 or n > trace.n_tokens
    view.update(trace, 0, 0)  # and back
    assert_same(view.cells.data["raw"], hooks(trace, 0, 0)["raw"].ravel())


def test_bad_layer_or_head_is_refused(trace):
    with pytest.raises(IndexError, match="layer 9"):
        AttentionDerivationView(trace, 9, 0)
    with pytest.raises(IndexError, match="head 4"):
        AttentionDerivationView(trace, 0, 4)


def test_token_strings_never_reach_html(hostile_trace, hostile_tokens):
    view = AttentionDerivationView(hostile_trace, 0, 1)
    document = Document()
    document.add_root(view.layout)
    html = " ".join(model.text for model in document.models if isinstance(model, Div))
    assert not any(token in html for token in hostile_tokens)
    labels = list(view.y_axis.major_label_overrides.values())
    assert any(isinstance(label, PlainText) for label in labels)  # "$$x^2$$" stays text, not TeX


def test_what_is_sent_stays_small_at_gpt2_small_widths(small_random_model):
    trace = small_random_model.run_with_trace(list(range(16)))
    assert trace.config.d_head == 64 and trace.n_tokens == 16
    view = AttentionDerivationView(trace, 1, 5)
    document = Document()
    document.add_root(view.layout)
    sent = len(serialize_json(document.to_json()))
    # 4 matrices of 16 × 16, Q, K, V, Z of 16 × 64, ~100 frames of 6 numbers, the palettes: not a matrix per frame
    assert sent < 200_000, sent
    frames = view.frames
    assert set(frames) == {"step", "start", "done", "row", "col", "duration"} and len(frames["step"]) < 110
    assert 6_000 < sum(frames["duration"]) < 16_000  # a whole derivation plays in about ten seconds


@pytest.mark.parametrize("n", [1, 2, 5, 40])
def test_frames_for_any_length(n):
    frames = derivation_frames(n)
    assert frames["done"][frames["step"].index(2) - 1] == n * n
    assert all(d > 0 for d in frames["duration"]) and sum(frames["duration"]) < 16_000
    values = {name: np.zeros((n, n), np.float32) for name in ("raw", "scaled", "scores", "pattern")}
    values["z"] = np.ones((n, 3), np.float32)
    assert not np.isnan(drawn_at(frames, values, len(frames["step"]) - 1)[1]).any()
