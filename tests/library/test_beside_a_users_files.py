"""The library and the CLI run from a folder that holds a user's own app.py, viz.py and gpt2_core.py (common names
beside a notebook): everything the project installs is imported as transformer_explainer.*, so none of them is
picked up. Each stand-in raises ImportError if anything imports it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

USERS_MODULES = ("app", "viz", "gpt2_core")

SHOW_ATTENTION = """
import sys
import numpy as np
from transformer_explainer import Explainer

pattern = np.array([[[1.0, 0.0], [0.25, 0.75]]], dtype=np.float32)  # [heads, query, key]
widget = Explainer.from_arrays(["Da", "ta"], attentions=[pattern]).show_attention()
widget.__panel__()
widget.save("attention.html")
print("shown", widget.view.heatmap.values.tolist(), sorted(set(sys.modules) & {"app", "viz", "gpt2_core"}))
"""


@pytest.fixture
def users_folder(tmp_path) -> Path:
    for name in USERS_MODULES:
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('the user\\'s own {name}.py was imported')\n")
    return tmp_path


def run_in(folder: Path, command: list[str]) -> subprocess.CompletedProcess:
    """``command`` with the folder as the working directory and first on the path, as a notebook beside it has it."""
    env = dict(os.environ, PYTHONPATH=str(folder))
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_the_stand_ins_are_what_a_bare_import_would_find(users_folder):
    done = run_in(users_folder, [sys.executable, "-c", "import viz"])
    assert done.returncode == 1 and "the user's own viz.py was imported" in done.stderr


def test_show_attention_beside_a_users_app_viz_and_gpt2_core(users_folder):
    pytest.importorskip("panel", reason="the notebook widgets need Panel (pip install 'transformer-explainer[app]')")
    done = run_in(users_folder, [sys.executable, "-c", SHOW_ATTENTION])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "shown [[1.0, 0.0], [0.25, 0.75]] []"
    assert "Bokeh" in (users_folder / "attention.html").read_text(encoding="utf-8")


def test_the_command_line_beside_a_users_app_viz_and_gpt2_core(users_folder):
    command = Path(sys.executable).with_name("transformer-explainer")
    if not command.exists():
        pytest.skip(f"the console script is not installed beside {sys.executable} (pip install -e .)")
    done = run_in(users_folder, [str(command), "generate", "--model", "demo", "--text", "Data", "--output",
                                 "report.html"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote report.html (1 text, ")
    assert '[[0.5,"D"],[1.5,"at"],[2.5,"a"]]' in (users_folder / "report.html").read_text(encoding="utf-8")
