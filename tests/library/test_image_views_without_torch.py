"""The image views without PyTorch: plain arrays shaped like a vision transformer's ([CLS] and a 3 × 4 grid of
patches), drawn exactly. The attention rollout is checked against a computation by another route, and against
what it must be in the cases where it is known (no attention: the identity; attention that only looks at [CLS]).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from library_helpers import assert_hidden_view_shows, rollout_by_paths, softmax
from transformer_explainer.capture import PatchGrid
from transformer_explainer.viz.hidden_states import HiddenStatesView, token_norms
from transformer_explainer.viz.image_attention import CrossAttentionView, ImageAttentionView, attention_rollout
from transformer_explainer.viz.image_text_similarity import SimilarityView
from transformer_explainer.viz.patch_overlay import ALPHA_LOW, ALPHA_SPAN, rgba_image

ROWS, COLS, FIRST = 3, 4, 1
N = FIRST + ROWS * COLS
TOKENS = ["[CLS]"] + [f"({r}, {c})" for r in range(ROWS) for c in range(COLS)]


@pytest.fixture(scope="module")
def image_arrays():
    """(attentions: 3 layers × [2 heads, N, N], hidden states: 4 × [N, 8], the patch grid with a picture)."""
    rng = np.random.default_rng(3)
    attentions = [softmax(3 * rng.standard_normal((2, N, N))) for _ in range(3)]
    hidden = [rng.standard_normal((N, 8)).astype(np.float32) for _ in range(4)]
    picture = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    return attentions, hidden, PatchGrid(ROWS, COLS, FIRST, picture)


def test_the_rollout_is_abnar_and_zuidemas(image_arrays):
    attentions, _, _ = image_arrays
    rollout = attention_rollout(attentions)
    for query in range(N):
        np.testing.assert_allclose(rollout[query], rollout_by_paths(attentions, query), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(rollout.sum(axis=1), 1, rtol=1e-5)  # every step is a mix: shares sum to 1
    # One layer: exactly ½·mean(A) + ½·I.
    np.testing.assert_allclose(attention_rollout(attentions[:1]), 0.5 * attentions[0].mean(axis=0) + 0.5 * np.eye(N),
                               rtol=1e-6)
    # Every head looking at [CLS] only, two layers: query i keeps ¼ of itself and [CLS] gets the other ¾.
    to_cls = np.zeros((2, N, N), np.float32)
    to_cls[:, :, 0] = 1
    expected = 0.25 * np.eye(N)
    expected[:, 0] += 0.75
    expected[0, 0] = 1
    np.testing.assert_allclose(attention_rollout([to_cls, to_cls]), expected, rtol=1e-6)


def test_the_image_view_draws_the_querys_row_on_the_patch_grid(image_arrays):
    attentions, _, patches = image_arrays
    view = ImageAttentionView(attentions, TOKENS, patches)
    assert (view.layer, view.head, view.query) == (0, 0, 0)  # [CLS] by default
    np.testing.assert_array_equal(view.overlay.values, attentions[0][0][0][1:].reshape(ROWS, COLS))
    for layer, head, query in ((2, 1, 5), (1, 0, N - 1)):
        view.select(layer, head, query)
        np.testing.assert_array_equal(view.heatmap.values, attentions[layer][head])
        expected = attentions[layer][head][query][1:].reshape(ROWS, COLS)
        np.testing.assert_array_equal(view.overlay.values, expected)
        # Row by row from the top left: the cell at (row 1, column 2) holds patch (1, 2).
        index = 1 * COLS + 2
        assert view.overlay.cells.data["patch"][index] == "(1, 2)" == TOKENS[FIRST + index]
        assert (view.overlay.cells.data["x"][index], view.overlay.cells.data["y"][index]) == (2.5, 1.5)
        np.testing.assert_allclose(view.overlay.cells.data["alpha"],
                                   ALPHA_LOW + ALPHA_SPAN * expected.ravel() / expected.max(), rtol=1e-6)
        assert view.overlay.mapper.high == pytest.approx(float(expected.max()))
    view.select(query=0, rollout=True)
    assert view.mode_select.value == "rollout"
    np.testing.assert_array_equal(view.overlay.values, attention_rollout(attentions)[0][1:].reshape(ROWS, COLS))
    assert view.overlay.figure.title.text == "attention rollout: what reaches query #0 through all 3 layers"
    view.select(rollout=False)
    np.testing.assert_array_equal(view.overlay.values, attentions[1][0][0][1:].reshape(ROWS, COLS))


def test_the_picture_is_drawn_as_given(image_arrays):
    _, _, patches = image_arrays
    view = ImageAttentionView(image_arrays[0], TOKENS, patches)
    packed = view.overlay.picture_source.data["image"][0]
    assert packed.shape == (24, 32) and packed.dtype == np.uint32
    rgba = packed.view(np.uint8).reshape(24, 32, 4)
    np.testing.assert_array_equal(rgba[..., :3], patches.picture)
    assert (rgba[..., 3] == 255).all()
    np.testing.assert_array_equal(rgba_image(patches.picture), packed)


def test_hidden_states_draw_each_patchs_norm_on_the_picture(image_arrays):
    _, hidden, patches = image_arrays
    view = HiddenStatesView(hidden, TOKENS, patches=patches, name="s0-")
    assert_hidden_view_shows(view, hidden)
    for i, state in enumerate(hidden):
        view.select(i)
        np.testing.assert_array_equal(view.patch_norms.values, token_norms(state)[1:].reshape(ROWS, COLS))
    assert view.patch_norms.cells.name == "s0-hidden-patch-norms-cells"
    assert HiddenStatesView(hidden, TOKENS).patch_norms is None  # text: no picture


def test_the_cross_attention_view_draws_each_text_tokens_row_on_the_picture(image_arrays):
    _, _, patches = image_arrays
    rng = np.random.default_rng(4)
    cross = [softmax(rng.standard_normal((2, 5, N))) for _ in range(2)]
    text = ["<s>", "a", "cat", "$$x$$", "."]
    view = CrossAttentionView(cross, text, TOKENS, patches)
    np.testing.assert_array_equal(view.overlay.values, cross[0][0][0][1:].reshape(ROWS, COLS))
    for layer, head, token in ((1, 1, 3), (0, 1, 4)):
        view.select(layer, head, token)
        np.testing.assert_array_equal(view.heatmap.values, cross[layer][head])
        np.testing.assert_array_equal(view.overlay.values, cross[layer][head][token][1:].reshape(ROWS, COLS))
    assert view.overlay.cells.data["what"][0].startswith("the cross-attention weight of text token #4 . on")
    assert "$$" not in view.overlay.figure.title.text  # a title names the token by its number: no TeX from a token
    with pytest.raises(ValueError, match=r"must be \[heads, 5, 13\]"):
        CrossAttentionView([cross[0][:, :, :-1]], text, TOKENS, patches)


def test_clips_similarity_view_holds_the_numbers_given():
    view = SimilarityView(["a cat", "<b>a dog</b>"], [21.5, -3.25], [0.4, -0.06], [0.9, 0.1], name="s0-")
    data = view.source.data
    assert list(data["text"]) == ["0: a cat", "1: <b>a dog</b>"]
    np.testing.assert_array_equal(data["logit"], np.float32([21.5, -3.25]))
    np.testing.assert_array_equal(data["probability"], np.float32([0.9, 0.1]))
    assert view.figure.x_range.start < -3.25 and view.figure.x_range.end > 21.5
    with pytest.raises(ValueError, match="one logit, cosine and probability per prompt"):
        SimilarityView(["a"], [1, 2], [1], [1])


def test_a_grid_that_does_not_fit_the_tokens_is_refused(image_arrays):
    attentions, _, patches = image_arrays
    with pytest.raises(ValueError, match="1 tokens before 3 × 3 patches make 10, not the 13 tokens given"):
        ImageAttentionView(attentions, TOKENS, SimpleNamespace(rows=3, cols=3, first=1, picture=patches.picture))
    with pytest.raises(ValueError, match=r"the picture must be \[height, width, 3\] uint8"):
        ImageAttentionView(attentions, TOKENS, SimpleNamespace(rows=3, cols=4, first=1, picture=np.zeros((4, 4))))
