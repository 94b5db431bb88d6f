"""``OnnxGPT2``: fast KV-cached generation on the graph of ``onnx_export.py``, with ``GPT2.generate``'s contract.

The tokens come from the same loop as the NumPy model's (``generation.generate``: same sampling
code, same seed, same tokens wherever the logits agree); only the logits come from elsewhere:

- CPython: ``onnxruntime`` (imported when a model is opened), one thread unless told otherwise.
  The KV cache stays in onnxruntime's own tensors (``OrtValue``): each step's ``present`` outputs
  are handed back as the next step's ``past`` inputs without a copy through NumPy.
- Pyodide (``sys.platform == "emscripten"``): onnxruntime-web through ``assets/ort_bridge.mjs``.
  A call into JavaScript returns a promise that Python cannot block on, so the natural API there
  is async: ``await OnnxGPT2.from_url(...)``, ``await model.aforward_last(ids)``,
  ``async for step in model.agenerate(...)``. The sync ``generate``/``forward_last`` also work in
  Pyodide where the browser has JSPI (WebAssembly JavaScript Promise Integration, Chromium 137+)
  and Pyodide was entered through an async call (``runPythonAsync``): then each step waits with
  ``pyodide.ffi.run_sync``; elsewhere they raise an error that points to the async API.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import AsyncIterator, Iterator

import numpy as np

from . import generation
from .config import GPT2Config
from .errors import PromptError
from .gpt2 import GPT2, check_token_ids
from .shards import load_model_from_shards, read_manifest, read_tokenizer
from .tokenizer import Tokenizer

RUNS_IN_PYODIDE = sys.platform == "emscripten"
GRAPH_FILE = "model.onnx"  # as written by onnx_export.py (which needs the onnx package, so not imported here)


class OnnxGPT2:
    """GPT-2 on onnxruntime: ``generate``, ``forward_last`` and decoding sessions, no hooks.

    Backed by an ``onnxruntime.InferenceSession`` (CPython) or by a session of the JS bridge (Pyodide)."""

    def __init__(self, config: GPT2Config, tokenizer: Tokenizer | None, name: str = "gpt2", *,
                 inference_session=None, js_session=None, directory: Path | None = None):
        if (inference_session is None) == (js_session is None):
            raise ValueError("OnnxGPT2 runs on either an onnxruntime InferenceSession or a JS bridge session")
        self.config, self.tokenizer, self.name = config, tokenizer, name
        self.inference_session, self.js_session, self.directory = inference_session, js_session, directory
        # which execution provider runs the graph: cpu (onnxruntime), wasm or webgpu (onnxruntime-web)
        self.provider = "cpu" if js_session is None else str(js_session.provider)

    def __repr__(self) -> str:
        c = self.config
        return (f"OnnxGPT2({self.name!r}, provider={self.provider!r}, n_layer={c.n_layer}, n_head={c.n_head}, "
                f"n_embd={c.n_embd})")

    # -- opening -------------------------------------------------------------------------------------

    @classmethod
    def from_directory(cls, directory: str | Path, threads: int = 1, providers: list[str] | None = None) -> "OnnxGPT2":
        """An exported directory (model.onnx, manifest.json, weight shards, tokenizer) on onnxruntime (CPython)."""
        directory = Path(directory)
        manifest = read_manifest(directory)
        session = native_inference_session(directory / GRAPH_FILE, threads, providers or ["CPUExecutionProvider"])
        return cls(GPT2Config.from_hf_dict(manifest["config"]), read_tokenizer(directory, manifest),
                   manifest.get("name", "gpt2"), inference_session=session, directory=directory)

    @classmethod
    async def from_url(cls, model_url: str, *, bridge_url: str, ort_url: str, provider: str = "auto",
                       on_progress=None, keep_shards: bool = False) -> "OnnxGPT2":
        """Inside Pyodide: open ``model_url`` (model.onnx beside manifest.json and the shards) with
        onnxruntime-web through the bridge module at ``bridge_url``; ``ort_url`` is the folder that serves
        onnxruntime-web's dist files. ``on_progress(done_bytes, total_bytes)`` follows the download.
        ``keep_shards`` keeps the fetched weight bytes for ``numpy_model()``."""
        return await open_in_browser(cls, model_url, bridge_url, ort_url, provider, on_progress, keep_shards)

    def numpy_model(self) -> GPT2:
        """The NumPy model (hooks, traces) on the same weight shards: read from the export directory in
        CPython; in Pyodide from the bytes the bridge fetched and checked (open with ``keep_shards=True``)."""
        if self.js_session is None:
            return load_model_from_shards(self.directory, name=self.name)
        return load_model_from_shards(lambda file_name: self.js_session.fileBytes(file_name).to_py(),
                                      name=self.name, verify_sha256=False)

    # -- input ---------------------------------------------------------------------------------------

    def check_ids(self, ids) -> list[int]:
        """The NumPy model's own checks: text is tokenized; empty, too long, out of vocabulary refused."""
        return check_token_ids(ids, self.config, self.tokenizer)

    # -- running (sync) ------------------------------------------------------------------------------

    def start_session(self, capacity: int):
        """A decoding session for up to ``capacity`` tokens: ``feed(ids)`` returns the last position's
        logits [V]; ``attention`` then holds the last token's patterns [n_layer, n_head, ctx] when
        the graph was exported with them."""
        if not 0 < capacity <= self.config.n_ctx:
            raise PromptError(f"a decoding session holds 1 to {self.config.n_ctx} tokens (the context length), "
                              f"not {capacity}")
        return NativeSession(self, capacity) if self.inference_session is not None else BrowserSession(self, capacity)

    def forward_last(self, ids) -> np.ndarray:  # [pos] -> [V]: the prediction after the last token
        ids = self.check_ids(ids)
        return self.start_session(len(ids)).feed(ids)

    def generate(self, ids, max_new_tokens: int = 20, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None,
                 stop_at_end_of_text: bool = False) -> Iterator[generation.GenerationStep]:
        """New tokens one at a time, as ``GPT2.generate`` (same loop, same sampling, same seeds)."""
        ids = self.check_ids(ids)
        return generation.generate(self.start_session, ids, self.config.n_ctx, max_new_tokens, temperature,
                                   top_k, top_p, seed, self.stop_token(stop_at_end_of_text))

    def stop_token(self, stop_at_end_of_text: bool) -> int | None:
        return self.tokenizer.end_of_text_id if (stop_at_end_of_text and self.tokenizer) else None

    # -- running (async: what Pyodide needs; in CPython they simply run the sync code) -----------------

    async def aforward_last(self, ids) -> np.ndarray:
        ids = self.check_ids(ids)
        return await self.start_async_session(len(ids)).afeed(ids)

    def start_async_session(self, capacity: int):
        """A session with ``afeed``: the browser's own, or the native one wrapped (CPython has no promises)."""
        session = self.start_session(capacity)
        return session if hasattr(session, "afeed") else AwaitableSession(session)

    def agenerate(self, ids, max_new_tokens: int = 20, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None, seed: int | None = None,
                  stop_at_end_of_text: bool = False) -> AsyncIterator[generation.GenerationStep]:
        """``generate`` for an event loop (``async for step in model.agenerate(...)``): the same loop."""
        return generation.agenerate(self.start_async_session, self.check_ids(ids), self.config.n_ctx,
                                    max_new_tokens, temperature, top_k, top_p, seed,
                                    self.stop_token(stop_at_end_of_text))


class AwaitableSession:
    def __init__(self, session):
        self.session = session

    async def afeed(self, ids) -> np.ndarray:
        return self.session.feed(ids)


# -- CPython: onnxruntime ---------------------------------------------------------------------------------

def native_inference_session(graph_path: Path, threads: int, providers: list[str]):
    import onnxruntime

    if not graph_path.is_file():
        raise FileNotFoundError(f"no ONNX graph at {graph_path}: export one with "
                                f"python -m transformer_explainer.gpt2_core.onnx_export MODEL {graph_path.parent}")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(graph_path), options, providers=providers)


class NativeSession:
    """One sequence's KV cache as onnxruntime tensors; ``feed`` runs only the new tokens.

    ``run_with_ort_values`` hands the present keys/values back as the next past without converting
    them to NumPy: measured here on GPT-2 small at context 512, 38 ms/token against 53 ms with
    ``run`` (whose NumPy outputs copy the whole cache every step); IO binding was no faster."""

    def __init__(self, model: OnnxGPT2, capacity: int):
        from onnxruntime import OrtValue

        self.model, self.capacity, self.length = model, capacity, 0
        self.session, self.OrtValue = model.inference_session, OrtValue
        # the logits, present keys/values and attention; not the new.* outputs (for callers keeping their own cache)
        self.output_names = [o.name for o in self.session.get_outputs() if not o.name.startswith("new.")]
        self.past_names = [i.name for i in self.session.get_inputs() if i.name.startswith("past.")]
        empty = np.zeros((model.config.n_head, 0, model.config.d_head), dtype=np.float32)  # the prompt has no past
        self.past = {name: OrtValue.ortvalue_from_numpy(empty) for name in self.past_names}
        self.attention = None  # [n_layer, n_head, ctx] after feed, if the graph has that output

    def feed(self, ids) -> np.ndarray:  # [pos] -> [V]
        ids = check_room(self.model.check_ids(ids), self.length, self.capacity)
        inputs = {"input_ids": self.OrtValue.ortvalue_from_numpy(np.asarray(ids, dtype=np.int64)), **self.past}
        outputs = dict(zip(self.output_names, self.session.run_with_ort_values(self.output_names, inputs)))
        self.past = {name: outputs[name.replace("past.", "present.")] for name in self.past_names}
        self.length += len(ids)
        if "attention" in outputs:
            self.attention = outputs["attention"].numpy()
        return outputs["logits"].numpy()


def check_room(ids: list[int], length: int, capacity: int) -> list[int]:
    if length + len(ids) > capacity:
        raise PromptError(f"the session is full: {length} tokens cached, room for {capacity - length} more, "
                          f"{len(ids)} given")
    return ids


# -- Pyodide: onnxruntime-web through assets/ort_bridge.mjs -----------------------------------------------

async def open_in_browser(cls, model_url: str, bridge_url: str, ort_url: str, provider: str, on_progress,
                          keep_shards: bool):
    if not RUNS_IN_PYODIDE:
        raise RuntimeError("OnnxGPT2.from_url runs inside Pyodide; in CPython use OnnxGPT2.from_directory")
    from js import Object
    from pyodide.code import run_js
    from pyodide.ffi import create_proxy, to_js

    bridge = await run_js(f"import({bridge_url!r})")
    options = {"modelUrl": model_url, "ortUrl": ort_url, "provider": provider, "keepShards": keep_shards}
    if on_progress is not None:
        options["onProgress"] = create_proxy(on_progress)
    js_session = await bridge.createSession(to_js(options, dict_converter=Object.fromEntries))
    manifest = js_session.manifest.to_py()
    tokenizer = read_tokenizer(lambda name: js_session.fileBytes(name).to_py(), manifest)
    return cls(GPT2Config.from_hf_dict(manifest["config"]), tokenizer, manifest.get("name", "gpt2"),
               js_session=js_session)


class BrowserSession:
    """The bridge keeps the KV cache on the JavaScript side; Python sends ids and receives logits.
    A bridge session holds one sequence: starting a session resets it."""

    def __init__(self, model: OnnxGPT2, capacity: int):
        self.model, self.capacity, self.length = model, capacity, 0
        self.js_session = model.js_session
        self.js_session.reset()
        self.attention = None

    async def afeed(self, ids) -> np.ndarray:  # [pos] -> [V]
        from pyodide.ffi import to_js

        ids = check_room(self.model.check_ids(ids), self.length, self.capacity)
        js_logits = await self.js_session.feed(to_js(ids))
        self.length += len(ids)
        if self.js_session.hasAttention:  # (a JS null would arrive as pyodide.ffi.jsnull, not None)
            dims = self.js_session.attentionDims.to_py()
            self.attention = np.asarray(self.js_session.attention.to_py(), dtype=np.float32).reshape(dims)
        return np.asarray(js_logits.to_py(), dtype=np.float32)

    def feed(self, ids) -> np.ndarray:
        from pyodide.ffi import can_run_sync, run_sync

        if not can_run_sync():
            raise RuntimeError("this browser or call cannot wait for onnxruntime-web synchronously (no JSPI, or "
                               "Python was not entered through runPythonAsync): use the async API "
                               "(await model.aforward_last(ids), async for step in model.agenerate(...))")
        return run_sync(self.afeed(ids))
