"""The static site end to end: `python build.py` on the tiny checkpoint with Pyodide from ../shared/pyodide, served
by `build.py serve`'s server, opened in headless Chromium with every other host blocked.

What a page shows is compared with gpt2_core in this process on the site's own weights (its float16 shards): the
browser runs the same NumPy code in Pyodide (a different matrix kernel: einsum, not BLAS), so values agree to
float32 rounding, and token choices exactly.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from app_server import (bokeh_widget_value, find, open_section, section_open, shown_tokens, source_data, tap,
                        type_prompt, wait_for_chips, wait_for_column, wait_for_tokens, wait_js)
from site_support import LIVE_TIMEOUT_MS, PYODIDE_DIR, SiteServer, build_site, wait_until_live

from environment import REPO_ROOT
from transformer_explainer.gpt2_core import sampling
from transformer_explainer.gpt2_core.interventions import zero_ablate_heads
from transformer_explainer.viz.i18n import text
from transformer_explainer.viz.sections.output import top_candidates

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = [pytest.mark.browser, pytest.mark.site]

ARTIFACTS = REPO_ROOT / "test-artifacts" / "site"
DEFAULT_TEMPERATURE, DEFAULT_SEED, N_TOP_BARS = 0.8, 42, 10
TOLERANCE = 2e-5  # float32 rounding between Pyodide's einsum kernel and CPython's BLAS


def site_config(site_dir: Path) -> dict:
    return build_module().read_site_config(site_dir)


@functools.cache
def build_module():
    spec = importlib.util.spec_from_file_location("site_build", REPO_ROOT / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclass looks itself up there)
    spec.loader.exec_module(module)
    return module


def values(shown) -> list:
    return shown["values"] if isinstance(shown, dict) else shown


def output_rows(logits, temperature: float, top_k=None, top_p=None, seed: int = DEFAULT_SEED):
    """(token ids, probabilities) of the output chart: the top-10 logits, plus the sampled token."""
    probabilities = sampling.probabilities(logits, temperature, top_k, top_p)
    ids = [int(i) for i in top_candidates(np.asarray(logits), N_TOP_BARS + 1)]
    sampled = int(np.argmax(probabilities)) if temperature == 0 else sampling.sample(
        probabilities, np.random.default_rng(seed))
    ids = ids[:N_TOP_BARS] + [sampled] if sampled not in ids[:N_TOP_BARS] else ids  # always 11 rows
    return ids, probabilities[ids]


def wait_for_output(page, logits, temperature: float, top_k=None, top_p=None) -> np.ndarray:
    ids, expected = output_rows(logits, temperature, top_k, top_p)
    wait_for_column(page, "output-source", "token_id", ids, timeout=30_000)
    wait_for_column(page, "output-source", "probability", expected.tolist(), tolerance=1e-4, timeout=30_000)
    return np.asarray(values(source_data(page, "output-source", ["probability"])["probability"]))


def app_trace(model, text_or_ids, ablated=()):
    ids = model.encode(text_or_ids) if isinstance(text_or_ids, str) else list(text_or_ids)
    return model.run_with_trace(ids, head_results=True, hooks=zero_ablate_heads(ablated))


def shown_token_ids(page) -> list[int]:
    return [int(i) for i in shown_tokens(page)]


# -- the folder -------------------------------------------------------------------------------------------------

def test_the_site_names_every_file_it_loads_with_its_size_and_sha256(site_dir):
    config = site_config(site_dir)
    for folder, entries in ((config["model"]["folder"], config["model"]["files"]),
                            (config["wheel_folder"], config["wheels"])):
        for entry in entries:
            data = (site_dir / folder / entry["name"]).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"]), entry["name"]
    names = {entry["name"] for entry in config["model"]["files"]}
    assert {"manifest.json", "vocab.json", "merges.txt", "model.onnx", "weights-00000.bin"} <= names
    wheels = " ".join(entry["name"] for entry in config["wheels"])
    for wheel in ("transformer_explainer-", "panel-", "bokeh-", "param-"):
        assert wheel in wheels
    # Pyodide's folder holds its core and exactly the packages its trimmed lock lists, nothing else.
    lock = json.loads((site_dir / "pyodide" / "pyodide-lock.json").read_text())
    listed = {package["file_name"] for package in lock["packages"].values()}
    present = {path.name for path in (site_dir / "pyodide").iterdir()} - {"pyodide-lock.json"}
    assert present - listed == {"pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip",
                                "package.json"}
    assert "numpy" in lock["packages"] and "pandas" not in lock["packages"]


def test_our_files_reference_no_other_host_and_third_party_ones_only_reviewed_hosts(site_dir):
    reviewed = build_module().REVIEWED_THIRD_PARTY_HOSTS
    third_party = ("bokeh/", "panel/", "ort/", "pyodide/")
    found = {}
    for path in site_dir.rglob("*"):
        if path.suffix in {".html", ".js", ".mjs", ".css", ".json"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            relative = path.relative_to(site_dir).as_posix()
            for host in set(re.findall(r"//([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})", text, re.IGNORECASE)):
                if not (relative.startswith(third_party) and host in reviewed):
                    found.setdefault(relative, set()).add(host)
    assert found == {}


def test_without_a_pyodide_folder_the_site_loads_pyodide_from_its_cdn_and_copies_none(tiny_checkpoint, tmp_path):
    result = build_site(tiny_checkpoint, tmp_path / "cdn-site")
    assert result.returncode == 0, result.stderr
    config = site_config(tmp_path / "cdn-site")
    assert config["pyodide"]["base"] == "https://cdn.jsdelivr.net/pyodide/v0.27.7/full/"
    assert not (tmp_path / "cdn-site" / "pyodide").exists()


def test_the_build_never_deletes_a_folder_it_did_not_build(tiny_checkpoint, tmp_path):
    folder = tmp_path / "my-files"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work")
    result = build_site(tiny_checkpoint, folder)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: --out {folder} holds files that are not a site built by build.py; "
                                     f"choose a new or empty folder")
    assert (folder / "thesis.txt").read_text() == "years of work"


def test_a_model_that_cannot_load_fails_the_build_in_one_line_and_keeps_the_old_site(site_dir, tmp_path):
    result = build_site(tmp_path / "no-such-model", site_dir)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: there is no directory at ")
    assert (site_dir / "index.html").is_file()


def test_the_command_line_builds_through_build_py():
    import subprocess

    script = Path(sys.executable).with_name("transformer-explainer")
    result = subprocess.run([str(script), "build", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--pyodide-dir" in result.stdout and "--model" in result.stdout


def test_the_preview_server_sends_webassembly_and_isolation_headers(site_server):
    import urllib.request

    with urllib.request.urlopen(site_server.url + "pyodide/pyodide.asm.wasm") as response:
        assert response.headers["Content-Type"] == "application/wasm"
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    request = urllib.request.Request(site_server.url + "worker.mjs", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"] == "text/javascript"
        assert response.headers["Content-Encoding"] == "gzip"


# -- in the browser ---------------------------------------------------------------------------------------------

def test_the_precomputed_example_shows_at_once_labelled_then_the_live_app_replaces_it(open_site, site_server,
                                                                                      site_model, site_dir):
    page = open_site(site_server.url, live=False)
    page.wait_for_function("() => window.__te_site && window.__te_site.precomputedAt !== undefined", timeout=10_000)
    assert page.evaluate("() => document.body.dataset.live") != "true", "went live before anything was precomputed"
    expect(find(page, "#te-precomputed-note")).to_be_visible()
    expect(find(page, "#te-precomputed-note")).to_contain_text("Precomputed example")
    expect(find(page, "#te-boot")).to_be_visible()
    prompt = site_config(site_dir)["precomputed"]["prompt"]
    expected = site_model.tokenizer.display_tokens(site_model.encode(prompt))
    assert shown_tokens(page, "token")[-len(expected):] == expected[-16:]

    wait_until_live(page)
    expect(find(page, "#te-precomputed-note")).to_be_hidden()
    expect(find(page, "#te-boot")).to_be_hidden()
    assert page.evaluate("() => Bokeh.documents.length") == 1
    # The worker fetched the weights through the page's network, from this host only.
    assert any(url.endswith("/model/weights-00000.bin") for url in page.te_requests)


def test_a_prompt_typed_into_the_example_while_the_model_loads_is_kept_and_runs_once_live(open_site, site_server,
                                                                                         site_model):
    """The example's prompt box takes typing before the model is live (its other widgets are disabled): the live
    app replacing the example keeps what was typed there and runs it."""
    page = open_site(site_server.url, live=False)
    held = []  # the first weight shard, held until the typing is done (the model cannot go live before it)
    page.route("**/model/weights-00000.bin", lambda request_route: held.append(request_route))
    page.wait_for_function("() => window.__te_site && window.__te_site.precomputedAt !== undefined", timeout=10_000)
    prompt = "Typed while the model loads"
    type_prompt(page, prompt, submit=False)  # (its Run button is disabled: nothing would answer yet)
    expect(find(page, ".te-run button")).to_be_disabled()
    assert page.evaluate("() => document.body.dataset.live") != "true", "went live before the typing was done"
    released = 0
    for _ in range(LIVE_TIMEOUT_MS // 100):  # let the shard go, whenever its request comes
        for request_route in held[released:]:
            request_route.continue_()
        released = len(held)
        if page.evaluate("() => document.body.dataset.live") == "true":
            break
        page.wait_for_timeout(100)
    wait_until_live(page)
    assert held, "the weights were requested before the test could hold them: the typing raced the model"
    expect(find(page, ".te-prompt textarea")).to_have_value(prompt)
    ids = site_model.encode(prompt)
    wait_for_chips(page, site_model.tokenizer.display_tokens(ids), timeout=30_000)  # Python ran it
    open_section(page, "output", "output-source")
    wait_for_output(page, app_trace(site_model, ids).logits, DEFAULT_TEMPERATURE)


def test_the_live_app_computes_a_typed_prompt_as_gpt2_core_does(open_site, site_server, site_model):
    page = open_site(site_server.url)
    prompt = "The quick brown fox jumps over the lazy dog"
    type_prompt(page, prompt)
    ids = site_model.encode(prompt)
    wait_for_chips(page, site_model.tokenizer.display_tokens(ids), timeout=30_000)  # Python ran: the chips changed
    trace = app_trace(site_model, ids)
    open_section(page, "output", "output-source")
    wait_for_output(page, trace.logits, DEFAULT_TEMPERATURE)

    open_section(page, "attention", "pattern-source")
    page.wait_for_function("() => window.__te_data('pattern-source', ['image']) !== null")
    shown = values(source_data(page, "pattern-source", ["image"])["image"][0])
    expected = trace["blocks.0.attn.hook_pattern"][0]
    np.testing.assert_allclose(np.asarray(shown, dtype=np.float32).reshape(expected.shape), expected, atol=TOLERANCE)

    # The temperature re-samples from the same logits: a link-free change of one widget.
    page.evaluate("""() => { for (const m of Bokeh.documents[0]._all_models.values())
                             if ((m.css_classes || []).includes('te-temperature')) m.value = 2.0; }""")
    wait_for_output(page, trace.logits, 2.0)


def test_ablating_a_head_in_the_page_changes_the_prediction_as_run_with_hooks_does(open_site, site_server, site_model):
    page = open_site(site_server.url)
    prompt = find(page, ".te-prompt textarea").input_value()
    ids = site_model.encode(prompt)
    open_section(page, "output", "output-source")
    before = wait_for_output(page, app_trace(site_model, ids).logits, DEFAULT_TEMPERATURE)
    open_section(page, "heads", "head-grid-figure")
    page.locator(".te-click-mode button", has_text="ablate").click()
    wait_js(page, "() => { for (const m of Bokeh.documents[0]._all_models.values()) "
                  "if ((m.css_classes || []).includes('te-click-mode')) return m.active === 1; return false; }")
    tap(page, "head-grid-figure", 1.5, 0.5)  # layer 0, head 1
    hooked = site_model.run_with_hooks(ids, zero_ablate_heads([(0, 1)]), all_logits=False)[-1]
    after = wait_for_output(page, hooked, DEFAULT_TEMPERATURE)
    assert np.max(np.abs(after[:len(before)] - before[:len(after)])) > 1e-3
    page.wait_for_function("() => location.search.includes('ablate=0.1')")


def test_the_picture_zooms_out_to_the_whole_model_and_into_a_tapped_block_in_pyodide(open_site, site_server,
                                                                                     site_model):
    """The camera move is played in the page and its end goes back to Python in the worker, which then puts the
    picture of the tapped block in place."""
    page = open_site(site_server.url)
    find(page, ".te-picture-zoom-out button").click()
    wait_js(page, "() => window.__te_find('zoom-stage-source') !== null", timeout=30_000)
    page.wait_for_function("""() => { const f = window.__te_find('zoom-overview-figure');
        return f !== null && f.x_range.start < 0; }""", timeout=30_000)  # pulled back to the whole model
    stages = source_data(page, "zoom-stage-source", ["stage", "layer", "left", "right", "top", "bottom"])
    stage, layer = values(stages["stage"]), [int(v) for v in values(stages["layer"])]
    j = next(k for k, (s, l) in enumerate(zip(stage, layer)) if s == "mlp" and l == 1)
    x = (values(stages["left"])[j] + values(stages["right"])[j]) / 2
    y = (values(stages["top"])[j] + values(stages["bottom"])[j]) / 2
    tap(page, "zoom-overview-figure", x, y)
    page.wait_for_function("() => location.search.includes('layer=1')", timeout=30_000)
    wait_js(page, "() => { const f = window.__te_find('zoom-overview-figure'); "
                  "return Bokeh.index.find_one_by_id(f.id) == null; }", timeout=30_000)
    wait_js(page, "() => { const f = window.__te_find('picture-figure'); "
                  "return f !== null && Bokeh.index.find_one_by_id(f.id) != null; }", timeout=30_000)
    shown = source_data(page, "picture-stage-source", ["stage", "layer"])
    assert {int(l) for s, l in zip(values(shown["stage"]), values(shown["layer"])) if s == "attention"} == {1}


def generate(page, count: int) -> None:
    count_box = find(page, ".te-generate-count input")
    count_box.fill(str(count))
    count_box.press("Enter")
    find(page, ".te-generate button").click()


@pytest.mark.parametrize("runtime", ["onnxruntime-web", "numpy"])
def test_generate_appends_exactly_the_tokens_the_model_chose(open_site, site_server, site_model, runtime):
    """The first Generate runs on the NumPy model and starts loading onnxruntime-web in the background (unless
    the link says runtime=numpy); once it is ready, Generate runs on it (on every core, up to 4). Both give the
    model's greedy tokens."""
    prompt, count = "The capital of France is", 8
    query = "?" + "&".join([f"prompt={prompt.replace(' ', '+')}", "t=0", *(["runtime=numpy"] * (runtime == "numpy"))])
    page = open_site(site_server.url, query)
    assert page.evaluate("() => window.__te_site.fastLoading") is None, "onnxruntime-web loaded before Generate"
    ids = site_model.encode(prompt)
    expected = ids + [step.token_id for step in site_model.generate(ids, count, temperature=0)]
    generate(page, count)
    wait_for_tokens(page, expected[-16:], timeout=60_000)
    if runtime == "numpy":
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__te_site.fastLoading") is None
        return
    page.wait_for_function("() => window.__te_site.fast !== undefined", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("() => [window.__te_site.fast, window.__te_site.fastError]") == ["wasm", None]
    # the site is cross-origin isolated, so onnxruntime-web runs on as many threads as there are cores (up to 4)
    cores = page.evaluate("() => crossOriginIsolated && Math.min(4, navigator.hardwareConcurrency)")
    assert cores and page.evaluate("() => window.__te_site.fastThreads") == cores
    type_prompt(page, prompt)
    wait_for_chips(page, site_model.tokenizer.display_tokens(ids), timeout=30_000)
    generate(page, count)
    wait_for_tokens(page, expected[-16:], timeout=60_000)


@pytest.mark.parametrize("device", ["reports 4 GB", "reports nothing, touch screen", "reports 4 GB, runtime=onnx"])
def test_where_onnxruntime_web_does_not_fit_generate_stays_on_the_numpy_model(open_site, site_server, browser,
                                                                               site_model, device):
    """onnxruntime-web about doubles the page's memory: it loads only where the browser reports 8 GB, or reports
    nothing and is not a phone or tablet (iOS Safari reports nothing); elsewhere Generate runs on the NumPy model's
    KV cache, with the same greedy tokens. ``runtime=onnx`` loads it anyway."""
    prompt, count = "The capital of France is", 4
    touch = device.startswith("reports nothing")
    context = browser.new_context(has_touch=touch)
    memory = "undefined" if touch else "4"
    context.add_init_script(f"Object.defineProperty(Navigator.prototype, 'deviceMemory', {{get: () => {memory}}})")
    try:
        query = f"?prompt={prompt.replace(' ', '+')}&t=0" + ("&runtime=onnx" if device.endswith("onnx") else "")
        page = open_site(site_server.url, query, context=context)
        assert page.evaluate("() => [navigator.deviceMemory ?? null, matchMedia('(pointer: coarse)').matches]") == [
            None if touch else 4, touch]
        ids = site_model.encode(prompt)
        expected = ids + [step.token_id for step in site_model.generate(ids, count, temperature=0)]
        generate(page, count)
        wait_for_tokens(page, expected[-16:], timeout=60_000)
        if device.endswith("onnx"):
            page.wait_for_function("() => window.__te_site.fast !== undefined", timeout=LIVE_TIMEOUT_MS)
            assert page.evaluate("() => window.__te_site.fast") == "wasm"
            return
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__te_site.fastLoading") is None, "onnxruntime-web loaded where it does not fit"
        type_prompt(page, prompt)  # a second Generate: still the NumPy model, still its tokens
        wait_for_chips(page, site_model.tokenizer.display_tokens(ids), timeout=30_000)
        generate(page, count)
        wait_for_tokens(page, expected[-16:], timeout=60_000)
        assert page.evaluate("() => window.__te_site.fastLoading") is None
    finally:
        context.close()


def test_a_shared_link_restores_prompt_settings_view_and_ablation(open_site, site_server, site_model):
    prompt = "Once upon a time"
    page = open_site(site_server.url, f"?prompt={prompt.replace(' ', '+')}&t=1.5&k=5&view=output&ablate=1.2")
    expect(find(page, ".te-prompt textarea")).to_have_value(prompt)
    assert bokeh_widget_value(page, "te-temperature") == 1.5 and bokeh_widget_value(page, "te-top-k") == 5
    assert section_open(page, "output")
    trace = app_trace(site_model, prompt, [(1, 2)])
    wait_for_output(page, trace.logits, 1.5, top_k=5)


def test_a_second_visit_fetches_no_weight_bytes_and_starts_without_the_network_for_them(open_site, site_server,
                                                                                         browser, site_model):
    context = browser.new_context()
    try:
        first = open_site(site_server.url, context=context)
        weights = [url for url in first.te_requests if "/model/" in url]
        assert len(weights) >= 4, weights
        first.close()
        second = open_site(site_server.url, context=context, offline_model=True)
        assert [url for url in second.te_requests if "/model/" in url] == []
        assert second.evaluate("() => window.__te_site.fromCache") == sum(
            entry["bytes"] for entry in site_config(site_server.directory)["model"]["files"])
        type_prompt(second, "A second visit")
        page_ids = site_model.encode("A second visit")
        wait_for_chips(second, site_model.tokenizer.display_tokens(page_ids), timeout=30_000)
    finally:
        context.close()


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_a_damaged_shard_says_so_with_a_retry_that_works_once_it_is_restored(open_site, site_copy, damage):
    shard = site_copy.directory / "model" / "weights-00000.bin"
    original = shard.read_bytes()
    if damage == "corrupt":
        shard.write_bytes(original[:100] + bytes([original[100] ^ 0xFF]) + original[101:])
    else:
        shard.unlink()
    page = open_site(site_copy.url, live=False)
    page.wait_for_function("() => !!(window.__te_site || {}).error", timeout=LIVE_TIMEOUT_MS)
    message = find(page, "#te-boot-error-text").inner_text()
    if damage == "corrupt":
        assert message == ("weights-00000.bin does not match its sha256 in the site's manifest: the file on the "
                           "server is corrupt or from another build")
    else:
        assert message.startswith("cannot download weights-00000.bin: the server answered 404")
    page.te_errors = [error for error in page.te_errors if "404" not in error or damage != "missing"]
    assert page.evaluate("() => document.body.dataset.live") != "true"
    shard.write_bytes(original)
    find(page, "#te-retry").click()
    wait_until_live(page)


def test_a_browser_without_webassembly_gets_a_clear_message(open_site, site_server, browser):
    context = browser.new_context()
    context.add_init_script("delete window.WebAssembly")
    try:
        page = open_site(site_server.url, context=context, live=False)
        expect(find(page, "#te-boot-error-text")).to_have_text(
            "This browser cannot run the model: it has no WebAssembly. Use a recent Chrome, Edge, Firefox or Safari.")
        expect(find(page, "#te-retry")).to_be_hidden()
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 390], ids=["laptop", "phone"])
def test_screenshots_of_the_loading_and_the_live_site(open_site, site_server, width):
    height = 900 if width > 600 else 844
    page = open_site(site_server.url, width=width, height=height, live=False)
    page.wait_for_function("() => window.__te_site && window.__te_site.precomputedAt !== undefined", timeout=10_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = "laptop" if width > 600 else "phone"
    page.screenshot(path=str(ARTIFACTS / f"site_{name}_loading.png"))
    wait_until_live(page)
    # the picture turns on a phone (its flow top to bottom), as in the served app: Python heard the window's width
    shape = "f.height > f.width" if width < 700 else "f.width > f.height"
    page.wait_for_function(f"() => {{ const f = window.__te_find('picture-figure'); return f !== null && {shape}; }}",
                           timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / f"site_{name}_live.png"))
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"the page is {scroll_width} px wide on a {width} px screen"


def test_a_device_with_too_little_memory_is_told_so_and_may_try_anyway(open_site, site_server, browser, site_dir):
    context = browser.new_context()
    context.add_init_script("Object.defineProperty(navigator, 'deviceMemory', {get: () => 0.25})")
    try:
        page = open_site(site_server.url, context=context, live=False)
        needed = site_config(site_dir)["memory_gb"]
        expect(find(page, "#te-boot-error-text")).to_have_text(
            f"This device reports 0.25 GB of memory; the model needs about {needed:g} GB, so the page may stop while "
            f"it loads. Close other tabs, use a computer with more memory, or try anyway.")
        assert page.evaluate("() => document.body.dataset.live") != "true"
        find(page, "#te-retry").click()  # "Try anyway"
        wait_until_live(page)
    finally:
        context.close()


HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def test_a_link_whose_every_setting_is_hostile_runs_nothing_on_the_site_and_shows_the_text_as_text(
        open_site, site_server, site_model):
    """Every setting of the link carries script: the live app in the worker names what it ignored, quotes the
    ablation as text, and nothing runs (open_site fails the test on any dialog). Then hostile text and numbers
    typed into the boxes: the same."""
    from urllib.parse import urlencode

    from transformer_explainer.app.links import URL_PARAMETERS

    page = open_site(site_server.url, "?" + urlencode({key: HOSTILE for key in URL_PARAMETERS.values()}))
    expect(find(page, ".te-prompt textarea")).to_have_value(HOSTILE)
    wait_for_chips(page, site_model.tokenizer.display_tokens(site_model.encode(HOSTILE)), timeout=30_000)
    expect(find(page, ".te-error pre")).to_contain_text(f"Ignored ablation entries {HOSTILE!r}")
    expect(find(page, ".te-error pre")).to_contain_text("invalid and were ignored: ")
    for box, typed in ((".te-seed input", "-1"), (".te-top-k input", "1e23"), (".te-generate-count input", "-5")):
        find(page, box).fill(typed)
        find(page, box).press("Enter")
    expect(find(page, ".te-error pre")).to_contain_text("The seed is -1")
    type_prompt(page, "<svg onload=alert(3)> ＆ 💥")
    for selector in ("img[src='x']", "svg[onload]"):
        assert page.evaluate("(s) => document.querySelectorAll(s).length", selector) == 0


def test_an_int8_site_says_it_is_quantized_and_shows_its_own_numbers(open_site, tiny_checkpoint, tmp_path, site_dir):
    from transformer_explainer.gpt2_core import load_model_from_shards

    out = tmp_path / "int8-site"
    result = build_site(tiny_checkpoint, out, "--pyodide-dir", str(PYODIDE_DIR), "--quantize", "int8")
    assert result.returncode == 0, result.stderr
    assert "int8 against float32 on the 7 example prompts" in result.stdout
    float16_bytes = sum(f["bytes"] for f in site_config(site_dir)["model"]["files"] if f["name"].endswith(".bin"))
    int8_bytes = sum(f["bytes"] for f in site_config(out)["model"]["files"] if f["name"].endswith(".bin"))
    assert int8_bytes < 0.6 * float16_bytes
    model = load_model_from_shards(out / "model")
    server = SiteServer(out)
    try:
        page = open_site(server.url)
        expect(page.get_by_text("Quantized model: its weights are stored as 8-bit integers").first).to_be_visible()
        prompt = find(page, ".te-prompt textarea").input_value()
        open_section(page, "output", "output-source")
        wait_for_output(page, app_trace(model, prompt).logits, DEFAULT_TEMPERATURE)
    finally:
        server.stop()


def test_our_wheel_holds_every_python_package_of_the_checkout_with_its_bytecode(site_dir):
    import zipfile

    wheel = next((site_dir / "wheels").glob("transformer_explainer-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    inside = {Path(name).parent.as_posix() for name in names if name.endswith(".py")}
    # each folder of the checkout as the wheel installs it: app/, viz/ and gpt2_core/ under transformer_explainer/
    packages = {("" if folder.parts[0] == "transformer_explainer" else "transformer_explainer/") + folder.as_posix()
                for folder in (path.parent.relative_to(REPO_ROOT) for path in REPO_ROOT.glob("*/**/__init__.py"))
                if folder.parts[0] in {"gpt2_core", "viz", "app", "transformer_explainer"}}
    assert packages and packages <= inside, f"missing from the site's wheel: {sorted(packages - inside)}"
    strays = {name for name in inside if not name.startswith("transformer_explainer")}
    assert not strays, f"the wheel holds folders outside the package: {sorted(strays)}"
    # the source stays (the app shows gpt2_core's code), its bytecode beside it for Pyodide's CPython 3.12
    for name in names:
        if name.endswith(".py"):
            folder, module = name.rsplit("/", 1)
            assert f"{folder}/__pycache__/{module[:-3]}.cpython-312.pyc" in names, name


def test_the_other_wheels_pyodides_packages_and_the_standard_library_are_bytecode_for_python_3_12(site_dir):
    """Pyodide ships its packages (numpy, ...) as source: the site's copies are compiled, and its lock holds their
    sha256 (which loadPackage checks: the live app starts, in the other tests, only if they match)."""
    import zipfile

    archives = [path for path in (site_dir / "wheels").glob("*.whl") if not path.name.startswith("transformer")]
    lock = json.loads((site_dir / "pyodide" / "pyodide-lock.json").read_text())
    packages = [site_dir / "pyodide" / entry["file_name"] for entry in lock["packages"].values()]
    assert "numpy" in lock["packages"] and len(packages) >= 8
    for entry, wheel in zip(lock["packages"].values(), packages):
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry["sha256"], wheel.name
    archives += [*packages, site_dir / "pyodide" / "python_stdlib.zip"]
    magic_312 = (3531).to_bytes(2, "little") + b"\r\n"  # CPython 3.12's bytecode magic number
    for archive in archives:
        names = zipfile.ZipFile(archive).namelist()
        assert not [name for name in names if name.endswith(".py")], archive.name
        compiled = [name for name in names if name.endswith(".pyc")]
        assert compiled, archive.name
        assert zipfile.ZipFile(archive).read(compiled[0])[:4] == magic_312


def test_a_chinese_link_speaks_chinese_while_loading_and_live(open_site, site_server, site_model, site_dir):
    """?lang=zh: the loading panel, the precomputed example and its note, and then the live app are in Chinese;
    the precomputed page is the Chinese one the build made, and the live app is drawn in Chinese from the start."""
    page = open_site(site_server.url + "?lang=zh", live=False)
    page.wait_for_function("() => window.__te_site && window.__te_site.precomputedAt !== undefined", timeout=10_000)
    assert page.evaluate("() => document.documentElement.lang") == "zh-Hans"
    prompt = site_config(site_dir)["precomputed"]["prompt"]
    expect(find(page, "#te-precomputed-note")).to_have_text(
        text("zh", "site.precomputed_note", prompt=prompt, model=site_config(site_dir)["model"]["name"]))
    expect(find(page, "[data-step='weights']")).to_have_text(text("zh", "site.step.weights"))
    expect(find(page, ".te-run button")).to_have_text(text("zh", "app.run"))  # the precomputed page's button
    wait_until_live(page)
    expect(find(page, ".te-run button")).to_have_text(text("zh", "app.run"))
    expect(find(page, ".te-header")).to_contain_text("如何预测下一个 token")
    page.wait_for_function("() => document.documentElement.lang === 'zh-Hans'")
