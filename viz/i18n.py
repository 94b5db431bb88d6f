"""Every word the user sees, in English and in Simplified Chinese.

One catalogue per language, ``viz/locales/<lang>.json``: a flat map from a dotted key to a template, the same
keys in every language (tests/i18n checks that none is missing and none unused). A template's ``{name}`` fields
are filled with ``str.format``: numbers and token strings are filled in, never translated.

    words = translator("zh")
    words("controls.run")                      → "运行 ▶"
    words("status.generated", n=12)            → "已生成 12 个 token。"

Keys are written out in full where they are used (no key built from pieces), so that a search for a key finds
every place it is shown. The glossary (``glossary.*`` keys) fixes how each technical term is translated; the
Chinese texts use those words and no others.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Callable

LANGUAGES = {"en": "English", "zh": "中文"}
DEFAULT_LANGUAGE = "en"
LOCALES = Path(__file__).with_name("locales")

Translator = Callable[..., str]


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The catalogue of one language (key → template)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    return json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def text(lang: str, key: str, /, **values) -> str:
    """The text of ``key`` in ``lang``, its fields filled in. A key missing from ``lang`` falls back to English
    (a test keeps that from happening); a key missing from English is a bug and raises KeyError."""
    templates = catalogue(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    template = templates.get(key)
    if template is None:
        template = catalogue(DEFAULT_LANGUAGE)[key]
    return template.format(**values) if values else template


def translator(lang: str = DEFAULT_LANGUAGE) -> Translator:
    """``text`` bound to one language: ``words = translator(lang); words("controls.run")``."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def words(key: str, /, **values) -> str:
        return text(lang, key, **values)

    words.lang = lang
    return words


def language_from(preferences: str | None) -> str:
    """The language to show for a browser's preferences (an Accept-Language header, or ``navigator.language``,
    or several joined by commas): the first of them that we have, else English. ``zh``, ``zh-CN``, ``zh-Hans``,
    ``zh-TW`` all read Simplified Chinese (the only Chinese we have)."""
    weighted = []
    for order, part in enumerate((preferences or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, order, tag.strip().lower().split("-")[0]))
    for _, _, primary in sorted(weighted):
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def plural(words: Translator, n: int, one: str, other: str, /, **values) -> str:
    """English says "1 token", "2 tokens": ``one`` and ``other`` are the two keys (Chinese has one form, so both
    hold the same text there). ``n`` is filled in as ``{n}``."""
    return words(one if n == 1 else other, n=n, **values)


def in_every_language(key: str, /, **values) -> dict[str, str]:
    """``key`` said in every language, for a text made before anyone picks one (a notice the build writes)."""
    return {lang: text(lang, key, **values) for lang in LANGUAGES}


def said_in(texts: str | dict[str, str], lang: str) -> str:
    """A text made by ``in_every_language`` (or by joining such texts) in ``lang``; a plain str is as it is."""
    if isinstance(texts, str):
        return texts
    return texts.get(lang) or texts.get(DEFAULT_LANGUAGE, "")


def joined(*texts: dict[str, str]) -> dict[str, str]:
    """Texts in every language joined with a space, language by language (empty ones left out)."""
    return {lang: " ".join(filter(None, (t.get(lang, "") for t in texts))) for lang in LANGUAGES}
