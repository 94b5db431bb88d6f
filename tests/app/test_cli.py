"""The command line: predict, trace, report, demo-model, and clear one-line errors (never a traceback)."""

import numpy as np
import pytest

from app.cli import main
from gpt2_core import Trace, load_model, sampling


def test_predict_prints_the_tokens_and_the_real_top_candidates(tiny_checkpoint, tiny_model, capsys):
    assert main(["predict", "The capital of France is", "--model", str(tiny_checkpoint), "--top", "3"]) == 0
    out = capsys.readouterr().out
    trace = tiny_model.run_with_trace("The capital of France is")
    probs = sampling.probabilities(trace.logits)
    best = int(np.argmax(probs))
    assert f"{trace.n_tokens} tokens: [The] [␣capital]" in out
    assert f"1. {tiny_model.tokenizer.display(best):<20} id {best:<6}" in out
    assert f"p = {probs[best]:.4f}" in out


def test_trace_writes_a_trace_file_that_loads(tiny_checkpoint, tiny_model, tmp_path, capsys):
    assert main(["trace", "Hello world", "--model", str(tiny_checkpoint), "--out", str(tmp_path / "t.npz")]) == 0
    trace = Trace.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(trace.logits, tiny_model.run_with_trace("Hello world", head_results=True).logits)
    assert "blocks.1.attn.hook_result" in trace


def test_report_writes_one_html_file_with_the_prompt_escaped(tiny_checkpoint, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "a <script>alert(1)</script> b", "--model", str(tiny_checkpoint), "--out", str(out),
                 "--layer", "1", "--head", "3"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Bokeh" in page and "cdn.bokeh.org" not in page  # inline resources: opens offline


def test_demo_model_writes_a_loadable_checkpoint(tmp_path, capsys):
    assert main(["demo-model", str(tmp_path / "demo")]) == 0
    model = load_model(tmp_path / "demo")
    assert model.config.n_layer == 4 and model.forward("hi").shape == (2, 457)


@pytest.mark.parametrize("argv, message", [
    (["predict", "", "--model", "demo"], "error: the prompt is empty"),
    (["predict", "hi", "--model", "./does-not-exist"], "error: there is no directory at"),
    (["report", "hi", "--model", "demo", "--out", "x.html", "--layer", "9"], "error: layer must be in 0..3"),
])
def test_errors_are_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and "Traceback" not in err
