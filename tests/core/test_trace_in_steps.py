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


def test_a_long_prompt_keeps_no_attention_matrices_but_reads_the_same_ones(tiny_model, monkeypatch):
    """From RECOMPUTED_PATTERNS_TOKENS tokens a trace does not keep the [h, pos, ctx] matrices of every block: read,
    they are worked out again from the block's queries and keys, equal to the ones the pass used."""
    from transformer_explainer.gpt2_core import gpt2

    ids = tiny_model.encode("a b c d e f g h i j k l m n o p")
    whole = tiny_model.run_with_trace(ids)
    monkeypatch.setattr(gpt2, "RECOMPUTED_PATTERNS_TOKENS", len(ids))
    long = tiny_model.run_with_trace(ids)
    kept = set(long.names)
    assert not {name for name in kept if name.endswith(("hook_attn_raw", "hook_attn_scores", "hook_pattern"))}
    assert kept == {name for name in whole.names if not name.endswith(("raw", "scores", "pattern"))}
    for layer in range(tiny_model.config.n_layer):
        for point in ("hook_attn_raw", "hook_attn_scores", "hook_pattern"):
            name = f"blocks.{layer}.attn.{point}"
            assert name in long
            np.testing.assert_array_equal(long[name], whole[name], err_msg=name)
    np.testing.assert_array_equal(long.logits, whole.logits)
