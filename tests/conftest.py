"""Fixtures every test suite shares: tiny random checkpoints, the real tokenizer files, a browser.

Nothing here needs the network. Real GPT-2 files come from ../shared (or TE_SHARED_DIR); tests
that need them skip with the reason when they are absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from environment import CHROMIUM_ARGS, GPT2_TOKENIZER_DIR, IN_CI, find_chromium, require_shared
from transformer_explainer.gpt2_core import GPT2Config, load_model
from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint


@pytest.fixture(scope="session")
def gpt2_tokenizer_dir() -> Path:
    """The real GPT-2 vocab.json and merges.txt."""
    require_shared(GPT2_TOKENIZER_DIR / "vocab.json")
    return GPT2_TOKENIZER_DIR


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A 2-layer, 4-head, 64-wide random GPT-2 with a 457-token BPE, in Hugging Face's file format.
    Weights are larger than GPT-2's init (std 0.2) so attention patterns are far from uniform."""
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny-gpt2"), std=0.2, seed=1)


@pytest.fixture(scope="session")
def tiny_model(tiny_checkpoint):
    return load_model(tiny_checkpoint)


@pytest.fixture(scope="session")
def small_shaped_checkpoint(tmp_path_factory, gpt2_tokenizer_dir) -> Path:
    """A random checkpoint with GPT-2 small's shapes (124M parameters) and the real tokenizer."""
    return write_random_checkpoint(tmp_path_factory.mktemp("gpt2-small-shaped"), GPT2Config(), seed=0,
                                   tokenizer_dir=gpt2_tokenizer_dir)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        message = ("no system Chromium found (install it: apt-get install -y chromium, or set CHROMIUM_PATH); "
                   "Playwright cannot download browsers here")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path, tmp_path_factory):
    """A headless system Chromium driven by Playwright, shared by the session's browser tests."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def small_random_model(tmp_path_factory):
    """GPT-2 small's widths (12 heads, 768) with 2 layers and the tiny tokenizer: fast, but real shapes."""
    directory = tmp_path_factory.mktemp("small-width")
    return load_model(write_random_checkpoint(directory, GPT2Config(n_vocab=457, n_ctx=256, n_layer=2), seed=3))
