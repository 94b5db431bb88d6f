"""After any input error, Generate and Next token either continue the prompt the page shows or refuse, saying why:
never the previous prompt's tokens appended to the text in the box. And one page's long paste never stops another
page from answering (measured, with its 1 s goal, by scripts/bench_reliability.py; checked here for function).
"""

from __future__ import annotations

import pytest
from app_server import AppServer, chip_tokens, find, type_prompt, wait_for_chips

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = [pytest.mark.reliability, pytest.mark.browser]
WAIT_MS = 15_000
STALE_PROMPT = ("did nothing: the prompt in the box could not be run (see above), and the page still shows the "
                "previous one. Fix the prompt and press Run first.")


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    app_server = AppServer(tiny_checkpoint)
    yield app_server
    app_server.stop()


def error_text(page) -> str:
    return find(page, ".te-error pre").text_content()


def set_prompt_to_a_lone_surrogate(page) -> None:
    find(page, ".te-prompt textarea").evaluate(
        "(el) => { el.value = 'half \\uD83D an emoji'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    find(page, ".te-run button").click()


PROMPT_ERRORS = [  # how the box gets its bad prompt, what the page then says
    ("an emptied box", lambda page: type_prompt(page, ""), "the prompt is empty: type at least one character"),
    ("too many tokens", lambda page: type_prompt(page, "ab " * 60), "the prompt is 180 tokens long"),
    ("too many characters", lambda page: type_prompt(page, "z" * 30_000),
     "The prompt has 30,000 characters; this model reads at most 128 tokens. Shorten it."),
    ("a lone surrogate", set_prompt_to_a_lone_surrogate, "not valid Unicode (a lone surrogate '\\ud83d' at index 5)"),
]


def test_after_each_kind_of_prompt_error_generate_and_next_token_refuse_and_change_nothing(open_page, tiny_model):
    prompt = "Once upon a time"
    page = open_page("prompt=Once+upon+a+time&t=0")
    textarea = find(page, ".te-prompt textarea")
    chips = chip_tokens(page)
    for _, make_error, reason in PROMPT_ERRORS:
        make_error(page)
        expect(find(page, ".te-error pre")).to_contain_text(reason, timeout=WAIT_MS)
        in_the_box = textarea.input_value()
        for button, action in ((".te-generate button", "Generate"), (".te-next button", "Next token")):
            find(page, button).click()
            expect(find(page, ".te-error pre")).to_contain_text(f"{action} {STALE_PROMPT}", timeout=WAIT_MS)
            assert reason in error_text(page)  # the reason stays on screen with the refusal
            assert textarea.input_value() == in_the_box and chip_tokens(page) == chips
        expect(find(page, ".te-status pre")).to_have_text("")

    # Fixed: Generate continues the prompt now in the box, exactly as gpt2_core does.
    type_prompt(page, prompt)
    wait_for_chips(page, [token for token, _ in chips])
    expect(find(page, ".te-error")).to_be_hidden(timeout=WAIT_MS)
    find(page, ".te-generate button").click()
    new_ids = [step.token_id for step in tiny_model.generate(tiny_model.encode(prompt), 10, temperature=0)]
    expect(textarea).to_have_value(prompt + tiny_model.tokenizer.decode(new_ids), timeout=WAIT_MS)
    expect(find(page, ".te-status pre")).to_have_text("Generated 10 tokens.")


def test_after_ignored_link_settings_generate_and_next_token_continue_the_prompt_shown(open_page, tiny_model):
    # t=99 and view=nowhere are ignored (named in the page); the prompt and the seed apply: nothing blocks.
    prompt = "Hello there"
    page = open_page("prompt=Hello+there&t=99&view=nowhere&seed=7&ablate=9.9")
    expect(find(page, ".te-error pre")).to_have_text(
        "Ignored ablation entries '9.9': each must be 'layer.head' with layer < 2 and head < 4.\n"
        "Some settings in the link were invalid and were ignored: temperature, view")
    find(page, ".te-generate button").click()
    ids = tiny_model.encode(prompt)
    ids += [step.token_id for step in tiny_model.generate(ids, 10, temperature=0.8, seed=7)]
    grown = tiny_model.tokenizer.decode(ids)  # the model's ids are kept as they are (never re-tokenized)
    textarea = find(page, ".te-prompt textarea")
    expect(textarea).to_have_value(grown, timeout=WAIT_MS)
    wait_for_chips(page, tiny_model.tokenizer.display_tokens(ids))
    find(page, ".te-next button").click()
    expect(textarea).not_to_have_value(grown, timeout=WAIT_MS)
    shown = [token for token, _ in chip_tokens(page)]
    assert len(shown) == len(ids) + 1 and shown[:-1] == tiny_model.tokenizer.display_tokens(ids)


def test_a_40000_character_paste_in_one_page_gets_its_message_and_the_other_page_keeps_working(
        open_page, tiny_model):
    pasting, other = open_page(), open_page()
    pasting_box = find(pasting, ".te-prompt textarea")
    pasting_box.fill("w" * 40_000)  # one long word: the worst case for a tokenizer
    prompt = "The other page still answers"
    type_prompt(other, prompt)  # while the paste reaches the server
    wait_for_chips(other, tiny_model.tokenizer.display_tokens(tiny_model.encode(prompt)))
    expect(find(pasting, ".te-token-count pre")).to_have_text(
        "40,000 characters — too long (at most 20,000 characters, 128 tokens)", timeout=WAIT_MS)
    find(pasting, ".te-run button").click()
    expect(find(pasting, ".te-error pre")).to_have_text(
        "The prompt has 40,000 characters; this model reads at most 128 tokens. Shorten it.", timeout=WAIT_MS)
    find(other, ".te-generate button").click()
    expect(find(other, ".te-status pre")).to_have_text("Generated 10 tokens.", timeout=WAIT_MS)
    assert pasting_box.input_value() == "w" * 40_000
    expect(find(other, ".te-error")).to_be_hidden()
