"""The packages import one way: gpt2_core (the model) → viz (the views) → the library (transformer_explainer's own
modules) → app. Read from the source of every module (imports inside functions included), not from what one run
happens to load. ``python tests/core/test_package_graph.py`` prints the graph."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"gpt2_core": "gpt2_core", "viz": "viz", "app": "app", "transformer_explainer": "library"}
SUBPACKAGES = {"gpt2_core", "viz", "app"}  # transformer_explainer.<these>; any other module of it is the library's
MAY_NOT_IMPORT = {"gpt2_core": {"viz", "app", "library"}, "viz": {"app", "library"}, "library": {"app"}}


def dotted_name(path: Path) -> str:
    """transformer_explainer.<...> of a source file: viz/sections/mlp.py -> transformer_explainer.viz.sections.mlp."""
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    parts = ["transformer_explainer"] + ([] if folder == "transformer_explainer" else [folder]) + rest
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str | None:
    """Which of our packages a dotted module name belongs to, or None for anything else (numpy, a stdlib module)."""
    parts = module.split(".")
    if parts[0] != "transformer_explainer":
        return None
    return FOLDERS[parts[1]] if len(parts) > 1 and parts[1] in SUBPACKAGES else "library"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file; ``from X import name`` counts X.name too, so that
    ``from transformer_explainer import app`` is seen as importing the app."""
    module = dotted_name(path)
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".")[:len(module.split(".")) - node.level + is_package]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def source_files() -> list[Path]:
    return sorted(path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py"))


def package_graph() -> dict[str, dict[str, list[str]]]:
    """{package: {package it imports: ["file:line", ...]}} over every source file of the four folders."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in source_files():
        importer = package_of(dotted_name(path))
        for line, module in imported_modules(path):
            imported = package_of(module)
            if imported is not None and imported != importer:
                graph[importer][imported].append(f"{path.relative_to(ROOT)}:{line}")
    return graph


def test_the_graph_reads_relative_and_absolute_imports_alike():
    graph = package_graph()
    assert "gpt2_core" in graph["viz"] and "viz" in graph["app"] and "gpt2_core" in graph["library"]
    assert package_of("transformer_explainer.viz.sections.mlp") == "viz" and package_of("numpy") is None
    assert package_of("transformer_explainer.explainer") == "library"


def test_no_package_imports_one_that_stands_on_it():
    graph = package_graph()
    wrong = [f"{importer} imports {imported} at {', '.join(graph[importer][imported][:3])}"
             for importer, forbidden in MAY_NOT_IMPORT.items() for imported in sorted(forbidden)
             if imported in graph[importer]]
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_folders_by_their_bare_names():
    """``import viz`` or ``from app import ...`` would find a user's own viz.py or app.py first."""
    bare = [f"{path.relative_to(ROOT)}:{line} imports {module}" for path in source_files()
            for line, module in imported_modules(path) if module.split(".")[0] in SUBPACKAGES]
    assert not bare, "\n".join(bare)


if __name__ == "__main__":
    for importer, imports in sorted(package_graph().items()):
        for imported, places in sorted(imports.items()):
            print(f"{importer:>9} -> {imported:<9} {len(places):>3} imports, e.g. {places[0]}")
