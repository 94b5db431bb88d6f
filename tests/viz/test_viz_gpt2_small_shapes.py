"""Every view drawn with GPT-2 small's shapes (12 layers × 12 heads, d = 768, V = 50257) and a 16-token prompt,
in Chromium without a page error; screenshots go to test-artifacts/viz/gpt2-small-shaped. (How fast they build and
update is measured by scripts/bench_views.py, not asserted here.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bokeh.embed import file_html
from bokeh.resources import INLINE

from transformer_explainer.gpt2_core import load_model
from gpt2_small_views import PROMPT, view_builders

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "viz"


@pytest.fixture(scope="module")
def small_model(small_shaped_checkpoint):
    return load_model(small_shaped_checkpoint)


@pytest.fixture(scope="module")
def small_traces(small_model):
    first = small_model.run_with_trace(PROMPT, head_results=True)
    second = small_model.run_with_trace(PROMPT + " light", head_results=True)
    assert first.n_tokens == 16
    return first, second


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
        page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
        page.goto(path.as_uri())
        page.wait_for_function("() => window.Bokeh && Bokeh.index.roots.length > 0")
        page.wait_for_timeout(300)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        page.close()
        assert errors == [], f"{name}: {errors}"
