"""A camera move in a Bokeh figure, played in the browser: its x and y ranges glide from one window onto the
data to another (the centre in a straight line, the span by a steady factor each frame, easing out), so that a
part of the figure grows to fill it or the whole comes into view around that part.

The picture zooms out from one block to the whole model, and back into a block, with it (app/picture_panel.py).
It moves the ranges rather than scaling the page with a CSS transform: BokehJS measures its container with the
transform applied, and a figure laid out during a CSS zoom keeps the wrong size.
"""

from __future__ import annotations

import panel as pn
import param

from .static_files import static_text


class RangeZoom(pn.reactive.ReactiveHTML):
    """Draws nothing; ``play(figure_name, start, end)`` moves that figure's ranges from ``start`` to ``end``
    (each [x_start, x_end, y_start, y_end]) in the browser, and ``done`` becomes the move's serial at its end."""

    move = param.Dict(default={})
    done = param.Integer(default=0)
    _template = '<div id="zoom" style="display: none"></div>'
    _scripts = {"render": static_text("zoom.js"), "move": static_text("zoom.js")}

    def __init__(self, duration_ms: int = 520, **params):
        super().__init__(height=0, width=0, margin=0, **params)
        self.duration_ms = duration_ms

    @property
    def serial(self) -> int:
        return self.move.get("serial", 0)

    def play(self, figure: str, start: list[float], end: list[float]) -> int:
        """Start a move; returns its serial (``done`` takes it when the move has played)."""
        self.move = {"figure": figure, "start": [float(v) for v in start], "end": [float(v) for v in end],
                     "serial": self.serial + 1, "duration": self.duration_ms}
        return self.serial
