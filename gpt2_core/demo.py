"""The demo model: a small random GPT-2 that needs no download (offline classrooms, tests, ``--model demo``).

Its computations are real, its weights random, and its tokenizer its own: a byte-level BPE of 457 tokens learnt
from a few sentences (``checkpoints.train_tiny_bpe``), not GPT-2's 50,257. So its tokens are not GPT-2's either:
"Data" is D/at/a, "quick" q/u/ic/k, and a letter it never saw is two byte tokens (<0xC3> <0xA9> for é).
Writing it needs ``safetensors`` (imported when called), like any checkpoint written here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import checkpoints
from .config import GPT2Config
from .gpt2 import GPT2
from .loading import load_model

DEMO_MODEL = "demo"  # the name it goes by (``--model demo``, ``GPT2.name``): obviously not GPT-2
DEMO_CONFIG = GPT2Config(n_vocab=457, n_ctx=256, n_embd=128, n_head=4, n_layer=4)
DEMO_WEIGHT_STD = 0.15  # wide enough that attention patterns and predictions are not all flat


def write_demo_checkpoint(directory: str | Path, seed: int = 0) -> Path:
    """The demo model as a Hugging Face checkpoint folder (config.json, model.safetensors, vocab.json, merges.txt)."""
    return checkpoints.write_random_checkpoint(directory, DEMO_CONFIG, seed=seed, std=DEMO_WEIGHT_STD)


def demo_model(seed: int = 0) -> GPT2:
    """The demo model, loaded through the same code as any checkpoint (its files written to a temporary folder)."""
    with tempfile.TemporaryDirectory() as directory:
        model = load_model(write_demo_checkpoint(directory, seed))
    model.name = DEMO_MODEL
    return model
