"""Hostile values in every link setting and every input box of the served app: nothing runs, each problem is
named in the page's own words, and the page keeps working.

Script and HTML in links are tested setting by setting in tests/browser/test_app_e2e.py (the hostile-link test);
here the links carry numbers no setting takes (NaN, Infinity, -1, 1e23, 1e400, 5,000 digits), values of the wrong
type (true, [1, 2], "²"), 100 kB values and bytes that are not text, and the boxes get what a person can type or
paste into them: HTML and script in several forms, numbers past every limit, an emptied box, a lone surrogate, a
100 kB paste. A page per group of values. Every page fails its test on a dialog, a page error or a console error.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from app_server import AppServer, chip_tokens, deep_query, find, type_prompt, wait_for_chips

from transformer_explainer.app.links import URL_PARAMETERS

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = [pytest.mark.reliability, pytest.mark.browser]
WAIT_MS = 15_000
SEED_RULE = "it must be a whole number from 0 to 9,223,372,036,854,775,807. The highlighted token is still drawn " \
            "with seed 42."
TOP_K_RULE = "it must be a whole number, 0 (no cutoff) or more. The chart still uses top-k 0."
ABLATION_RULE = "each must be 'layer.head' with layer < 2 and head < 4."
SAMPLING_REFUSAL = "did nothing: fix the sampling settings named above first."


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    app_server = AppServer(tiny_checkpoint)
    yield app_server
    app_server.stop()


def error_lines(page) -> set[str]:
    box = find(page, ".te-error pre")
    return set(box.text_content().splitlines()) if box.is_visible() else set()


def link(values: dict[str, str]) -> str:
    """A query string with each value percent-encoded, or as it is when it starts with '%' (raw bytes)."""
    return "&".join(f"{key}={value if value.startswith('%') else quote(value, safe='')}"
                    for key, value in values.items())


def still_works(page, tiny_model, prompt: str = "Fine again") -> None:
    type_prompt(page, prompt)
    wait_for_chips(page, tiny_model.tokenizer.display_tokens(tiny_model.encode(prompt)))


def assert_nothing_injected(page) -> None:
    for selector in ("img[src='x']", "svg[onload]", "iframe", "object", "embed"):
        assert deep_query(page, selector) == [], f"{selector} from the input reached the page"
    assert [html for _, _, html in deep_query(page, "script") if "alert(" in html or "__pwned" in html] == []
    assert page.evaluate("() => window.__pwned === undefined")


# -- links --------------------------------------------------------------------------------------------------------

EVERY = list(URL_PARAMETERS.values())
HUNDRED_KB = "x" * 100_000

LINKS = {
    "numbers": ({"prompt": "NaN", "t": "NaN", "k": "1e23", "p": "Infinity", "seed": "-1", "layer": "1e400",
                 "head": "-1", "pos": "9" * 5000, "view": "-1", "ablate": "-1", "expand": "1e23"},
                "NaN",
                {f"Top-k is 1e+23: {TOP_K_RULE}", f"The seed is -1: {SEED_RULE}",
                 f"Ignored ablation entries '-1': {ABLATION_RULE}",
                 ("Some settings in the link were invalid and were ignored: expanded, head, layer, position, "
                  "temperature, top_p, view")}),
    "types": ({"prompt": "true", "t": "true", "k": "[1,2]", "p": '{"a": 1}', "seed": "²", "layer": "false",
               "head": "true", "pos": "null", "view": "true", "ablate": "[1,2]", "expand": "true"},
              "true",
              {f"Top-k is [1, 2]: {TOP_K_RULE}", f"The seed is '²': {SEED_RULE}",
               f"Ignored ablation entries '[1', '2]': {ABLATION_RULE}",
               "Some settings in the link were invalid and were ignored: head, position, temperature, top_p, view"}),
    "100 kB each": ({key: HUNDRED_KB for key in EVERY}, HUNDRED_KB,
                    {"The prompt has 100,000 characters; this model reads at most 128 tokens. Shorten it.",
                     f"Top-k is {'x' * 60!r}… (100,000 characters): {TOP_K_RULE}",
                     f"The seed is {'x' * 60!r}… (100,000 characters): {SEED_RULE}",
                     ("Some settings in the link were invalid and were ignored: expanded, head, lang, layer, "
                      "made, position, step, temperature, top_p, tour, view")}),
    # A lone surrogate's UTF-8 bytes (no URL can carry one: they are read as three U+FFFD), NUL, CR LF, an RTL mark.
    "bytes": ({**{key: "%ED%A0%80" for key in EVERY}, "prompt": "%ED%A0%80a%00b%0D%0A%E2%80%AEc"},
              "\ufffd\ufffd\ufffda\x00b\r\n\u202ec",
              {f"Top-k is '\ufffd\ufffd\ufffd': {TOP_K_RULE}", f"The seed is '\ufffd\ufffd\ufffd': {SEED_RULE}",
               f"Ignored ablation entries '\ufffd\ufffd\ufffd': {ABLATION_RULE}",
               ("Some settings in the link were invalid and were ignored: expanded, head, lang, layer, made, position, "
                "step, temperature, top_p, tour, view")}),
}


@pytest.mark.parametrize("name", LINKS)
def test_a_link_with_values_no_setting_takes_opens_names_each_problem_and_keeps_working(open_page, tiny_model, name):
    values, prompt, messages = LINKS[name]
    zoomed_out = values.get("expand") == "true"  # expand=true is a valid setting: the picture opens zoomed out
    page = open_page(link(values), wait_for="zoom-overview-token-source" if zoomed_out else "picture-token-source")
    # (a page that never loads, a dialog or a console error fails there)
    expect(find(page, ".te-error")).to_be_visible()
    assert error_lines(page) == messages
    textarea = find(page, ".te-prompt textarea").input_value()
    assert textarea == prompt.replace("\r\n", "\n")  # a textarea keeps line breaks as \n
    assert_nothing_injected(page)
    still_works(page, tiny_model)
    # What the link got wrong is past; the seed and top-k boxes still say what they hold until they are changed.
    assert not any(line.startswith(("Some settings in the link", "The prompt has")) for line in error_lines(page))


# -- the prompt box ----------------------------------------------------------------------------------------------

HOSTILE_PROMPTS = [
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(2)>',
    "<script>alert(3)</script>",
    "</textarea><iframe srcdoc='<script>parent.alert(4)</script>'>",
    "javascript:alert(5)",
    "&lt;img src=x onerror=alert(6)&gt; &amp;",
    "<object data=x></object><embed src=x>",
    "NaN -1e400 1e23 9223372036854775808",
]


def test_html_and_script_typed_into_the_prompt_box_are_shown_as_text_and_never_run(open_page, tiny_model):
    page = open_page()
    for text in HOSTILE_PROMPTS:
        type_prompt(page, text)
        wait_for_chips(page, tiny_model.tokenizer.display_tokens(tiny_model.encode(text)))
        assert "".join(token for token, _ in chip_tokens(page)) == text.replace(" ", "␣")
        assert find(page, ".te-prompt textarea").input_value() == text
        assert_nothing_injected(page)
    expect(find(page, ".te-error")).to_be_hidden()


def test_a_100_kb_paste_and_a_lone_surrogate_in_the_prompt_box_are_named_and_nothing_else_changes(
        open_page, tiny_model):
    page = open_page()
    chips = chip_tokens(page)
    box = find(page, ".te-prompt textarea")
    box.fill("y" * 100_000)
    expect(find(page, ".te-token-count pre")).to_have_text(
        "100,000 characters — too long (at most 20,000 characters, 128 tokens)", timeout=WAIT_MS)
    find(page, ".te-run button").click()
    expect(find(page, ".te-error pre")).to_have_text(
        "The prompt has 100,000 characters; this model reads at most 128 tokens. Shorten it.", timeout=WAIT_MS)
    assert chip_tokens(page) == chips and box.input_value() == "y" * 100_000

    # Half an emoji, as a broken paste leaves it: a JavaScript string can hold it, UTF-8 cannot.
    box.evaluate("(el) => { el.value = 'half \\uD83D an emoji'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    find(page, ".te-run button").click()
    expect(find(page, ".te-error pre")).to_have_text(
        "the text holds a character that is not valid Unicode (a lone surrogate '\\ud83d' at index 5)",
        timeout=WAIT_MS)
    assert chip_tokens(page) == chips
    page.wait_for_function("() => location.search.includes('prompt=half+%EF%BF%BD+an+emoji')")  # the link: U+FFFD
    still_works(page, tiny_model)
    expect(find(page, ".te-error")).to_be_hidden()


# -- the number boxes ------------------------------------------------------------------------------------------

def fill_box(page, css_class: str, text: str) -> None:
    box = find(page, f".{css_class} input")
    box.fill(text)
    box.press("Enter")
    box.blur()  # the browser then shows the number it holds


def test_hostile_values_in_the_number_boxes_are_named_and_generate_and_next_token_wait_for_valid_ones(
        open_page, tiny_model):
    page = open_page("prompt=Numbers+in+boxes&t=0")
    prompt = "Numbers in boxes"
    textarea = find(page, ".te-prompt textarea")
    cases = [  # box, typed, what the box then shows, the message
        ("te-seed", "-1", "-1", f"The seed is -1: {SEED_RULE}"),
        ("te-seed", "", "", f"The seed is an empty box: {SEED_RULE}"),
        ("te-seed", "100000000000000000000000", "1e+23", f"The seed is 1e+23: {SEED_RULE}"),
        ("te-seed", "9223372036854775808", "9223372036854776000",  # 2**63, as JavaScript's numbers hold it
         f"The seed is 9223372036854776000: {SEED_RULE}"),
        ("te-top-k", "-5", "-5", f"Top-k is -5: {TOP_K_RULE}"),
        ("te-top-k", "", "", f"Top-k is an empty box: {TOP_K_RULE}"),
        ("te-top-k", "100000000000000000000000", "1e+23", f"Top-k is 1e+23: {TOP_K_RULE}"),
    ]
    for css_class, typed, shown, message in cases:
        fill_box(page, css_class, typed)
        expect(find(page, ".te-error pre")).to_have_text(message, timeout=WAIT_MS)
        assert find(page, f".{css_class} input").input_value() == shown
        for button, action in ((".te-generate button", "Generate"), (".te-next button", "Next token")):
            find(page, button).click()
            expect(find(page, ".te-error pre")).to_have_text(f"{message}\n{action} {SAMPLING_REFUSAL}", timeout=WAIT_MS)
        assert textarea.input_value() == prompt
        fill_box(page, css_class, "0" if css_class == "te-top-k" else "42")
        expect(find(page, ".te-error")).to_be_hidden(timeout=WAIT_MS)

    # Text cannot be typed into a number box at all (the browser drops each character), so what it shows is used.
    for typed in ("<script>alert(7)</script>", "abc", "NaN", "1.5e3"):
        fill_box(page, "te-seed", typed)
        assert find(page, ".te-seed input").input_value() == "42"
    expect(find(page, ".te-error")).to_be_hidden()

    room = 128 - len(tiny_model.encode(prompt))
    for typed, message in (("0", "Tokens is 0"), ("-3", "Tokens is -3"), ("", "Tokens is an empty box")):
        fill_box(page, "te-generate-count", typed)
        find(page, ".te-generate button").click()
        expect(find(page, ".te-error pre")).to_have_text(
            f"{message}: type how many tokens to generate, a whole number from 1 to {room} (the room left in the "
            f"model's context).", timeout=WAIT_MS)
        assert textarea.input_value() == prompt
    fill_box(page, "te-generate-count", "3")
    find(page, ".te-generate button").click()
    expected = prompt + tiny_model.tokenizer.decode(
        [step.token_id for step in tiny_model.generate(tiny_model.encode(prompt), 3, temperature=0)])
    expect(textarea).to_have_value(expected, timeout=WAIT_MS)
    expect(find(page, ".te-error")).to_be_hidden()
