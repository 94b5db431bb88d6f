"""Serving the app with Panel (CPython): ``transformer-explainer serve``."""

from __future__ import annotations

import panel as pn

from .layout import build_app
from .runtime import load_runtime


def serve(model: str | None = None, revision: str | None = None, port: int = 5006, address: str = "127.0.0.1",
          show: bool = False, use_onnx: bool = False, websocket_origins: list[str] | None = None, start: bool = True):
    """Load the model once, then give every browser session its own page and state."""
    runtime = load_runtime(model, revision=revision, use_onnx=use_onnx)
    pn.extension(notifications=False)
    origins = [f"localhost:{port}", f"127.0.0.1:{port}", *(websocket_origins or [])]
    print(f"Transformer Explainer: {runtime.model!r} on http://{address}:{port}/", flush=True)
    return pn.serve({"/": lambda: build_app(runtime)}, port=port, address=address, show=show, start=start,
                    title="Transformer Explainer", websocket_origin=origins, verbose=False)
