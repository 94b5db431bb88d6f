"""assets/ort_bridge.mjs in headless Chromium: onnxruntime-web (wasm, then WebGPU) equals the NumPy pass.

A local http.server serves the repository's assets/ (the bridge and onnxruntime-web from npm ci),
the tiny model exported with gpt2_core.onnx_export, and tests/browser/ort_page.html.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from environment import CHROMIUM_ARGS, IN_CI, REPO_ROOT

pytestmark = pytest.mark.browser
pytest.importorskip("onnx", reason="exporting the test model needs the onnx package (pip install -e .[onnx])")

from transformer_explainer.gpt2_core.onnx_export import export_onnx  # noqa: E402
from transformer_explainer.gpt2_core.shards import load_model_from_shards, read_manifest  # noqa: E402

ASSETS = REPO_ROOT / "assets"
PAGE = Path(__file__).with_name("ort_page.html")
PROMPT = "The capital of France is Paris. The quick brown fox"
NEXT_IDS = [17, 250, 3]  # decoded one at a time after the prompt
FLOAT32_TOLERANCE = 1e-4
# SwiftShader runs WebGPU on the CPU: a tiny model still takes seconds per session.
WEBGPU_TIMEOUT_MS = 120_000


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tiny_model, tmp_path_factory):
    """Base URL of a local server: /assets/, /model/ (float32), /model16/ (float16), /model8/ (int8), /corrupt/,
    /ort_page.html."""
    if not (ASSETS / "node_modules" / "onnxruntime-web" / "dist").is_dir():
        message = "assets/node_modules is missing: run `npm ci --prefix assets` (CI does) to install onnxruntime-web"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    root = tmp_path_factory.mktemp("ort-site")
    (root / "assets").symlink_to(ASSETS)
    (root / "ort_page.html").symlink_to(PAGE)
    export_onnx(tiny_model, root / "model", dtype="float32", attention_patterns=True)
    export_onnx(tiny_model, root / "model16", dtype="float16")
    export_onnx(tiny_model, root / "model8", dtype="int8", max_shard_bytes=12_000)  # wte's int8 rows in 3 pieces
    export_onnx(tiny_model, root / "corrupt", dtype="float32", max_shard_bytes=100_000)
    corrupt_shard = root / "corrupt" / read_manifest(root / "corrupt")["shards"][2]["file"]
    data = bytearray(corrupt_shard.read_bytes())
    data[1000] ^= 0x01
    corrupt_shard.write_bytes(bytes(data))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", root
    server.shutdown()


def open_page(browser, base_url: str, init_script: str | None = None):
    page = browser.new_page()
    if init_script:
        page.add_init_script(init_script)
    page.goto(f"{base_url}/ort_page.html")
    page.wait_for_function("window.bridgeLoaded === true")
    return page


@pytest.fixture(scope="module")
def page(browser, site):
    page = open_page(browser, site[0])
    yield page
    page.close()


@pytest.fixture(scope="module")
def webgpu_page(browser, chromium_path, site):
    """A page in a second Chromium with --enable-unsafe-webgpu, which gives a SwiftShader (CPU) adapter here."""
    webgpu_browser = browser.browser_type.launch(executable_path=chromium_path,
                                                 args=[*CHROMIUM_ARGS, "--enable-unsafe-webgpu"])
    page = open_page(webgpu_browser, site[0])
    page.set_default_timeout(WEBGPU_TIMEOUT_MS)
    adapter = page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())")
    if not adapter:
        webgpu_browser.close()
        pytest.skip(f"{chromium_path} offers no WebGPU adapter even with --enable-unsafe-webgpu")
    yield page
    webgpu_browser.close()


def run_steps(page, prompt_ids, provider: str, model: str = "model", ort_build: str | None = None,
              next_ids: list[int] = NEXT_IDS) -> dict:
    return page.evaluate("(options) => runSteps(options)", {
        "modelUrl": f"/{model}/model.onnx", "provider": provider, "prompt": prompt_ids, "nextIds": next_ids,
        "ortBuild": ort_build})


def assert_logits_equal_numpy(result: dict, model, prompt_ids, next_ids: list[int] = NEXT_IDS) -> None:
    full = model.forward(prompt_ids + next_ids)  # [pos, V]
    assert len(result["logits"]) == 1 + len(next_ids)
    for step, logits in enumerate(result["logits"]):
        expected = full[len(prompt_ids) - 1 + step]
        assert np.abs(np.asarray(logits, dtype=np.float32) - expected).max() <= FLOAT32_TOLERANCE


def test_wasm_session_returns_the_numpy_logits_at_prefill_and_every_decode_step(page, site, tiny_model):
    ids = tiny_model.encode(PROMPT)
    result = run_steps(page, ids, "wasm")
    assert result["provider"] == "wasm" and result["ortBuild"] == "ort.wasm.min.mjs"
    assert result["length"] == len(ids) + len(NEXT_IDS)
    assert_logits_equal_numpy(result, tiny_model, ids)

    total = sum(shard["bytes"] for shard in read_manifest(site[1] / "model")["shards"])
    assert result["lastProgress"] == [total, total]

    trace = tiny_model.run_with_trace(ids + NEXT_IDS)
    expected = np.stack([trace[f"blocks.{layer}.attn.hook_pattern"][:, -1, :]
                         for layer in range(tiny_model.config.n_layer)])  # [n_layer, h, ctx]
    assert np.abs(np.asarray(result["attention"][-1], dtype=np.float32) - expected.ravel()).max() <= 1e-5


def test_the_wasm_cache_kept_in_js_grows_over_many_steps(page, tiny_model):
    """The wasm bridge keeps the KV cache in JS buffers that grow: 2 prompt tokens, then 30 steps one by one."""
    ids = tiny_model.encode(PROMPT * 2)[:32]
    result = run_steps(page, ids[:2], "wasm", next_ids=ids[2:])
    assert result["length"] == 32
    assert_logits_equal_numpy(result, tiny_model, ids[:2], next_ids=ids[2:])


def test_wasm_session_reads_float16_shards_like_the_numpy_model_does(page, site, tiny_model):
    ids = tiny_model.encode(PROMPT)
    result = run_steps(page, ids, "wasm", model="model16")
    rounded = load_model_from_shards(site[1] / "model16")  # NumPy on the same float16 weights
    assert_logits_equal_numpy(result, rounded, ids)


def test_wasm_session_reads_int8_shards_like_the_numpy_model_does(page, site, tiny_model):
    ids = tiny_model.encode(PROMPT)
    result = run_steps(page, ids, "wasm", model="model8")
    dequantized = load_model_from_shards(site[1] / "model8")  # NumPy on the same int8 weights and scales
    assert_logits_equal_numpy(result, dequantized, ids)
    full = tiny_model.forward(ids)[len(ids) - 1]
    assert np.abs(np.asarray(result["logits"][0], dtype=np.float32) - full).max() > 0.01  # not the float32 weights


def test_webgpu_session_reads_int8_shards_like_the_numpy_model_does(webgpu_page, site, tiny_model):
    ids = tiny_model.encode(PROMPT)
    result = run_steps(webgpu_page, ids, "webgpu", model="model8")
    assert result["provider"] == "webgpu"
    assert_logits_equal_numpy(result, load_model_from_shards(site[1] / "model8"), ids)


def test_webgpu_session_returns_the_numpy_logits(webgpu_page, tiny_model):
    ids = tiny_model.encode(PROMPT)
    result = run_steps(webgpu_page, ids, "webgpu")
    assert result["provider"] == "webgpu"
    assert result["ortBuild"] == "ort.jspi.min.mjs"  # Chromium has JSPI: the smaller WebGPU build
    assert_logits_equal_numpy(result, tiny_model, ids)


def test_webgpu_without_jspi_runs_the_asyncify_build_equally(webgpu_page, tiny_model):
    """What browsers with WebGPU but without WebAssembly JSPI load (ortBuildFor picks it there)."""
    ids = tiny_model.encode(PROMPT)
    result = run_steps(webgpu_page, ids, "webgpu", ort_build="ort.webgpu.min.mjs")
    assert result["provider"] == "webgpu" and result["ortBuild"] == "ort.webgpu.min.mjs"
    assert_logits_equal_numpy(result, tiny_model, ids)


SESSION_API = """async (ids) => {
  const gpt2 = await bridge.createSession({ modelUrl: '/model/model.onnx', provider: 'wasm' });
  const out = { config: gpt2.manifest.config, vocabBytes: gpt2.fileBytes(gpt2.manifest.tokenizer.vocab).byteLength,
                manifestBytes: gpt2.fileBytes('manifest.json').byteLength };
  try { gpt2.fileBytes('weights-00000.bin'); } catch (error) { out.shardError = error.message; }
  const keeping = await bridge.createSession({ modelUrl: '/model/model.onnx', provider: 'wasm', keepShards: true });
  out.keptShardBytes = keeping.fileBytes('weights-00000.bin').byteLength;
  await keeping.release();
  gpt2.reset();
  await gpt2.feed(ids.slice(0, -1));
  out.logits = Array.from(await gpt2.feed(ids.slice(-1)));
  try { await gpt2.feed([gpt2.nVocab]); } catch (error) { out.badIdError = error.message; }
  out.attentionDims = gpt2.attentionDims;
  out.length = gpt2.length;
  gpt2.reset();
  out.lengthAfterReset = gpt2.length;
  await gpt2.release();
  return out;
}"""


def test_the_session_api_that_pyodide_python_calls(page, site, tiny_model):
    """What gpt2_core.onnx_runtime calls through pyodide.ffi: manifest, fileBytes (OnnxGPT2.numpy_model reads
    the shards through it), reset, feed, attention."""
    ids = tiny_model.encode(PROMPT)
    out = page.evaluate(SESSION_API, ids)
    assert out["config"]["n_embd"] == tiny_model.config.n_embd
    assert out["vocabBytes"] == (site[1] / "model" / "vocab.json").stat().st_size
    assert out["manifestBytes"] == (site[1] / "model" / "manifest.json").stat().st_size
    assert "keepShards" in out["shardError"]  # shards are dropped once onnxruntime holds the weights...
    assert out["keptShardBytes"] == (site[1] / "model" / "weights-00000.bin").stat().st_size  # ...unless kept
    assert np.abs(np.asarray(out["logits"], dtype=np.float32) - tiny_model.forward(ids)[-1]).max() <= FLOAT32_TOLERANCE
    assert out["attentionDims"] == [tiny_model.config.n_layer, tiny_model.config.n_head, len(ids)]
    assert (out["length"], out["lengthAfterReset"]) == (len(ids), 0)  # the refused id left the cache alone
    assert f"token id {tiny_model.config.n_vocab} is outside the vocabulary" in out["badIdError"]


def test_auto_provider_falls_back_to_wasm_without_a_webgpu_adapter(page, tiny_model):
    assert page.evaluate("async () => !!(navigator.gpu && await navigator.gpu.requestAdapter())") is False
    assert page.evaluate("() => bridge.pickProvider('auto')") == "wasm"
    result = run_steps(page, tiny_model.encode("Hello"), "auto")
    assert result["provider"] == "wasm"


def test_asking_for_webgpu_without_an_adapter_says_so(page):
    message = page.evaluate("() => openingError({modelUrl: '/model/model.onnx', provider: 'webgpu'})")
    assert "no WebGPU adapter" in message


def test_a_missing_model_file_gives_a_clear_error(page, site):
    message = page.evaluate("() => openingError({modelUrl: '/no-such-model/model.onnx', provider: 'wasm'})")
    assert "404" in message and "missing model file" in message
    assert f"{site[0]}/no-such-model/" in message


def test_a_failed_fetch_gives_a_clear_error(page):
    message = page.evaluate("() => openingError({modelUrl: 'http://127.0.0.1:9/model.onnx', provider: 'wasm'})")
    assert message.startswith("cannot fetch") and "127.0.0.1:9" in message


def test_a_corrupt_shard_is_refused_by_its_sha256(page, site):
    corrupt = read_manifest(site[1] / "corrupt")["shards"][2]["file"]
    message = page.evaluate("() => openingError({modelUrl: '/corrupt/model.onnx', provider: 'wasm'})")
    assert corrupt in message and "sha256" in message


def test_a_browser_without_webassembly_is_told_so(browser, site):
    page = open_page(browser, site[0], init_script="delete globalThis.WebAssembly")
    try:
        message = page.evaluate("() => openingError({modelUrl: '/model/model.onnx'})")
        assert "no WebAssembly" in message
    finally:
        page.close()
