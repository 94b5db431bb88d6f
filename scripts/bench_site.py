"""Benchmark the static site in headless Chromium against the goals of issue 19, each printed with met or MISSED.

Builds a site (`build.py`) for a GPT-2-small-shaped random checkpoint (n_ctx 1,024) with the real tokenizer (or
--model, e.g. the real GPT-2 where its weights are available), serves it with `build.py serve`'s server (gzip and
cross-origin isolation, as `python build.py serve` does), and measures:

- boot, cold (a new browser context each time, so no cache of any kind), --runs times, medians: page load -> live
  app, beside the floor measured in the same run, the same browser, from the same folder: Pyodide + NumPy alone
  in a worker (goal: live <= 6 s and <= 2.5x the floor); each step's own time as the page's workers report it;
- what any Panel app here cannot avoid, in a bare worker alone in the browser: Pyodide with the site's packages,
  then the model's weights as float16 arrays, then Panel and Bokeh imported (the time, and the memory after each);
- bytes of a first visit (goal <= 265 MB float16 / 135 MB int8) and of a second one (no model bytes);
- a prompt -> the picture updated, 16 and 256 tokens (goals <= 0.5 s, <= 3 s); temperature -> chart;
- a 1,000-token prompt -> done in the site, with the progress line seen (goal <= 45 s);
- the traced pass alone in the worker, 16 / 64 / 256 tokens;
- memory of the whole page before and after the first Generate (goals <= 600 / 800 MB), by
  performance.measureUserAgentSpecificMemory() (the page is cross-origin isolated; the main thread, its workers
  and their WebAssembly memories), and after generating where onnxruntime-web does not fit (a device reporting
  4 GB, as a phone: Generate stays on the NumPy model);
- generation to 256 tokens in the worker: onnxruntime-web (goal >= 30 tokens/s) and the NumPy KV cache (>= 12);
- a second visit with every request refused: the app goes live from the service worker's cache;
- the float16 notice: the page's text beside what the build printed.

    python scripts/bench_site.py [--model DIR_OR_ID] [--quantize int8] [--runs 3] [--site DIR] [--keep DIR]

(--site reuses a built site; --keep builds into DIR and keeps it.) Numbers vary with other work on the machine: the
ratios to the floor measured in the same run are what compare.
"""

from __future__ import annotations

import argparse
import json
import re
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

GOALS = {"live_s": 6.0, "live_ratio": 2.5, "first_visit_mb": 265, "first_visit_int8_mb": 135, "precomputed_s": 2.0,
         "prompt_16_s": 0.5, "prompt_256_s": 3.0, "long_prompt_s": 45.0, "slider_s": 0.150, "memory_before_mb": 600,
         "memory_after_mb": 800, "onnx_tokens_per_s": 30, "numpy_tokens_per_s": 12}
# measureUserAgentSpecificMemory answers at the next garbage collection unless told to measure at once
BENCH_ARGS = [*CHROMIUM_ARGS, "--enable-blink-features=ForceEagerMeasureMemory"]
SENTENCES = ["The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat by the door",
             "In the beginning there was nothing but darkness, and then a single light appeared far away",
             "Students often ask why attention heads look back at the first token of every sentence they read",
             "Every layer adds something to the residual stream, which carries information forward to the end",
             "On Monday morning the train was late again, so everyone arrived at work well after nine o'clock"]
# Each step of the boot as the page's workers mark it (worker.mjs, fetcher.mjs, app/browser.py): (name, from, to)
BOOT_STEPS = [
    ("workers started", None, "worker.run"),
    ("Pyodide and its packages (loadPyodide)", "python.running", "python.done"),
    ("our wheels written", "packages.running", "packages.wheels"),
    ("weights downloaded (own thread)", "weights.fetching", "weights.fetched"),
    ("import the app", "app.running", "boot.app_imported"),
    ("import Panel (+ Bokeh)", "boot.app_imported", "boot.panel_imported"),
    ("load the model", "boot.layout_imported", "boot.model_loaded"),
    ("build the app", "boot.model_loaded", "boot.app_built"),
    ("write its document", "boot.app_built", "boot.document_written"),
    ("the page draws it", "app.done", "page.live"),
]
FLOOR_PAGE = """<!DOCTYPE html><script type="module">
const worker = new Worker('__floor.mjs', { type: 'module' });
worker.onmessage = () => { window.__floor = performance.now(); };
</script>"""
FLOOR_WORKER = """const { loadPyodide } = await import('./pyodide/pyodide.mjs');
const pyodide = await loadPyodide({ indexURL: new URL('./pyodide/', self.location.href).href });
await pyodide.loadPackage(['numpy'], { messageCallback: () => {} });
pyodide.runPython('import numpy');
postMessage('done');"""
ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}

# What no Panel app in this browser can avoid, in a bare worker from the site's folder, a step at a time (the page
# measures the memory between steps): Pyodide with the site's packages; then the model's weights as float16 NumPy
# arrays (their bytes, no model); then Panel and Bokeh imported (their wheels written first, not timed).
BARE_PAGE = """<!DOCTYPE html><script type="module">
window.bare = new Worker('__bare.mjs', { type: 'module' });
bare.onmessage = (event) => {
  window.__bare = { ...event.data, since: ((event.data.at ?? 0) - performance.timeOrigin) / 1000 }; };
</script>"""
BARE_WORKER = """const { loadPyodide } = await import('./pyodide/pyodide.mjs');
const config = await (await fetch('./__config.json')).json();
const pyodide = await loadPyodide({ indexURL: new URL('./pyodide/', self.location.href).href,
                                    packages: config.pyodide.packages });
pyodide.runPython('import numpy');
postMessage({ step: 'pyodide', at: performance.timeOrigin + performance.now() });
const steps = [
  async () => {
    const bytes = config.model.files.filter((f) => f.name.endsWith('.bin')).reduce((sum, f) => sum + f.bytes, 0);
    pyodide.runPython(`import numpy\\nweights = [numpy.ones(${bytes} // 2 // 8, numpy.float16) for _ in range(8)]`);
    return { step: 'weights', mb: bytes / 1e6 };
  },
  async () => {
    for (const wheel of config.wheels) {
      const bytes = new Uint8Array(await (await fetch(`./${config.wheel_folder}/${wheel.name}`)).arrayBuffer());
      pyodide.FS.writeFile(`/tmp/${wheel.name}`, bytes);
      pyodide.runPython(`import site, zipfile\\nzipfile.ZipFile('/tmp/${wheel.name}').extractall(site.getsitepackages()[0])`);
    }
    const start = performance.now();
    pyodide.runPython('import panel, bokeh.models');
    return { step: 'panel', seconds: (performance.now() - start) / 1000 };
  },
];
onmessage = async () => {
  try { postMessage(await steps.shift()()); } catch (error) { postMessage({ step: 'error', error: String(error) }); }
};"""


def verdict(value: float, goal: float, lower_is_better: bool = True) -> str:
    met = value <= goal if lower_is_better else value >= goal
    return f"goal {'<=' if lower_is_better else '>='} {goal:g}: {'met' if met else 'MISSED'}"


def small_shaped_checkpoint(directory: Path, tokenizer_dir: Path) -> Path:
    from transformer_explainer.gpt2_core import GPT2Config
    from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint

    return write_random_checkpoint(directory, GPT2Config(), seed=0, tokenizer_dir=tokenizer_dir)


def build(model: str, out: Path, pyodide_dir: Path, quantize: str | None) -> str:
    command = [sys.executable, str(REPO / "build.py"), "--model", model, "--out", str(out),
               "--pyodide-dir", str(pyodide_dir), *(["--quantize", quantize] if quantize else [])]
    started = time.perf_counter()
    result = subprocess.run(command, check=True, cwd=REPO, capture_output=True, text=True)
    print(result.stdout, end="")
    print(f"build: {time.perf_counter() - started:.0f} s")
    return result.stdout


def prompt_of(n_tokens: int, tokenizer) -> tuple[str, list[int]]:
    """A text of exactly ``n_tokens`` tokens of the site's tokenizer, from the sentences over and over."""
    words = " ".join(SENTENCES * (4 * n_tokens // 60 + 2)).split(" ")
    low, high = 1, len(words)
    while low < high:  # the fewest words that reach n_tokens tokens
        middle = (low + high) // 2
        if len(tokenizer.encode(" ".join(words[:middle]))) >= n_tokens:
            high = middle
        else:
            low = middle + 1
    ids = tokenizer.encode(" ".join(words[:low]))[:n_tokens]
    text = tokenizer.decode(ids)
    return text, tokenizer.encode(text)


class Visit:
    """One page load in ``context``; counts the bytes of every response (page and workers) as transferred."""

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
        self.bytes["model" if "/model/" in request.url else "other"] += max(size, 0)

    def wait_live(self) -> dict:
        self.page.wait_for_function("() => document.body.dataset.live === 'true' || !!(window.__te_site||{}).error",
                                    timeout=300_000)
        state = self.page.evaluate("() => ({precomputedAt: window.__te_site.precomputedAt, marks: "
                                   "window.__te_site.marks, error: window.__te_site.error})")
        if state["error"]:
            raise RuntimeError(f"the site did not start: {state['error']}")
        return state


def floor_seconds(browser, url: str) -> float:
    """Pyodide + NumPy alone, in a worker of a fresh context, from the site's own Pyodide folder."""
    context = browser.new_context()
    page = context.new_page()
    page.route(url + "__floor.html", lambda route: route.fulfill(body=FLOOR_PAGE, content_type="text/html",
                                                                 headers=ISOLATION))
    page.route(url + "__floor.mjs", lambda route: route.fulfill(body=FLOOR_WORKER, content_type="text/javascript",
                                                                headers=ISOLATION))
    page.goto(url + "__floor.html")
    page.wait_for_function("() => window.__floor !== undefined", timeout=120_000)
    seconds = page.evaluate("() => window.__floor") / 1000
    context.close()
    return seconds


def boot_steps(marks: dict) -> dict[str, float]:
    steps = {}
    for name, start, end in BOOT_STEPS:
        if end in marks and (start is None or start in marks):
            steps[name] = (marks[end] - (marks[start] if start else 0)) / 1000
    return steps


INSTRUMENT_JS = """() => {
  window.__bench = { changed: null, painted: null };
  for (const model of Bokeh.documents[0]._all_models.values()) {
    if (model.name !== 'picture-token-source' || model.__bench) continue;
    model.__bench = true;
    model.properties.data.change.connect(() => {
      window.__bench.changed = performance.now();
      requestAnimationFrame(() => requestAnimationFrame(() => { window.__bench.painted = performance.now(); }));
    });
  }
}"""


def measure_prompt(page, text: str, last_id: int, timeout_ms: int = 120_000) -> float:
    """Run -> the picture shows the prompt's last token, painted (seconds from the click)."""
    type_prompt(page, text, submit=False)
    page.evaluate(INSTRUMENT_JS)
    page.evaluate("() => { window.__bench.changed = null; window.__bench.painted = null; }")
    button = find(page, ".te-run button")
    start = page.evaluate("() => performance.now()")
    button.click()
    page.wait_for_function("""(last) => { const d = window.__te_data('picture-token-source', ['token_id']);
        return d && window.__te_array(d.token_id).filter((v) => v >= 0).slice(-1)[0] === last
               && window.__bench.painted !== null && window.__bench.painted >= window.__bench.changed; }""",
                           arg=last_id, timeout=timeout_ms, polling=20)
    return (page.evaluate("() => window.__bench.painted") - start) / 1000


def measure_slider(page, temperature: float) -> float:
    return page.evaluate("""async (t) => {
      let source = null, slider = null;
      for (const m of Bokeh.documents[0]._all_models.values()) {
        if (m.name === 'picture-probability-source') source = m;
        if ((m.css_classes || []).includes('te-temperature')) slider = m;
      }
      const done = new Promise((resolve) => source.properties.data.change.connect(() =>
        requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())))));
      const start = performance.now();
      slider.value = t;
      return ((await done) - start) / 1000;
    }""", temperature)


def renderer_memory_mb(browser) -> float:
    """The memory of the browser's renderer processes (the page, its workers and their WebAssembly memories live
    in them), from the process ids CDP's SystemInfo.getProcessInfo names: their proportional set size (shared
    library pages divided among the processes that map them) in /proc/<pid>/smaps_rollup."""
    session = browser.new_browser_cdp_session()
    processes = session.send("SystemInfo.getProcessInfo")["processInfo"]
    session.detach()
    total = 0
    for process in processes:
        if process["type"] != "renderer":
            continue
        try:
            rollup = Path(f"/proc/{process['id']}/smaps_rollup").read_text()
        except OSError:
            continue
        total += int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)[1]) * 1024
    return total / 1e6


def page_memory_mb(page) -> float | None:
    result = page.evaluate("""async () => {
        if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) return null;
        return (await performance.measureUserAgentSpecificMemory()).bytes; }""")
    return None if result is None else result / 1e6


def report_memory(when: str, page, browser, goal: float, met: dict, key: str) -> None:
    """Both measures: the page's own (measureUserAgentSpecificMemory: the JavaScript heaps of the page and its
    workers; it leaves out most of the workers' WebAssembly memory here) and the renderer processes' (PSS). The
    goal is judged on the larger."""
    page_mb, renderers_mb = page_memory_mb(page), renderer_memory_mb(browser)
    judged = max(page_mb or 0, renderers_mb)
    met[key] = judged <= goal
    shown = "not measurable (not cross-origin isolated)" if page_mb is None else f"{page_mb:.0f} MB"
    print(f"memory {when}: renderer processes {renderers_mb:.0f} MB (CDP SystemInfo.getProcessInfo + /proc PSS), "
          f"measureUserAgentSpecificMemory {shown}; {verdict(judged, goal)}")


def fulfil_with(body: str, kind: str):
    return lambda route: route.fulfill(body=body, content_type=kind, headers=ISOLATION)


def bare_floor(browser, url: str, site: Path) -> dict | None:
    """What a Panel app in this browser cannot avoid (BARE_WORKER), measured alone in the browser (run it before any
    other page opens: the memory is that of every renderer process, as for the site): the time to Pyodide with the
    site's packages, Panel and Bokeh's import, and the renderer processes' memory after each step."""
    from build import read_site_config  # noqa: PLC0415 (build.py, beside what writes it)

    config = json.dumps(read_site_config(site))
    context = browser.new_context()
    page = context.new_page()
    for name, body, kind in (("__bare.html", BARE_PAGE, "text/html"), ("__bare.mjs", BARE_WORKER, "text/javascript"),
                             ("__config.json", config, "application/json")):
        page.route(url + name, fulfil_with(body, kind))
    page.goto(url + "__bare.html")
    results, memory = [], []
    for step in ("pyodide", "weights", "panel"):
        if step != "pyodide":
            page.evaluate("() => { window.__bare = undefined; bare.postMessage('next'); }")
        page.wait_for_function("() => window.__bare !== undefined", timeout=300_000)
        result = page.evaluate("() => window.__bare")
        if result["step"] == "error":
            print(f"the bare worker failed: {result['error']}")
            context.close()
            return None
        time.sleep(1)  # the memory settles
        results.append(result)
        memory.append(renderer_memory_mb(browser))
    context.close()
    return {"pyodide_s": results[0]["since"], "panel_s": results[2]["seconds"], "weights_mb": results[1]["mb"],
            "memory_mb": memory}


def print_bare_floor(bare: dict | None, live: float) -> None:
    if bare is None:
        return
    pyodide_s, panel_s, memory = bare["pyodide_s"], bare["panel_s"], bare["memory_mb"]
    print(f"what a Panel app here cannot avoid (a bare worker, alone in the browser): Pyodide with the site's "
          f"packages {pyodide_s:.2f} s + Panel and Bokeh's import {panel_s:.2f} s = {pyodide_s + panel_s:.2f} s, "
          f"before any model, app or drawing (the live app: {live:.2f} s, goal <= {GOALS['live_s']:g})")
    print(f"  its memory (renderer processes, PSS): Pyodide + NumPy {memory[0]:.0f} MB; + the model's weights as "
          f"float16 arrays ({bare['weights_mb']:.0f} MB) {memory[1]:.0f} MB; + Panel and Bokeh imported "
          f"{memory[2]:.0f} MB (goal before Generate <= {GOALS['memory_before_mb']:g})")


def long_prompt(page, text: str, last_id: int) -> tuple[float, bool]:
    """Run a long prompt: seconds until the picture shows it, and whether the progress line was seen."""
    page.evaluate("""() => { window.__progress_seen = false;
        window.__progress_timer = setInterval(() => {
          for (const m of Bokeh.documents[0]._all_models.values())
            if ((m.css_classes || []).includes('te-status') && /\\d+ of \\d+|第 \\d+ 个块/.test(String(m.text || '')))
              window.__progress_seen = true;
        }, 50); }""")
    seconds = measure_prompt(page, text, last_id, timeout_ms=600_000)
    seen = page.evaluate("() => { clearInterval(window.__progress_timer); return window.__progress_seen; }")
    return seconds, seen


def generate_once(page) -> str:
    count = find(page, ".te-generate-count input")  # the first Generate loads onnxruntime-web
    count.fill("1")
    count.press("Enter")
    find(page, ".te-generate button").click()
    page.wait_for_function("() => window.__te_site.fast !== undefined", timeout=300_000)
    return page.evaluate("() => window.__te_site.fast"
                         " ? `${window.__te_site.fast}, ${window.__te_site.fastThreads} threads`"
                         " : window.__te_site.fastError")


def phone_memory(browser, url: str) -> None:
    """The page's memory after generating where onnxruntime-web does not fit (a device reporting 4 GB, as a phone
    does): Generate stays on the NumPy model's KV cache."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'deviceMemory', {get: () => 4})")
    visit = Visit(context, url)
    visit.wait_live()
    result = visit.page.evaluate("(r) => window.__te_benchmark(r)",
                                 {"what": "generate", "tokens": 256, "runtime": "numpy", "repeats": 1})
    loaded = visit.page.evaluate("() => window.__te_site.fastLoading === true")
    shown = "not measurable" if (mb := page_memory_mb(visit.page)) is None else f"{mb:.0f} MB"
    print(f"memory after generating 256 tokens where onnxruntime-web does not fit (4 GB reported; "
          f"{256 / result['seconds'][0]:.1f} tokens/s, onnxruntime-web {'LOADED' if loaded else 'not loaded'}): "
          f"renderer processes {renderer_memory_mb(browser):.0f} MB, measureUserAgentSpecificMemory {shown}")
    context.close()


def main() -> int:
    from environment import GPT2_TOKENIZER_DIR, SHARED_DIR  # noqa: PLC0415 (tests/environment.py)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a checkpoint directory or Hub id (default: GPT-2-small-shaped random)")
    parser.add_argument("--quantize", choices=["int8"], default=None)
    parser.add_argument("--pyodide-dir", type=Path, default=SHARED_DIR / "pyodide")
    parser.add_argument("--runs", type=int, default=3, help="cold boots (each beside a floor)")
    parser.add_argument("--site", type=Path, help="a site built already (skips the build)")
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from transformer_explainer.app.site_server import make_server
    from transformer_explainer.gpt2_core import Tokenizer

    print(f"bench_site.py, {time.strftime('%Y-%m-%d %H:%M')}, headless Chromium, {args.runs} cold boots")
    met: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        site = args.site
        printed = ""
        if site is None:
            model = args.model or str(small_shaped_checkpoint(scratch / "gpt2-small-shaped", GPT2_TOKENIZER_DIR))
            site = args.keep or scratch / "site"
            printed = build(model, site, args.pyodide_dir, args.quantize)
        tokenizer = Tokenizer.from_files(site / "model" / "vocab.json", site / "model" / "merges.txt")
        n_ctx = json.loads((site / "model" / "manifest.json").read_text())["config"]["n_positions"]
        server = make_server(site, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=BENCH_ARGS)

            # -- boot, cold, beside the floor ------------------------------------------------------------------
            bare = bare_floor(browser, url, site)  # first: its memory is measured with no other page open
            floors, lives, steps, visit, context = [], [], [], None, None
            for run in range(args.runs):
                floors.append(floor_seconds(browser, url))
                if context is not None:
                    context.close()
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                visit = Visit(context, url)
                state = visit.wait_live()
                lives.append(state["marks"]["page.live"] / 1000)
                steps.append(boot_steps(state["marks"]))
                print(f"  cold boot {run + 1}: floor {floors[-1]:.2f} s, live {lives[-1]:.2f} s "
                      f"({lives[-1] / floors[-1]:.1f}x)")
            floor, live = statistics.median(floors), statistics.median(lives)
            ratio = statistics.median(l / f for l, f in zip(lives, floors))
            met["live"] = live <= GOALS["live_s"] and ratio <= GOALS["live_ratio"]
            print(f"page load -> live app, cold: {live:.2f} s, {verdict(live, GOALS['live_s'])}; floor (Pyodide + "
                  f"NumPy alone, same folder and browser) {floor:.2f} s; ratio {ratio:.2f}x, "
                  f"{verdict(ratio, GOALS['live_ratio'])}")
            print("  each step's own time (median; steps overlap where they run on other threads):")
            for name, _, _ in BOOT_STEPS:
                values = [s[name] for s in steps if name in s]
                if values:
                    print(f"    {name:40s} {statistics.median(values):6.2f} s")

            print_bare_floor(bare, live)

            page = visit.page
            first_mb = sum(visit.bytes.values()) / 1e6
            goal = GOALS["first_visit_int8_mb" if args.quantize else "first_visit_mb"]
            met["first_visit"] = first_mb <= goal
            print(f"first visit: {first_mb:.1f} MB ({visit.bytes['model'] / 1e6:.1f} MB of model files), "
                  f"{verdict(first_mb, goal)}")
            precomputed = state["marks"]["page.precomputed"] / 1000
            print(f"precomputed example on screen: {precomputed:.2f} s after the page began to load, "
                  f"{verdict(precomputed, GOALS['precomputed_s'])}")

            # -- memory before Generate ------------------------------------------------------------------------
            report_memory("before the first Generate", page, browser, GOALS["memory_before_mb"], met, "memory_before")

            # -- prompts ---------------------------------------------------------------------------------------
            sixteen = []
            for i, sentence in enumerate(SENTENCES):
                ids = tokenizer.encode(sentence)[:16]
                text = tokenizer.decode(ids)
                sixteen.append((text, tokenizer.encode(text)))
            measure_prompt(page, sixteen[-1][0], sixteen[-1][1][-1])  # a first run: the picture's figures built
            times = [measure_prompt(page, text, ids[-1]) for text, ids in sixteen]
            prompt_16 = statistics.median(times)
            met["prompt_16"] = prompt_16 <= GOALS["prompt_16_s"]
            print(f"16-token prompt -> picture updated: {prompt_16:.2f} s (median of {len(times)}; "
                  f"{min(times):.2f}-{max(times):.2f}), {verdict(prompt_16, GOALS['prompt_16_s'])}")
            if n_ctx >= 256:
                text, ids = prompt_of(256, tokenizer)
                times = [measure_prompt(page, text + suffix, tokenizer.encode(text + suffix)[-1])
                         for suffix in ("", " and", " so")]
                prompt_256 = statistics.median(times)
                met["prompt_256"] = prompt_256 <= GOALS["prompt_256_s"]
                print(f"256-token prompt -> picture updated: {prompt_256:.2f} s (median of 3), "
                      f"{verdict(prompt_256, GOALS['prompt_256_s'])}")
            slider = statistics.median(measure_slider(page, t) for t in (1.3, 0.4, 1.9, 0.6, 1.1))
            print(f"temperature -> chart: {slider * 1000:.0f} ms, {verdict(slider, GOALS['slider_s'])}")
            for tokens in (16, 64, 256):
                if tokens <= n_ctx:
                    result = page.evaluate("(r) => window.__te_benchmark(r)", {"what": "trace", "tokens": tokens})
                    print(f"traced forward pass in Pyodide, {tokens} tokens: {statistics.median(result['seconds']):.2f} s")
            # -- generation ------------------------------------------------------------------------------------
            before = sum(visit.bytes.values())
            print(f"onnxruntime-web, loaded at the first Generate: {generate_once(page)}, "
                  f"{(sum(visit.bytes.values()) - before) / 1e6:.1f} MB more")
            for runtime, goal_key in (("onnx", "onnx_tokens_per_s"), ("numpy", "numpy_tokens_per_s")):
                result = page.evaluate("(r) => window.__te_benchmark(r)",
                                       {"what": "generate", "tokens": 256, "runtime": runtime, "repeats": 1})
                if "error" in result:
                    print(f"generation ({runtime}): {result['error']}")
                    met[runtime] = False
                    continue
                rate = 256 / result["seconds"][0]
                met[runtime] = rate >= GOALS[goal_key]
                print(f"generation in the browser ({'onnxruntime-web, wasm' if runtime == 'onnx' else 'NumPy KV cache'}"
                      f"), 256 tokens: {rate:.1f} tokens/s, {verdict(rate, GOALS[goal_key], False)}")
            report_memory("after Generate (onnxruntime-web loaded)", page, browser, GOALS["memory_after_mb"], met,
                          "memory_after")

            if n_ctx >= 1000:
                text, ids = prompt_of(1000, tokenizer)
                seconds, seen = long_prompt(page, text, ids[-1])
                met["long_prompt"] = seconds <= GOALS["long_prompt_s"] and seen
                print(f"1,000-token prompt -> picture updated: {seconds:.1f} s, progress line "
                      f"{'seen' if seen else 'NOT seen'}, {verdict(seconds, GOALS['long_prompt_s'])}")

            # -- the notice, a second visit, an offline visit --------------------------------------------------
            notice = re.search(r"(float16|int8) against float32 on the .*", printed)
            if notice:
                shown = page.evaluate("""() => { for (const m of Bokeh.documents[0]._all_models.values()) {
                    const t = String(m.text || ''); if (/Half-precision|Quantized model/.test(t)) return t; }
                    return null; }""")
                print(f"the build printed: {notice[0].strip()}")
                print(f"the page says: {shown!r}")
            page.wait_for_function("() => window.__te_site.offlineReady === true", timeout=120_000)
            page.close()
            second = Visit(context, url)
            second.wait_live()
            print(f"second visit: {sum(second.bytes.values()) / 1e6:.1f} MB, of which model files "
                  f"{second.bytes['model'] / 1e6:.3f} MB (goal: none)")
            second.page.close()
            refused = []
            context.route("**/*", lambda route: (refused.append(route.request.url), route.abort()))
            offline = Visit(context, url + "?lang=en")
            offline_state = offline.wait_live()
            met["offline"] = bool(refused)
            print(f"a visit with every request refused ({len(refused)} refused): live in "
                  f"{offline_state['marks']['page.live'] / 1000:.2f} s: {'met' if refused else 'MISSED'}")
            context.close()
            phone_memory(browser, url)
            browser.close()
        server.shutdown()
    print("goals: " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in met.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
