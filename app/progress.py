"""A long prompt in the browser: the traced pass one block at a time, the status line saying which block runs,
and the Stop button heard between blocks.

Pyodide runs the app on the worker's one thread: a pass of a thousand tokens (seconds) would hold it, and the
page's clicks (Stop) would wait until the end. Here the pass runs as an asyncio task that lets the event loop
run after every block (``GPT2.trace_in_steps``); the views keep the previous prompt until the new one is done.
On the served app (CPython) every pass runs at once, as before: the browser page never waits on it there.
"""

from __future__ import annotations

import asyncio
import sys

from transformer_explainer.gpt2_core import GPT2CoreError

LONG_PROMPT_TOKENS = 128  # from here a pass in Pyodide takes about a second or more (GPT-2 small)


def reads_in_steps(n_tokens: int) -> bool:
    return sys.platform == "emscripten" and n_tokens >= LONG_PROMPT_TOKENS


def read_in_steps(state, steps, show) -> asyncio.Task:
    """Run ``steps`` (``ModelRuntime.trace_in_steps``) beside the event loop; ``show(trace)`` once it is done,
    unless ``state.stop()`` was asked for meanwhile."""
    # At once, not when the task first runs: a Run that arrives meanwhile (leaving the prompt box ran the prompt,
    # then the click on Run comes) sees the prompt being read, and does not start a second reading beside it,
    # which would share the thread and double the time of both.
    state._stop_requested = False
    state.generating = True  # the buttons wait and Stop is offered, as while generating
    return asyncio.ensure_future(_read(state, steps, show))


async def _read(state, steps, show) -> None:
    n_layer = state.runtime.config.n_layer
    trace = None
    try:
        for done in steps:
            if not isinstance(done, int):
                trace = done
                break
            state.status = state.words("state.reading", done=done, total=n_layer)
            await asyncio.sleep(0)  # the page's messages (Stop) are heard, the status line is sent
            if state._stop_requested:
                steps.close()
                state.status = state.words("state.reading_stopped")
                return
    except MemoryError:  # the browser gives a page's WebAssembly memory a limit (2 GB or so)
        state.status = ""
        state.report("prompt", state.words("state.prompt_out_of_memory"))
        return
    except GPT2CoreError as error:
        state.status = ""
        state.report("prompt", str(error))
        return
    finally:
        state.generating = False
    state.status = ""
    show(trace)
