"""The catalogues (viz/locales/<lang>.json): every language has the same keys, every key is used somewhere in
the code the user sees, every key the code names exists, the fields of a template are the same in every language,
and the language a browser prefers is the one shown."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from transformer_explainer.viz import i18n

ROOT = Path(__file__).resolve().parents[2]
# Where the words a user sees are written: the Python packages, and the static site's own page and scripts.
SOURCES = [*ROOT.glob("app/**/*.py"), *ROOT.glob("viz/**/*.py"), *ROOT.glob("transformer_explainer/**/*.py"),
           *ROOT.glob("assets/site/*.mjs"), *ROOT.glob("assets/site/*.html"), ROOT / "build.py"]
KEY_LITERAL = re.compile(r"""["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']""")


def source_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in SOURCES)


def is_a_file_or_module(name: str) -> bool:
    """'report.html', 'site.css', 'app.browser': a dotted literal that names a file or one of our modules."""
    return (name.rsplit(".", 1)[-1] in {"html", "css", "mjs", "js", "py", "json", "png", "npz", "txt", "onnx"}
            or (ROOT / name.replace(".", "/")).with_suffix(".py").exists())


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_the_same_keys():
    english = set(i18n.catalogue("en"))
    assert english, "the English catalogue is empty"
    for lang in i18n.LANGUAGES:
        keys = set(i18n.catalogue(lang))
        assert not english - keys, f"{lang} lacks {sorted(english - keys)[:20]}"
        assert not keys - english, f"{lang} has keys English has not: {sorted(keys - english)[:20]}"


def test_every_key_is_used_and_every_named_key_exists():
    text = source_text()
    keys = set(i18n.catalogue("en"))
    unused = sorted(key for key in keys if f'"{key}"' not in text and f"'{key}'" not in text)
    assert not unused, f"keys no code uses: {unused[:30]}"
    prefixes = {key.split(".")[0] for key in keys}
    named = {match for match in KEY_LITERAL.findall(text) if match.split(".")[0] in prefixes}
    # A dotted literal with a catalogue's prefix that is not a key: a typo, or a key not yet written.
    missing = sorted(name for name in named if name not in keys and not is_a_file_or_module(name))
    assert not missing, f"keys the code names that no catalogue has: {missing[:30]}"


def test_templates_take_the_same_fields_in_every_language():
    english = i18n.catalogue("en")
    for lang in i18n.LANGUAGES:
        for key, template in i18n.catalogue(lang).items():
            assert fields(template) == fields(english[key]), f"{lang} {key}: {template!r} vs {english[key]!r}"
            assert template.strip(), f"{lang} {key} is empty"


def test_chinese_texts_are_chinese():
    """A zh entry copied from English by mistake: every zh text with letters in it has Chinese in it too,
    unless English and Chinese agree (a formula, a symbol, a name such as GPT-2)."""
    english, chinese = i18n.catalogue("en"), i18n.catalogue("zh")
    copied = [key for key, template in chinese.items()
              if re.search(r"[A-Za-z]{4,}", re.sub(r"\{[^{}]*\}", "", template))
              and not re.search(r"[\u4e00-\u9fff]", template) and template != english[key]]
    assert not copied, f"zh entries with English words and no Chinese: {copied[:20]}"


@pytest.mark.parametrize("preferences, expected", [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,en;q=0.9", "en"), ("zh-TW", "zh"), ("zh-Hans-CN", "zh"),
    ("fr-FR,fr;q=0.9", "en"), ("fr;q=0.9,zh;q=0.8,en;q=0.5", "zh"), ("en;q=0.2,zh;q=0.9", "zh"), ("", "en"),
    (None, "en"), ("<script>", "en"), ("zh;q=abc,en", "en"), ("*", "en")])
def test_the_browsers_language_picks_the_catalogue(preferences, expected):
    assert i18n.language_from(preferences) == expected


def test_text_fills_fields_and_falls_back_to_english_only_for_a_missing_key(monkeypatch):
    english = dict(i18n.catalogue("en"))
    key = next(iter(english))
    monkeypatch.setitem(i18n.catalogue("en"), "test.only_english", "{n} left")
    assert i18n.text("zh", "test.only_english", n=3) == "3 left"
    with pytest.raises(KeyError):
        i18n.text("en", "test.no_such_key")
    assert i18n.translator("xx")(key) == english[key], "an unknown language reads English"
