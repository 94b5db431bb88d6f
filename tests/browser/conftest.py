"""The browser tests' served app: one ``transformer-explainer serve`` on the tiny checkpoint per test module."""

from __future__ import annotations

import pytest
from app_server import AppServer


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    app_server = AppServer(tiny_checkpoint)
    yield app_server
    app_server.stop()
