"""The command line refuses what it cannot do with one line on stderr that says what to do, and exit
status 2: bad numbers before anything loads, unwritable outputs before the model loads, a taken port or a
bad address before the model loads and before the URL is printed. No test here starts a server."""

from __future__ import annotations

import socket
import subprocess
import sys
import webbrowser

import pytest

import transformer_explainer.app.cli
import transformer_explainer.app.server
from transformer_explainer import app
from transformer_explainer.app.cli import main
from transformer_explainer.app.runtime import ModelRuntime
from environment import REPO_ROOT
from transformer_explainer.gpt2_core import Trace


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert captured.out == ""  # nothing printed before the error: no URL, no model summary
    return lines[0]


@pytest.fixture
def model_never_loads(monkeypatch):
    """Any attempt to load a model fails the test: the error must come before."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the model was loaded before the bad argument was refused")

    monkeypatch.setattr(app.cli, "load", forbidden)
    monkeypatch.setattr(app.server, "load_runtime", forbidden)


@pytest.fixture
def taken_port():
    """A port this test holds (bound and listening), so nothing else can serve on it."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- numbers out of range ----------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["predict", "hi", "--top", "-3"], "argument --top: must be a whole number >= 1, got -3"),
    (["predict", "hi", "--top", "0"], "argument --top: must be a whole number >= 1, got 0"),
    (["predict", "hi", "--top", "ten"], "argument --top: expected a whole number >= 1, got 'ten'"),
    (["predict", "hi", "--temperature", "-1"], "argument --temperature: must be a number >= 0"),
    (["predict", "hi", "--temperature", "nan"], "argument --temperature: must be a number >= 0"),
    (["predict", "hi", "--temperature", "inf"], "argument --temperature: must be a number >= 0"),
    (["report", "hi", "--out", "r.html", "--layer", "-1"], "argument --layer: must be a whole number >= 0, got -1"),
    (["report", "hi", "--out", "r.html", "--head", "-2"], "argument --head: must be a whole number >= 0, got -2"),
    (["report", "hi", "--out", "r.html", "--temperature", "-0.5"], "argument --temperature: must be a number >= 0"),
    (["demo-model", "d", "--seed", "-1"], "argument --seed: must be a whole number from 0 to 9223372036854775807"),
    (["serve", "--port", "99999"], "argument --port: must be a whole number from 1 to 65535, got 99999"),
    (["serve", "--port", "0"], "argument --port: must be a whole number from 1 to 65535, got 0"),
    (["trace", "hi"], "the following arguments are required: --out"),
])
def test_a_bad_option_is_refused_in_one_line_before_anything_loads(argv, message, capsys, model_never_loads):
    assert main(argv) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"transformer-explainer {argv[0]}: error: {message}")
    assert line.endswith(f"(see transformer-explainer {argv[0]} --help)")


def test_a_head_past_the_models_last_is_refused_naming_the_range(capsys, tmp_path):
    assert main(["report", "hi", "--model", "demo", "--out", str(tmp_path / "r.html"), "--head", "4"]) == 2
    assert one_line_error(capsys) == "error: layer must be in 0..3 and head in 0..3, got layer 0, head 4"


def test_help_still_exits_zero(capsys):
    assert main(["predict", "--help"]) == 0
    assert "--top" in capsys.readouterr().out


# -- outputs that cannot be written ------------------------------------------------------------------

@pytest.mark.parametrize("command", ["trace", "report"])
def test_an_out_file_in_a_missing_folder_is_refused_before_the_model_loads(command, tmp_path, capsys,
                                                                          model_never_loads):
    out = tmp_path / "missing" / "dir" / "x.out"
    assert main([command, "hi", "--out", str(out)]) == 2
    assert one_line_error(capsys) == (f"error: cannot write {out}: the folder {out.parent} does not exist; "
                                      f"create it first, or choose another --out")


def test_an_out_that_is_a_folder_is_refused(tmp_path, capsys, model_never_loads):
    assert main(["trace", "hi", "--out", str(tmp_path)]) == 2
    assert one_line_error(capsys) == f"error: --out {tmp_path} is a folder: give a file name in it, e.g. " \
                                     f"{tmp_path / 'trace.npz'}"


def test_a_write_that_fails_midway_is_one_line(tiny_checkpoint, tmp_path, capsys, monkeypatch):
    def disk_full(self, path, float16=False):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(Trace, "save", disk_full)
    out = tmp_path / "t.npz"
    assert main(["trace", "hi", "--model", str(tiny_checkpoint), "--out", str(out)]) == 2
    assert one_line_error(capsys) == f"error: cannot write {out}: No space left on device; choose another --out"


def test_demo_model_into_a_path_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    assert main(["demo-model", str(tmp_path / "taken")]) == 2
    assert one_line_error(capsys) == (f"error: {tmp_path / 'taken'} is a file, not a folder: choose a folder to "
                                      f"write the demo model into")


def test_demo_model_under_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    target = tmp_path / "file" / "demo"
    assert main(["demo-model", str(target)]) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"error: cannot write the demo model to {target}: ") and \
        line.endswith("; choose a folder you can write to")


def test_demo_model_where_writing_is_not_permitted_is_refused(tmp_path, capsys, monkeypatch):
    def not_permitted(directory, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(directory))

    monkeypatch.setattr("transformer_explainer.gpt2_core.checkpoints.write_random_checkpoint", not_permitted)
    assert main(["demo-model", str(tmp_path / "demo")]) == 2
    assert one_line_error(capsys) == (f"error: cannot write the demo model to {tmp_path / 'demo'}: Permission denied; "
                                      f"choose a folder you can write to")


# -- serve: the address and port, checked first ------------------------------------------------------

def test_serve_on_a_port_in_use_says_so_before_loading_or_printing_the_url(taken_port, capsys, model_never_loads):
    assert main(["serve", "--model", "demo", "--port", str(taken_port)]) == 2
    assert one_line_error(capsys) == (f"error: port {taken_port} is already in use on 127.0.0.1 (another server, "
                                      f"perhaps an earlier transformer-explainer serve): stop it, or choose another "
                                      f"port with --port")


@pytest.mark.parametrize("address, message", [
    ("256.0.0.1", "error: --address 256.0.0.1 is not a valid IP address (each of its four numbers is 0 to 255)"),
    ("192.0.2.1", "error: --address 192.0.2.1 is not an address of this machine"),  # TEST-NET-1: no machine's own
    ("", "error: --address must not be empty"),
])
def test_serve_on_a_bad_address_is_one_line(address, message, capsys, model_never_loads):
    assert main(["serve", "--address", address, "--port", str(free_port())]) == 2
    assert one_line_error(capsys).startswith(message)


def test_serve_from_the_console_exits_2_with_one_line(taken_port):
    """The real process: the exit status a shell sees, and nothing but the one line."""
    result = subprocess.run([sys.executable, "-c", "import sys; from transformer_explainer.app.cli import main; sys.exit(main())",
                             "serve", "--model", "demo", "--port", str(taken_port)],
                            capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"error: port {taken_port} is already in use on 127.0.0.1 (another server, perhaps an " \
                            f"earlier transformer-explainer serve): stop it, or choose another port with --port\n"


# -- serve --show without a browser ------------------------------------------------------------------

@pytest.fixture
def fake_panel_serve(monkeypatch, tiny_model):
    """serve() up to the point where Panel would start: the model is the tiny one, Panel's serve is recorded."""
    calls = []
    monkeypatch.setattr(app.server, "load_runtime", lambda *args, **kwargs: ModelRuntime(tiny_model))
    monkeypatch.setattr(app.server.pn, "extension", lambda *args, **kwargs: None)
    monkeypatch.setattr(app.server.pn, "serve", lambda *args, **kwargs: calls.append(kwargs))
    return calls


def test_show_without_a_browser_prints_where_to_open_the_app(fake_panel_serve, monkeypatch, capsys):
    monkeypatch.setattr(app.server, "can_open_browser", lambda: False)
    port = free_port()
    app.server.serve(port=port, show=True)
    out = capsys.readouterr().out
    assert f"open http://127.0.0.1:{port}/ in a browser" in out
    assert fake_panel_serve[0]["show"] is False and fake_panel_serve[0]["port"] == port


def test_show_with_a_browser_lets_panel_open_it_and_prints_no_hint(fake_panel_serve, monkeypatch, capsys):
    monkeypatch.setattr(app.server, "can_open_browser", lambda: True)
    app.server.serve(port=free_port(), show=True)
    assert "in a browser" not in capsys.readouterr().out
    assert fake_panel_serve[0]["show"] is True


def test_no_browser_can_open_on_linux_without_a_display(monkeypatch):
    monkeypatch.setattr(app.server.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(webbrowser, "get", lambda *args: object())  # even with a browser registered
    assert app.server.can_open_browser() is False
    monkeypatch.setenv("DISPLAY", ":0")
    assert app.server.can_open_browser() is True


def test_no_browser_can_open_when_webbrowser_finds_none(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")

    def no_browser(*args):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    assert app.server.can_open_browser() is False


def test_the_listening_check_leaves_the_port_free():
    port = free_port()
    app.server.check_can_listen("127.0.0.1", port)
    with socket.socket() as again:  # the probe socket was closed: the real server can bind it
        again.bind(("127.0.0.1", port))
