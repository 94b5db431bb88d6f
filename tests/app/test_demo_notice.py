"""When the app shows the demo model, it says so in words, on the page's banner and in the terminal: random
weights, its own 457-token vocabulary (not GPT-2's tokens), and, when it fell back to it, why and what to download."""

import socket

import pytest

import transformer_explainer.app.runtime as runtime_module
import transformer_explainer.app.server as server_module
from transformer_explainer.app.runtime import load_runtime
from transformer_explainer.gpt2_core import DEFAULT_MODEL, ModelNotAvailableError
from transformer_explainer.gpt2_core.demo import DEMO_MODEL, demo_model
from transformer_explainer.viz import i18n

OFFLINE = "huggingface.co: Temporary failure in name resolution"


@pytest.fixture
def offline(monkeypatch):
    """No GPT-2 in the cache and no Hub: the app falls back to the demo model."""
    def load_model(source, **options):
        raise ModelNotAvailableError(f"{source} is not in the cache")

    monkeypatch.setattr(runtime_module, "load_model", load_model)
    monkeypatch.setattr(runtime_module, "hub_unreachable", lambda: OFFLINE)


@pytest.fixture
def serve(monkeypatch):
    """serve() on a free port, up to where Panel would start."""
    monkeypatch.setattr(server_module.pn, "extension", lambda *args, **kwargs: None)
    monkeypatch.setattr(server_module.pn, "serve", lambda *args, **kwargs: None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return lambda: server_module.serve(port=port)


@pytest.mark.parametrize("key", ["notice.demo", "notice.fallback"])
@pytest.mark.parametrize("lang", sorted(i18n.LANGUAGES))
def test_the_banner_says_what_the_demo_tokenizer_does(key, lang):
    tokenizer = demo_model().tokenizer
    split = "/".join(tokenizer.display_tokens(tokenizer.encode("Data")))
    words = i18n.text(lang, key, reason="-")
    assert split == "D/at/a" and split in words and f"{tokenizer.vocab_size} " in words


def test_offline_the_page_says_it_fell_back_and_what_to_download(offline):
    runtime = load_runtime(None)
    assert runtime.model.name == DEMO_MODEL
    english = runtime.notice["en"]
    assert "demo model with random weights" in english and "457 tokens" in english and "D/at/a" in english
    assert OFFLINE in english and OFFLINE in runtime.notice["zh"]
    assert (f"download config.json, model.safetensors, vocab.json, merges.txt from "
            f"https://huggingface.co/{DEFAULT_MODEL}/tree/main into a folder") in english


def test_offline_serve_says_it_in_the_terminal_too(offline, serve, capsys):
    serve()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Transformer Explainer: GPT2('demo'")
    assert lines[1] == i18n.text("en", "notice.fallback", reason=lines[1].split("Reason: ", 1)[1])
    assert "random weights" in lines[1] and "D/at/a" in lines[1] and OFFLINE in lines[1]


def test_a_model_that_loads_prints_no_notice(monkeypatch, serve, capsys, tiny_model):
    monkeypatch.setattr(server_module, "load_runtime", lambda *args, **kwargs: runtime_module.ModelRuntime(tiny_model))
    serve()
    assert len(capsys.readouterr().out.splitlines()) == 1
