"""``transformer-explainer generate`` with Hugging Face models: a Hub id downloaded (from a local stand-in for
the Hub, tests/fake_hub.py), and one clear line for each way it can fail: an unknown model, a model that is
neither cached nor downloadable, a folder transformers cannot read, a model with no attention to show."""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys

import pytest

from transformer_explainer.app.cli import main
from library_helpers import need_transformers
from environment import REPO_ROOT
from fake_hub import FakeHub

pytestmark = pytest.mark.torch


def run_cli(args, env):
    return subprocess.run([sys.executable, "-m", "transformer_explainer.app.cli", "generate", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_hub_id_is_downloaded_and_an_unknown_one_is_one_clear_line(hf_checkpoint, tmp_path):
    folder = hf_checkpoint("bert")
    with FakeHub() as hub:  # the Hub's address is read when huggingface_hub is imported: a fresh process
        hub.add_revision("org/tiny-bert", folder)
        env = dict(os.environ, HF_ENDPOINT=hub.endpoint, HF_HOME=str(tmp_path / "hf-home"),
                   HF_HUB_DISABLE_PROGRESS_BARS="1")
        out = tmp_path / "report.html"
        done = run_cli(["--model", "org/tiny-bert", "--text", "What is the capital of France?", "--output", str(out)],
                       env)
        assert done.returncode == 0, done.stderr
        assert "model.safetensors" in hub.downloads()
        page = html.unescape(out.read_text(encoding="utf-8"))
        assert "<b>org/tiny-bert</b>: 2 layers, 4 heads" in page
        failed = run_cli(["--model", "org/no-such-model", "--text", "hi", "--output", str(tmp_path / "x.html")], env)
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: unknown model 'org/no-such-model': no such folder here and no such model "
                                    "on the Hugging Face Hub")
    assert failed.stderr.count("\n") == 1 and not (tmp_path / "x.html").exists()


def test_a_model_neither_cached_nor_downloadable_names_what_to_download(tmp_path, monkeypatch, capsys):
    need_transformers()
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert main(["generate", "--model", "example-org/never-cached-model", "--text", "hi",
                 "--output", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: example-org/never-cached-model is not in the Hugging Face cache and cannot be "
                          "downloaded (HF_HUB_OFFLINE is set): download it on a machine with internet "
                          "(hf download example-org/never-cached-model")
    assert err.count("\n") == 1


def test_a_model_with_no_attention_is_one_clear_line(hf_checkpoint, tmp_path, capsys):
    import transformers

    folder = tmp_path / "tiny-mamba"
    transformers.MambaModel(transformers.MambaConfig(vocab_size=600, hidden_size=16, num_hidden_layers=2,
                                                     state_size=4, expand=2, conv_kernel=2)).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(hf_checkpoint("gpt2") / name, folder / name)
    assert main(["generate", "--model", str(folder), "--text", "hello", "--output", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: MambaModel returned no attention weights") and err.count("\n") == 1


def test_a_folder_transformers_cannot_read_is_one_clear_line(hf_checkpoint, tmp_path, capsys):
    folder = tmp_path / "odd"
    shutil.copytree(hf_checkpoint("bert"), folder)
    (folder / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}), encoding="utf-8")
    assert main(["generate", "--model", str(folder), "--text", "hello", "--output", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: transformers cannot read {folder}: ") and err.count("\n") == 1
    assert "no-such-architecture" in err
