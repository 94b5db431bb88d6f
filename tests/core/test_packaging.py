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
