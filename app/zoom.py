"""A camera move in a Bokeh figure, played in the browser: its x and y ranges glide from one window onto the
data to another (the centre in a straight line, the span by a steady factor each frame, easing out), so that a
part of the figure grows to fill it or the whole comes into view around that part.

The picture zooms out from one block to the whole model, and back into a block, with it (app/picture_panel.py).
It moves the ranges rather than scaling the page with a CSS transform: BokehJS measures its container with the
transform applied, and a figure laid out during a CSS zoom keeps the wrong size.
"""

from __future__ import annotations

import param
import panel as pn

# ``data.move``: {figure, start, end, serial, duration}, in one property so that it arrives whole; ``start`` and
# ``end`` are [x_start, x_end, y_start, y_end]. Each new serial plays once; when it has played, ``done`` says so
# (Python waits for it before what comes after the move). Reduced motion: a jump.
ZOOM_JS = """
const move = data.move;
if (move == null || !(move.serial > 0)) return;
let figure = null;
for (const m of model.document.all_models) if (m.name === move.figure) { figure = m; break; }
if (figure === null) { data.done = move.serial; return; }
// Once per move, even where Panel renders this component twice: the move is noted on the figure itself.
if (figure.__te_zoom_serial === move.serial) return;
figure.__te_zoom_serial = move.serial;
const serial = move.serial, [a, b] = [move.start, move.end];
const still = window.matchMedia != null && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
const duration = still ? 0 : move.duration, began = performance.now();
const glide = (from_start, from_end, to_start, to_end, t) => {
  const centre = (from_start + from_end) / 2 + t * ((to_start + to_end) / 2 - (from_start + from_end) / 2);
  const from_span = from_end - from_start, to_span = to_end - to_start;
  const span = from_span * Math.pow(to_span / from_span, t);
  return [centre - span / 2, centre + span / 2];
};
const step = (now) => {
  if (figure.__te_zoom_serial !== serial) return;  // another move began
  // (a frame's time is when the frame began: the first may be a little before the move did)
  const t = duration > 0 ? Math.min(1, Math.max(0, (now - began) / duration)) : 1, eased = 1 - Math.pow(1 - t, 3);
  const [x0, x1] = glide(a[0], a[1], b[0], b[1], eased), [y0, y1] = glide(a[2], a[3], b[2], b[3], eased);
  // Only the last frame goes to Python (a server would otherwise get two messages a frame, and answer them
  // late): it then knows where the move ended.
  figure.x_range.setv({start: x0, end: x1}, {sync: t >= 1});
  figure.y_range.setv({start: y0, end: y1}, {sync: t >= 1});
  if (t < 1) requestAnimationFrame(step); else data.done = serial;
};
requestAnimationFrame(step);
"""


class RangeZoom(pn.reactive.ReactiveHTML):
    """Draws nothing; ``play(figure_name, start, end)`` moves that figure's ranges from ``start`` to ``end``
    (each [x_start, x_end, y_start, y_end]) in the browser, and ``done`` becomes the move's serial at its end."""

    move = param.Dict(default={})
    done = param.Integer(default=0)
    _template = '<div id="zoom" style="display: none"></div>'
    _scripts = {"render": ZOOM_JS, "move": ZOOM_JS}

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
