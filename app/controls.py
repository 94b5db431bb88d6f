"""The page's controls: the prompt and its token count, the examples, Next token, Generate and Stop, the sampling
settings, the language, and the messages (errors, status, the model's notice, a lost connection). Widgets are made
from the state's parameters where one exists; what they do goes through the state (app/state.py)."""

from __future__ import annotations

import panel as pn

from transformer_explainer.gpt2_core import GPT2CoreError
from transformer_explainer.viz.i18n import LANGUAGES, plural, said_in

from .compat import WholeNumberBox, answer_at_once
from .examples import EXAMPLE_PROMPTS
from .runtime import ModelRuntime, beside_the_event_loop
from .safe_html import TextBox, token_chips
from .state import MAX_PROMPT_CHARACTERS, ExplainerState
from .static_files import static_text
from .widgets import text_box


class Controls:
    """Every control and message box of one page, kept in step with the state."""

    def __init__(self, state: ExplainerState, runtime: ModelRuntime):
        self.state, self.runtime = state, runtime
        self.words = words = state.words
        compact = [static_text("compact_label.css")]  # in the header row: labels for screen readers only
        self.prompt_input = pn.widgets.TextAreaInput.from_param(
            state.param.prompt, label=words("app.prompt_label"), description=None, rows=1,
            sizing_mode="stretch_width", min_width=160, placeholder=words("app.prompt_placeholder"),
            css_classes=["te-prompt", "te-control"], stylesheets=[*compact, static_text("prompt_box.css")],
            max_length=10 * MAX_PROMPT_CHARACTERS)  # the browser would cut a longer paste silently; the state says why
        self.run_button = pn.widgets.Button(label=words("app.run"), color="primary", variant="outline", width=72,
                                            align="center", css_classes=["te-run", "te-control"])
        # Run reads what is typed (value_input, sent on every key); Panel fills it only on typing, so a prompt
        # from a link, an example or a generation is copied into it, or Run would empty the box.
        self.prompt_input.value_input = self.prompt_input.value
        self.prompt_input.param.watch(lambda event: setattr(self.prompt_input, "value_input", event.new), "value")
        self.run_button.on_click(lambda event: state.run(self.prompt_input.value_input or ""))
        self.token_count = TextBox(sizing_mode="stretch_width", css_classes=["te-token-count"])
        self.prompt_input.param.watch(self._count_tokens, "value_input")
        self.prompt_input.jscallback(value_input=static_text("run_on_ctrl_enter.js"))
        self.examples = pn.widgets.Select(label=words("app.examples"),
                                          options=[words("app.examples_placeholder"), *EXAMPLE_PROMPTS], width=128,
                                          align="center", css_classes=["te-examples", "te-control"], stylesheets=compact)
        self.examples.param.watch(self._pick_example, "value")
        self.tokens_html = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[static_text("token_chips.css")],
                                        css_classes=["te-tokens"])

        self.next_button = pn.widgets.Button(label=words("app.next_token"), color="success", width=130,
                                             stylesheets=[static_text("dark_green_button.css")],
                                             css_classes=["te-next", "te-control"])
        self.next_button.on_click(lambda event: state.append_sampled_token())
        self.generate_count = WholeNumberBox(label=words("app.tokens"), value=10, width=90,
                                             css_classes=["te-generate-count", "te-control"])
        self.generate_button = pn.widgets.Button(label=words("app.generate"), color="primary", width=100,
                                                 align="center", css_classes=["te-generate", "te-control"])
        self.generate_button.on_click(self._generate)
        # Beside Generate while a generation runs (and only then).
        self.stop_button = pn.widgets.Button(label=words("app.stop"), color="danger", width=80, disabled=True,
                                             visible=False, align="center", css_classes=["te-stop", "te-control"])
        self.stop_button.on_click(lambda event: state.stop())

        self.top_k = WholeNumberBox.from_param(state.param.top_k, label=words("app.top_k"),
                                               description=words("app.top_k_hint"), width=120,
                                               css_classes=["te-top-k", "te-control"])
        self.top_p = pn.widgets.FloatSlider.from_param(state.param.top_p, label=words("app.top_p"), width=200,
                                                       css_classes=["te-top-p", "te-control"])
        self.seed = WholeNumberBox.from_param(state.param.seed, label=words("app.seed"),
                                              description=words("app.seed_hint"), width=110,
                                              css_classes=["te-seed", "te-control"])
        answer_at_once(self.top_p)  # re-sampling takes milliseconds: answer a move now

        self.error_box = text_box("error", visible=False, css_classes=["te-error"])
        self.status_box = text_box("status", css_classes=["te-status"])
        notice = said_in(runtime.notice, state.lang)
        self.notice_box = text_box("notice", notice, visible=bool(notice))
        # Each language named in its own words, so that a reader of either finds the way back.
        self.language = pn.widgets.Select.from_param(state.param.lang, label=words("app.language"), description=None,
                                                     options={name: lang for lang, name in LANGUAGES.items()},
                                                     width=110, css_classes=["te-language", "te-control"])
        # The other language, one tap away in the header (the menu has the full picker).
        other = next(lang for lang in LANGUAGES if lang != state.lang)
        switch_label = words("app.other_language")
        self.language_switch = pn.widgets.Button(label=switch_label, width=12 * len(switch_label) + 42, align="center",
                                                 color="light", description=words("app.other_language_label"),
                                                 css_classes=["te-language-switch", "te-control"])
        self.language_switch.on_click(lambda event: setattr(state, "lang", other))
        self.copy_link = pn.widgets.Button(label=words("app.copy_link"), width=170, color="light",
                                           css_classes=["te-copy-link", "te-control"])
        self.copy_link.js_on_click(args={"copied": words("app.link_copied"), "failed": words("app.link_not_copied")},
                                   code=static_text("copy_link.js"))
        # "⋯ More" shows and hides the drawer of every other control (in the page, at once: no round trip).
        self.menu_toggle = pn.widgets.Toggle(label=words("app.menu"), width=84, align="center", color="light",
                                             css_classes=["te-menu-toggle"])  # works offline too: the page itself opens it
        self.reload_button = pn.widgets.Button(label=words("app.reload"), color="light", width=110,
                                               css_classes=["te-reload"])
        # No args: Panel keeps a callback's args alive for as long as its source, so a widget passed here would
        # keep the whole page alive after its session ends. reload.js finds the prompt box in the page instead.
        self.reload_button.js_on_click(code=static_text("reload.js"))
        # Sticky: the message stays in view wherever the student had scrolled to when the connection went.
        self.offline_box = pn.Column(text_box("offline", words("app.offline")), self.reload_button, visible=False,
                                     css_classes=["te-offline"], sizing_mode="stretch_width",
                                     styles={"position": "sticky", "top": "0", "z-index": "10", "background": "#8a1c12",
                                             "border-radius": "6px", "padding": "6px 8px"})
        state.param.watch(self.show_messages, ["error", "status", "generating"])
        state.param.watch(lambda *events: self.show_prompt(), ["trace"])
        self.show_messages()
        self.show_prompt()

    async def _count_tokens(self, event) -> None:
        """The live count under the prompt box while the student types: a hint (Run does the real check). A text
        past the character cap is not tokenized at all, and in CPython the tokenizer runs beside the event loop,
        so one page's long paste never stalls the other pages the server holds."""
        text, limit = event.new or "", self.runtime.config.n_ctx
        if len(text) > MAX_PROMPT_CHARACTERS:
            self.token_count.plain_text = self.words("app.too_many_characters", n=len(text),
                                                     limit=MAX_PROMPT_CHARACTERS, n_ctx=limit)
            return
        try:
            n = len(await beside_the_event_loop(self.runtime.encode, text))
        except GPT2CoreError:  # e.g. a lone surrogate: Run will say so
            return
        if (self.prompt_input.value_input or "") != text:
            return  # the student typed on: that text's count is on its way
        self.token_count.plain_text = self._token_count(n) + (self.words("app.too_long") if n > limit else "")

    def _token_count(self, n: int) -> str:
        return plural(self.words, n, "app.token_count.one", "app.token_count.other", limit=self.runtime.config.n_ctx)

    def _pick_example(self, event) -> None:
        if event.new in EXAMPLE_PROMPTS:
            self.state.prompt = event.new

    async def _generate(self, event) -> None:
        await self.state.generate(self.generate_count.value)

    def show_messages(self, *events) -> None:
        state = self.state
        self.error_box.plain_text = state.error
        self.error_box.visible = bool(state.error)
        self.status_box.plain_text = state.status
        for widget in (self.next_button, self.generate_button, self.run_button, self.prompt_input, self.examples):
            widget.disabled = state.generating
        self.stop_button.disabled = not state.generating
        self.stop_button.visible = state.generating

    def show_prompt(self) -> None:
        """The prompt's tokens as chips, their count, and the example menu naming the example only while the
        prompt is that example (not after it was edited)."""
        trace = self.state.trace
        if trace is None:
            return
        self.tokens_html.object = token_chips(trace.tokens, trace.token_ids)
        self.token_count.plain_text = self._token_count(trace.n_tokens)
        shown = self.state.prompt if self.state.prompt in EXAMPLE_PROMPTS else self.words("app.examples_placeholder")
        if self.examples.value != shown:
            self.examples.value = shown
