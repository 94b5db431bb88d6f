"""The library without PyTorch: gpt2_core models and arrays from anywhere, shown by the viz views, exactly.

Every assertion compares a figure's data with the array it shows: a view that drew the wrong layer, head,
token or hidden state would fail here.
"""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.models import PlainText

from library_helpers import assert_explorer_shows, assert_hidden_view_shows
from transformer_explainer import CaptureError, Explainer, ExplainerError, InputError
from transformer_explainer.viz.sections.attention import thumbnail
from transformer_explainer.viz.attention_explorer import AttentionExplorer, query_title
from transformer_explainer.viz.hidden_states import HiddenStatesView

PROMPT = "The capital of France is"


# -- arrays from anywhere ---------------------------------------------------------------------------------------

def test_arrays_are_shown_exactly_as_given(random_arrays):
    tokens, attentions, hidden = random_arrays
    explainer = Explainer.from_arrays(tokens, attentions=attentions, hidden_states=hidden)
    assert_explorer_shows(explainer.attention_view(), attentions)
    assert_hidden_view_shows(explainer.hidden_states_view(), hidden)
    labelled = Explainer.from_arrays(tokens, hidden_states=hidden[:2], hidden_state_labels=["in", "out"])
    assert labelled.hidden_states_view().labels == ["in", "out"]


def test_one_more_hidden_state_than_layers_is_labelled_embeddings_then_each_layer(random_arrays):
    tokens, attentions, hidden = random_arrays  # 3 layers, 4 states: Hugging Face's convention
    capture = Explainer.from_arrays(tokens, attentions=attentions, hidden_states=hidden).capture()
    assert capture.hidden_state_labels == ["embeddings", "after layer 0", "after layer 1", "after layer 2"]
    other = Explainer.from_arrays(tokens, attentions=attentions, hidden_states=hidden[:2]).capture()
    assert other.hidden_state_labels == ["hidden state 0", "hidden state 1"]


def test_arrays_from_jax_are_shown_exactly(random_arrays):
    jax = pytest.importorskip("jax", reason="needs JAX (pip install jax; the NumPy test above runs without it)")
    jnp = jax.numpy
    tokens = random_arrays[0]
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (len(tokens), 8))  # one self-attention layer with 2 heads, computed in JAX
    w_q, w_k = jax.random.normal(jax.random.PRNGKey(1), (2, 8, 4)), jax.random.normal(jax.random.PRNGKey(2), (2, 8, 4))
    q, k = jnp.einsum("nd,hde->hne", x, w_q), jnp.einsum("nd,hde->hne", x, w_k)
    pattern = jax.nn.softmax(q @ jnp.swapaxes(k, -1, -2) / 2.0, axis=-1)  # [2, n, n], a jax.Array
    explainer = Explainer.from_arrays(tokens, attentions=[pattern[None]], hidden_states=[x, x * 2])
    assert_explorer_shows(explainer.attention_view(), [np.asarray(pattern)])
    assert_hidden_view_shows(explainer.hidden_states_view(), [np.asarray(x), np.asarray(x * 2)])


@pytest.mark.parametrize("change, message", [
    (lambda a, h: (a[:1] + [np.ones((2, 2, 5, 5), np.float32)], h), "a batch of 2"),
    (lambda a, h: ([x[:, :4, :4] for x in a], h), "there are 5 tokens: expected [heads, 5, 5]"),
    (lambda a, h: ([a[0], a[1][:1], a[2]], h), "layer 1 has 1 heads but layer 0 has 2"),
    (lambda a, h: ([a[0][0]], h), "must be [heads, tokens, tokens]"),
    (lambda a, h: (a, [h[0], h[1][:, :3]]), "hidden state 1 is 3 wide but hidden state 0 is 6"),
    (lambda a, h: ([np.full((2, 5, 5), np.nan, np.float32)], h), "NaN or infinite"),
    (lambda a, h: (None, None), "nothing to show"),
    (lambda a, h: ([np.array([["a"] * 5] * 5)] * 1, h), "must hold numbers"),
])
def test_arrays_that_cannot_be_shown_are_refused_saying_why(random_arrays, change, message):
    tokens, attentions, hidden = random_arrays
    attentions, hidden = change(list(attentions), list(hidden))
    with pytest.raises(CaptureError) as error:
        Explainer.from_arrays(tokens, attentions=attentions, hidden_states=hidden)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_batch_of_one_is_dropped(random_arrays):
    tokens, attentions, hidden = random_arrays
    capture = Explainer.from_arrays(tokens, attentions=[a[None] for a in attentions],
                                    hidden_states=[h[None] for h in hidden]).capture()
    np.testing.assert_array_equal(capture.attentions[2], attentions[2])
    assert capture.hidden_states[0].shape == (5, 6)


def test_an_explainer_of_arrays_takes_no_input(random_arrays):
    tokens, attentions, hidden = random_arrays
    explainer = Explainer.from_arrays(tokens, attentions=attentions)
    with pytest.raises(InputError, match="call it without an input"):
        explainer.show_attention("some text")
    with pytest.raises(CaptureError, match="no hidden states were captured"):
        explainer.show_hidden_states()


# -- gpt2_core models -----------------------------------------------------------------------------------------

def test_a_gpt2_core_model_shows_its_own_trace(tiny_model):
    explainer = Explainer(tiny_model)
    trace = tiny_model.run_with_trace(PROMPT)
    n_layer = tiny_model.config.n_layer
    capture = explainer.capture(PROMPT)
    assert capture.tokens == trace.tokens and capture.token_ids == trace.token_ids
    assert_explorer_shows(explainer.attention_view(PROMPT),
                          [trace[f"blocks.{layer}.attn.hook_pattern"] for layer in range(n_layer)])
    states = [trace[f"blocks.{layer}.hook_resid_pre"] for layer in range(n_layer)]
    states.append(trace[f"blocks.{n_layer - 1}.hook_resid_post"])
    view = explainer.hidden_states_view(PROMPT)
    assert view.labels == ["embeddings", "after layer 0", "after layer 1"]
    assert_hidden_view_shows(view, states)


def test_text_ids_and_arrays_give_the_same_capture(tiny_model):
    explainer = Explainer(tiny_model)
    ids = tiny_model.encode(PROMPT)
    by_text = explainer.capture(PROMPT)
    for inputs in (ids, np.array(ids), np.array([ids]), {"input_ids": [ids]}):
        capture = explainer.capture(inputs)
        assert capture.token_ids == ids
        np.testing.assert_array_equal(capture.attentions[1], by_text.attentions[1])


@pytest.mark.parametrize("inputs, message", [
    ([[1, 2], [3, 4]], "is a batch of 2 sequences"),
    ([], "is empty"),
    ("", "the text is empty"),
    ([1.5, 2.0], "must be token ids (whole numbers)"),
    ([1, 10_000], "token id 10000 is outside the model's vocabulary"),
    (list(range(129)), "is 129 tokens long, but"),
    ({"attention_mask": [1, 1]}, "must hold 'input_ids'"),
    (None, "give an input"),
])
def test_inputs_that_cannot_run_get_one_clear_line(tiny_model, inputs, message):
    with pytest.raises(InputError) as error:
        Explainer(tiny_model).capture(inputs)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_model_from_another_framework_is_pointed_to_from_arrays():
    with pytest.raises(ExplainerError, match=r"Explainer.from_arrays\(tokens, attentions="):
        Explainer(object())


def test_a_layer_or_head_outside_the_model_is_refused(tiny_model):
    explainer = Explainer(tiny_model)
    with pytest.raises(ExplainerError, match=r"layer 5 is outside the model's 2 blocks"):
        explainer.show_attention(PROMPT, layer=5)
    with pytest.raises(ExplainerError, match=r"head 4 is outside the layer's 4 heads"):
        explainer.show_attention(PROMPT, head=4)


# -- the views' details ----------------------------------------------------------------------------------------

def test_the_selected_query_is_outlined_and_its_row_charted(random_arrays):
    tokens, attentions, _ = random_arrays
    explorer = AttentionExplorer(attentions, tokens, layer=2, head=1)
    assert explorer.query == 4  # the last token by default
    explorer.select(query=1)
    np.testing.assert_array_equal(explorer.row_source.data["weight"], attentions[2][1][1])
    assert (explorer.heatmap.outline.top, explorer.heatmap.outline.bottom) == (1, 2)
    assert explorer.row_figure.title.text == query_title(1)
    assert (explorer.layer_select.value, explorer.head_select.value, explorer.query_select.value) == ("2", "1", "1")
    assert explorer.overview.marker_source.data == {"x": [1.5], "y": [2.5]}


def test_the_overview_keeps_each_blocks_largest_weight_for_long_inputs():
    rng = np.random.default_rng(3)
    tokens = [f"t{i}" for i in range(70)]
    attention = [rng.random((1, 70, 70)).astype(np.float32)]
    explorer = AttentionExplorer(attention, tokens)
    image = explorer.overview.source.data["image"][0]
    assert image.shape == (64, 64)
    np.testing.assert_array_equal(image, thumbnail(attention[0][0]))
    assert image.max() == attention[0][0].max()  # a strong weight stays visible
    assert image[-1, -1] == attention[0][0][-2:, -2:].max()  # 70 rows over 64 cells: the last covers 2 × 2
    np.testing.assert_array_equal(explorer.heatmap.values, attention[0][0])  # the heatmap keeps every value


def test_token_text_reaches_bokeh_as_plain_text_only(random_arrays):
    tokens, attentions, hidden = random_arrays  # "<b>", "$$x$$": HTML and TeX
    explorer = AttentionExplorer(attentions, tokens)
    labels = explorer.heatmap.figure.yaxis[0].major_label_overrides
    assert labels[0.5] == "<b>"  # an axis label is drawn as text on the canvas, not parsed as HTML
    assert isinstance(labels[2.5], PlainText) and labels[2.5].text == "$$x$$"  # not read as TeX
    assert explorer.query_select.options[2] == ("2", "2: $$x$$")  # an <option>'s text, never its HTML


def test_the_cosine_similarity_of_an_all_zero_vector_is_zero():
    state = np.array([[1, 0], [0, 0], [2, 0]], dtype=np.float32)
    view = HiddenStatesView([state], ["a", "b", "c"])
    np.testing.assert_array_equal(view.similarity.values, [[1, 0, 1], [0, 0, 0], [1, 0, 1]])


# -- reports ----------------------------------------------------------------------------------------------------

def test_a_report_shows_its_progress_when_asked_and_not_otherwise(tiny_model, tmp_path, capsys):
    explainer = Explainer(tiny_model)
    explainer.report(["one", "two"], tmp_path / "quiet.html")
    assert capsys.readouterr().err == ""
    explainer.report(["one", "two"], tmp_path / "report.html", progress=True)
    err = capsys.readouterr().err
    assert "text 2 of 2" in err and "writing the page" in err and "3/3" in err


def test_a_report_of_arrays_holds_them_and_loads_nothing(random_arrays, tmp_path):
    tokens, attentions, hidden = random_arrays
    path = Explainer.from_arrays(tokens, attentions=attentions, hidden_states=hidden).report(None, tmp_path / "a.html")
    page = path.read_text(encoding="utf-8")
    assert '"s0-attention-patterns"' in page and '"s0-hidden-states"' in page and '"s1-' not in page
    assert "<script src=" not in page and "<link" not in page  # everything inline
    with pytest.raises(InputError, match="pass texts=None"):
        Explainer.from_arrays(tokens, attentions=attentions).report(["a text"], tmp_path / "b.html")


def test_views_too_heavy_for_a_page_are_refused_saying_how_big(monkeypatch):
    from transformer_explainer import explainer as module

    monkeypatch.setattr(module, "MAX_VIEW_MEGABYTES", 1)
    tokens = [str(i) for i in range(300)]  # 3 layers of [1, 300, 300] float32: 1.03 MB
    big = Explainer.from_arrays(tokens, attentions=[np.zeros((1, 300, 300), np.float32)] * 3,
                                hidden_states=[np.ones((300, 4), np.float32)] * 4)
    with pytest.raises(InputError, match=r"the attention of these 300 tokens is 1.0 MB, more than a page can carry"):
        big.show_attention()
    with pytest.raises(InputError, match=r"the hidden states of these 300 tokens is 1.4 MB"):
        big.show_hidden_states()
    np.testing.assert_array_equal(big.capture().attentions[2], 0)  # the numbers themselves stay readable
