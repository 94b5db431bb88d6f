"""app/compat.py owns every reach into Panel's, Bokeh's and Pyodide's internals: what it relies on is still there
in the pinned versions, and no other module of the code base reaches for a private name of those packages."""

import re
from pathlib import Path

import panel as pn
import pytest

from transformer_explainer.app import compat

ROOT = Path(__file__).resolve().parents[2]
CODE = [*(ROOT / "app").rglob("*.py"), *(ROOT / "viz").rglob("*.py"), *(ROOT / "gpt2_core").rglob("*.py"),
        *(ROOT / "transformer_explainer").rglob("*.py"), ROOT / "build.py"]
# A private name of Panel, Bokeh, param or Pyodide: imported from them, or set or read on one of their objects.
PRIVATE_TOUCHES = [
    re.compile(r"from (panel|bokeh|param|pyodide)[\w.]* import [^\n]*\b_[a-z]\w*"),
    re.compile(r"\.(_debounce|_process_param_change|_dispatch_msgs|_link_docs_worker|_convert_json_patch|"
               r"_process_events|_WRITE_MSGS|_WRITE_BLOCK)\b"),
    re.compile(r"\bparse_query\b|\bjsnull\b|\.param\.watchers\s*=|__class__\s*="),
]


def test_no_module_but_compat_reaches_into_panel_bokeh_or_pyodide_internals():
    found = []
    for path in CODE:
        if path == ROOT / "app" / "compat.py" or "__pycache__" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if any(pattern.search(code) for pattern in PRIVATE_TOUCHES):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "private internals outside app/compat.py:\n" + "\n".join(found)


def test_panels_update_queue_still_has_what_send_stranded_writes_wraps():
    from panel.io import document

    for name in ("_dispatch_msgs", "_WRITE_MSGS", "_WRITE_BLOCK", "_dispatch_write_task"):
        assert hasattr(document, name), f"Panel no longer has panel.io.document.{name}: revisit send_stranded_writes"
    compat.send_stranded_writes()
    compat.send_stranded_writes()  # idempotent: wrapped once
    assert document._dispatch_msgs.sends_stranded_writes


def test_panels_link_parser_is_still_where_parse_links_tolerantly_wraps_it():
    from panel.io import location

    compat.parse_links_tolerantly()
    assert location.parse_query.keeps_unreadable_values
    assert location.parse_query("?prompt=" + "9" * 5000)["prompt"] == "9" * 5000  # int() refuses 5,000 digits


def test_panels_worker_link_functions_are_still_there():
    """(panel.io.pyodide imports Pyodide's ``js`` module: it is read here, not imported.)"""
    import importlib.util

    source = Path(importlib.util.find_spec("panel.io.pyodide").origin).read_text(encoding="utf-8")
    for name in ("init_doc", "write_doc", "_link_docs_worker", "_convert_json_patch"):
        assert f"def {name}(" in source, f"Panel's pyodide module has no {name} any more: revisit app/compat.py"
    assert "pyodide.ffi.jsnull" in source  # what give_pyodide_a_jsnull stands in for on Pyodide 0.27


def test_widgets_still_have_the_debounce_that_answer_at_once_turns_off():
    slider = pn.widgets.FloatSlider()
    assert slider._debounce > 0
    compat.answer_at_once(slider)
    assert slider._debounce == 0


def test_the_whole_number_box_hands_on_what_the_browser_sends_and_shows_what_it_can():
    box = compat.WholeNumberBox(value=5)
    assert box._process_param_change({"value": 10**30})["value"] == float(10**30)
    assert box._process_param_change({"value": "abc"})["value"] is None
    assert box._process_param_change({"value": float("nan")})["value"] is None
    box.value = -5  # no bounds: the state decides, and says why
    assert box.value == -5


def test_dropping_every_watcher_leaves_none():
    import param

    class Settings(param.Parameterized):
        x = param.Number(1)

    settings, heard = Settings(), []
    settings.param.watch(lambda event: heard.append(event.new), "x")
    compat.drop_every_watcher(settings)
    settings.x = 2
    assert heard == []


@pytest.mark.parametrize("script", ["connection_lost.js", "run_on_ctrl_enter.js"])
def test_the_scripts_that_lean_on_bokehjs_internals_are_named_in_compat(script):
    assert script in compat.__doc__ and (ROOT / "app" / "static" / script).is_file()
