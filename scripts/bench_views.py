"""Benchmark building and updating the Bokeh views in Python, with GPT-2 small's shapes (12 layers × 12 heads,
d = 768, V = 50257, random weights) and a 16-token prompt: every view of the page built, every view updated to
another prompt, and the output chart's update for one temperature (what a slider move costs in Python).

Goals: building every view <= 1.5 s, updating every view <= 0.3 s, a temperature update <= 10 ms. The reference
measured in the same run: one traced forward pass of the same prompt (what a new prompt costs the model), so the
ratios say how the views compare with the model on this machine, whatever its speed.

    python scripts/bench_views.py [--repeats 5] [--checkpoint DIR] [--tokenizer-dir ../shared/gpt2-tokenizer]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "viz")]

from transformer_explainer.gpt2_core import GPT2Config, load_model  # noqa: E402
from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint  # noqa: E402
from gpt2_small_views import PROMPT, view_builders  # noqa: E402
from transformer_explainer.viz.sections.output import OutputView  # noqa: E402

BUILD_GOAL_MS, UPDATE_GOAL_MS, TEMPERATURE_GOAL_MS = 1500.0, 300.0, 10.0


def median_ms(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def verdict(value: float, goal: float) -> str:
    return "met" if value <= goal else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkpoint", type=Path, default=None, help="a GPT-2-small-shaped checkpoint to reuse")
    parser.add_argument("--tokenizer-dir", type=Path, default=REPO.parent / "shared" / "gpt2-tokenizer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = args.checkpoint
        if checkpoint is None or not (checkpoint / "model.safetensors").exists():
            tokenizer_dir = args.tokenizer_dir if (args.tokenizer_dir / "vocab.json").exists() else None
            checkpoint = write_random_checkpoint(checkpoint or Path(scratch) / "gpt2-small", GPT2Config(), seed=0,
                                                 tokenizer_dir=tokenizer_dir)
        model = load_model(checkpoint)
        first = model.run_with_trace(PROMPT, head_results=True)
        second = model.run_with_trace(PROMPT + " light", head_results=True)
        reference = median_ms(lambda: model.run_with_trace(PROMPT, head_results=True), args.repeats)
        print(f"reference: one traced forward pass of {first.n_tokens} tokens, {reference:.1f} ms")

        builders = view_builders(model, first, second)
        for build, update in builders.values():  # warm up imports and caches
            update(build())
        total_build = total_update = 0.0
        for name, (build, update) in builders.items():
            built = [build() for _ in range(args.repeats)]
            build_ms = median_ms(build, args.repeats)
            update_ms = statistics.median(1000 * timed(update, view) for view in built)
            total_build += build_ms
            total_update += update_ms
            print(f"{name:18s} build {build_ms:6.1f} ms   update {update_ms:6.1f} ms")
        print(f"every view: build {total_build:.0f} ms ({total_build / reference:.1f}x the forward pass), goal <= "
              f"{BUILD_GOAL_MS:.0f} ms: {verdict(total_build, BUILD_GOAL_MS)}")
        print(f"every view: update {total_update:.0f} ms ({total_update / reference:.1f}x the forward pass), goal <= "
              f"{UPDATE_GOAL_MS:.0f} ms: {verdict(total_update, UPDATE_GOAL_MS)}")

        output = OutputView(first.logits, model.tokenizer.display, 1.0, None, None, 11)
        durations = [1000 * timed(lambda t=t: output.update(first.logits, float(t), 50, 0.95, 11))
                     for t in np.linspace(0.0, 3.0, 61)]
        temperature_ms = statistics.median(durations)
        print(f"output chart, one temperature: {temperature_ms:.1f} ms ({temperature_ms / reference:.2f}x the forward "
              f"pass), goal <= {TEMPERATURE_GOAL_MS:.0f} ms: {verdict(temperature_ms, TEMPERATURE_GOAL_MS)}")
    met = total_build <= BUILD_GOAL_MS and total_update <= UPDATE_GOAL_MS and temperature_ms <= TEMPERATURE_GOAL_MS
    return 0 if met else 1


def timed(run, *args) -> float:
    start = time.perf_counter()
    run(*args)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
