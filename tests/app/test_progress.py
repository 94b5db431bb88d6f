"""A long prompt in the browser (app/progress.py), run here by telling the app it is in Pyodide: it is read block
by block as one asyncio task, the page is told which block runs, Stop ends it with the views unchanged, and a Run
that arrives while it is read (leaving the prompt box ran it, then the click on Run came) starts no second reading
beside it."""

import asyncio

import pytest

from environment import run_async
from transformer_explainer.app import progress
from transformer_explainer.app.runtime import ModelRuntime
from transformer_explainer.app.state import ExplainerState


@pytest.fixture
def in_pyodide(monkeypatch):
    monkeypatch.setattr(progress, "LONG_PROMPT_TOKENS", 4)
    monkeypatch.setattr(progress.sys, "platform", "emscripten")


LONG_PROMPT = "the cat sat on the mat and looked at the dog"  # long: more than LONG_PROMPT_TOKENS (4 here)


def test_a_long_prompt_is_read_once_even_when_run_is_clicked_before_the_reading_starts(in_pyodide, tiny_model):
    state = ExplainerState(ModelRuntime(tiny_model), prompt="Hi")
    readings = []
    steps_of = state.runtime.trace_in_steps
    state.runtime.trace_in_steps = lambda *args: (readings.append(args), steps_of(*args))[1]
    statuses = []
    state.param.watch(lambda event: statuses.append(event.new), "status")

    async def leave_the_box_then_click_run():
        text = LONG_PROMPT
        state.prompt = text  # leaving the box: the reading is scheduled, not yet started
        assert state.generating  # at once, so that ...
        state.run(text)  # ... the click on Run that follows starts no second reading
        while state.generating:
            await asyncio.sleep(0)

    run_async(leave_the_box_then_click_run())
    assert len(readings) == 1
    n_layer = tiny_model.config.n_layer
    assert [s for s in statuses if s] == [state.words("state.reading", done=done, total=n_layer)
                                          for done in range(1, n_layer + 1)]
    assert state.traced_prompt == LONG_PROMPT and state.shows_prompt
    assert list(state.trace.token_ids) == tiny_model.encode(LONG_PROMPT)


def test_stop_ends_the_reading_and_the_views_keep_the_previous_prompt(in_pyodide, tiny_model):
    state = ExplainerState(ModelRuntime(tiny_model), prompt="Hi")
    before = state.trace

    async def run_then_stop():
        state.prompt = LONG_PROMPT
        await asyncio.sleep(0)  # the first block
        state.stop()
        while state.generating:
            await asyncio.sleep(0)

    run_async(run_then_stop())
    assert state.trace is before and not state.shows_prompt
    assert state.status == state.words("state.reading_stopped")
