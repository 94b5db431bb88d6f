"""The app's own CSS and JavaScript, read from app/static (package data: the static site's Python finds them too)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def static_text(name: str) -> str:
    """The text of ``app/static/<name>`` (a .css or .js file of this package)."""
    return files(__package__).joinpath("static", name).read_text(encoding="utf-8")
