"""Take the picture away: as a PNG or an SVG (made in the browser from what the page shows), the current step's
trace as ``.npz`` (``Trace.save``; ``Trace.load`` reads it back) and the standalone HTML report of this prompt —
downloads in the served app and in the static site alike (no server needed: the files are made where the model
runs)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import panel as pn

from .report import write_report
from .static_files import static_text


def trace_file(trace) -> io.BytesIO:
    """``trace`` as the bytes of a ``Trace.save`` .npz file."""
    with tempfile.TemporaryDirectory() as folder:
        return io.BytesIO(trace.save(Path(folder) / "trace.npz").read_bytes())


def report_file(state, runtime) -> io.BytesIO:
    """The standalone report (app/report.py) of the prompt the views show, with the page's block, head, sampling
    settings and language."""
    settings = state.sampling_settings()
    with tempfile.TemporaryDirectory() as folder:
        path = write_report(runtime.model, runtime.decode(state.trace.token_ids), Path(folder) / "report.html",
                            layer=state.layer, head=state.head, seed=state.valid_seed, lang=state.lang,
                            trace=state.trace, **settings)
        return io.BytesIO(path.read_bytes())


class Exports:
    """The export buttons of one page: ``widgets`` (for the drawer) and ``buttons_for(target, name)`` (a PNG and an
    SVG button for any layout, e.g. an open section)."""

    def __init__(self, state, runtime, picture_area):
        self.state, self.runtime = state, runtime
        self.words = words = state.words
        self.png, self.svg = self.buttons_for(picture_area, "picture")
        self.trace = pn.widgets.FileDownload(callback=lambda: trace_file(self.state.trace), filename="trace.npz",
                                             label=words("app.export_trace"), color="light", width=170,
                                             css_classes=["te-export-trace", "te-control"], embed=False)
        self.report = pn.widgets.FileDownload(callback=lambda: report_file(self.state, self.runtime),
                                              filename="report.html", label=words("app.export_report"),
                                              color="light", width=170, embed=False,
                                              css_classes=["te-export-report", "te-control"])

    @property
    def widgets(self) -> list:
        return [self.png, self.svg, self.trace, self.report]

    def buttons_for(self, target, name: str) -> tuple:
        buttons = []
        for kind, label in (("png", "app.export_png"), ("svg", "app.export_svg")):
            button = pn.widgets.Button(label=self.words(label), width=120, color="light",
                                       css_classes=[f"te-export-{kind}", "te-control"])
            button.js_on_click(args={"target": target, "kind": kind, "filename": f"{name}.{kind}"},
                               code=static_text("export_view.js"))
            buttons.append(button)
        return tuple(buttons)
