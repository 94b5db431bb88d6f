"""The app in the browser: Pyodide in a Web Worker runs the same app as ``transformer-explainer serve``.

The worker script (assets/site/worker.mjs) fetches the weight shards (checked, cached), installs the wheels,
then calls, in this order:

    prepare_panel(location)      before Panel runs: a fix for Pyodide 0.27, and the page's URL
    start(files, options, load)  the model from the fetched files, the app, and its Bokeh document as JSON
    link_document(send_patch)    once the page has drawn it: Python's changes go to the page from then on
    receive_patch(patch)         each change the student makes in the page
    attach_fast_generator(js)    when onnxruntime-web is ready (loaded at the first Generate): Generate runs on it

Only this module knows that it runs in a browser; the app itself is the served one.
"""

from __future__ import annotations

import json

from .runtime import ModelRuntime

_app = {}  # what the worker's calls share: the runtime and the Panel document


def prepare_panel(location_json: str) -> None:
    """Pyodide 0.27's fix for Panel (app/compat.py), then the Panel document, with the page's URL in it before the
    app reads its settings (a shared link applies at once, not after a first trace of the default)."""
    from .compat import give_pyodide_a_jsnull

    give_pyodide_a_jsnull()
    from panel.io.pyodide import init_doc
    from panel.io.state import state
    from panel.util import edit_readonly

    init_doc()
    location = json.loads(location_json)
    with edit_readonly(state.location):
        state.location.param.update({key: value for key, value in location.items() if key in state.location.param})


def runtime_from_files(files, notice: str | dict = "", expected_manifest_sha256: str | None = None) -> ModelRuntime:
    """The NumPy model from the bytes the worker fetched (a JS Map: file name -> Uint8Array), each shard's
    sha256 checked there already; the manifest is checked here against the hash the build published."""
    from transformer_explainer.gpt2_core import load_model_from_shards

    def read(file_name: str) -> bytes:
        data = files.get(file_name)
        if data is None:
            raise FileNotFoundError(file_name)
        return data.to_bytes()

    read.where = "the site's model folder"
    model = load_model_from_shards(read, verify_sha256=False, expected_manifest_sha256=expected_manifest_sha256)
    return ModelRuntime(model, None, notice)


async def start(files, options_json: str, load_fast_generator=None, mark=lambda name: None) -> tuple[str, str, str]:
    """Build the app on the fetched model and return its document as Panel's ``write_doc`` does
    (docs_json, render_items, root_ids), for the page to draw. ``load_fast_generator``: a JS function the first
    Generate calls to load onnxruntime-web (see ``ModelRuntime.load_fast_generator``)."""
    from panel.io.pyodide import write_doc

    from .page import build_app

    mark("boot.layout_imported")
    options = json.loads(options_json)
    runtime = runtime_from_files(files, options.get("notice", ""), options.get("manifest_sha256"))
    mark("boot.model_loaded")
    runtime.load_fast_generator = load_fast_generator
    _app["runtime"] = runtime
    build_app(runtime, browser_language=options.get("language")).servable(title="Transformer Explainer")
    mark("boot.app_built")
    document = await write_doc()
    mark("boot.document_written")
    return document


def link_document(send_patch) -> None:
    """From now on every change Python makes to the document is sent to the page."""
    from .compat import send_document_changes_to

    send_document_changes_to(send_patch)


def receive_patch(patch) -> None:
    """A change the student made in the page (a click, a keystroke, a slider), applied to Python's document."""
    from .compat import apply_change_from_page

    apply_change_from_page(patch)


def attach_fast_generator(js_session) -> str:
    """Generate through onnxruntime-web from now on (a session of assets/ort_bridge.mjs on the same shards).
    Returns the provider that runs it: 'webgpu' or 'wasm'."""
    from transformer_explainer.gpt2_core.onnx_runtime import OnnxGPT2

    runtime = _app["runtime"]
    runtime.fast_generator = OnnxGPT2(runtime.config, runtime.model.tokenizer, runtime.model.name,
                                      js_session=js_session)
    return runtime.fast_generator.provider


async def benchmark(request_json: str) -> str:
    """Timings measured inside the worker, for scripts/bench_site.py: ``{"what": "trace", "tokens": 16}`` (one
    traced forward pass, the views' input) or ``{"what": "generate", "tokens": 256, "runtime": "onnx"|"numpy"}``
    (greedy tokens from a one-token prompt). Returns JSON: seconds for each repetition."""
    import time

    import numpy as np

    request = json.loads(request_json)
    runtime = _app["runtime"]
    tokens, repeats = int(request["tokens"]), int(request.get("repeats", 3))
    ids = [int(i) for i in np.resize(runtime.encode("The quick brown fox jumps over the lazy dog. "), tokens)]
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        if request["what"] == "trace":
            runtime.trace(ids)
        else:
            fast = runtime.fast_generator if request.get("runtime") == "onnx" else None
            if request.get("runtime") == "onnx" and fast is None:
                return json.dumps({"error": "onnxruntime-web is not running"})
            generator = (fast.agenerate(ids[:1], tokens, 0.0, None, None, 0) if fast is not None else
                         ModelRuntime(runtime.model).agenerate(ids[:1], tokens, 0.0, None, None, 0))
            async for _step in generator:
                pass
        seconds.append(time.perf_counter() - start)
    return json.dumps({"seconds": seconds})
