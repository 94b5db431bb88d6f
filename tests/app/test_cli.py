"""The command line: predict, trace, report, generate, demo-model, and clear one-line errors (never a traceback)."""

import html

import numpy as np
import pytest

from transformer_explainer.app.cli import main
from transformer_explainer.gpt2_core import Trace, load_model, sampling


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


# -- generate: the library's report (transformer_explainer) -------------------------------------------------------

def test_generate_writes_one_report_with_a_section_per_text(tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("Hello world\n\n   \nThe <b>capital</b> of France\n", encoding="utf-8")
    out = tmp_path / "report.html"
    assert main(["generate", "--model", "demo", "--text", "A first text", "--text-file", str(texts),
                 "--output", str(out)]) == 0
    assert f"wrote {out} (3 texts," in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    for section in range(3):
        assert f'"s{section}-attention-patterns"' in page and f'"s{section}-hidden-states"' in page
    assert '"s3-attention-patterns"' not in page  # blank lines are no texts
    document = html.unescape(page)  # Bokeh writes the page's JSON HTML-escaped: what the Div receives
    assert "<code>The &lt;b&gt;capital&lt;/b&gt; of France</code>" in document and "<b>capital</b>" not in document
    assert "cdn.bokeh.org" not in page and "<script src=" not in page  # inline: opens with no network


@pytest.mark.parametrize("argv, message", [
    (["--model", "demo", "--output", "{tmp}/r.html"], "error: give a text to show: --text"),
    (["--model", "demo", "--text", " ", "--output", "{tmp}/r.html"], "error: text 1 is empty"),
    (["--model", "demo", "--text-file", "{tmp}/missing.txt", "--output", "{tmp}/r.html"],
     "error: cannot read --text-file {tmp}/missing.txt: No such file or directory"),
    (["--model", "demo", "--text-file", "{tmp}/blank.txt", "--output", "{tmp}/r.html"],
     "error: --text-file {tmp}/blank.txt holds no text (one text per line)"),
    (["--model", "demo", "--text", "hi", "--output", "{tmp}"], "error: --output {tmp} is a folder"),
    (["--model", "demo", "--text", "hi", "--output", "{tmp}/no/r.html"], "error: cannot write {tmp}/no/r.html"),
    (["--model", "demo", "--text", "x " * 300, "--output", "{tmp}/r.html"],
     "error: the input is 600 tokens long, but demo reads at most 256: shorten the text"),
    (["--model", "demo", "--text", "fine", "--text", "x " * 300, "--output", "{tmp}/r.html"],
     "error: text 2: the input is 600 tokens long"),
    (["--model", "{tmp}/nothing-here", "--text", "hi", "--output", "{tmp}/r.html"],
     "error: there is no folder {tmp}/nothing-here: pass a folder written by save_pretrained"),
    (["--model", "{tmp}/empty", "--text", "hi", "--output", "{tmp}/r.html"],
     "error: the folder {tmp}/empty has no config.json"),
    (["--model", "{tmp}/config-only", "--text", "hi", "--output", "{tmp}/r.html"],
     "error: the folder {tmp}/config-only has no weights (model.safetensors or pytorch_model.bin)"),
    (["--model", "demo", "--text", "hi"], "transformer-explainer generate: error: the following arguments are "
                                          "required: --output"),
])
def test_generate_errors_are_one_clear_line(tmp_path, capsys, argv, message):
    (tmp_path / "blank.txt").write_text("\n  \n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "config-only").mkdir()
    (tmp_path / "config-only" / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    assert main(["generate", *(arg.replace("{tmp}", str(tmp_path)) for arg in argv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message.replace("{tmp}", str(tmp_path))), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()
