"""Benchmark the ONNX fast path on GPT-2-small shapes: onnxruntime vs PyTorch eager, the browser vs native.

One thread everywhere, random weights, the float16-stored graph that the site ships (it computes in
float32). Medians of many steps, measured in rounds that alternate between the runtimes so that
load from other processes hits both alike; ratios are taken within this run. Goals (issue 3):

- onnxruntime KV decode at context 64 and 512 <= 0.5x PyTorch eager (transformers, KV cache)
- prefill of 64 tokens: printed against PyTorch eager (no goal set)
- onnxruntime-web (wasm, headless Chromium) decode <= 2.5x native onnxruntime on the same graph
- what a browser downloads for GPT-2 small (weight shards + graph + runtime files) <= 265 MB

    python scripts/bench_onnx.py [--steps 16] [--rounds 3] [--no-browser]
"""

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse
import functools
import gzip
import http.server
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
ASSETS = REPO_ROOT / "assets"
ORT_DIST = ASSETS / "node_modules" / "onnxruntime-web" / "dist"
# What the bridge loads per provider (see ORT_BUILDS in assets/ort_bridge.mjs).
RUNTIME_FILES = {
    "wasm": ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"],
    "webgpu, JSPI": ["ort.jspi.min.mjs", "ort-wasm-simd-threaded.jspi.mjs", "ort-wasm-simd-threaded.jspi.wasm"],
    "webgpu, asyncify": ["ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
                         "ort-wasm-simd-threaded.asyncify.wasm"],
}
CONTEXTS = (64, 512)
PREFILL_TOKENS = 64
DECODE_GOAL, BROWSER_GOAL, DOWNLOAD_GOAL_MB = 0.5, 2.5, 265


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


# -- PyTorch eager (transformers) --------------------------------------------------------------------------

class TorchRunner:
    def __init__(self, checkpoint: Path):
        import torch
        from transformers import GPT2LMHeadModel
        from transformers.utils import logging as hf_logging

        torch.set_num_threads(1)
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.torch = torch
        self.model = GPT2LMHeadModel.from_pretrained(checkpoint, attn_implementation="eager").eval()

    def prefill_seconds(self, ids) -> float:
        with self.torch.inference_mode():
            return timed(lambda: self.model(self.torch.tensor([ids]), use_cache=True))

    def decode_seconds(self, ids, steps: int) -> list[float]:
        with self.torch.inference_mode():
            past = self.model(self.torch.tensor([ids]), use_cache=True).past_key_values
            times = []
            for step in range(steps):
                start = time.perf_counter()
                past = self.model(self.torch.tensor([[step + 1]]), past_key_values=past, use_cache=True).past_key_values
                times.append(time.perf_counter() - start)
        return times


# -- onnxruntime (CPython), through the runtime the project ships ------------------------------------------

class OnnxRunner:
    def __init__(self, directory: Path):
        from transformer_explainer.gpt2_core.onnx_runtime import OnnxGPT2

        self.model = OnnxGPT2.from_directory(directory, threads=1)

    def prefill_seconds(self, ids) -> float:
        return timed(lambda: self.model.start_session(len(ids)).feed(ids))

    def decode_seconds(self, ids, steps: int) -> list[float]:
        session = self.model.start_session(len(ids) + steps)
        session.feed(ids)
        return [timed(lambda: session.feed([step + 1])) for step in range(steps)]


# -- onnxruntime-web (wasm) in headless Chromium, through the bridge the site ships -----------------------

OPEN_SESSION = """async () => {
  const bridge = await import('/assets/ort_bridge.mjs');
  const started = performance.now();
  window.gpt2 = await bridge.createSession({ modelUrl: '/model/model.onnx', provider: 'wasm', threads: 1 });
  return { provider: window.gpt2.provider, seconds: (performance.now() - started) / 1000 };
}"""

PREFILL = """async (ids) => {
  const start = performance.now();
  await window.gpt2.prefill(ids);
  return (performance.now() - start) / 1000;
}"""

DECODE = """async ({ ids, steps }) => {
  await window.gpt2.prefill(ids);
  const times = [];
  for (let step = 0; step < steps; step++) {
    const start = performance.now();
    await window.gpt2.decodeStep(step + 1);
    times.push((performance.now() - start) / 1000);
  }
  return times;
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


class BrowserRunner:
    """A page in headless Chromium holding one bridge session (wasm, 1 thread) on the exported graph."""

    def __init__(self, model_dir: Path):
        from playwright.sync_api import sync_playwright

        sys.path.insert(0, str(REPO_ROOT / "tests"))
        from conftest import CHROMIUM_ARGS, find_chromium

        chromium = find_chromium()
        if chromium is None:
            raise RuntimeError("no system Chromium (apt-get install -y chromium)")
        self.site = tempfile.TemporaryDirectory()
        (Path(self.site.name) / "assets").symlink_to(ASSETS)
        (Path(self.site.name) / "model").symlink_to(model_dir)
        (Path(self.site.name) / "index.html").write_text("<!doctype html><title>bench</title>")
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      functools.partial(QuietHandler, directory=self.site.name))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        self.page = self.browser.new_page()
        self.page.set_default_timeout(600_000)
        self.page.goto(f"http://127.0.0.1:{self.server.server_port}/index.html")
        opened = self.page.evaluate(OPEN_SESSION)
        self.provider, self.session_seconds = opened["provider"], opened["seconds"]

    def prefill_seconds(self, ids) -> float:
        return self.page.evaluate(PREFILL, ids)

    def decode_seconds(self, ids, steps: int) -> list[float]:
        return self.page.evaluate(DECODE, {"ids": ids, "steps": steps})

    def close(self) -> None:
        self.browser.close()
        self.playwright.stop()
        self.server.shutdown()
        self.site.cleanup()


# -- download size -----------------------------------------------------------------------------------------

def gzipped_runtime_bytes(provider: str) -> int:
    """The runtime files' size over the wire where the host gzips them (most static hosts do for .wasm/.mjs)."""
    return sum(len(gzip.compress((ORT_DIST / name).read_bytes(), compresslevel=6)) for name in RUNTIME_FILES[provider])


def download_bytes(model_dir: Path, provider: str) -> dict[str, int]:
    from transformer_explainer.gpt2_core.shards import read_manifest, total_shard_bytes

    return {
        "weight shards": total_shard_bytes(read_manifest(model_dir)),
        "graph (model.onnx)": (model_dir / "model.onnx").stat().st_size,
        f"onnxruntime-web ({provider})": sum((ORT_DIST / name).stat().st_size for name in RUNTIME_FILES[provider]),
        "bridge (ort_bridge.mjs)": (ASSETS / "ort_bridge.mjs").stat().st_size,
    }


def streaming_bandwidth(repeats: int = 7) -> float:
    """Bytes per second one core streams float32 weights through a matrix-vector product (NumPy's BLAS):
    what bounds any one-thread decode step, which must read every weight once."""
    weights = np.random.default_rng(0).standard_normal((768, 50257), dtype=np.float32)
    x = np.ones(768, dtype=np.float32)
    return weights.nbytes / min(timed(lambda: x @ weights) for _ in range(repeats))


def weights_read_per_decode_step(model_dir: Path) -> int:
    """float32 bytes of every weight a decode step reads (all of them but the other rows of wpe)."""
    from transformer_explainer.gpt2_core.shards import read_manifest

    return 4 * sum(int(np.prod(t["shape"])) for t in read_manifest(model_dir)["tensors"] if t["name"] != "wpe")


def measure(runners: dict, rounds: int, steps: int) -> tuple[dict, dict]:
    """Median decode-step time per (runtime, context) and prefill time per runtime, the runtimes taking
    turns in each round so that load from other processes falls on all of them alike."""
    rng = np.random.default_rng(0)
    prompts = {context: rng.integers(0, 50000, context).tolist() for context in CONTEXTS}
    decode = {(name, context): [] for name in runners for context in CONTEXTS}
    prefill = {name: [] for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            prefill[name].append(runner.prefill_seconds(prompts[PREFILL_TOKENS]))
            for context in CONTEXTS:
                decode[name, context] += runner.decode_seconds(prompts[context], steps)
    return ({key: statistics.median(times) for key, times in decode.items()},
            {name: statistics.median(times) for name, times in prefill.items()})


def report_native(decode: dict, prefill: dict, floor_seconds: float, bandwidth: float) -> None:
    print("\nnative onnxruntime vs PyTorch eager (KV cache)")
    for context in CONTEXTS:
        ratio = decode["onnx", context] / decode["torch", context]
        print(f"  decode at context {context:>3}: onnxruntime {decode['onnx', context] * 1e3:6.1f} ms/token, "
              f"PyTorch {decode['torch', context] * 1e3:6.1f} ms/token -> {ratio:.2f}x "
              f"(goal <= {DECODE_GOAL}x: {verdict(ratio <= DECODE_GOAL)})")
    print(f"  bound: a float32 decode step reads every weight once; at the {bandwidth / 1e9:.1f} GB/s one core "
          f"streams here that takes >= {floor_seconds * 1e3:.1f} ms/token, "
          f"{floor_seconds / decode['torch', CONTEXTS[0]]:.2f}x PyTorch at context {CONTEXTS[0]}")
    print(f"  prefill of {PREFILL_TOKENS} tokens: onnxruntime {prefill['onnx'] * 1e3:6.1f} ms, PyTorch "
          f"{prefill['torch'] * 1e3:6.1f} ms -> {prefill['onnx'] / prefill['torch']:.2f}x (no goal set)")


def report_browser(browser: BrowserRunner, decode: dict, prefill: dict) -> None:
    print(f"\nonnxruntime-web ({browser.provider}, 1 thread) in headless Chromium vs native onnxruntime, "
          f"same graph, same rounds (session opened in {browser.session_seconds:.1f} s)")
    for context in CONTEXTS:
        ratio = decode["browser", context] / decode["onnx", context]
        print(f"  decode at context {context:>3}: browser {decode['browser', context] * 1e3:6.1f} ms/token, native "
              f"{decode['onnx', context] * 1e3:6.1f} ms/token -> {ratio:.2f}x "
              f"(goal <= {BROWSER_GOAL}x: {verdict(ratio <= BROWSER_GOAL)})")
    print(f"  prefill of {PREFILL_TOKENS} tokens: browser {prefill['browser'] * 1e3:6.0f} ms, "
          f"native {prefill['onnx'] * 1e3:6.0f} ms")


def report_download(model_dir: Path, real_tokenizer: bool) -> None:
    print("\nwhat a browser downloads for GPT-2 small (float16 weights), per onnxruntime-web build")
    for build in RUNTIME_FILES:
        parts = download_bytes(model_dir, build)
        total = sum(parts.values())
        details = ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in parts.items())
        print(f"  {build:>16}: {total / 1e6:.1f} MB ({total / 2**20:.1f} MiB) = {details} "
              f"(goal <= {DOWNLOAD_GOAL_MB} MB: {verdict(total / 1e6 <= DOWNLOAD_GOAL_MB)})")
        runtime = parts[f"onnxruntime-web ({build})"]
        over_the_wire = total - runtime + gzipped_runtime_bytes(build)
        print(f"  {'':>16}  {over_the_wire / 1e6:.1f} MB over the wire where the host gzips the runtime files "
              f"(the weight shards counted as they are)")
    tokenizer = sum((model_dir / name).stat().st_size for name in ("vocab.json", "merges.txt"))
    which = "GPT-2's" if real_tokenizer else "a tiny stand-in BPE's (GPT-2's files were not found)"
    print(f"  plus the tokenizer: vocab.json + merges.txt, {tokenizer / 1e6:.2f} MB ({which}), "
          f"which the NumPy path needs as well")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=16, help="decode steps per round and context")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of PyTorch and onnxruntime")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium measurement")
    args = parser.parse_args()

    import onnxruntime
    import torch

    from transformer_explainer.gpt2_core import GPT2Config, load_model
    from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint
    from transformer_explainer.gpt2_core.onnx_export import export_onnx

    real_tokenizer = Path(os.environ.get("TE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "gpt2-tokenizer"
    with tempfile.TemporaryDirectory(prefix="bench-onnx-") as temporary:  # ~0.7 GB of checkpoint and shards
        work = Path(temporary)
        checkpoint = write_random_checkpoint(work / "checkpoint", GPT2Config(), seed=0,  # GPT-2 small's shapes
                                             tokenizer_dir=real_tokenizer if real_tokenizer.is_dir() else None)
        model_dir = export_onnx(load_model(checkpoint), work / "onnx", dtype="float16").parent
        print(f"GPT-2 small shapes, random weights, float16-stored graph, 1 thread; onnxruntime "
              f"{onnxruntime.__version__}, torch {torch.__version__}; medians over {args.rounds} alternating rounds")

        runners = {"torch": TorchRunner(checkpoint), "onnx": OnnxRunner(model_dir)}
        browser_skipped = ("--no-browser" if args.no_browser else
                           "assets/node_modules is missing (npm ci --prefix assets)" if not ORT_DIST.is_dir() else "")
        if not browser_skipped:
            runners["browser"] = BrowserRunner(model_dir)
        try:
            decode, prefill = measure(runners, args.rounds, args.steps)
        finally:
            if "browser" in runners:
                runners["browser"].close()
        bandwidth = streaming_bandwidth()
        report_native(decode, prefill, weights_read_per_decode_step(model_dir) / bandwidth, bandwidth)
        if browser_skipped:
            print(f"\nheadless Chromium: skipped, {browser_skipped}")
        else:
            report_browser(runners["browser"], decode, prefill)

        if ORT_DIST.is_dir():
            report_download(model_dir, real_tokenizer.is_dir())


if __name__ == "__main__":
    main()
