"""``transformer-explainer serve`` with the guided tour in the page, for tests/browser/test_tour.py.

The page's own module (app/layout.py) is the lead's; until it puts the tour in (``attach_tour``, app/tour.py), this
script adds it the same way, after the page is built. Once app/layout.py attaches it, this adds nothing.

    python tests/browser/serve_with_tour.py serve --model DIR --port N
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import layout  # noqa: E402
from app.cli import main  # noqa: E402
from app.tour import attach_tour  # noqa: E402

page_of = layout.ExplainerApp.layout


def page_with_tour(app):
    page = page_of(app)
    attach_tour(app, page)  # does nothing where the page has it already
    return page


layout.ExplainerApp.layout = page_with_tour

if __name__ == "__main__":
    sys.exit(main())
