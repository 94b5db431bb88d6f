"""The picture's flow, as data: every query ribbon ends on its token's row of the attention matrix, every key ribbon
on its token's column, every value ribbon in z, each as wide as the norm of the real vector it carries; the token
column scrolls through a long prompt with every position right; the pickers are stages; the picture turns for a
phone without changing a value (its matrix still has queries as rows on the screen); every text can be scaled."""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.models import HoverTool, Text

from test_picture import assert_shows, make_view, next_token, shown
from transformer_explainer.gpt2_core import sampling
from transformer_explainer.viz.picture import MAX_TOKENS, PictureView
from transformer_explainer.viz.picture.canvas import SWAP
from transformer_explainer.viz.picture.layout import COLUMNS, KT_GAP, KT_PX

LAYER, HEAD = 1, 2


@pytest.fixture(params=["horizontal", "vertical"])
def orientation(request):
    return request.param


@pytest.fixture()
def view(trace, display, orientation):
    return make_view(trace, LAYER, HEAD, display=display, orientation=orientation)


def ribbons(view) -> list[dict]:
    """The query, key and value ribbons drawn (padding left out), one dict per ribbon."""
    data = view.qkv_ribbon_source.data
    return [{name: data[name][i] for name in data} for i in range(len(data["kind"])) if data["kind"][i]]


def ends(ribbon) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The centre of a ribbon's first and last edge, and the width of each (a ribbon's outline is one side out
    and the other side back)."""
    xs, ys = np.asarray(ribbon["xs"], dtype=float), np.asarray(ribbon["ys"], dtype=float)
    half = len(xs) // 2
    first = np.array([[xs[0], ys[0]], [xs[-1], ys[-1]]])
    last = np.array([[xs[half - 1], ys[half - 1]], [xs[half], ys[half]]])
    return (first.mean(axis=0), last.mean(axis=0), float(np.linalg.norm(first[0] - first[1])),
            float(np.linalg.norm(last[0] - last[1])))


def cells_box(view, column: str, slot: int) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) round the matrix cells whose ``column`` (query_slot / key_slot) is ``slot``."""
    data = {name: np.asarray(value) for name, value in view.attention_source.data.items()}
    mine = data[column] == slot
    return (data["left"][mine].min(), data["right"][mine].max(), data["top"][mine].min(), data["bottom"][mine].max())


def strip_box(view, key: str, slot: int) -> tuple[float, float, float, float]:
    data = {name: np.asarray(value) for name, value in view.strip_sources[key].data.items()}
    mine = data["slot"] == slot
    return (data["left"][mine].min(), data["right"][mine].max(), data["top"][mine].min(), data["bottom"][mine].max())


def touches(point, box, reach: float = 0.6) -> bool:
    """``point`` is on ``box``'s edge, or within ``reach`` of it from outside."""
    x, y = point
    left, right, top, bottom = box
    dx = max(left - x, 0.0, x - right)
    dy = max(top - y, 0.0, y - bottom)
    return np.hypot(dx, dy) <= reach and (dx > 0 or dy > 0 or min(x - left, right - x, y - top, bottom - y) <= reach)


def test_every_query_ribbon_runs_from_its_tokens_q_into_its_row_of_the_matrix(view, trace):
    rows = view.rows
    queries = [r for r in ribbons(view) if r["kind"] == "q"]
    assert sorted(r["slot"] for r in queries) == list(range(rows.n))
    for ribbon in queries:
        slot = int(ribbon["slot"])
        start, end, _, _ = ends(ribbon)
        assert ribbon["position"] == rows.positions[slot] and ribbon["target"] == slot
        assert touches(start, strip_box(view, "q", slot), reach=1.0), "from the token's own query"
        row = cells_box(view, "query_slot", slot)  # the cells of query row `slot`: hook_pattern[head][slot, :]
        assert touches(end, row), (slot, end, row)
        assert np.allclose(end, (ribbon["end_x"], ribbon["end_y"]))
        for other in range(rows.n):  # and no other row
            if other != slot:
                assert not touches(end, cells_box(view, "query_slot", other), reach=0.0), (slot, other)


def test_every_key_ribbon_runs_from_its_tokens_k_into_its_column_of_the_matrix(view, trace):
    rows = view.rows
    keys = [r for r in ribbons(view) if r["kind"] == "k"]
    assert sorted(r["slot"] for r in keys) == list(range(rows.n))
    for ribbon in keys:
        slot = int(ribbon["slot"])
        start, end, _, _ = ends(ribbon)
        assert touches(start, strip_box(view, "k", slot), reach=1.0), "from the token's own key"
        left, right, top, bottom = cells_box(view, "key_slot", slot)  # hook_pattern[head][:, slot]
        if view.orientation == "horizontal":  # up into the column from under it, through the column's kᵀ
            assert left < end[0] < right and end[1] == pytest.approx(bottom + 0.5 + KT_GAP + KT_PX)
            kt = strip_box(view, "kt", slot)
            assert kt[0] <= end[0] <= kt[1] and end[1] == pytest.approx(kt[3])
            for other in range(rows.n):
                if other != slot:
                    other_left, other_right, _, _ = cells_box(view, "key_slot", other)
                    assert not other_left < end[0] < other_right
        else:  # turned: the key runs straight into its column (which lies along its token's own row)
            assert touches(end, (left, right, top, bottom))
            assert top < end[1] < bottom


def test_every_value_ribbon_runs_past_the_matrix_into_z(view):
    rows = view.rows
    values = [r for r in ribbons(view) if r["kind"] == "v"]
    assert sorted(r["slot"] for r in values) == list(range(rows.n))
    z_left, z_right = COLUMNS["z"]
    matrix_right = rows.matrix_right
    for ribbon in values:
        start, end, _, _ = ends(ribbon)
        assert touches(start, strip_box(view, "v", int(ribbon["slot"])), reach=1.0)
        assert z_left <= end[0] <= z_right and end[1] == pytest.approx(rows.bottom), "into z, from below"
        assert end[0] > matrix_right and ribbon["target"] == -1
        ys = np.asarray(ribbon["ys"], dtype=float)
        assert ys.max() > rows.bottom + KT_GAP + KT_PX, "under the matrix, not through it"
    entries = [ends(r)[1][0] for r in sorted(values, key=lambda r: r["slot"])]
    assert entries == sorted(entries), "the values come into z in the tokens' order"


def test_a_ribbons_width_is_the_norm_of_the_real_vector_it_carries(view, trace):
    rows = view.rows
    for kind in "qkv":
        mine = sorted((r for r in ribbons(view) if r["kind"] == kind), key=lambda r: r["slot"])
        vectors = trace[f"blocks.{LAYER}.attn.hook_{kind}"][list(rows.positions), HEAD, :]
        norms = np.linalg.norm(vectors, axis=-1).astype(np.float32)
        assert np.array_equal(np.array([r["magnitude"] for r in mine], dtype=np.float32), norms), kind
        drawn = np.array([r["width"] for r in mine])
        for ribbon, width in zip(mine, drawn):
            _, _, start_width, end_width = ends(ribbon)
            assert start_width == pytest.approx(width, rel=1e-6) and end_width == pytest.approx(width, rel=1e-6)
        assert np.array_equal(np.argsort(drawn, kind="stable"), np.argsort(norms, kind="stable")), \
            f"{kind}: the wider ribbon is the larger norm"
        assert drawn[np.argmax(norms)] / drawn[np.argmin(norms)] == pytest.approx(
            (0.25 + 0.75) / (0.25 + 0.75 * norms.min() / norms.max()), rel=1e-6), "width ∝ norm (a quarter at 0)"


def test_the_legend_says_what_the_width_carries(view):
    legend = " ".join(view.legend_source.data["text"])
    assert "‖q‖, ‖k‖, ‖v‖" in legend and f"head {HEAD}" in legend


def test_the_ribbons_follow_another_head(trace, display):
    view = make_view(trace, LAYER, HEAD, display=display)
    view.select(head=0)
    mine = sorted((r for r in ribbons(view) if r["kind"] == "q"), key=lambda r: r["slot"])
    norms = np.linalg.norm(trace[f"blocks.{LAYER}.attn.hook_q"][shown(trace), 0, :], axis=-1).astype(np.float32)
    assert np.array_equal([r["magnitude"] for r in mine], norms)


# -- the token column ----------------------------------------------------------------------------------------------

def test_the_token_column_gives_each_tokens_id_and_bytes(trace, display, tiny_model):
    view = make_view(trace, display=display, token_bytes=tiny_model.tokenizer.token_bytes)
    data = view.token_source.data
    for slot, position in enumerate(shown(trace)):
        token_id = trace.token_ids[position]
        assert data["token_id"][slot] == token_id
        assert data["bytes"][slot] == tiny_model.tokenizer.token_bytes(token_id).hex(" ")
    tips = [dict(t.tooltips) for t in view.figure.tools if isinstance(t, HoverTool)
            and any(r.data_source is view.token_source for r in t.renderers) and t.tooltips]
    assert tips and tips[0]["id"] == "@token_id · bytes @bytes"


def test_a_long_prompts_rows_scroll_and_every_position_stays_right(longer_trace, display, tiny_model):
    view = make_view(longer_trace, LAYER, HEAD, display=display, token_bytes=tiny_model.tokenizer.token_bytes)
    n = longer_trace.n_tokens
    assert n > MAX_TOKENS
    last = list(range(n - MAX_TOKENS, n))
    assert list(view.rows.positions) == last
    stages = set(view.stage_source.data["stage"])
    assert "tokens_earlier" in stages and "tokens_later" not in stages
    view.scroll_tokens(-1)
    end = max(n - MAX_TOKENS, MAX_TOKENS)  # a page earlier, never before the first token
    first = list(range(end - MAX_TOKENS, end))
    assert list(view.rows.positions) == first and view.rows.right_out == n - end
    assert view.tokens.later_source.data["text"] == [f"+{n - end} later"]
    assert view.tokens.note_source.data["text"] == ([f"+{first[0]} earlier"] if first[0] else [""])
    stages = set(view.stage_source.data["stage"])
    assert "tokens_later" in stages and ("tokens_earlier" in stages) == (first[0] > 0)
    tokens = view.token_source.data
    real = np.asarray(tokens["slot"]) >= 0
    assert list(np.asarray(tokens["position"])[real]) == first
    assert list(np.asarray(tokens["token_id"])[real]) == longer_trace.token_ids[first[0]:end]
    L = f"blocks.{LAYER}"
    for key, values in (("embedding", longer_trace["hook_embed"][first, :16] + longer_trace["hook_pos_embed"][first, :16]),
                        ("q", longer_trace[f"{L}.attn.hook_q"][first, HEAD, :16]),
                        ("resid_post", longer_trace[f"{L}.hook_resid_post"][first, :16])):
        data = {name: np.asarray(c) for name, c in view.strip_sources[key].data.items()}
        keep = data["slot"] >= 0
        assert list(np.unique(data["position"][keep])) == first
        dims = values.shape[1]
        assert np.array_equal(data["value"][keep].reshape(MAX_TOKENS, dims), values), key
    cells = {name: np.asarray(c) for name, c in view.attention_source.data.items()}
    keep = cells["query_slot"] >= 0
    weights = np.full((MAX_TOKENS, MAX_TOKENS), np.nan, dtype=np.float32)
    weights[cells["query_slot"][keep], cells["key_slot"][keep]] = cells["weight"][keep]
    assert np.array_equal(weights, longer_trace[f"{L}.attn.hook_pattern"][HEAD][np.ix_(first, first)])
    assert np.array_equal(cells["query"][keep], np.asarray(first)[cells["query_slot"][keep]])
    assert np.isnan(view.output.fan_source.data["xs"][0][0]), "the last token is not drawn: no fan to the output"
    view.scroll_tokens(+1)
    assert list(view.rows.positions) == last
    probabilities, sampled = next_token(longer_trace)
    assert_shows(view, longer_trace, LAYER, HEAD, probabilities, sampled)


def test_a_new_prompt_shows_its_last_tokens_again(longer_trace, trace, display):
    view = make_view(longer_trace, LAYER, HEAD, display=display)
    view.scroll_tokens(-1)
    probabilities, sampled = next_token(trace)
    view.update(trace, LAYER, HEAD, probabilities, sampled)
    assert list(view.rows.positions) == shown(trace)


# -- the pickers -------------------------------------------------------------------------------------------------

def boxes_of(view) -> dict[str, list[tuple]]:
    data = view.stage_source.data
    out: dict[str, list[tuple]] = {}
    for i, stage in enumerate(data["stage"]):
        if stage:
            out.setdefault(stage, []).append(tuple(float(data[k][i]) for k in ("left", "right", "top", "bottom")))
    return out


@pytest.mark.parametrize("layer, head, expected", [(0, 0, {"block_next", "head_next"}),
                                                   (1, 3, {"block_prev", "head_prev"}),
                                                   (1, 1, {"block_prev", "head_prev", "head_next"})])
def test_the_block_and_head_pickers_are_stages_when_they_can_act(trace, display, layer, head, expected):
    view = make_view(trace, layer, head, display=display)
    boxes = boxes_of(view)
    assert {s for s in boxes if s.startswith(("block_", "head_"))} == expected
    assert view.pickers.text_source.data["text"] == [f"Block {layer} (0–1)", f"Head {head} (0–3)"]
    faint = dict(zip(view.pickers.button_source.data["stage"], view.pickers.button_source.data["alpha"]))
    assert {s for s, a in faint.items() if a == 1.0} == expected, "a button that cannot act is drawn faint"
    for picker in expected:  # a picker's box is its own: no other tap target under it
        (left, right, top, bottom), = boxes[picker]
        for stage, others in boxes.items():
            for other in others if stage != picker else ():
                assert right <= other[0] or left >= other[1] or bottom <= other[2] or top >= other[3], (picker, stage)


# -- turned, for a phone -------------------------------------------------------------------------------------------

def test_the_turned_picture_shows_the_same_values(trace, display):
    probabilities, sampled = next_token(trace)
    view = make_view(trace, LAYER, HEAD, display=display, orientation="vertical")
    assert_shows(view, trace, LAYER, HEAD, probabilities, sampled)
    view.set_orientation("horizontal")
    assert_shows(view, trace, LAYER, HEAD, probabilities, sampled)


def screen_cells(view) -> dict[str, np.ndarray]:
    """The matrix cells as the screen shows them: turned, a cell's screen x is its data top (see canvas.py)."""
    data = {name: np.asarray(c) for name, c in view.attention_source.data.items()}
    keep = data["query_slot"] >= 0
    if view.orientation == "horizontal":
        x, y = (data["left"] + data["right"]) / 2, (data["top"] + data["bottom"]) / 2
    else:
        x, y = (data["top"] + data["bottom"]) / 2, (data["left"] + data["right"]) / 2
    return {"x": x[keep], "y": y[keep], "query": data["query_slot"][keep], "key": data["key_slot"][keep]}


def test_on_the_screen_the_matrixs_rows_are_queries_and_its_columns_keys_either_way(view):
    cells = screen_cells(view)
    for q in np.unique(cells["query"]):  # one screen row per query, going down with it
        assert np.ptp(cells["y"][cells["query"] == q]) == 0
    for k in np.unique(cells["key"]):  # one screen column per key, going right with it
        assert np.ptp(cells["x"][cells["key"] == k]) == 0
    row_y = [cells["y"][cells["query"] == q][0] for q in np.unique(cells["query"])]
    column_x = [cells["x"][cells["key"] == k][0] for k in np.unique(cells["key"])]
    assert row_y == sorted(row_y) and column_x == sorted(column_x)


def test_turning_swaps_every_glyphs_axes_and_turning_back_restores_them(trace, display):
    view = make_view(trace, LAYER, HEAD, display=display)
    before = {id(glyph): {key: getattr(glyph, key) for key in SWAP if glyph.properties().__contains__(key)}
              for glyph, _, _ in view.canvas._glyphs}
    view.set_orientation("vertical")
    assert (view.figure.x_range.end, view.figure.y_range.start) == (560, 1100)
    tokens = view.tokens.renderer.glyph
    assert (tokens.left, tokens.right, tokens.top, tokens.bottom) == ("top", "bottom", "left", "right")
    view.set_orientation("horizontal")
    after = {id(glyph): {key: getattr(glyph, key) for key in SWAP if glyph.properties().__contains__(key)}
             for glyph, _, _ in view.canvas._glyphs}
    assert after == before
    with pytest.raises(ValueError, match="orientation"):
        view.set_orientation("diagonal")


# -- fitting the window ------------------------------------------------------------------------------------------

def test_the_fit_script_scales_every_text_of_the_picture(view):
    script = view.fit_script()
    texts = [r.glyph for r in view.figure.renderers if isinstance(r.glyph, Text)]
    assert set(map(id, script.args["texts"])) == set(map(id, texts)), "every text on the picture scales"
    for glyph, size in zip(script.args["texts"], script.args["sizes"]):
        assert glyph.text_font_size == f"{size:g}px" or glyph.text_font_size == f"{size}px"
        assert 11 <= size <= 22
    assert script.args["plot"] is view.figure and script.args["box"] is view.layout
    assert view.figure.x_range.js_property_callbacks["change:end"] == [script], "a turned picture fits again"


def test_a_picture_is_built_for_one_orientation_or_the_other(trace, display):
    probabilities, sampled = next_token(trace)
    with pytest.raises(ValueError, match="orientation"):
        PictureView(trace, 0, 0, probabilities, sampled, display, n_layer=trace.config.n_layer, orientation="up")


def test_turned_the_bars_stay_a_list_read_across_with_the_five_most_likely_the_sampled_one_and_the_rest(trace,
                                                                                                      display):
    probabilities = sampling.probabilities(trace.logits, 5.0)
    sampled = int(np.argsort(-trace.logits, kind="stable")[7])  # 8th by logit: not among the five
    view = PictureView(trace, LAYER, HEAD, probabilities, sampled, display, n_layer=trace.config.n_layer,
                       orientation="vertical")
    bars = {name: np.asarray(c) for name, c in view.probability_source.data.items()}
    drawn = ~np.isnan(bars["y"])
    ids = list(bars["token_id"][drawn])
    top = [int(i) for i in np.argsort(-trace.logits, kind="stable")[:5]]
    assert ids == top + [sampled, -1], "the five most likely, the sampled one, every other token"
    assert np.all(np.diff(bars["y"][drawn]) > 0), "one row under the other"
    assert np.all(bars["bar_right"][drawn] >= bars["bar_left"][drawn]) and np.all(np.isnan(bars["bar_right"][~drawn]))
    assert np.array_equal(bars["probability"][bars["token_id"] >= 0], probabilities[bars["token_id"][bars["token_id"] >= 0]])
