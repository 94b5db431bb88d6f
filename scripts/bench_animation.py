"""Benchmark the animated derivations in a browser: the frame rate while they play (goal ≥ 30 fps).

GPT-2 small's shapes (12 heads of 64, d = 768, V = 50257; two random blocks), a 16-token prompt: the attention
derivation and the weight popovers (MLP up, Q/K/V, the output logits) as standalone pages (viz/standalone.py) in
headless Chromium. For each, Play is clicked and requestAnimationFrame callbacks are counted in the page for a few
seconds: the frame rate, the median and 95th-percentile gap between frames, the longest, and how many frames
advanced (the player moves on when a frame's duration has passed, redrawing the matrices; between, only the
overlay layer fades). Not a timed test: the numbers depend on the machine (a busy one drops frames).

    python scripts/bench_animation.py [--seconds 4] [--repeats 3] [--width 1440]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "browser"))

from app_server import CHROMIUM_ARGS, open_app  # noqa: E402
from environment import find_chromium  # noqa: E402

from transformer_explainer.gpt2_core import GPT2Config, load_model  # noqa: E402
from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint  # noqa: E402
from transformer_explainer.gpt2_core.weight_products import weight_product  # noqa: E402
from transformer_explainer.viz.derivation import AttentionDerivationView  # noqa: E402
from transformer_explainer.viz.popover import WeightPopoverView  # noqa: E402
from transformer_explainer.viz.standalone import standalone_html  # noqa: E402

GOAL_FPS = 30
PROMPT = "The quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat"

# Click-free play: set the Toggle the Play button is, then count animation frames for ``seconds``.
MEASURE_JS = """async ([prefix, seconds]) => {
  const slider = window.__te_find(prefix + '-player'), play = window.__te_find(prefix + '-play');
  slider.value = 0;
  await new Promise((done) => setTimeout(done, 100));
  const first = slider.value;
  const times = [];
  play.active = true;
  const start = performance.now();
  await new Promise((done) => {
    const tick = (now) => { times.push(now); if (now - start < seconds * 1000) requestAnimationFrame(tick); else done(); };
    requestAnimationFrame(tick);
  });
  const frames_advanced = slider.value - first;
  play.active = false;
  const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
  const span = (times[times.length - 1] - times[0]) / 1000;
  return {fps: (times.length - 1) / span, median_ms: gaps[Math.floor(gaps.length / 2)],
          p95_ms: gaps[Math.floor(gaps.length * 0.95)], worst_ms: gaps[gaps.length - 1], frames_advanced};
}"""


def build_pages(folder: Path) -> dict[str, tuple[str, str]]:
    """{label: (file URL, player prefix)} for the derivation and the popovers, at GPT-2 small's shapes."""
    checkpoint = folder / "gpt2-small-shaped-2-blocks"
    started = time.perf_counter()
    write_random_checkpoint(checkpoint, GPT2Config(n_layer=2), seed=0)
    model = load_model(checkpoint)
    trace = model.run_with_trace(model.encode(PROMPT)[:16])
    print(f"model: GPT-2 small's widths, 2 random blocks, {trace.n_tokens} tokens "
          f"(built in {time.perf_counter() - started:.1f} s)")
    views = {"attention derivation (block 1, head 5)": (AttentionDerivationView(trace, 1, 5), "derivation")}
    for kind in ("mlp_up", "qkv", "output"):
        product = weight_product(kind, trace, 1, trace.n_tokens - 1, model.params)
        view = WeightPopoverView(product, trace, token_text=model.tokenizer.display)
        views[f"popover {kind} {view.product.shape_text}"] = (view, "popover")
    pages = {}
    for i, (label, (view, prefix)) in enumerate(views.items()):
        path = folder / f"page-{i}.html"
        path.write_text(standalone_html(view.layout, label), encoding="utf-8")
        pages[label] = (path.as_uri(), prefix)
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--width", type=int, default=1440)
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found (set CHROMIUM_PATH)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (others' work slows the page)")
    with tempfile.TemporaryDirectory() as scratch:
        pages = build_pages(Path(scratch))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            failed = False
            print(f"\n{'':52} {'fps':>6} {'median':>8} {'p95':>8} {'worst':>8} {'frames':>7}")
            for label, (url, prefix) in pages.items():
                runs = []
                for _ in range(args.repeats):
                    page = open_app(browser, url, width=args.width, height=900, wait_for=f"{prefix}-player")
                    page.wait_for_timeout(300)
                    runs.append(page.evaluate(MEASURE_JS, [prefix, args.seconds]))
                    errors = list(page.te_errors)
                    page.close()
                    if errors:
                        print(f"  page errors: {errors}")
                        failed = True
                best = max(runs, key=lambda run: run["fps"])
                fps = statistics.median(run["fps"] for run in runs)
                print(f"{label[:52]:52} {fps:6.1f} {best['median_ms']:6.1f}ms {best['p95_ms']:6.1f}ms "
                      f"{best['worst_ms']:6.1f}ms {best['frames_advanced']:7d}"
                      f"{'' if fps >= GOAL_FPS else f'   below the goal of {GOAL_FPS} fps'}")
            browser.close()
    print(f"\nfps: the median of {args.repeats} runs of {args.seconds:g} s; the gaps are the best run's.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
