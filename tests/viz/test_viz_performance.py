"""Speed with GPT-2 small's shapes (12 layers × 12 heads, d = 768, V = 50257) and a 16-token prompt: building
every view, updating every view, and the temperature slider's update. Times go to test-artifacts/viz/.

The limits leave room for a busy test machine; the numbers measured are in the written report.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from bokeh.embed import file_html
from bokeh.resources import INLINE

from gpt2_core import kernels, load_model, sampling
from viz.attention import AttentionHeadView, ConcatProjectionView, HeadGridView
from viz.embedding import EmbeddingView
from viz.layer_norm import LayerNormView
from viz.logit_lens import LogitLensView
from viz.mlp import MlpView
from viz.output import OutputView
from viz.overview import OverviewView
from viz.residual import ResidualView

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "viz"
PROMPT = "The quick brown fox jumps over the lazy dog, and the capital of France is"


@pytest.fixture(scope="module")
def small_model(small_shaped_checkpoint):
    return load_model(small_shaped_checkpoint)


@pytest.fixture(scope="module")
def small_traces(small_model):
    first = small_model.run_with_trace(PROMPT, head_results=True)
    second = small_model.run_with_trace(PROMPT + " light", head_results=True)
    assert first.n_tokens == 16
    return first, second


def lens(model, trace):
    params, eps = model.params, np.float32(model.config.layer_norm_epsilon)
    x = np.stack([trace[f"blocks.{layer}.hook_resid_post"][-1] for layer in range(model.config.n_layer)])
    centered = x - x.mean(axis=-1, keepdims=True)
    normalized = centered / np.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
    return kernels.matmul(normalized * params["ln_f"]["g"] + params["ln_f"]["b"], params["lm_head"])


def view_builders(model, first, second):
    """{name: (build, update)}: one of each view, as the app builds and updates them."""
    display = model.tokenizer.display
    probabilities = sampling.probabilities(first.logits, 1.0)
    new_probabilities = sampling.probabilities(second.logits, 0.8)
    lens_first, lens_second = lens(model, first), lens(model, second)

    def ln(layer, which):
        weights = model.params["blocks"][layer]["ln_1" if which == "ln1" else "ln_2"]
        return weights["g"], weights["b"]

    return {
        "overview": (lambda: OverviewView(first, probabilities, 11, display),
                     lambda v: v.update(second, new_probabilities, 12)),
        "embedding": (lambda: EmbeddingView(first), lambda v: v.update(second)),
        "layer_norm": (lambda: LayerNormView(first, 3, "ln1", *ln(3, "ln1")),
                       lambda v: v.update(second, 4, "ln2", *ln(4, "ln2"))),
        "residual": (lambda: ResidualView(first, 3, 5), lambda v: v.update(second, 4, 6)),
        "attention_head": (lambda: AttentionHeadView(first, 3, 5), lambda v: v.update(second, 4, 6)),
        "concat_projection": (lambda: ConcatProjectionView(first, 3), lambda v: v.update(second, 4)),
        "head_grid": (lambda: HeadGridView(first, {(1, 2)}), lambda v: v.update(second, {(1, 3)})),
        "mlp": (lambda: MlpView(first, 3, 5), lambda v: v.update(second, 4, 6)),
        "output": (lambda: OutputView(first.logits, display, 1.0, None, None, 11),
                   lambda v: v.update(second.logits, 0.7, 40, 0.9, 12)),
        "logit_lens": (lambda: LogitLensView(lens_first, display, first.tokens),
                       lambda v: v.update(lens_second, second.tokens)),
    }


@pytest.mark.slow
def test_building_and_updating_every_view_is_fast_for_gpt2_small_shapes(small_model, small_traces):
    builders = view_builders(small_model, *small_traces)
    for build, update in builders.values():  # warm up imports and caches
        update(build())
    lines, total_build, total_update = [], 0.0, 0.0
    for name, (build, update) in builders.items():
        builds, updates = [], []
        for _ in range(5):
            start = time.perf_counter()
            view = build()
            builds.append(time.perf_counter() - start)
            start = time.perf_counter()
            update(view)
            updates.append(time.perf_counter() - start)
        build_ms, update_ms = 1000 * statistics.median(builds), 1000 * statistics.median(updates)
        total_build += build_ms
        total_update += update_ms
        lines.append(f"{name:18s} build {build_ms:6.1f} ms   update {update_ms:6.1f} ms")
    lines.append(f"{'all views':18s} build {total_build:6.1f} ms   update {total_update:6.1f} ms")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "performance.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    assert total_build < 1500, "\n".join(lines)
    assert total_update < 300, "\n".join(lines)


@pytest.mark.slow
def test_the_temperature_slider_update_takes_a_few_milliseconds(small_model, small_traces):
    first, _ = small_traces
    view = OutputView(first.logits, small_model.tokenizer.display, 1.0, None, None, 11)
    durations = []
    for temperature in np.linspace(0.0, 3.0, 61):
        start = time.perf_counter()
        view.update(first.logits, float(temperature), 50, 0.95, 11)
        durations.append(time.perf_counter() - start)
    assert statistics.median(durations) < 0.010


@pytest.mark.slow
@pytest.mark.browser
def test_screenshots_of_gpt2_small_shaped_views(browser, small_model, small_traces, tmp_path):
    builders = view_builders(small_model, *small_traces)
    folder = ARTIFACTS / "gpt2-small-shaped"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (build, _) in builders.items():
        view = build()
        path = tmp_path / f"{name}.html"
        path.write_text(file_html(view.layout, INLINE, name), encoding="utf-8")
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        page.wait_for_function("() => window.Bokeh && Bokeh.index.roots.length > 0")
        page.wait_for_timeout(300)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        page.close()
        assert errors == [], f"{name}: {errors}"
