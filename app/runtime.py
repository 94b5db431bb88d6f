"""The model behind the app: GPT-2 in NumPy for every traced step, ONNX Runtime for fast generation.

Loaded once per server and shared by every browser session; sessions only read it.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable, Iterator

import numpy as np

from transformer_explainer.gpt2_core import DEFAULT_MODEL, GPT2, GPT2Config, GPT2CoreError, Trace, load_model
from transformer_explainer.gpt2_core.demo import DEMO_MODEL, demo_model
from transformer_explainer.gpt2_core.generation import GenerationStep
from transformer_explainer.gpt2_core.interventions import zero_ablate_heads
from transformer_explainer.gpt2_core.loading import checkpoint_files_of, hub_unreachable
from transformer_explainer.viz.i18n import in_every_language

log = logging.getLogger(__name__)

HEAD_RESULTS_TOKENS = 256


@dataclass
class ModelRuntime:
    model: GPT2
    fast_generator: object | None = None  # an OnnxGPT2 when asked for (serve --onnx) and onnxruntime is there
    # Shown as a banner, e.g. why this is the demo model and not GPT-2: a text in each language (viz/i18n.py
    # in_every_language), or one plain text for every language.
    notice: str | dict[str, str] = ""
    # The static site's: called once, at the first Generate, to load onnxruntime-web in the background (most
    # visitors never generate more than a few tokens, which the NumPy model does well; the fast path costs a
    # 3.7 MB download and a second copy of the weights in memory). That first generation runs on NumPy.
    load_fast_generator: Callable[[], None] | None = None

    @property
    def config(self) -> GPT2Config:
        return self.model.config

    @property
    def is_demo(self) -> bool:
        return self.model.name == DEMO_MODEL

    def encode(self, text: str) -> list[int]:
        return self.model.encode(text)

    def display(self, token_id: int) -> str:
        return self.model.tokenizer.display(token_id)

    def decode(self, ids) -> str:
        return self.model.tokenizer.decode(ids)

    def trace(self, ids, ablated: Iterable[tuple[int, int]] = ()) -> Trace:
        """Every hook point for ``ids`` (with each head's own output), with the given heads silenced."""
        *_, trace = self.trace_in_steps(ids, ablated)
        return trace

    def trace_in_steps(self, ids, ablated: Iterable[tuple[int, int]] = ()):
        """``trace`` one block at a time (``GPT2.trace_in_steps``). Each head's own output only up to
        HEAD_RESULTS_TOKENS tokens: beyond, it would hold n_layer x tokens x n_embd x n_head floats (GPT-2 small,
        1,000 tokens: 442 MB) for a view that shows one layer."""
        return self.model.trace_in_steps(ids, head_results=len(ids) <= HEAD_RESULTS_TOKENS, hooks=zero_ablate_heads(
            ablated, n_layer=self.config.n_layer, n_head=self.config.n_head))

    def logit_lens(self, trace: Trace) -> np.ndarray:
        return self.model.logit_lens(trace)

    def layer_norm_weights(self, layer: int | None, which: str) -> tuple[np.ndarray, np.ndarray]:
        """(gamma, beta) of ``ln1``/``ln2`` in ``layer``, or of ``ln_final``."""
        if which == "ln_final":
            weights = self.model.params["ln_f"]
        else:
            weights = self.model.params["blocks"][layer]["ln_1" if which == "ln1" else "ln_2"]
        return weights["g"], weights["b"]

    def generate(self, ids, max_new_tokens: int, temperature: float, top_k: int | None, top_p: float | None,
                 seed: int | None, ablated: Iterable[tuple[int, int]] = ()) -> Iterator[GenerationStep]:
        """New tokens one by one: through ONNX Runtime when it is loaded and no head is ablated (the graph
        has no hooks), else through the NumPy model with its KV cache."""
        ablated = list(ablated)
        if self.fast_generator is not None and not ablated:
            return self.fast_generator.generate(ids, max_new_tokens, temperature, top_k, top_p, seed)
        if ablated:
            return ablated_generation(self.model, ids, max_new_tokens, temperature, top_k, top_p, seed, ablated)
        return self.model.generate(ids, max_new_tokens, temperature, top_k, top_p, seed)

    def agenerate(self, ids, max_new_tokens: int, temperature: float, top_k: int | None, top_p: float | None,
                  seed: int | None, ablated: Iterable[tuple[int, int]] = ()) -> AsyncIterator[GenerationStep]:
        """``generate`` for the app's event loop (``async for``): in the browser, onnxruntime-web can only be
        awaited; the NumPy model's steps are simply handed on."""
        if self.fast_generator is None and self.load_fast_generator is not None:
            load, self.load_fast_generator = self.load_fast_generator, None
            load()
        ablated = list(ablated)
        if self.fast_generator is not None and not ablated:
            return self.fast_generator.agenerate(ids, max_new_tokens, temperature, top_k, top_p, seed)
        return steps_as_async(self.generate(ids, max_new_tokens, temperature, top_k, top_p, seed, ablated))


async def beside_the_event_loop(function, *args):
    """``function(*args)`` in a worker thread (CPython), so the server keeps answering other pages meanwhile;
    in Pyodide, which has no threads (and one page), simply called."""
    if sys.platform == "emscripten":
        return function(*args)
    return await asyncio.to_thread(function, *args)


async def steps_as_async(steps: Iterator[GenerationStep]) -> AsyncIterator[GenerationStep]:
    for step in steps:
        yield step


def ablated_generation(model: GPT2, ids, max_new_tokens, temperature, top_k, top_p, seed, ablated):
    """Generation with heads silenced: a full hooked forward per token (no KV cache through hooks)."""
    from transformer_explainer.gpt2_core import generation

    hooks = zero_ablate_heads(ablated, n_layer=model.config.n_layer, n_head=model.config.n_head)

    class HookedSession:
        def __init__(self, capacity):
            self.ids: list[int] = []

        def feed(self, new_ids):
            self.ids.extend(new_ids)
            return model.run_with_hooks(self.ids, hooks, all_logits=False)[-1]

    return generation.generate(HookedSession, model.check_ids(ids), model.config.n_ctx, max_new_tokens,
                               temperature, top_k, top_p, seed)


def load_runtime(source: str | None, revision: str | None = None, use_onnx: bool = False,
                 onnx_dir: str | Path | None = None) -> ModelRuntime:
    """Load the model the app shows. With no ``source``, GPT-2 small; if it cannot be had (offline, nothing
    cached), the demo model with a notice saying so. An explicit ``source`` that fails raises its clear error."""
    notice = ""
    if source == DEMO_MODEL:
        model = demo_model()
        notice = in_every_language("notice.demo")
    elif source is None:
        model, reason = default_model(revision)
        if model is None:  # serve says so in the terminal and on the page
            model = demo_model()
            notice = in_every_language("notice.fallback", reason=reason)
    else:
        model = load_model(source, revision=revision)
    fast = fast_generator_for(model, onnx_dir) if use_onnx else None
    return ModelRuntime(model, fast, notice)


def default_model(revision: str | None) -> tuple[GPT2 | None, str]:
    """GPT-2 small from the local cache, else from the Hub when it answers within a few seconds (huggingface_hub
    itself retries an unreachable Hub for about 25 s before giving up). Returns (model, "") or (None, reason)."""
    try:
        return load_model(DEFAULT_MODEL, revision=revision, local_files_only=True, progress=False), ""
    except GPT2CoreError:
        pass  # not cached yet
    unreachable = hub_unreachable()
    if unreachable:
        return None, (f"the Hugging Face Hub cannot be reached ({unreachable}) and {DEFAULT_MODEL} is not in the "
                      f"local cache. Connect to the internet, or download "
                      f"{checkpoint_files_of(DEFAULT_MODEL, revision)} into a folder (e.g. ./gpt2) and run "
                      f"transformer-explainer serve --model ./gpt2")
    log.warning("Downloading %s from the Hugging Face Hub (about 550 MB, once; then it loads from the cache)",
                DEFAULT_MODEL)
    try:
        return load_model(DEFAULT_MODEL, revision=revision), ""
    except GPT2CoreError as error:
        return None, str(error)


def fast_generator_for(model: GPT2, onnx_dir: str | Path | None = None):
    """An ONNX Runtime generator on ``model``'s weights, or None when onnx/onnxruntime are not installed.

    The graph is exported once, with float32 weights so that its tokens equal the NumPy model's, into
    ``onnx_dir`` or a temporary folder removed when the server stops."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:
        log.info("ONNX fast path unavailable (%s); generation uses the NumPy model", error)
        return None
    from transformer_explainer.gpt2_core.onnx_export import export_onnx
    from transformer_explainer.gpt2_core.onnx_runtime import OnnxGPT2

    if onnx_dir is None:
        onnx_dir = tempfile.mkdtemp(prefix="transformer-explainer-onnx-")
        atexit.register(shutil.rmtree, onnx_dir, ignore_errors=True)
    export_onnx(model, onnx_dir, dtype="float32")
    return OnnxGPT2.from_directory(onnx_dir)
