"""Views as one self-contained HTML file: Bokeh's JavaScript inline, nothing fetched from anywhere.

Bokeh adds the JavaScript files of every model class that has been imported to any standalone page,
used or not: once Panel is imported (a notebook, the app), that means Panel's module shims (a relative
path that does not exist next to the file) and MathJax from a CDN. None of viz's figures needs them, so
these resources leave every external file out.
"""

from __future__ import annotations

from bokeh.embed import file_html
from bokeh.models import Model
from bokeh.resources import Resources


class SelfContainedResources(Resources):
    """Inline resources without the external files that imported extensions would add."""

    def clone(self, *, components=None) -> "SelfContainedResources":
        """Bokeh's clone() returns a plain Resources (which would add the external files again): this one's kind,
        with the settings an inline page uses."""
        return SelfContainedResources(mode=self.mode, minified=self.minified, log_level=self.log_level,
                                      components=list(self.components) if components is None else components)

    @property
    def js_files(self) -> list[str]:
        return []

    @property
    def css_files(self) -> list[str]:
        return []


def standalone_html(model: Model, title: str) -> str:
    """The HTML of a page showing ``model``, which opens offline and loads nothing else."""
    return file_html(model, SelfContainedResources(mode="inline"), title=title)
