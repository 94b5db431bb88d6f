"""Benchmark the served app in a browser: GPT-2-small shapes (random weights), `transformer-explainer serve`,
headless Chromium, times measured in the page (performance.now()).

(a) prompt → every visible view updated, goal ≤ 1.5 s for a 16-token prompt. The clock starts at the
    pointerdown on "Run" (the new prompt already typed) and stops at the first frame painted after the last
    Bokeh data source this prompt changes received its new data (two requestAnimationFrame callbacks after it).
    "Every visible view": every ColumnDataSource in the page is watched (closed sections have none). Complete
    once the picture's token rows show the new prompt's ids (and, when open, the attention pattern is
    [16 × 16]) and no source changed for 0.5 s. Two cases: a realistic set, the picture + attention (one head,
    its concat/c_proj views) + output, after another 16-token prompt (views keep their sizes); the same set
    after a 2-token prompt (every [tokens × ...] view also changes size).
    The picture alone (the first screen as a page opens): goal ≤ 0.5 s for a 16-token prompt after another
    one; and ≤ 1 s when the length crosses 16 tokens (from a 2-token prompt to 16, and from 16 to 24: the
    picture draws at most 16 rows, the newest).
(b) temperature slider → bars updated, goal ≤ 100 ms: a click on the temperature slider's track (the handle
    jumps there and Panel sends the value), from its pointerdown to the first frame painted after the chart's
    source changed. Clicks alternate between low and high temperatures. Twice: the output section's slider and
    chart, and the picture's slider beside its bars.
(c) page weight and height with everything open: the bytes the page loaded (its resources' transfer sizes, and
    the document's JSON as the server sent it), and the page's height in pixels at 1440 px wide.

Medians of several repetitions; every repetition uses a different prompt or temperature. --profile runs the
server under cProfile and prints where its time went (the browser side: see the report in issue 4).

    python scripts/bench_app.py [--repeats 7] [--tokenizer-dir ../shared/gpt2-tokenizer] [--checkpoint DIR]
                                [--only prompt|slider] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "browser"))

from app_server import (CHROMIUM_ARGS, AppServer, find, open_app, open_section,  # noqa: E402
                        slider_geometry, type_prompt)

PROMPT_GOAL_S, SLIDER_GOAL_S = 1.5, 0.100
CANDIDATE_PROMPTS = [
    "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat",
    "In the beginning there was nothing but darkness, and then a single light appeared far",
    "Data visualization empowers users to understand complex models by seeing their numbers",
    "A transformer reads every token of the prompt at once and predicts the next one",
    "Students often ask why attention heads look back at the first token of a sentence",
    "The capital of France is Paris, and the capital of Germany is Berlin, of course",
    "When the rain stopped, the children ran outside to play in the puddles near school",
    "Every layer adds something to the residual stream, which carries information forward",
    "She opened the old book and found a letter that had been hidden there for decades",
    "Machine learning models learn patterns from data rather than following explicit rules",
    "On Monday morning the train was late again, so everyone arrived at work after nine",
    "Good software is tested, documented, and easy to change when the requirements move",
]

INSTRUMENT_JS = """() => {
  const bench = window.__bench = {t0: null, last_change: null, painted: null, changes: 0, by_source: {}};
  const now = () => performance.now();
  for (const model of Bokeh.documents[0]._all_models.values()) {
    if (model.type !== 'ColumnDataSource' || model.__bench) continue;
    model.__bench = true;
    model.properties.data.change.connect(() => {
      bench.changes += 1; bench.last_change = now();
      const key = model.name || model.id;
      bench.by_source[key] = (bench.by_source[key] || 0) + 1;
      requestAnimationFrame(() => requestAnimationFrame(() => { bench.painted = now(); }));
    });
  }
  document.addEventListener('pointerdown', () => { bench.t0 = now(); }, true);
  return true;
}"""

RESET_JS = """() => { const b = window.__bench; b.t0 = null; b.last_change = null; b.painted = null; b.changes = 0;
                      b.by_source = {}; return true; }"""


def make_checkpoint(directory: Path, tokenizer_dir: Path | None) -> Path:
    from transformer_explainer.gpt2_core import GPT2Config
    from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint

    start = time.perf_counter()
    path = write_random_checkpoint(directory, GPT2Config(), seed=0, tokenizer_dir=tokenizer_dir)
    print(f"wrote a GPT-2-small-shaped random checkpoint ({'GPT-2' if tokenizer_dir else 'tiny'} tokenizer) "
          f"in {time.perf_counter() - start:.1f} s")
    return path


def sixteen_token_prompts(checkpoint: Path, count: int, length: int = 16) -> list[tuple[str, list[int]]]:
    """Prompts cut to exactly ``length`` tokens (by this checkpoint's tokenizer), with their ids."""
    from transformer_explainer.gpt2_core.tokenizer import Tokenizer

    tokenizer = Tokenizer.from_files(checkpoint / "vocab.json", checkpoint / "merges.txt")
    prompts = []
    for i, text in enumerate(CANDIDATE_PROMPTS):
        ids = tokenizer.encode(f"{text}. {CANDIDATE_PROMPTS[(i + 5) % len(CANDIDATE_PROMPTS)]}")
        for cut in range(length, len(ids) + 1):  # the first cut whose text reads back as exactly ``length`` tokens
            text = tokenizer.decode(ids[:cut])
            if len(tokenizer.encode(text)) == length:
                prompts.append((text, tokenizer.encode(text)))
                break
    if len(prompts) < count + 1:
        raise SystemExit(f"only {len(prompts)} usable {length}-token prompts; ask for fewer repetitions")
    return prompts[:count + 1]


def tokenizer_ids(checkpoint: Path, text: str) -> list[int]:
    from transformer_explainer.gpt2_core.tokenizer import Tokenizer

    return Tokenizer.from_files(checkpoint / "vocab.json", checkpoint / "merges.txt").encode(text)


def wait_settled(page, ids: list[int], quiet_ms: int = 500, timeout_ms: int = 60_000, attention: bool = True,
                 tokens: str = "picture-token-source"):
    """Wait until the page shows this prompt everywhere and no source changed for ``quiet_ms``. ``tokens``: the
    source whose token_id column shows the prompt (the picture's shows the newest 16, -1 in unused rows)."""
    page.wait_for_function("""([ids, attention, name]) => {
        const tokens = window.__te_data(name, ['token_id']);
        const all = window.__te_array(tokens.token_id);
        const shown = name === 'picture-token-source' ? all.filter((v) => v >= 0) : all;
        if (name === 'picture-token-source') ids = ids.slice(-shown.length);
        if (shown.length !== ids.length || !shown.every((v, i) => v === ids[i])) return false;
        if (attention) {
          const image = window.__te_data('pattern-source', ['image']).image[0];
          if (!image.shape || image.shape[0] !== ids.length) return false;
        }
        return window.__bench.painted !== null;
      }""", arg=[ids, attention, tokens], timeout=timeout_ms)
    page.wait_for_function("""(quiet) => window.__bench.last_change !== null && window.__bench.painted !== null
                              && window.__bench.painted >= window.__bench.last_change
                              && performance.now() - window.__bench.last_change > quiet""",
                           arg=quiet_ms, timeout=timeout_ms, polling=50)


def measure_prompt(page, text: str, ids: list[int], attention: bool, tokens: str = "picture-token-source") -> dict:
    type_prompt(page, text, submit=False)
    page.evaluate(RESET_JS)
    run = find(page, ".te-run button")
    box = run.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_settled(page, ids, attention=attention, tokens=tokens)
    bench = page.evaluate("() => window.__bench")
    return {"total": (bench["painted"] - bench["t0"]) / 1000, "data": (bench["last_change"] - bench["t0"]) / 1000,
            "changes": bench["changes"], "by_source": bench["by_source"]}


def measure_slider(page, fraction: float, slider: str = ".te-temperature", chart: str = "output-source") -> dict:
    page.evaluate(RESET_JS)
    box = slider_geometry(page, slider)
    page.mouse.click(box["left"] + fraction * box["width"], box["y"])
    page.wait_for_function("""(chart) => { const b = window.__bench;
        return b.by_source[chart] > 0 && b.painted !== null && b.painted >= b.last_change
               && performance.now() - b.last_change > 150; }""", arg=chart, timeout=30_000, polling=20)
    bench = page.evaluate("() => window.__bench")
    return {"total": (bench["painted"] - bench["t0"]) / 1000, "data": (bench["last_change"] - bench["t0"]) / 1000,
            "changes": bench["changes"]}


def report(name: str, seconds: list[float], goal: float, detail: str = "") -> bool:
    median = statistics.median(seconds)
    met = median <= goal
    print(f"{name}: median {median * 1000:.0f} ms (min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f}, "
          f"n={len(seconds)}), goal <= {goal * 1000:.0f} ms: {'met' if met else 'MISSED'}{detail}")
    return met


PROFILE_SERVER = """
import cProfile, signal, sys
profile = cProfile.Profile()
def stop(*_):
    profile.disable()
    profile.dump_stats(sys.argv[1])
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
from transformer_explainer.app.cli import main
profile.enable()
main(sys.argv[2:])
"""


def print_profile(path: Path, top: int = 30) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    stats.sort_stats("cumulative")
    print(f"\nserver profile (cumulative, top {top} of what ran in callbacks):")
    where = r"(app|viz|gpt2_core|bokeh/(core/serialization|protocol|document)|panel/(io|reactive|layout))"
    stats.print_stats(where, top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tokenizer-dir", type=Path, default=REPO.parent / "shared" / "gpt2-tokenizer")
    parser.add_argument("--checkpoint", type=Path, default=None, help="reuse a checkpoint directory (else a temp one)")
    parser.add_argument("--profile", action="store_true", help="run the server under cProfile; print where time went")
    parser.add_argument("--only", choices=["prompt", "slider", "picture", "weight"], default=None,
                        help="run one of the measurements")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO / "tests"))
    from conftest import find_chromium
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no system Chromium (apt-get install -y chromium, or set CHROMIUM_PATH)")
    tokenizer_dir = args.tokenizer_dir if (args.tokenizer_dir / "vocab.json").exists() else None
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = args.checkpoint
        if checkpoint is None or not (checkpoint / "model.safetensors").exists():
            checkpoint = make_checkpoint(checkpoint or Path(scratch) / "gpt2-small-random", tokenizer_dir)
        prompts = sixteen_token_prompts(checkpoint, args.repeats)
        long_prompts = sixteen_token_prompts(checkpoint, args.repeats, length=24)
        short_prompt = ("Hello world", tokenizer_ids(checkpoint, "Hello world"))
        profile_path = Path(scratch) / "server.prof"
        command = None
        if args.profile:
            command = [sys.executable, "-c", PROFILE_SERVER, str(profile_path), "serve", "--model", str(checkpoint)]
        start = time.perf_counter()
        server = AppServer(checkpoint, timeout=300, command=command)
        print(f"server up in {time.perf_counter() - start:.1f} s at {server.url}")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                results = run_benchmarks(browser, server.url, prompts, short_prompt, args.repeats, args.only)
                if args.only in (None, "picture"):
                    results += run_picture_benchmarks(browser, server.url, prompts, long_prompts, short_prompt,
                                                      args.repeats)
                if args.only in (None, "weight"):
                    measure_weight(browser, server.url)
                browser.close()
        finally:
            server.stop()
        if args.profile:
            print_profile(profile_path)
    return 0 if all(results) else 1


def run_benchmarks(browser, url: str, prompts, short_prompt, repeats: int, only: str | None = None) -> list[bool]:
    met = []
    # (a) the picture + attention + output (a realistic set of open sections); the prompt before is another
    # 16-token prompt (the views keep their sizes) or a short one (every [tokens × ...] view resizes).
    cases = [("picture + attention + output", ("attention", "output"), "after another 16-token prompt"),
             ("picture + attention + output", ("attention", "output"), f"after a {len(short_prompt[1])}-token prompt")]
    for label, sections, before in cases:
        if only not in (None, "prompt"):
            break
        page = open_app(browser, url, width=1280, height=900)
        for key, name in (("attention", "pattern-source"), ("output", "output-source")):
            if key in sections:
                open_section(page, key, name)
        page.evaluate(INSTRUMENT_JS)
        attention = "attention" in sections
        measure_prompt(page, *prompts[0], attention=attention)  # warm up (the first build of each view)
        times, data_times, changes = [], [], []
        for text, ids in prompts[1:repeats + 1]:
            if before.startswith("after a "):
                measure_prompt(page, *short_prompt, attention=attention)
            result = measure_prompt(page, text, ids, attention=attention)
            times.append(result["total"])
            data_times.append(result["data"])
            changes.append(result["changes"])
        met.append(report(f"(a) 16-token prompt -> every visible view updated [{label}; {before}]", times,
                          PROMPT_GOAL_S, f"; last data at {statistics.median(data_times) * 1000:.0f} ms, "
                          f"{statistics.median(changes):.0f} source updates"))
        page.close()

    # (b) the temperature slider: clicks on its track, alternately low and high (T about 1 and 5).
    if only not in (None, "slider"):
        return met
    page = open_app(browser, url + "?view=output", width=1280, height=900, wait_for="output-source")
    page.evaluate(INSTRUMENT_JS)
    measure_slider(page, 0.3)  # warm up
    times, data_times = [], []
    for i in range(max(repeats, 9)):
        result = measure_slider(page, (0.1 if i % 2 else 0.5) + 0.01 * i)  # far from the handle: it moves
        times.append(result["total"])
        data_times.append(result["data"])
    met.append(report("(b) temperature slider -> output chart updated", times, SLIDER_GOAL_S,
                      f"; data at {statistics.median(data_times) * 1000:.0f} ms"))
    page.close()
    return met


PICTURE_GOAL_S, CROSSING_GOAL_S = 0.5, 1.0


def run_picture_benchmarks(browser, url: str, prompts, long_prompts, short_prompt, repeats: int) -> list[bool]:
    """The first screen (issue 7): prompt -> the picture, and the picture's slider -> its bars."""
    met = []
    cases = [("the picture (the page as it opens)", "after another 16-token prompt", PICTURE_GOAL_S),
             ("the picture", f"crossing 16: after a {len(short_prompt[1])}-token prompt", CROSSING_GOAL_S),
             ("the picture", "crossing 16: a 24-token prompt after a 16-token one", CROSSING_GOAL_S)]
    for label, before, goal in cases:
        page = open_app(browser, url, width=1440, height=900, wait_for="picture-token-source")
        page.evaluate(INSTRUMENT_JS)
        tokens = "picture-token-source"
        measure_prompt(page, *prompts[0], attention=False, tokens=tokens)  # warm up
        times, data_times = [], []
        for i in range(repeats):
            if before.startswith("crossing 16: after a "):
                measure_prompt(page, *short_prompt, attention=False, tokens=tokens)
                result = measure_prompt(page, *prompts[i + 1], attention=False, tokens=tokens)
            elif before.startswith("crossing 16: a 24"):
                measure_prompt(page, *prompts[i + 1], attention=False, tokens=tokens)
                result = measure_prompt(page, *long_prompts[i + 1], attention=False, tokens=tokens)
            else:
                result = measure_prompt(page, *prompts[i + 1], attention=False, tokens=tokens)
            times.append(result["total"])
            data_times.append(result["data"])
        met.append(report(f"(a) prompt -> {label} updated [{before}]", times, goal,
                          f"; last data at {statistics.median(data_times) * 1000:.0f} ms"))
        page.close()

    page = open_app(browser, url, width=1440, height=900, wait_for="picture-token-source")
    page.evaluate(INSTRUMENT_JS)
    chart = "picture-probability-source"
    measure_slider(page, 0.3, chart=chart)  # warm up
    times = [measure_slider(page, (0.1 if i % 2 else 0.5) + 0.01 * i, chart=chart)["total"]
             for i in range(max(repeats, 9))]
    met.append(report("(b) the picture's temperature slider -> its bars updated", times, SLIDER_GOAL_S))
    page.close()
    return met


def measure_weight(browser, url: str) -> None:
    """(c) What a page with every section open weighs (HTTP resources and the websocket's messages from the
    server) and how tall it is at 1440 px."""
    from app_server import open_section

    received = {"ws": 0}

    def on_socket(socket):
        socket.on("framereceived", lambda payload: received.__setitem__(
            "ws", received["ws"] + len(payload if isinstance(payload, (bytes, bytearray)) else payload.encode())))

    page = open_app(browser, url, width=1440, height=900, wait_for="picture-token-source",
                    before_goto=lambda page: page.on("websocket", on_socket))
    for key in ("embedding", "block", "attention", "heads", "mlp", "output", "lens"):
        open_section(page, key)
    page.wait_for_timeout(2000)
    http = page.evaluate("""() => performance.getEntriesByType('navigation').concat(
        performance.getEntriesByType('resource')).reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0)""")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    print(f"(c) page with every section open: {http / 1e6:.2f} MB over HTTP (scripts, styles, the page), "
          f"{received['ws'] / 1e6:.2f} MB of messages from the server (the document and every section's views); "
          f"{height:,} px tall at 1440 px wide")
    page.close()


if __name__ == "__main__":
    sys.exit(main())
