"""Benchmark the static site in headless Chromium: bytes, load times, interaction, Pyodide and generation speed.

Builds a site (`build.py`) for a GPT-2-small-shaped random checkpoint with the real tokenizer (or --model, e.g. the
real GPT-2 where its weights are available), serves it with `build.py serve`'s server (gzip, as static hosts do),
and measures, printing each number beside its goal:

- bytes of a first visit and of a second visit (the page's and its worker's responses, as transferred, until the
  live app is up and used; onnxruntime-web, loaded at the first Generate, counted apart);
  goals: first <= 265 MB (float16) / <= 135 MB (int8), second: no weight bytes;
- page load -> precomputed example drawn (goal <= 2 s) and -> live app (goal <= 20 s cold on these 2 cores);
- in the live app: a 16-token prompt -> views updated (goal <= 1.5 s) and temperature -> chart (goal <= 150 ms);
- a traced forward pass in Pyodide at 16 and 64 tokens, measured in the worker;
- generation in the worker: onnxruntime-web (wasm) and the NumPy KV cache, tokens/s up to 256 tokens
  (goal >= 25 tokens/s through onnxruntime-web);
- the page's memory (performance.measureUserAgentSpecificMemory; the site is cross-origin isolated).

    python scripts/bench_site.py [--model DIR_OR_ID] [--quantize int8] [--pyodide-dir ../shared/pyodide]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO / "tests"))

from app_server import CHROMIUM_ARGS, FIND_MODEL_JS, find, type_prompt  # noqa: E402

GOALS = {"first_visit_mb": 265, "first_visit_int8_mb": 135, "precomputed_s": 2.0, "live_s": 20.0,
         "prompt_s": 1.5, "slider_s": 0.150, "onnx_tokens_per_s": 25}
SENTENCES = ["The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat by the door",
             "In the beginning there was nothing but darkness, and then a single light appeared far away",
             "Students often ask why attention heads look back at the first token of every sentence they read",
             "Every layer adds something to the residual stream, which carries information forward to the end"]


def prompts_of(n_tokens: int, site: Path) -> list[str]:
    """The sentences cut to exactly ``n_tokens`` tokens of the site's own tokenizer."""
    from transformer_explainer.gpt2_core import Tokenizer

    tokenizer = Tokenizer.from_files(site / "model" / "vocab.json", site / "model" / "merges.txt")
    prompts = [tokenizer.decode(tokenizer.encode(sentence)[:n_tokens]) for sentence in SENTENCES]
    assert all(len(tokenizer.encode(prompt)) == n_tokens for prompt in prompts)
    return prompts


def verdict(value: float, goal: float, lower_is_better: bool = True) -> str:
    met = value <= goal if lower_is_better else value >= goal
    return f"goal {'<=' if lower_is_better else '>='} {goal:g}: {'met' if met else 'MISSED'}"


def small_shaped_checkpoint(directory: Path, tokenizer_dir: Path) -> Path:
    from transformer_explainer.gpt2_core import GPT2Config
    from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint

    return write_random_checkpoint(directory, GPT2Config(), seed=0, tokenizer_dir=tokenizer_dir)


def build(model: str, out: Path, pyodide_dir: Path, quantize: str | None) -> None:
    command = [sys.executable, str(REPO / "build.py"), "--model", model, "--out", str(out),
               "--pyodide-dir", str(pyodide_dir), *(["--quantize", quantize] if quantize else [])]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO)
    print(f"build: {time.perf_counter() - started:.0f} s")


class Visit:
    """One page load; counts the bytes of every response (page and worker) as transferred."""

    def __init__(self, context, url: str):
        self.page = context.new_page()
        self.bytes = {"model": 0, "other": 0}
        self.page.on("requestfinished", self.count)
        self.page.add_init_script(FIND_MODEL_JS)
        self.page.goto(url)

    def count(self, request) -> None:
        try:
            size = request.sizes()["responseBodySize"]
        except Exception:  # noqa: BLE001 - a request without a body
            return
        self.bytes["model" if "/model/" in request.url else "other"] += size

    def wait_live(self) -> dict:
        self.page.wait_for_function("() => document.body.dataset.live === 'true' || !!(window.__te_site||{}).error",
                                    timeout=300_000)
        state = self.page.evaluate("() => ({precomputedAt: window.__te_site.precomputedAt, liveAt: "
                                   "window.__te_site.liveAt, error: window.__te_site.error})")
        if state["error"]:
            raise RuntimeError(f"the site did not start: {state['error']}")
        return state


def measure_prompt(page, prompt: str) -> float:
    type_prompt(page, prompt, submit=False)
    page.evaluate("""() => { window.__bench_changed = null;
      for (const m of Bokeh.documents[0]._all_models.values())
        if (m.name === 'overview-token-source') m.properties.data.change.connect(() => {
          requestAnimationFrame(() => requestAnimationFrame(() => { window.__bench_changed = performance.now(); }));
        }); }""")
    start = page.evaluate("() => performance.now()")
    find(page, ".te-run button").click()
    page.wait_for_function("() => window.__bench_changed !== null", timeout=60_000)
    return (page.evaluate("() => window.__bench_changed") - start) / 1000


def measure_slider(page, temperature: float) -> float:
    return page.evaluate("""async (t) => {
      let source = null, slider = null;
      for (const m of Bokeh.documents[0]._all_models.values()) {
        if (m.name === 'overview-probability-source') source = m;
        if ((m.css_classes || []).includes('te-temperature')) slider = m;
      }
      const done = new Promise((resolve) => source.properties.data.change.connect(() =>
        requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())))));
      const start = performance.now();
      slider.value = t;
      return ((await done) - start) / 1000;
    }""", temperature)


def main() -> int:
    from environment import GPT2_TOKENIZER_DIR, SHARED_DIR  # noqa: PLC0415 (tests/environment.py)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a checkpoint directory or Hub id (default: GPT-2-small-shaped random)")
    parser.add_argument("--quantize", choices=["int8"], default=None)
    parser.add_argument("--pyodide-dir", type=Path, default=SHARED_DIR / "pyodide")
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from transformer_explainer.app.site_server import make_server

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model = args.model or str(small_shaped_checkpoint(scratch / "gpt2-small-shaped", GPT2_TOKENIZER_DIR))
        site = args.keep or scratch / "site"
        build(model, site, args.pyodide_dir, args.quantize)
        server = make_server(site, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            first = Visit(context, url)
            timings = first.wait_live()
            page = first.page
            first_mb = sum(first.bytes.values()) / 1e6
            goal = GOALS["first_visit_int8_mb" if args.quantize else "first_visit_mb"]
            print(f"first visit: {first_mb:.1f} MB ({first.bytes['model'] / 1e6:.1f} MB of model files), "
                  f"{verdict(first_mb, goal)}")
            print(f"precomputed example on screen: {timings['precomputedAt'] / 1000:.2f} s, "
                  f"{verdict(timings['precomputedAt'] / 1000, GOALS['precomputed_s'])}")
            print(f"live app (cold): {timings['liveAt'] / 1000:.1f} s, {verdict(timings['liveAt'] / 1000, GOALS['live_s'])}")

            prompt_s = statistics.median(measure_prompt(page, prompt) for prompt in prompts_of(16, site))
            print(f"16-token prompt -> views updated: {prompt_s:.2f} s, {verdict(prompt_s, GOALS['prompt_s'])}")
            slider_s = statistics.median(measure_slider(page, t) for t in (1.3, 0.4, 1.9, 0.6, 1.1))
            print(f"temperature -> chart: {slider_s * 1000:.0f} ms, {verdict(slider_s, GOALS['slider_s'])}")
            for tokens in (16, 64):
                result = page.evaluate("(r) => window.__te_benchmark(r)", {"what": "trace", "tokens": tokens})
                print(f"traced forward pass in Pyodide, {tokens} tokens: {statistics.median(result['seconds']):.2f} s")
            before = sum(first.bytes.values())
            count = find(page, ".te-generate-count input")  # the first Generate loads onnxruntime-web
            count.fill("1")
            count.press("Enter")
            find(page, ".te-generate button").click()
            page.wait_for_function("() => window.__te_site.fast !== undefined", timeout=300_000)
            print(f"onnxruntime-web, loaded at the first Generate: "
                  f"{page.evaluate('() => window.__te_site.fast || window.__te_site.fastError')}, "
                  f"{(sum(first.bytes.values()) - before) / 1e6:.1f} MB more")
            for runtime in ("onnx", "numpy"):
                result = page.evaluate("(r) => window.__te_benchmark(r)",
                                       {"what": "generate", "tokens": 256, "runtime": runtime, "repeats": 1})
                if "error" in result:
                    print(f"generation ({runtime}): {result['error']}")
                    continue
                rate = 256 / result["seconds"][0]
                goal_text = f", {verdict(rate, GOALS['onnx_tokens_per_s'], False)}" if runtime == "onnx" else ""
                print(f"generation in the browser ({'onnxruntime-web' if runtime == 'onnx' else 'NumPy KV cache'}), "
                      f"256 tokens: {rate:.1f} tokens/s{goal_text}")
            memory = page.evaluate("""async () => performance.measureUserAgentSpecificMemory ?
                                      (await performance.measureUserAgentSpecificMemory()).bytes : null""")
            print(f"page memory: {memory / 1e6:.0f} MB" if memory else "page memory: not measurable here")
            first.page.close()

            second = Visit(context, url)
            second.wait_live()
            print(f"second visit: {abs(sum(second.bytes.values())) / 1e6:.1f} MB, of which model files "
                  f"{second.bytes['model'] / 1e6:.3f} MB (goal: none)")
            browser.close()
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
