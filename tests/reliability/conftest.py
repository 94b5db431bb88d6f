"""The proof suite of issue 10: the served app against hostile input and faults (marker ``reliability``).

Every page opened here fails its test on a page error, a console error or a dialog (an ``alert`` means script from
the page's data ran), as in tests/browser. Each module starts one server (``transformer-explainer serve`` on a tiny
checkpoint) and opens a page per group of values, not one per value. Nothing is timed: the speed goals (the other
page answers within 1 s during a long paste; memory back within 10 % after 40 pages) are measured by
scripts/bench_reliability.py, which prints its numbers and says met or MISSED.

    pytest tests/reliability            # or -m reliability
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))  # the page helpers of app_server.py

from app_server import opened_pages  # noqa: E402

from transformer_explainer.gpt2_core import GPT2Config  # noqa: E402
from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "reliability: hostile input and faults against the served app "
                                       "(tests/reliability; the issue's proof suite)")


@pytest.fixture(scope="session")
def long_context_checkpoint(tmp_path_factory) -> Path:
    """The tiny model's sizes with a context of 1024 tokens: a generation of 1000 tokens takes seconds, long enough
    to stop the server in the middle of it."""
    return write_random_checkpoint(tmp_path_factory.mktemp("tiny-gpt2-long"),
                                   GPT2Config(n_vocab=457, n_ctx=1024, n_embd=64, n_head=4, n_layer=2), std=0.2, seed=1)


@pytest.fixture
def open_page(browser, server):
    """``open_page(query="", width=1280, height=900)``: a fresh page on the module's ``server``; after the test,
    no page error, console error or dialog in any of them."""
    with opened_pages(browser, server.url) as opener:
        yield opener
