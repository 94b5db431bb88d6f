"""The distribution installs everything under one import name, ``transformer_explainer``: every folder of app/,
viz/ and gpt2_core/ that holds code or data is a listed package, and nothing else is importable at the top level."""

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"transformer_explainer": "transformer_explainer", "app": "transformer_explainer.app",
           "gpt2_core": "transformer_explainer.gpt2_core", "viz": "transformer_explainer.viz"}


def setuptools_table() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_folder_of_the_code_is_a_listed_package_under_transformer_explainer():
    listed = set(setuptools_table()["packages"])
    found = set()
    for folder, package in FOLDERS.items():
        for path in [ROOT / folder, *(p for p in (ROOT / folder).rglob("*") if p.is_dir())]:
            if path.name == "__pycache__" or not any(f.is_file() for f in path.iterdir()):
                continue
            found.add(".".join([package, *path.relative_to(ROOT / folder).parts]))
    assert found == listed, (found - listed, listed - found)


def test_each_top_level_folder_maps_to_its_namespaced_package():
    assert setuptools_table()["package-dir"] == {package: folder for folder, package in FOLDERS.items()}
    assert all(package == "transformer_explainer" or package.startswith("transformer_explainer.")
               for package in setuptools_table()["packages"])


def test_the_installed_packages_are_found_under_the_namespace():
    import transformer_explainer.app.state
    import transformer_explainer.gpt2_core
    import transformer_explainer.viz.picture

    assert Path(transformer_explainer.gpt2_core.__file__).parent == ROOT / "gpt2_core"
    assert Path(transformer_explainer.viz.picture.__file__).parent == ROOT / "viz" / "picture"
    assert Path(transformer_explainer.app.state.__file__).parent == ROOT / "app"
    assert sys.modules.get("viz") is None and sys.modules.get("app") is None


def build_outputs_in_the_checkout() -> dict[str, int]:
    """Every file under build/ and *.egg-info/ beside build.py, with its modification time."""
    folders = [ROOT / "build", *ROOT.glob("*.egg-info")]
    return {str(path.relative_to(ROOT)): path.stat().st_mtime_ns for folder in folders if folder.exists()
            for path in [folder, *folder.rglob("*")]}


def test_the_sites_wheel_is_built_without_writing_into_the_checkout(tmp_path, monkeypatch):
    import importlib.util
    import zipfile

    spec = importlib.util.spec_from_file_location("build_under_test", ROOT / "build.py")
    build = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, build)  # its dataclasses look their module up there
    spec.loader.exec_module(build)
    before = build_outputs_in_the_checkout()
    wheel = build.our_wheel(tmp_path)
    assert build_outputs_in_the_checkout() == before, "the build wrote build/ or *.egg-info beside build.py"
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"transformer_explainer/gpt2_core/demo.py", "transformer_explainer/viz/locales/zh.json",
            "transformer_explainer/app/cli.py", "transformer_explainer/explainer.py"} <= names
    assert not any("__pycache__" in name for name in names)
