"""Fixtures of the library tests: tiny random Hugging Face checkpoints (written by transformers itself, no
network) and attention-like arrays. Shared functions are in library_helpers.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from library_helpers import HF_KINDS, IMAGE_KINDS, need_pillow, need_transformers, softmax


@pytest.fixture(scope="session")
def hf_checkpoint(tmp_path_factory):
    """kind -> the folder of a tiny random checkpoint of that kind (2 layers, 4 heads, 32 wide), one per session."""
    need_transformers()
    from transformer_explainer.tiny import save_tiny_checkpoint

    folders = {}

    def folder(kind: str) -> Path:
        if kind not in folders:
            folders[kind] = save_tiny_checkpoint(tmp_path_factory.mktemp(f"tiny-{kind}"), kind,
                                                 seed=HF_KINDS.index(kind) + 1)
        return folders[kind]
    return folder


@pytest.fixture(scope="session")
def random_arrays():
    """Attention-like arrays (rows sum to 1) for 3 layers × 2 heads × 5 tokens, and 4 hidden states [5, 6]."""
    rng = np.random.default_rng(7)
    attentions = [softmax(2 * rng.standard_normal((2, 5, 5))) for _ in range(3)]
    hidden = [rng.standard_normal((5, 6)).astype(np.float32) for _ in range(4)]
    return ["<b>", "cat", "$$x$$", "sat", "."], attentions, hidden


@pytest.fixture(scope="session")
def image_checkpoint(tmp_path_factory):
    """kind -> the folder of a tiny random image model of that kind (IMAGE_KINDS) with its processor."""
    need_transformers()
    need_pillow()
    from transformer_explainer.tiny import save_tiny_checkpoint

    folders = {}

    def folder(kind: str) -> Path:
        if kind not in folders:
            folders[kind] = save_tiny_checkpoint(tmp_path_factory.mktemp(f"tiny-{kind}"), kind,
                                                 seed=IMAGE_KINDS.index(kind) + 11)
        return folders[kind]
    return folder
