"""Build the static site: the whole explainer in the browser through Pyodide, no server, no install.

    python build.py [--model NAME_OR_DIR] [--out dist] [--pyodide-dir DIR | --pyodide-url URL]
                    [--float32 | --quantize int8]
    python build.py serve [--out dist] [--port 8000]        # preview on 127.0.0.1 with the headers it needs

(also ``transformer-explainer build ...`` and ``transformer-explainer build serve ...`` from a clone).

The build is a short list of steps, each a function from inputs to files that checks what the next step needs:

    1. load the model            a Hub id (with its cache) or a local checkpoint directory
    2. write the model           weight shards (float16; or int8, or float32) + manifest + tokenizer, and the
                                 ONNX graph reading them; for float16 and int8, what the storage costs against
                                 float32 on the example prompts (printed, and said on the page)
    3. gather the wheels         ours, and Panel, Bokeh and their pure-Python dependencies at this Python's
                                 versions, compiled to bytecode by Pyodide's own CPython (Node, assets/bytecode)
    4. place Pyodide             copy what the site needs from a Pyodide folder, or point at Pyodide's CDN; its
                                 standard library compiled to bytecode either way
    5. copy the browser code     BokehJS and Panel's JS/CSS from the installed packages, onnxruntime-web, our JS,
                                 the WebAssembly SIMD matrix kernels (assets/kernels, assembled with wabt)
    6. precompute the example    the app's first screen for the first example prompt, shown while Python loads
    7. write the page            index.html with the site's configuration (every file's size and sha256), and
                                 offline.json: what the service worker (sw.js) keeps for a visit with no network
    8. check the site            every file the page names is there; no host but Pyodide's base is referenced

Needs Node.js and `npm ci --prefix assets` (onnxruntime-web; wabt and Pyodide for steps 3-5).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import re
import shutil
import string
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
ASSETS = ROOT / "assets"
SITE_ASSETS = ASSETS / "site"
DEFAULT_MODEL = "openai-community/gpt2"
PYODIDE_VERSION = "0.27.7"
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
WHEEL_CACHE = Path.home() / ".cache" / "transformer-explainer" / "wheels"

# What the app imports in the browser, beyond Pyodide's own packages: pure-Python wheels from PyPI, at the
# versions this Python has (the site's Panel and Bokeh must equal the ones that build its pages). Only what the app
# imports (measured in Pyodide: the live app's sys.modules): not narwhals, which Panel imports only for dataframes.
PYPI_DISTRIBUTIONS = ["panel", "bokeh", "param", "pyviz_comms", "markdown", "markdown-it-py", "mdit-py-plugins",
                      "linkify-it-py", "mdurl"]
# ... and from Pyodide's own lock (compiled for WebAssembly, or shipped with Pyodide); not xyzservices (Bokeh's
# map tiles) nor typing-extensions, which nothing imports.
PYODIDE_PACKAGES = ["numpy", "regex", "pyyaml", "jinja2", "markupsafe", "packaging", "pyodide-http", "nh3"]
# Parts of the PyPI wheels that Python never reads in the browser (the page loads the JS itself).
WHEEL_TRIMS = {"panel": ("panel/dist/", "panel/tests/"), "bokeh": ("bokeh/server/static/", "bokeh/sampledata/")}
SITE_PACKAGES, STDLIB_ZIP = "/lib/python3.12/site-packages", "/lib/python312.zip"  # where Pyodide puts them
PYODIDE_CORE = ["pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "package.json"]
BOKEH_SCRIPTS = ["bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables"]
ORT_FILES = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",  # wasm
             "ort.jspi.min.mjs", "ort-wasm-simd-threaded.jspi.mjs", "ort-wasm-simd-threaded.jspi.wasm",  # WebGPU
             "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm"]
NODE_MODULES = ASSETS / "node_modules"
KERNELS_FILE = "kernels/matmul.wasm"  # the SIMD matrix kernels (assets/kernels), as the site serves them
OUR_SCRIPTS = ["boot.mjs", "site.mjs", "worker.mjs", "fetcher.mjs", "downloads.mjs", "unzip.mjs", "words.mjs",
               "site.css", "sw.js"]
# What the download worker keeps itself (checked, in Cache Storage), what the service worker does not keep, and what
# only Generate loads (onnxruntime-web: the service worker keeps it once it was used).
NOT_FOR_OFFLINE = ("model/", "wheels/", "kernels/", "ort/", "sw.js", "offline.json")
# Hosts named inside the third-party files the site copies, each reviewed: none is fetched by this site. A library
# upgrade that names a new host fails the build (check_site) until someone reads why and adds it here.
REVIEWED_THIRD_PARTY_HOSTS = {
    "cdn.jsdelivr.net": "BokehJS loads MathJax from it only for TeX in a label (the app disables math on every "
                        "text pane); Panel's TablerIcon font (no icon widget here); Pyodide's default CDN (the "
                        "site passes its own indexURL)",
    "maps.googleapis.com": "BokehJS's GMapPlot only", "developers.google.com": "a link in a GMapPlot message",
    "get.webgl.org": "a link in an error message", "web.dev": "a link in onnxruntime-web's error message",
    "www.npmjs.com": "licence comment", "jquery.com": "licence comment", "jquery.org": "licence comment",
    "octopart.com": "licence comment", "threedubmedia.com": "licence comment", "fusejs.io": "licence comment",
    "kiro.me": "licence comment", "redux.js.org": "a link in an error message", "www.apache.org": "licence comment",
    "www.foretagsplatsen.se": "licence comment", "foo.com": "an example in a comment",
    "panel.pyviz.org": "a documentation link", "www.w3.org": "XML namespaces (SVG, XLink, XHTML)",
    "github.com": "links in licence comments and error messages", "bokeh.org": "the toolbar logo's link",
    "docs.bokeh.org": "links in BokehJS's warnings", "tabler.io": "a licence comment (Tabler icons)",
}
THIRD_PARTY_FOLDERS = ("bokeh/", "panel/", "ort/", "pyodide/")


class BuildError(Exception):
    """A step could not produce what the next one needs; the message says what to do."""


@dataclass
class Site:
    out: Path
    config: dict = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def log(message: str) -> None:
    print(message, flush=True)


def file_entry(path: Path, name: str | None = None) -> dict:
    data = path.read_bytes()
    return {"name": name or path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


# -- 1. load the model -------------------------------------------------------------------------------------

def load_build_model(source: str):
    from transformer_explainer.gpt2_core.demo import DEMO_MODEL, demo_model
    from transformer_explainer.gpt2_core import load_model

    model = demo_model() if source == DEMO_MODEL else load_model(source)
    log(f"1. model: {model!r}")
    return model


# -- 2. write the model ------------------------------------------------------------------------------------

def write_model(site: Site, model, dtype: str) -> None:
    """Shards, manifest and tokenizer for both runtimes, and the ONNX graph whose weights are those shards."""
    from transformer_explainer.gpt2_core.onnx_export import export_onnx
    from transformer_explainer.gpt2_core.shards import manifest_sha256, read_manifest, total_shard_bytes

    folder = site.path("model/manifest.json").parent
    graph = export_onnx(model, folder, dtype=dtype)
    manifest = read_manifest(folder)
    names = ["manifest.json", *manifest.get("tokenizer", {}).values(), *(s["file"] for s in manifest["shards"]),
             graph.name]
    files = [file_entry(folder / name) for name in names]
    weights = total_shard_bytes(manifest)
    from transformer_explainer.app.widgets import display_name

    from transformer_explainer.viz.i18n import in_every_language, joined

    notice = in_every_language("notice.demo") if model.name == "demo" else {}
    if dtype in ("int8", "float16"):  # what the stored weights change, said on the page (float32 is exact)
        notice = joined(notice, storage_notice(model, folder, dtype))
    site.config["model"] = {
        "name": display_name(model.name), "folder": "model", "files": files, "graph": graph.name, "dtype": dtype,
        "manifest_sha256": manifest_sha256((folder / "manifest.json").read_bytes()),
        "notice": notice,
    }
    # The renderer holds the shards, the NumPy model (float32) and onnxruntime's copy (float32 once folded).
    site.config["memory_gb"] = round(max(1.0, 4.5 * weights / 2**30 + 0.5), 1)
    log(f"2. model files: {len(files)} ({sum(f['bytes'] for f in files) / 1e6:.1f} MB, weights {dtype})")


def storage_notice(model, folder: Path, dtype: str) -> dict[str, str]:
    """What float16 or int8 storage costs, measured here on the example prompts against the float32 model: printed
    by the build and said on the page, in the same numbers."""
    from transformer_explainer.app.examples import EXAMPLE_PROMPTS
    from transformer_explainer.gpt2_core import load_model_from_shards
    from transformer_explainer.gpt2_core.quantization import quantization_cost
    from transformer_explainer.viz.i18n import in_every_language

    cost = quantization_cost(model, load_model_from_shards(folder), EXAMPLE_PROMPTS)
    numbers = {"agreement": cost["top1_agreement"], "logit_error": cost["max_logit_error"],
               "probability_error": cost["max_probability_error"]}
    log(f"   {dtype} against float32 on the {len(EXAMPLE_PROMPTS)} example prompts ({cost['positions']} positions): "
        f"top-1 agreement {numbers['agreement']:.1%}, largest logit error {numbers['logit_error']:.4f}, "
        f"largest probability error {numbers['probability_error']:.2g}")
    if dtype == "int8":
        return in_every_language("notice.quantized", agreement=numbers["agreement"], error=numbers["logit_error"])
    return in_every_language("notice.float16", **numbers)


# -- 3. gather the wheels ----------------------------------------------------------------------------------

def gather_wheels(site: Site, cache: Path) -> None:
    folder = site.path("wheels/x").parent
    cache.mkdir(parents=True, exist_ok=True)
    wheels = [our_wheel(folder)]
    for distribution in PYPI_DISTRIBUTIONS:
        source = pypi_wheel(distribution, cache)
        trims = WHEEL_TRIMS.get(distribution)
        target = folder / source.name
        trimmed_wheel(source, target, trims) if trims else shutil.copyfile(source, target)
        wheels.append(target)
    compile_to_bytecode(folder, [(wheel, wheel, wheel.name.startswith("transformer_explainer-"), SITE_PACKAGES)
                                 for wheel in wheels])
    site.config["wheel_folder"] = "wheels"
    site.config["wheels"] = [file_entry(wheel) for wheel in wheels]
    total = sum(wheel.stat().st_size for wheel in wheels)
    log(f"3. wheels: {len(wheels)} ({total / 1e6:.1f} MB, compiled to bytecode): "
        + ", ".join(wheel.name for wheel in wheels))


def our_wheel(folder: Path) -> Path:
    """transformer-explainer itself (gpt2_core, viz, app), built from a copy of this checkout's sources in a
    temporary folder: setuptools writes build/ and *.egg-info beside the pyproject.toml it builds, and the checkout
    is to stay as it was. The copy holds what the wheel is made of: pyproject.toml, the README it names, and each
    folder its package-dir maps."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as scratch:
        sources, wheels = Path(scratch) / "sources", Path(scratch) / "wheels"
        sources.mkdir()
        for name in ("pyproject.toml", project["project"]["readme"]):
            shutil.copy2(ROOT / name, sources / name)
        for name in set(project["tool"]["setuptools"]["package-dir"].values()):
            shutil.copytree(ROOT / name, sources / name, ignore=shutil.ignore_patterns("__pycache__"))
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                   "--wheel-dir", str(wheels), str(sources)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:  # e.g. no setuptools in this environment: let pip fetch it
            result = subprocess.run([c for c in command if c != "--no-build-isolation"], capture_output=True,
                                    text=True)
        if result.returncode != 0:
            raise BuildError(f"could not build the project's wheel:\n{result.stderr.strip()}")
        built = next(wheels.glob("transformer_explainer-*.whl"))
        return Path(shutil.copyfile(built, folder / built.name))


def compile_to_bytecode(folder: Path, jobs: list[tuple[Path, Path, bool, str]]) -> None:
    """Each archive's Python files compiled to bytecode by the site's own Python (Pyodide's CPython 3.12, run by
    Node: assets/bytecode), so the browser does not compile them at every visit (measured in Pyodide: the app's
    imports 14 s -> 9 s, Pyodide's start 2x faster with its standard library compiled). ``jobs``: (source,
    target, keep the source beside the bytecode, where the files are installed in the browser); the archives
    must be under ``folder``."""
    pyodide = pyodide_for_build()
    spec = [{"source": f"/work/{source.relative_to(folder).as_posix()}",
             "target": f"/work/{target.relative_to(folder).as_posix()}.compiling", "keep_source": keep,
             "installed_at": installed_at} for source, target, keep, installed_at in jobs]
    result = subprocess.run([node_for_build(), str(ASSETS / "bytecode" / "compile.mjs"), str(pyodide), str(folder),
                             json.dumps(spec)], capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"could not compile the site's Python to bytecode:\n{result.stderr.strip()[-2000:]}")
    for _, target, _, _ in jobs:
        Path(f"{target}.compiling").replace(target)


def node_for_build() -> str:
    node = shutil.which("node")
    if node is None:
        raise BuildError("the build needs Node.js (node) for the SIMD kernels and the bytecode: install it, then "
                         "run `npm ci --prefix assets`")
    return node


def pyodide_for_build() -> Path:
    """Pyodide's core from npm (assets/package.json), the same CPython the site runs."""
    folder = NODE_MODULES / "pyodide"
    version = json.loads((folder / "package.json").read_text())["version"] if folder.is_dir() else None
    if version != PYODIDE_VERSION:
        raise BuildError(f"{folder} holds Pyodide {version}; the build needs {PYODIDE_VERSION}: run "
                         f"`npm ci --prefix assets`")
    return folder


def pypi_wheel(distribution: str, cache: Path) -> Path:
    """The PyPI wheel of ``distribution`` at the version installed here, downloaded once into ``cache``."""
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(f"{distribution} is not installed here; install the app's extras first "
                         f"(pip install -e '.[app]')") from None
    prefix = re.sub(r"[-_.]+", "_", distribution).lower()
    found = [w for w in cache.glob("*.whl") if w.name.lower().startswith(f"{prefix}-{version}-")]
    if found:
        return found[0]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--dest", str(cache), f"{distribution}=={version}"]
    result = subprocess.run(command, capture_output=True, text=True)
    found = [w for w in cache.glob("*.whl") if w.name.lower().startswith(f"{prefix}-{version}-")]
    if result.returncode != 0 or not found:
        raise BuildError(f"could not download {distribution}=={version} from PyPI (needed by the site's Python):\n"
                         f"{result.stderr.strip()[-2000:]}")
    return found[0]


def trimmed_wheel(source: Path, target: Path, drop_prefixes: tuple[str, ...]) -> None:
    """A copy of a wheel without the files under ``drop_prefixes`` (its RECORD updated to match)."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as trimmed:
        for item in original.infolist():
            if item.filename.startswith(drop_prefixes):
                continue
            data = original.read(item)
            if item.filename.endswith(".dist-info/RECORD"):
                lines = data.decode("utf-8").splitlines(keepends=True)
                data = "".join(line for line in lines if not line.startswith(drop_prefixes)).encode("utf-8")
            trimmed.writestr(item, data)


# -- 4. place Pyodide --------------------------------------------------------------------------------------

def place_pyodide(site: Site, pyodide_dir: Path | None, pyodide_url: str) -> None:
    """Copy Pyodide's core and the packages the site loads from ``pyodide_dir``, or load all of it from
    ``pyodide_url``. The worker's code is the same either way; only the base URL differs."""
    if pyodide_dir is None:  # Pyodide from its CDN, but its standard library compiled, from here
        base = pyodide_url if pyodide_url.endswith("/") else pyodide_url + "/"
        stdlib = site.path("python/python_stdlib.zip")
        shutil.copyfile(pyodide_for_build() / "python_stdlib.zip", stdlib)
        compile_to_bytecode(site.out, [(stdlib, stdlib, False, STDLIB_ZIP)])
        site.config["pyodide"] = {"base": base, "packages": PYODIDE_PACKAGES, "stdlib": "python/python_stdlib.zip"}
        log(f"4. Pyodide from {base} (its standard library compiled to bytecode, from this site)")
        return
    pyodide_dir = Path(pyodide_dir)
    lock_path = pyodide_dir / "pyodide-lock.json"
    if not lock_path.is_file():
        raise BuildError(f"{pyodide_dir} is not a Pyodide distribution folder (no pyodide-lock.json)")
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise BuildError(f"{pyodide_dir} holds Pyodide {lock['info']['version']}; the site needs {PYODIDE_VERSION}")
    needed = package_closure(lock, PYODIDE_PACKAGES)
    folder = site.path("pyodide/x").parent
    for name in PYODIDE_CORE + [lock["packages"][package]["file_name"] for package in needed]:
        source = pyodide_dir / name
        if not source.is_file():
            raise BuildError(f"{source} is missing: the Pyodide folder is incomplete")
        shutil.copyfile(source, folder / name)
    lock["packages"] = {name: lock["packages"][name] for name in needed}  # the lock lists exactly what is here
    # Pyodide's packages ship their Python as source, which the browser would compile at every visit (numpy's 127
    # modules: 0.7 s of the boot, measured in Pyodide): compiled here like the rest, and the lock given the
    # compiled wheels' sha256, which loadPackage checks.
    stdlib = folder / "python_stdlib.zip"
    packages = [folder / lock["packages"][package]["file_name"] for package in needed]
    compile_to_bytecode(site.out, [(stdlib, stdlib, False, STDLIB_ZIP),
                                   *[(wheel, wheel, False, SITE_PACKAGES) for wheel in packages]])
    for package, wheel in zip(needed, packages):
        lock["packages"][package]["sha256"] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (folder / "pyodide-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    site.config["pyodide"] = {"base": "pyodide/", "packages": PYODIDE_PACKAGES, "stdlib": None}
    log(f"4. Pyodide {PYODIDE_VERSION} copied from {pyodide_dir} with {len(needed)} packages (its standard library "
        f"and its packages compiled to bytecode)")


def package_closure(lock: dict, names: list[str]) -> list[str]:
    packages, todo = [], list(names)
    while todo:
        name = todo.pop()
        if name in packages:
            continue
        if name not in lock["packages"]:
            raise BuildError(f"Pyodide's lock has no package {name!r}, which the site needs")
        packages.append(name)
        todo.extend(lock["packages"][name]["depends"])
    return sorted(packages)


# -- 5. copy the browser code ------------------------------------------------------------------------------

def copy_browser_code(site: Site) -> None:
    import bokeh
    import panel
    from panel.io.resources import JS_VERSION

    bokeh_js = Path(bokeh.__file__).parent / "server" / "static" / "js"
    scripts = []
    for name in BOKEH_SCRIPTS:
        shutil.copyfile(bokeh_js / f"{name}.min.js", site.path(f"bokeh/{name}.min.js"))
        scripts.append(f"bokeh/{name}.min.js")
    # Panel's files where its Python looks for them: PANEL_CDN_ROOT + <version>/dist/ (see worker.mjs).
    panel_dist = Path(panel.__file__).parent / "dist"
    dist = f"panel/{JS_VERSION}/dist"
    shutil.copyfile(panel_dist / "panel.min.js", site.path(f"{dist}/panel.min.js"))
    shutil.copytree(panel_dist / "css", site.path(f"{dist}/css"), dirs_exist_ok=True)
    shutil.copytree(panel_dist / "bundled" / "theme", site.path(f"{dist}/bundled/theme"), dirs_exist_ok=True)
    scripts.append(f"{dist}/panel.min.js")
    site.config["panel_cdn_root"] = "panel/"
    site.config["scripts"] = scripts
    # The same BokehJS files, written into Python's copy of Bokeh once the app is live (worker.mjs): the report
    # download inlines them, and the site's Bokeh wheel leaves its own copy out (WHEEL_TRIMS).
    site.config["bokeh_js"] = [f"bokeh/{name}.min.js" for name in BOKEH_SCRIPTS]

    ort_dist = ASSETS / "node_modules" / "onnxruntime-web" / "dist"
    if not ort_dist.is_dir():
        raise BuildError(f"{ort_dist} is missing: run `npm ci --prefix assets` first (onnxruntime-web)")
    for name in ORT_FILES:
        shutil.copyfile(ort_dist / name, site.path(f"ort/{name}"))
    shutil.copyfile(ASSETS / "ort_bridge.mjs", site.path("ort_bridge.mjs"))
    site.config["ort"] = {"folder": "ort/", "bridge": "ort_bridge.mjs"}
    for name in OUR_SCRIPTS:
        shutil.copyfile(SITE_ASSETS / name, site.path(name))
    build_kernels(site)
    log(f"5. browser code: BokehJS {bokeh.__version__}, Panel {panel.__version__}, onnxruntime-web, the bridge, "
        f"the SIMD kernels")


def build_kernels(site: Site) -> None:
    """The WebAssembly SIMD matrix kernels (assets/kernels/matmul.wat) that the site's Python multiplies with."""
    if not (NODE_MODULES / "wabt").is_dir():
        raise BuildError(f"{NODE_MODULES / 'wabt'} is missing: run `npm ci --prefix assets` first (wabt)")
    target = site.path(KERNELS_FILE)
    result = subprocess.run([node_for_build(), str(ASSETS / "kernels" / "build.mjs"), str(target)],
                            capture_output=True, text=True)
    if result.returncode != 0 or not target.is_file():
        raise BuildError(f"could not assemble the SIMD kernels:\n{result.stderr.strip()[-2000:]}")
    site.config["kernels"] = {**file_entry(target), "path": KERNELS_FILE}


# -- 6. precompute the example -----------------------------------------------------------------------------

def precompute_example(site: Site) -> None:
    """The app's first screen for the first example, computed here by the same code on the site's own weights
    (the float16 shards), drawn by the page while Python loads; its widgets are disabled (nothing would answer)
    but the prompt box: what is typed there while the model loads, the live app takes over and runs (site.mjs)."""
    import panel as pn
    from bokeh.document import Document
    from bokeh.embed.util import standalone_docs_json_and_render_items
    from panel.io.resources import CDN_DIST, JS_VERSION

    from transformer_explainer.app.examples import EXAMPLE_PROMPTS
    from transformer_explainer.app.layout import ExplainerApp
    from transformer_explainer.app.runtime import ModelRuntime
    from transformer_explainer.gpt2_core import load_model_from_shards

    from transformer_explainer.app.state import ExplainerState
    from transformer_explainer.viz.i18n import LANGUAGES

    runtime = ModelRuntime(load_model_from_shards(site.out / "model"), None, site.config["model"]["notice"])
    docs, sizes = {}, []
    for lang in LANGUAGES:  # one page per language: the page shows the one it speaks
        layout = ExplainerApp(runtime, ExplainerState(runtime, lang=lang)).layout()
        for widget in layout.select(pn.widgets.Widget):
            widget.disabled = "te-prompt" not in widget.css_classes
        document = Document()
        layout.server_doc(document)
        docs_json, render_items = standalone_docs_json_and_render_items(document.roots, suppress_callback_warning=True)
        text = json.dumps({"docs_json": docs_json, "render_items": [item.to_json() for item in render_items],
                           "root_ids": [root.id for root in document.roots], "prompt": EXAMPLE_PROMPTS[0]})
        text = relocated_panel_urls(text, CDN_DIST, JS_VERSION)
        docs[lang] = f"examples/precomputed.{lang}.json"
        site.path(docs[lang]).write_text(text, encoding="utf-8")
        sizes.append(f"{lang} {len(text) / 1e3:.0f} kB")
    site.config["precomputed"] = {"docs": docs, "prompt": EXAMPLE_PROMPTS[0]}
    log(f"6. precomputed example: {EXAMPLE_PROMPTS[0]!r} ({', '.join(sizes)})")


def relocated_panel_urls(text: str, cdn_dist: str, version: str) -> str:
    """Panel names its stylesheets by its CDN's URL; the site serves them itself (copy_browser_code)."""
    if cdn_dist not in text:
        raise BuildError(f"the precomputed page names none of Panel's stylesheets under {cdn_dist}: Panel changed "
                         f"how it names them; update relocated_panel_urls")
    return text.replace(cdn_dist, f"panel/{version}/dist/")


# -- 7. write the page -------------------------------------------------------------------------------------

def write_page(site: Site) -> None:
    from transformer_explainer.viz.i18n import LANGUAGES, catalogue, text

    offline = offline_files(site)
    site.path("offline.json").write_text(json.dumps({"files": offline}), encoding="utf-8")
    site.config["offline"] = {"worker": "sw.js", "build": build_id(site, offline)}

    # The page's own words (before Python runs) in every language: site.mjs shows the one the page speaks.
    words = {lang: {key: value for key, value in catalogue(lang).items() if key.startswith("site.")}
             for lang in LANGUAGES}
    config = {**site.config, "words": words}
    scripts = "\n".join(f'  <script src="{src}"></script>' for src in config.pop("scripts"))
    steps = "\n".join(f'      <li data-step="{step}">{html_text(text("en", key))}</li>' for step, key in
                      (("weights", "site.step.weights"), ("python", "site.step.python"),
                       ("packages", "site.step.packages"), ("app", "site.step.app")))
    note = text("en", "site.precomputed_note", prompt=site.config["precomputed"]["prompt"],
                model=site.config["model"]["name"])
    page = string.Template((SITE_ASSETS / "index.html").read_text(encoding="utf-8")).substitute(
        stylesheets="", scripts=scripts, config=json.dumps(config, ensure_ascii=False).replace("<", "\\u003c"),
        title=html_text(text("en", "site.title")), steps=steps, precomputed_note=html_text(note),
        retry=html_text(text("en", "site.retry")), needs_javascript=html_text(text("en", "site.needs_javascript")),
        loading_label=html_text(text("en", "site.loading_label")),
        progress_label=html_text(text("en", "site.progress_label")))
    site.path("index.html").write_text(page, encoding="utf-8")
    log("7. page: index.html")


def read_site_config(out: Path) -> dict:
    """The config ``write_page`` put into a built site's index.html (what the page's scripts read)."""
    page = (Path(out) / "index.html").read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="te-site-config">(.*?)</script>', page, re.S)[1])


def offline_files(site: Site) -> list[str]:
    """Every file the page needs to start, for the service worker (sw.js) to keep: the page itself ("./"), its
    scripts and styles, Pyodide, BokehJS and Panel's files, the precomputed example."""
    files = sorted(path.relative_to(site.out).as_posix() for path in site.out.rglob("*") if path.is_file())
    return ["./"] + [path for path in files if path != "index.html" and not path.startswith(NOT_FOR_OFFLINE)]


def build_id(site: Site, offline: list[str]) -> str:
    """The build's id: a digest of every file's bytes (but the page, which names it) and of the listing."""
    digest = hashlib.sha256("\n".join(offline).encode())
    for path in sorted(site.out.rglob("*")):
        if path.is_file() and path.name not in ("index.html", "offline.json"):
            digest.update(path.relative_to(site.out).as_posix().encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def html_text(text: str) -> str:
    import html

    return html.escape(text, quote=True)


# -- 8. check the site -------------------------------------------------------------------------------------

def check_site(site: Site) -> None:
    """Every file the configuration names exists with its size and hash; no HTML/JS/CSS/JSON file references a
    host other than Pyodide's base, but for the reviewed ones inside third-party files."""
    config = site.config
    named = [(f"{config['model']['folder']}/{entry['name']}", entry) for entry in config["model"]["files"]]
    named += [(f"{config['wheel_folder']}/{entry['name']}", entry) for entry in config["wheels"]]
    named.append((config["kernels"]["path"], {key: config["kernels"][key] for key in ("name", "bytes", "sha256")}))
    for path, entry in named:
        if file_entry(site.out / path) != entry:
            raise BuildError(f"{path} does not match the site's configuration")
    pyodide_host = host_of(config["pyodide"]["base"])
    foreign = {}
    for path in site.out.rglob("*"):
        if path.suffix not in {".html", ".js", ".mjs", ".css", ".json"} or not path.is_file():
            continue
        relative = path.relative_to(site.out).as_posix()
        third_party = relative.startswith(THIRD_PARTY_FOLDERS)
        text = path.read_text(encoding="utf-8", errors="replace")
        for host in set(re.findall(r"//([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})", text, re.IGNORECASE)):
            if host == pyodide_host or (third_party and host in REVIEWED_THIRD_PARTY_HOSTS):
                continue
            foreign.setdefault(relative, set()).add(host)
    if foreign:
        listing = "; ".join(f"{path}: {', '.join(sorted(hosts))}" for path, hosts in sorted(foreign.items()))
        raise BuildError(f"the site references hosts other than Pyodide's base: {listing} (our files may name none; "
                         f"a third-party file's new host must be reviewed into REVIEWED_THIRD_PARTY_HOSTS)")
    total = sum(path.stat().st_size for path in site.out.rglob("*") if path.is_file())
    log(f"8. checked: {total / 1e6:.1f} MB in {site.out}")


def host_of(url: str) -> str | None:
    match = re.match(r"https?://([^/:]+)", url)
    return match[1] if match else None


# -- the build ---------------------------------------------------------------------------------------------

def build(model: str = DEFAULT_MODEL, out: str | Path = "dist", pyodide_dir: str | Path | None = None,
          pyodide_url: str = PYODIDE_CDN, dtype: str = "float16", wheel_cache: Path = WHEEL_CACHE) -> Path:
    out = Path(out)
    loaded = load_build_model(model)  # before anything is deleted: a model that fails to load leaves out as it was
    clear_output_folder(out)
    site = Site(out)
    write_model(site, loaded, dtype)
    gather_wheels(site, wheel_cache)
    place_pyodide(site, pyodide_dir, pyodide_url)
    copy_browser_code(site)
    precompute_example(site)
    write_page(site)
    check_site(site)
    log(f"built {out}/index.html: preview it with `python build.py serve --out {out}`")
    return out


def clear_output_folder(out: Path) -> None:
    """Empty ``out`` for a new build, but only if it is empty or a site this script built: never a folder of
    someone's files given as --out by mistake."""
    if out.is_file():
        raise BuildError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        index = out / "index.html"
        if not (index.is_file() and 'id="te-site-config"' in index.read_text(encoding="utf-8", errors="replace")):
            raise BuildError(f"--out {out} holds files that are not a site built by build.py; choose a new or "
                             f"empty folder")
        shutil.rmtree(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        from transformer_explainer.app.site_server import serve_site

        parser = argparse.ArgumentParser(prog="python build.py serve", description="Preview the built site.")
        parser.add_argument("--out", default="dist", help="the built folder (default: dist)")
        parser.add_argument("--port", type=int, default=8000)
        args = parser.parse_args(argv[1:])
        return serve_site(args.out, args.port)
    parser = argparse.ArgumentParser(prog="python build.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a Hugging Face id, a local checkpoint directory, "
                                                              "or 'demo' (a tiny random model)")
    parser.add_argument("--out", default="dist", help="the folder to write (replaced)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--pyodide-dir", type=Path, help="copy Pyodide from this folder: the site loads nothing "
                                                        "from any other host")
    where.add_argument("--pyodide-url", default=PYODIDE_CDN, help=f"load Pyodide from here (default {PYODIDE_CDN})")
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument("--float32", action="store_true", help="store float32 weights (exact, twice the download)")
    storage.add_argument("--quantize", choices=["int8"], help="store the matrices as int8 with one scale per row "
                                                             "(half the download; the build prints what it costs)")
    parser.add_argument("--wheel-cache", type=Path, default=WHEEL_CACHE, help="where PyPI wheels are kept")
    args = parser.parse_args(argv)
    from transformer_explainer.gpt2_core import GPT2CoreError

    try:
        dtype = "float32" if args.float32 else args.quantize or "float16"
        build(args.model, args.out, args.pyodide_dir, args.pyodide_url, dtype, args.wheel_cache)
    except (BuildError, GPT2CoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
