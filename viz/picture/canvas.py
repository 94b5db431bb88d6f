"""The picture's one Bokeh Plot, drawn in either direction from the same data.

Every source holds positions in the design's own terms (layout.py): ``x``/``left``/``right`` along the flow,
``y``/``top``/``bottom`` across the token rows. ``Canvas.add`` makes each glyph from such a spec:

- ``"horizontal"`` (laptops): the flow runs left to right, the token rows top to bottom: fields are used as named.
- ``"vertical"`` (phones): the flow runs top to bottom, the token rows left to right: every geometric field is
  read by the other axis' property (``left`` ↔ ``top``, ``xs`` ↔ ``ys``, ...). The data do not change, so the
  values, the tests' geometry and every tap stay the same; a text may say how it turns (``vertical=``).

Each text glyph is registered with its size at scale 1 (``texts``), for the fit script (fit.py) to scale.
"""

from __future__ import annotations

from bokeh.models import Plot, Range1d, Text

from .layout import HEIGHT, WIDTH

ORIENTATIONS = ("horizontal", "vertical")
SWAP = {"x": "y", "y": "x", "left": "top", "right": "bottom", "top": "left", "bottom": "right", "xs": "ys",
        "ys": "xs", "x0": "y0", "y0": "x0", "x1": "y1", "y1": "x1", "cx0": "cy0", "cy0": "cx0", "cx1": "cy1",
        "cy1": "cx1", "dw": "dh", "dh": "dw"}
TEXT_DEFAULTS = {"angle": 0.0, "text_align": "left", "text_baseline": "bottom", "text_alpha": 1.0,
                 "background_fill_alpha": 1.0}  # Bokeh's own
TURNABLE = tuple(TEXT_DEFAULTS)  # what a text may set differently when the picture turns


def check_orientation(orientation: str) -> str:
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, not {orientation!r}")
    return orientation


class Canvas:
    """``plot`` (named picture-figure) and the glyphs drawn on it, each kept with its spec so that
    ``set_orientation`` can turn them all in place."""

    def __init__(self, orientation: str = "horizontal", name: str = "picture-figure"):
        self.orientation = check_orientation(orientation)
        self.plot = Plot(name=name, width=WIDTH, height=HEIGHT, x_range=Range1d(0, WIDTH),
                         y_range=Range1d(HEIGHT, 0), toolbar_location=None, min_border=0, outline_line_color=None,
                         title=None, background_fill_color=None, border_fill_color=None, sizing_mode="fixed")
        self._glyphs: list[tuple[object, dict, dict]] = []  # (glyph, spec, what changes when vertical)
        self.texts: list[tuple[Text, float]] = []  # (text glyph, its size in px at scale 1)
        self._fit_ranges()

    def glyph(self, kind, spec: dict, vertical: dict | None = None):
        """A glyph of class ``kind`` from ``spec`` (the design's field names), turned when the picture is."""
        spec, vertical = dict(spec), dict(vertical or {})
        size = spec.pop("size", None)
        if size is not None:
            spec["text_font_size"] = f"{size}px"
        glyph = kind(**self._mapped(spec, vertical))
        self._glyphs.append((glyph, spec, vertical))
        if size is not None:
            self.texts.append((glyph, float(size)))
        return glyph

    def add(self, source, kind, spec: dict, *, vertical: dict | None = None, hover: dict | None = None,
            selection: dict | None = None, nonselection: dict | None = None, level: str | None = None):
        """Draw ``source`` with a glyph made from ``spec``; ``hover``/``selection``/``nonselection``: the
        changes in spec for those states (``nonselection`` defaults to the glyph itself: nothing dims on a tap)."""
        glyph = self.glyph(kind, spec, vertical)
        options = {"nonselection_glyph": glyph if nonselection is None else self.glyph(kind, {**spec, **nonselection},
                                                                                        vertical)}
        if hover is not None:
            options["hover_glyph"] = self.glyph(kind, {**spec, **hover}, vertical)
        if selection is not None:
            options["selection_glyph"] = self.glyph(kind, {**spec, **selection}, vertical)
        if level is not None:
            options["level"] = level
        return self.plot.add_glyph(source, glyph, **options)

    def set_orientation(self, orientation: str) -> None:
        """Turn the picture (every glyph in place, and the ranges): the sources stay as they are."""
        orientation = check_orientation(orientation)
        if orientation == self.orientation:
            return
        self.orientation = orientation
        for glyph, spec, vertical in self._glyphs:
            mapped = self._mapped(spec, vertical)
            changed = {key: value for key, value in mapped.items() if key in SWAP or key in TURNABLE}
            glyph.update(**changed)
        self._fit_ranges()

    @property
    def design_size(self) -> tuple[int, int]:
        """(width, height) of the picture on the screen at scale 1."""
        return (WIDTH, HEIGHT) if self.orientation == "horizontal" else (HEIGHT, WIDTH)

    def _fit_ranges(self) -> None:
        width, height = self.design_size
        self.plot.x_range.update(start=0, end=width)
        self.plot.y_range.update(start=height, end=0)  # y runs downwards
        self.plot.update(width=width, height=height)

    def _mapped(self, spec: dict, vertical: dict) -> dict:
        if self.orientation == "horizontal":  # what the vertical picture sets differently goes back to its default
            return {**{key: TEXT_DEFAULTS[key] for key in vertical if key in TEXT_DEFAULTS}, **spec}
        turned = {SWAP.get(key, key): value for key, value in spec.items()}
        return {**turned, **vertical}  # (a glyph drawn as it is, not turned, names its fields again here)
