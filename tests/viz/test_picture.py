"""The picture: every glyph group shows the Trace's value for the block and head drawn, after any update; the
sources keep their rows; a temperature move touches only the bars; hovers name hook, token, dimension and value."""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, CustomJS, HoverTool, Markup, Plot, TapTool

from transformer_explainer.gpt2_core import Trace, sampling
from transformer_explainer.viz.picture import DIMS, HEIGHT, MAX_TOKENS, MLP_DIMS, N_TOP, WIDTH, PictureView
from transformer_explainer.viz.picture.layout import BAR_PX
from transformer_explainer.viz.standalone import standalone_html

STAGES = ("embedding", "ln1", "qkv", "attention", "attention_output", "residual_mid", "ln2", "mlp", "residual_post",
          "blocks", "ln_final", "output")
PICKERS = ("block_prev", "block_next", "head_prev", "head_next", "tokens_earlier", "tokens_later")


def next_token(trace: Trace, temperature: float = 0.8):
    probabilities = sampling.probabilities(trace.logits, temperature)
    return probabilities, int(np.argsort(-probabilities, kind="stable")[2])


def make_view(trace: Trace, layer: int = 1, head: int = 2, **options) -> PictureView:
    probabilities, sampled = next_token(trace)
    return PictureView(trace, layer, head, probabilities, sampled, options.pop("display"),
                       n_layer=trace.config.n_layer, **options)


@pytest.fixture()
def view(trace, display):
    return make_view(trace, display=display)


def cells(source) -> tuple[np.ndarray, dict]:
    """A strip source's values as [rows, dims] (padding dropped), and its real rows' columns."""
    data = {name: np.asarray(column) for name, column in source.data.items()}
    real = data["slot"] >= 0
    n_rows, n_dims = int(data["slot"][real].max()) + 1, int(data["dim"][real].max()) + 1
    assert real.sum() == n_rows * n_dims
    order = np.lexsort((data["dim"][real], data["slot"][real]))
    return data["value"][real][order].reshape(n_rows, n_dims), {k: v[real][order] for k, v in data.items()}


def shown(trace: Trace) -> list[int]:
    return list(range(max(0, trace.n_tokens - MAX_TOKENS), trace.n_tokens))


def assert_shows(view: PictureView, trace: Trace, layer: int, head: int, probabilities, sampled: int | None) -> None:
    """Every glyph group's data is the Trace value it stands for (exactly: the same float32 numbers)."""
    p = shown(trace)
    d, dh = min(DIMS, trace.config.n_embd), min(DIMS, trace.config.d_head)
    L = f"blocks.{layer}"
    strips = view.strip_sources
    expected = {
        "embedding": trace["hook_embed"][p, :d] + trace["hook_pos_embed"][p, :d],
        "ln1": trace[f"{L}.ln1.hook_out"][p, :d],
        "q": trace[f"{L}.attn.hook_q"][p, head, :dh], "k": trace[f"{L}.attn.hook_k"][p, head, :dh],
        "v": trace[f"{L}.attn.hook_v"][p, head, :dh], "kt": trace[f"{L}.attn.hook_k"][p, head, :dh],
        "z": trace[f"{L}.attn.hook_z"][p, head, :dh], "attn_out": trace[f"{L}.hook_attn_out"][p, :d],
        "resid_mid": trace[f"{L}.hook_resid_mid"][p, :d], "ln2": trace[f"{L}.ln2.hook_out"][p, :d],
        "mlp_pre": trace[f"{L}.mlp.hook_pre"][p, :MLP_DIMS], "mlp_post": trace[f"{L}.mlp.hook_post"][p, :MLP_DIMS],
        "mlp_out": trace[f"{L}.hook_mlp_out"][p, :d], "resid_post": trace[f"{L}.hook_resid_post"][p, :d],
        "ln_final": trace["ln_final.hook_out"][p, :d],
    }
    assert set(expected) == set(strips)
    for key, values in expected.items():
        drawn, columns = cells(strips[key])
        assert np.array_equal(drawn, values), f"{key} differs from the trace"
        assert list(columns["position"][::drawn.shape[1]]) == p, key
    _, embedding = cells(strips["embedding"])
    assert np.array_equal(embedding["embed"], trace["hook_embed"][p, :d].ravel())
    assert np.array_equal(embedding["pos"], trace["hook_pos_embed"][p, :d].ravel())

    # the attention matrix: one cell per (query, key) drawn
    data = {name: np.asarray(column) for name, column in view.attention_source.data.items()}
    real = data["query_slot"] >= 0
    n = len(p)
    assert real.sum() == n * n
    grid = np.ix_(p, p)
    for column, hook in (("weight", "hook_pattern"), ("score", "hook_attn_scores"), ("raw", "hook_attn_raw")):
        matrix = np.full((n, n), np.nan, dtype=np.float32)
        matrix[data["query_slot"][real], data["key_slot"][real]] = data[column][real]
        assert np.array_equal(matrix, trace[f"{L}.attn.{hook}"][head][grid]), column
    masked = np.zeros((n, n), dtype=bool)
    masked[data["query_slot"][real], data["key_slot"][real]] = data["masked"][real]
    assert np.array_equal(masked, np.isneginf(trace[f"{L}.attn.hook_attn_scores"][head][grid]))
    assert np.all(np.isnan(data["shade"][real][data["masked"][real]])), "masked cells get the grey (NaN) colour"
    # the hatch is drawn over exactly the masked cells, box for box
    hatch = {name: np.asarray(column) for name, column in view.matrix.mask_source.data.items()}
    drawn = ~np.isnan(hatch["left"])
    assert drawn.sum() == masked.sum() == n * (n - 1) // 2
    hatched = np.zeros((n, n), dtype=bool)
    slot_of = {position: slot for slot, position in enumerate(p)}
    for q, k in zip(hatch["query"][drawn], hatch["key"][drawn]):
        hatched[slot_of[int(q)], slot_of[int(k)]] = True
    assert np.array_equal(hatched, masked)
    cell_box = {(int(q), int(k)): (l, t) for q, k, l, t in zip(data["query"][real], data["key"][real],
                                                             data["left"][real], data["top"][real])}
    assert all(cell_box[(int(q), int(k))] == (l, t) for q, k, l, t in
               zip(hatch["query"][drawn], hatch["key"][drawn], hatch["left"][drawn], hatch["top"][drawn]))

    # the head cards: one per head, each thumbnail that head's pattern (NaN where masked)
    cards = view.head_source.data
    assert list(cards["head"]) == list(range(trace.config.n_head))
    assert [bool(s) for s in cards["selected"]] == [h == head for h in range(trace.config.n_head)]
    for h, image in enumerate(view.heads.thumbnail_source.data["image"]):
        pattern = trace[f"{L}.attn.hook_pattern"][h][grid]
        is_masked = np.isneginf(trace[f"{L}.attn.hook_attn_scores"][h][grid])
        assert np.array_equal(np.isnan(image), is_masked) and np.array_equal(image[~is_masked], pattern[~is_masked])

    # the bars: the given probabilities of the highest logits, the sampled token marked
    bars = {name: np.asarray(column) for name, column in view.probability_source.data.items()}
    tokens = bars["token_id"] >= 0
    ids = bars["token_id"][tokens]
    top = np.argsort(-trace.logits, kind="stable")[:N_TOP]
    assert list(ids[:N_TOP]) == list(top)
    assert np.array_equal(bars["probability"][tokens], np.asarray(probabilities)[ids])
    assert np.array_equal(bars["logit"][tokens], trace.logits[ids])
    assert [int(i) for i in ids[bars["is_sampled"][tokens]]] == ([] if sampled is None else [sampled])

    labels = view.token_source.data
    real_tokens = np.asarray(labels["slot"]) >= 0
    assert list(np.asarray(labels["position"])[real_tokens]) == p
    assert [t for t, r in zip(labels["token"], real_tokens) if r] == [trace.tokens[i] for i in p]


def row_counts(view: PictureView) -> dict[str, int]:
    return {source.name or source.id: len(next(iter(source.data.values())))
            for source in view.layout.select({"type": ColumnDataSource})}


# -- values ------------------------------------------------------------------------------------------------------

def test_every_glyph_group_shows_the_trace_values_of_the_block_and_head_drawn(view, trace):
    probabilities, sampled = next_token(trace)
    assert_shows(view, trace, 1, 2, probabilities, sampled)


def test_after_a_longer_prompt_another_block_and_head_and_a_shorter_prompt_again_every_value_follows(
        view, trace, longer_trace):
    assert longer_trace.n_tokens > MAX_TOKENS > trace.n_tokens
    for current, layer, head, temperature in ((longer_trace, 0, 3, 1.0), (trace, 1, 0, 0.0), (longer_trace, 1, 1, 2.0)):
        probabilities, sampled = next_token(current, temperature)
        view.update(current, layer, head, probabilities, sampled)
        assert_shows(view, current, layer, head, probabilities, sampled)


def test_select_draws_another_block_or_head_of_the_same_prompt(view, trace):
    probabilities, sampled = next_token(trace)
    view.select(head=0)
    assert_shows(view, trace, 1, 0, probabilities, sampled)
    view.select(layer=0)
    assert (view.layer, view.head) == (0, 0)
    assert_shows(view, trace, 0, 0, probabilities, sampled)


def test_a_long_prompt_shows_its_last_16_tokens_and_says_how_many_come_before(longer_trace, display):
    view = make_view(longer_trace, display=display)
    left_out = longer_trace.n_tokens - MAX_TOKENS
    assert view.tokens.note_source.data["text"] == [f"+{left_out} earlier"]
    assert any(f"The {left_out} earlier tokens are not drawn" in line for line in view.note_source.data["text"])
    real = np.asarray(view.token_source.data["slot"]) >= 0
    assert real.sum() == MAX_TOKENS


def test_update_probabilities_changes_the_bars_and_no_other_source(view, trace):
    document = Document()
    document.add_root(view.layout)
    changed = []
    document.on_change(lambda event: changed.append(event.model))
    hotter = sampling.probabilities(trace.logits, 5.0)
    view.update_probabilities(hotter, int(np.argsort(-hotter)[-1]))  # a token far outside the top 10
    assert changed and all(model is view.probability_source for model in changed), {m.name for m in changed}
    assert_shows(view, trace, 1, 2, hotter, int(np.argsort(-hotter)[-1]))
    bars = view.probability_source.data
    assert bars["is_sampled"][N_TOP], "a sampled token outside the top 10 gets its own row, after them"
    assert np.nanmax(np.asarray(bars["bar_right"]) - np.asarray(bars["bar_left"])) == pytest.approx(BAR_PX), \
        "bars are scaled to the most likely shown token, so a flat distribution is still visible"


def test_every_source_keeps_its_number_of_rows_for_any_prompt_block_head_and_sampled_token(
        view, trace, longer_trace, display):
    before = row_counts(view)
    for current, layer, head in ((longer_trace, 0, 1), (trace, 1, 3)):
        probabilities, _ = next_token(current)
        view.update(current, layer, head, probabilities, int(np.argsort(probabilities)[0]))
        assert row_counts(view) == before
        view.update_probabilities(sampling.probabilities(current.logits, 0.0), None)
        assert row_counts(view) == before
    assert before["picture-attention-source"] == MAX_TOKENS ** 2
    assert before["picture-mlp_pre-source"] == MAX_TOKENS * MLP_DIMS


def test_the_drawn_block_is_a_parameter_and_the_stack_says_how_many_come_before_and_after(trace, display):
    n_layer = trace.config.n_layer
    for layer in range(n_layer):
        view = make_view(trace, layer=layer, display=display)
        texts = [t for t in view.blocks.label_source.data["text"] if t]
        after = n_layer - 1 - layer
        assert (f"{after} more identical block" in texts[0]) if after else texts[0] == f"the last of {n_layer} blocks"
        assert any(f"{layer} block" in t and "before" in t for t in texts) == (layer > 0)


def test_ablated_heads_are_crossed_out_on_their_cards(trace, display):
    view = make_view(trace, layer=1, display=display, ablated_heads={(1, 3), (0, 1)})
    cards = view.head_source.data
    assert [bool(a) for a in cards["ablated"]] == [h == 3 for h in range(trace.config.n_head)]
    assert cards["cross"][3] == "×" and "ablated" in cards["description"][3]
    view.set_ablated(set())
    assert not any(view.head_source.data["ablated"])


def test_the_selected_position_is_outlined_on_its_token_and_its_query_row(view, trace):
    probabilities, sampled = next_token(trace)
    view.update(trace, 1, 2, probabilities, sampled, selected_position=-1)
    tokens = view.token_source.data
    assert [bool(s) for s, slot in zip(tokens["selected"], tokens["slot"]) if slot >= 0] == \
        [p == trace.n_tokens - 1 for p in range(trace.n_tokens)]
    outline = {name: np.asarray(column)[-1] for name, column in view.matrix.decor_source.data.items()}
    assert outline["top"] < view.rows.y(trace.n_tokens - 1) < outline["bottom"]
    view.update(trace, 1, 2, probabilities, sampled)
    assert not any(view.token_source.data["selected"]) and np.isnan(view.matrix.decor_source.data["top"][-1])


def test_out_of_range_blocks_and_heads_are_refused(trace, display):
    with pytest.raises(IndexError, match="layer 5"):
        make_view(trace, layer=5, display=display)
    view = make_view(trace, display=display)
    with pytest.raises(IndexError, match="head 9"):
        view.select(head=9)


# -- what the app finds -------------------------------------------------------------------------------------------

def test_the_app_finds_the_figure_and_sources_by_name(view):
    named = {model.name: model for model in view.layout.references() if model.name}
    for name, model in (("picture-figure", view.figure), ("picture-stage-source", view.stage_source),
                        ("picture-head-source", view.head_source), ("picture-token-source", view.token_source),
                        ("picture-probability-source", view.probability_source),
                        ("picture-highlight-source", view.highlight_source),
                        ("picture-attention-source", view.attention_source),
                        ("picture-qkv-ribbon-source", view.qkv_ribbon_source), ("picture-layout", view.layout)):
        assert named[name] is model, name
    for key, source in view.strip_sources.items():
        assert named[f"picture-{key}-source"] is source


def test_stages_heads_and_tokens_are_tappable_and_the_stage_source_names_each_stage(view):
    stages = [s for s in view.stage_source.data["stage"] if s]
    assert set(stages) - set(PICKERS) == set(STAGES)
    taps = list(view.layout.select({"type": TapTool}))
    tapped = {renderer.data_source.name for tap in taps for renderer in tap.renderers}
    assert tapped == {"picture-stage-source", "picture-head-source", "picture-token-source"}
    layers = dict(zip(view.stage_source.data["stage"], view.stage_source.data["layer"]))
    assert layers["attention"] == 1 and layers["mlp"] == 1 and layers["embedding"] == -1


def test_the_picture_is_one_plot_of_the_design_size_everything_drawn_on_it(view):
    plots = list(view.layout.select({"type": Plot}))
    assert plots == [view.figure], "the probabilities are in the same plot as the rest"
    assert (view.figure.width, view.figure.height) == (WIDTH, HEIGHT) and WIDTH / HEIGHT < 2.0
    assert (view.figure.x_range.start, view.figure.x_range.end) == (0, WIDTH)
    assert (view.figure.y_range.start, view.figure.y_range.end) == (HEIGHT, 0), "y runs down, in design pixels"
    for renderer in view.figure.renderers:  # every glyph inside the design
        data = renderer.data_source.data
        for field, limit in (("right", WIDTH), ("bottom", HEIGHT), ("bar_right", WIDTH)):
            if field in data and len(data[field]):
                values = np.asarray(data[field], dtype=float)
                assert np.nanmax(values, initial=0) <= limit, (renderer.data_source.name, field)


# -- hovers ---------------------------------------------------------------------------------------------------------

def tooltips_of(view, source) -> list[tuple[str, str]]:
    tools = [tool for tool in view.figure.tools if isinstance(tool, HoverTool)
             and tool.tooltips and any(renderer.data_source is source for renderer in tool.renderers)]
    assert len(tools) == 1, source.name
    return tools[0].tooltips


def test_every_strip_hover_names_its_hook_the_token_the_dimension_and_the_exact_value(view, trace):
    hooks = {"embedding": "hook_embed + hook_pos_embed", "ln1": "blocks.1.ln1.hook_out",
             "q": "blocks.1.attn.hook_q[:, 2]", "k": "blocks.1.attn.hook_k[:, 2]", "v": "blocks.1.attn.hook_v[:, 2]",
             "kt": "blocks.1.attn.hook_k[:, 2]", "z": "blocks.1.attn.hook_z[:, 2]",
             "attn_out": "blocks.1.hook_attn_out",
             "resid_mid": "blocks.1.hook_resid_mid", "ln2": "blocks.1.ln2.hook_out", "mlp_pre": "blocks.1.mlp.hook_pre",
             "mlp_post": "blocks.1.mlp.hook_post", "mlp_out": "blocks.1.hook_mlp_out",
             "resid_post": "blocks.1.hook_resid_post", "ln_final": "ln_final.hook_out"}
    for key, source in view.strip_sources.items():
        tooltips = dict(tooltips_of(view, source))
        assert tooltips["hook"].startswith(hooks[key]), (key, tooltips["hook"])
        assert tooltips["token"] == "@slot{token}" and tooltips["value"] == "@value{exact}"
        assert tooltips["dimension"].startswith("@dim of ")
    embedding = dict(tooltips_of(view, view.strip_sources["embedding"]))
    assert embedding["hook_embed (token)"] == "@embed{exact}"
    assert embedding["hook_pos_embed (position)"] == "@pos{exact}"
    assert dict(tooltips_of(view, view.strip_sources["mlp_pre"]))["dimension"] == "@dim of 256"
    view.select(layer=0, head=1)
    assert dict(tooltips_of(view, view.strip_sources["q"]))["hook"].startswith("blocks.0.attn.hook_q[:, 1]")


def test_the_token_label_in_every_hover_comes_from_the_token_source_as_escaped_text(view):
    formatters = {tool.formatters.get("@slot") for tool in view.figure.tools
                  if isinstance(tool, HoverTool) and tool.formatters}
    formatters.discard(None)
    assert len(formatters) == 1
    formatter = formatters.pop()
    assert formatter.args["tokens"] is view.token_source
    assert view.token_source.data["hover_label"][0].startswith("0: ")


def test_an_attention_cell_hover_gives_both_tokens_q_dot_k_the_masked_score_and_the_weight(view):
    fields = dict(tooltips_of(view, view.attention_source))
    assert fields["query (row)"] == "@query_slot{token}" and fields["key (column)"] == "@key_slot{token}"
    assert fields["q · k"] == "@raw{exact}" and fields["÷ √d_head, masked"] == "@score{exact}"
    assert fields["weight"] == "@weight{exact}"
    assert fields["hooks"] == "blocks.1.attn.hook_attn_raw / hook_attn_scores / hook_pattern [2]"


def test_hovering_a_token_is_handled_in_the_browser_for_every_row_carrying_source(view):
    callbacks = [tool.callback for tool in view.figure.select(HoverTool) if isinstance(tool.callback, CustomJS)
                 and "targets" in tool.callback.args]
    assert len(callbacks) == 1
    args = callbacks[0].args
    assert args["state"] is view.highlight_source
    targets = set(map(id, args["targets"]))
    for source in [view.token_source, *view.strip_sources.values(), view.attention_source, view.ribbon_source,
                   view.output.fan_source]:
        assert id(source) in targets, source.name
        assert {"slot", "alpha", "base_alpha"} <= set(source.data), source.name
    assert set(view.ribbon_source.data["slot"]) - {-1} == set(range(view.token_source.data["slot"].max() + 1))


# -- safety --------------------------------------------------------------------------------------------------------

def test_hostile_tokens_stay_text_in_sources_and_never_reach_html(hostile_trace, hostile_tokens):
    def display(token_id: int) -> str:
        return hostile_tokens[token_id % len(hostile_tokens)]

    view = make_view(hostile_trace, display=display)
    assert [t for t in view.token_source.data["token"] if t] == hostile_trace.tokens
    for model in view.layout.references():
        assert not isinstance(model, Markup), type(model).__name__
        if isinstance(model, HoverTool) and model.tooltips:
            for label, field in model.tooltips:
                assert "{safe}" not in field and "<" not in label + field, (label, field)
    html = standalone_html(view.layout, "picture")
    assert "<img src=x" not in html and "<script>alert(2)" not in html


def test_a_token_label_is_cut_by_its_width_not_its_length():
    from transformer_explainer.viz.common import shorten_to_ems, text_ems
    from transformer_explainer.viz.picture.embedding import TOKEN_LABEL_EMS

    assert shorten_to_ems("␣assistant", TOKEN_LABEL_EMS) == "␣assistant"  # fits: kept whole
    assert shorten_to_ems("␣visualization", TOKEN_LABEL_EMS) == "␣visualiza…"
    for wide in ("<0xF0><0x9F><0x98><0x80>", "中文中文中文中文", "😀😀😀😀😀😀😀", "MMMMMMMMMMMM"):
        label = shorten_to_ems(wide, TOKEN_LABEL_EMS)
        assert label.endswith("…") and wide.startswith(label[:-1]) and text_ems(label) <= TOKEN_LABEL_EMS, label
    # the same number of characters, not the same room: CJK and capitals are cut sooner than lower case
    assert len(shorten_to_ems("中文中文中文中文中文中", TOKEN_LABEL_EMS)) < len(shorten_to_ems("a" * 20, TOKEN_LABEL_EMS))
