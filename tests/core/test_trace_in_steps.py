"""A long prompt's traced pass one block at a time (``GPT2.trace_in_steps``): the app shows which block runs and
can stop between blocks; the result is the same Trace as ``run_with_trace``."""

from __future__ import annotations

import numpy as np
import pytest

from transformer_explainer.gpt2_core import PromptError


def test_the_steps_count_the_blocks_then_give_the_same_trace_as_run_with_trace(tiny_model):
    ids = tiny_model.encode("Once upon a time there was a model")
    *blocks_done, trace = tiny_model.trace_in_steps(ids, head_results=True)
    assert blocks_done == list(range(1, tiny_model.config.n_layer + 1))
    whole = tiny_model.run_with_trace(ids, head_results=True)
    assert trace.names == whole.names and trace.token_ids == whole.token_ids
    for name in whole.names:
        np.testing.assert_array_equal(trace[name], whole[name], err_msg=name)


def test_a_caller_may_stop_after_any_block(tiny_model):
    steps = tiny_model.trace_in_steps(tiny_model.encode("Stop here"))
    assert next(steps) == 1
    steps.close()  # nothing more runs
    with pytest.raises(StopIteration):
        next(steps)


def test_bad_input_is_refused_before_the_first_block(tiny_model):
    with pytest.raises(PromptError, match="empty"):
        tiny_model.trace_in_steps([])
