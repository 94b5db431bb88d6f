"""Fitting the picture into the window: one script, run in the browser when the page is ready and again whenever
the window or the picture's box changes size (viz/js/picture_fit.js).

The picture is drawn in design pixels (layout.py, ``WIDTH`` × ``HEIGHT``; turned on a phone). The script scales
the plot to the room it has, keeping its shape: the width of its box, and the height of the window below the
picture's top (minus ``margin``). Every text is scaled with it (larger type on larger screens), never below
``min_px``. Nothing moves in the data: taps, hovers and the tests' positions are in design pixels.
"""

from __future__ import annotations

from bokeh.models import CustomJS

from .. import js_code

MIN_TEXT_PX = 10.0  # the smallest text on the picture, on the smallest phone (laptops get 12 px or more)
MARGIN_PX = 8.0  # room left under the picture
MAX_SCALE = 2.5


def fit_script(view, *, margin: float = MARGIN_PX, min_px: float = MIN_TEXT_PX, max_scale: float = MAX_SCALE
               ) -> CustomJS:
    """The CustomJS that fits ``view`` (a PictureView): run it once the page is ready
    (``document.js_on_event("document_ready", ...)``); it then follows the window by itself."""
    glyphs, sizes = zip(*view.canvas.texts)
    return CustomJS(args=dict(plot=view.figure, box=view.layout, texts=list(glyphs), sizes=list(sizes),
                              min_px=float(min_px), margin=float(margin), max_scale=float(max_scale)),
                    code=js_code("picture_fit"))
