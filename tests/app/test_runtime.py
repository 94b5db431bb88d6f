"""Which model the app shows: GPT-2 when it can be had, else a clearly labelled demo model, and quickly."""

import socket

import pytest

import transformer_explainer.app.runtime as runtime_module
from transformer_explainer.app.runtime import load_runtime
from transformer_explainer.gpt2_core.demo import DEMO_MODEL
from transformer_explainer.gpt2_core.loading import hub_unreachable
from transformer_explainer.gpt2_core import ModelNotAvailableError


def test_the_demo_model_says_it_is_not_gpt2():
    runtime = load_runtime(DEMO_MODEL)
    assert runtime.is_demo and "not GPT-2" in runtime.notice["en"] and "不是 GPT-2" in runtime.notice["zh"]
    assert runtime.fast_generator is None


def test_an_explicit_model_that_cannot_load_is_an_error_not_a_demo(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="no directory"):
        load_runtime(str(tmp_path / "missing"))


def test_a_local_model_loads_without_a_notice(tiny_checkpoint):
    runtime = load_runtime(str(tiny_checkpoint))
    assert not runtime.is_demo and runtime.notice == ""


def test_without_a_cached_gpt2_and_no_hub_the_app_starts_the_demo_and_says_why(monkeypatch):
    asked, real_load_model = [], runtime_module.load_model

    def load_model(source, **options):
        if source != runtime_module.DEFAULT_MODEL:
            return real_load_model(source, **options)  # the demo model's own files
        asked.append(options)
        raise ModelNotAvailableError("not in the cache")

    monkeypatch.setattr(runtime_module, "load_model", load_model)
    monkeypatch.setattr(runtime_module, "hub_unreachable", lambda: "huggingface.co: Name or service not known")
    runtime = load_runtime(None)
    assert runtime.is_demo
    assert "Name or service not known" in runtime.notice["en"] and "--model ./gpt2" in runtime.notice["en"]
    assert "--model ./gpt2" in runtime.notice["zh"], "the reason is quoted in Chinese too"
    assert asked == [{"revision": None, "local_files_only": True, "progress": False}]  # no slow download attempt


def test_a_cached_gpt2_is_used_without_asking_the_hub(monkeypatch, tiny_model):
    monkeypatch.setattr(runtime_module, "load_model", lambda source, **options: tiny_model)
    monkeypatch.setattr(runtime_module, "hub_unreachable", lambda: pytest.fail("the Hub was asked"))
    runtime = load_runtime(None)
    assert runtime.model is tiny_model and runtime.notice == ""


def test_hub_reachability_is_checked_against_the_configured_endpoint(monkeypatch):
    from huggingface_hub import constants

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
        assert hub_unreachable() == ""
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")  # closed now
    assert "127.0.0.1" in hub_unreachable()
