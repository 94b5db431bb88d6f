"""The pickers drawn on the picture (viz/picture/pickers.py) act through the app (app/picture_panel.py): ‹ › by
"Block" draw the block before / after, ‹ › by "Head" the head before / after, and the notes over and under a long
prompt's token column move the rows drawn; the token column's hover knows each token's bytes."""

import numpy as np
import pytest

from transformer_explainer.app.layout import ExplainerApp
from transformer_explainer.app.runtime import ModelRuntime
from transformer_explainer.viz.picture import MAX_TOKENS


@pytest.fixture
def app(tiny_model):
    app = ExplainerApp(ModelRuntime(tiny_model))
    app.layout()
    return app


def tap_stage(picture, stage: str) -> None:
    stages = list(picture.view.stage_source.data["stage"])
    assert stage in stages, f"{stage} is not a tap target now: {sorted(set(stages) - {''})}"
    picture.view.stage_source.selected.indices = [stages.index(stage)]


def test_the_block_and_head_pickers_on_the_picture_change_the_block_and_head_drawn(app):
    picture, state = app.picture, app.state
    state.layer, state.head = 0, 0
    tap_stage(picture, "block_next")
    assert state.layer == 1 and picture.view.layer == 1
    assert picture.view.stage_source.selected.indices == [], "the same button can be tapped again"
    assert "block_next" not in picture.view.stage_source.data["stage"], "the last block has no next"
    tap_stage(picture, "block_prev")
    assert state.layer == 0
    tap_stage(picture, "head_next")
    tap_stage(picture, "head_next")
    assert state.head == 2 and picture.view.head == 2
    tap_stage(picture, "head_prev")
    assert state.head == 1
    assert picture.view.pickers.text_source.data["text"] == ["Block 0 (0–1)", "Head 1 (0–3)"]


def test_the_notes_on_a_long_prompts_token_column_scroll_its_rows(app, tiny_model):
    picture, state = app.picture, app.state
    state.prompt = " ".join(["the cat sat on the mat"] * 6)
    n = state.token_count
    if n <= MAX_TOKENS:
        pytest.skip(f"the prompt has only {n} tokens")
    assert list(picture.view.rows.positions) == list(range(n - MAX_TOKENS, n))
    tap_stage(picture, "tokens_earlier")
    end = max(n - MAX_TOKENS, MAX_TOKENS)
    assert list(picture.view.rows.positions) == list(range(end - MAX_TOKENS, end))
    tap_stage(picture, "tokens_later")
    assert list(picture.view.rows.positions) == list(range(n - MAX_TOKENS, n))


def test_the_token_column_hover_gives_each_tokens_bytes(app, tiny_model):
    tokens = app.picture.view.token_source.data
    for token_id, text in zip(tokens["token_id"], tokens["bytes"]):
        if token_id >= 0:
            assert text == tiny_model.tokenizer.token_bytes(int(token_id)).hex(" ")
    assert any(np.asarray(tokens["token_id"]) >= 0)
