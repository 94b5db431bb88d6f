"""The server stopped under open pages, in the middle of a generation, then started again on the same port.

What a lost connection legitimately writes to the console (decided here, and the only thing this test lets
through): one line from BokehJS at level info, "[bokeh <version>] Lost websocket <n> connection, 1006 ()" (1006:
the socket closed without a closing handshake, as when the server process dies). No error, no warning: the app does
not reconnect (the restarted server has forgotten the session), so nothing retries and fails; the page stops its
lost session from sending, so clicks and typing afterwards log nothing either. Everything else the pages log
before the stop and after the reload is the ordinary page life (BokehJS's "document idle", "Websocket connection 0
is now open", ...), none of it an error; page errors, console errors and dialogs fail the test as everywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_server import AppServer, find, open_app

from transformer_explainer.viz.i18n import text

OFFLINE_MESSAGE = text("en", "app.offline")

expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect
pytestmark = [pytest.mark.reliability, pytest.mark.browser]
WAIT_MS = 15_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability"
LOST_CONNECTION_LINE = re.compile(r"\[bokeh [\d.]+\] Lost websocket \d+ connection, 1006 \(\)")
SWITCHED_OFF = [".te-run button", ".te-next button", ".te-generate button", ".te-stop button",
                ".te-generate-count input", ".te-top-k input", ".te-seed input", ".te-examples select"]


def record_console(page) -> list[tuple[str, str]]:
    messages = page.te_console = []
    page.on("console", lambda message: messages.append((message.type, message.text)))
    return messages


def reload_and_wait(page) -> None:
    page.evaluate("() => { window.__te_before_reload = true; }")
    find(page, ".te-reload button").click()
    page.wait_for_function("() => window.__te_before_reload === undefined && window.__te_find "
                           "&& window.__te_find('picture-token-source') !== null", timeout=60_000)


def test_a_server_stopped_mid_generation_leaves_pages_that_say_so_and_reload_the_link_once_it_is_back(
        browser, long_context_checkpoint):
    prompt, query = "Once upon a time", "prompt=Once+upon+a+time&t=0&k=5&view=output"
    server = AppServer(long_context_checkpoint)
    restarted, pages = None, []
    try:
        desktop = open_app(browser, f"{server.url}?{query}", width=1280, height=900, wait_for="output-source")
        phone = open_app(browser, f"{server.url}?{query}", width=390, height=844, wait_for="output-source")
        pages += [desktop, phone]
        console = {page: record_console(page) for page in pages}

        count = find(desktop, ".te-generate-count input")
        count.fill("1000")
        count.press("Enter")
        find(desktop, ".te-generate button").click()
        expect(find(desktop, ".te-status pre")).to_contain_text("Generated ", timeout=WAIT_MS)
        for messages in console.values():
            messages.clear()  # from here on: what the loss writes
        server.process.kill()  # as a crash, a power cut or kill -9 would: no goodbye to the pages
        server.process.wait(timeout=10)

        for page in pages:
            expect(find(page, ".te-offline pre")).to_have_text(OFFLINE_MESSAGE, timeout=WAIT_MS)
            expect(find(page, ".te-reload button")).to_be_enabled()
            for css in SWITCHED_OFF:
                expect(find(page, css)).to_be_disabled()
            expect(find(page, ".te-prompt textarea")).to_be_enabled()  # its text can be copied, or edited
        stopped_at = re.fullmatch(r"Generated (\d+) of 1000: .*", find(desktop, ".te-status pre").text_content(),
                                  re.DOTALL)
        assert stopped_at and 0 < int(stopped_at[1]) < 1000, "the server was not stopped mid-generation"
        assert find(desktop, ".te-prompt textarea").input_value() == prompt

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        desktop.screenshot(path=str(ARTIFACTS / "connection_lost_desktop.png"))
        phone.screenshot(path=str(ARTIFACTS / "connection_lost_phone.png"))
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 391

        # Clicks and typing after the loss go nowhere, and say nothing in the console.
        find(phone, ".te-prompt textarea").fill("Typed after the loss")
        find(desktop, ".te-section-embedding .card-header").click()
        desktop.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        for page in pages:
            others = [(kind, text) for kind, text in console[page] if not LOST_CONNECTION_LINE.fullmatch(text)]
            assert [kind for kind, text in console[page] if LOST_CONNECTION_LINE.fullmatch(text)] == ["info"], \
                console[page]
            assert others == [], f"a lost connection logged more than Bokeh's one line: {others}"
            assert page.te_errors == []

        restarted = AppServer(long_context_checkpoint, port=server.port)
        reload_and_wait(desktop)  # the link as it was: the prompt before the generation, the settings
        expect(find(desktop, ".te-prompt textarea")).to_have_value(prompt)
        expect(find(desktop, ".te-offline")).to_be_hidden()
        assert "k=5" in desktop.url and "view=output" in desktop.url
        expect(find(desktop, ".te-top-k input")).to_have_value("5")
        reload_and_wait(phone)  # what was typed after the loss is carried into the link
        expect(find(phone, ".te-prompt textarea")).to_have_value("Typed after the loss")
        find(phone, ".te-next button").click()  # and the page works again
        expect(find(phone, ".te-prompt textarea")).not_to_have_value("Typed after the loss", timeout=WAIT_MS)
        assert [error for page in pages for error in page.te_errors] == []
    finally:
        for page in pages:
            page.close()
        server.stop()
        if restarted is not None:
            restarted.stop()
