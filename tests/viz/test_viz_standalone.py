"""A standalone page loads nothing from anywhere, whatever else has been imported (Panel adds files to
every Bokeh page once it is imported)."""

import re

import pytest
from bokeh.embed import file_html
from bokeh.plotting import figure
from bokeh.resources import INLINE

from transformer_explainer.viz.standalone import standalone_html


def external_references(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


def test_a_standalone_page_references_no_file_even_with_panel_imported():
    pytest.importorskip("panel")  # noqa: the import is the point: it registers Panel's extra files with Bokeh
    plot = figure()
    plot.line([1, 2, 3], [3, 1, 2])
    assert external_references(file_html(plot, INLINE, "plain")), "Bokeh's own INLINE would fetch Panel's files"
    html = standalone_html(plot, "self-contained")
    assert external_references(html) == []
    assert "Bokeh" in html and "<title>self-contained</title>" in html
