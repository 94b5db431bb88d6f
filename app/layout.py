"""The page: the prompt and sampling controls on top, the overview below, and one expandable section per
part of the model. Every view is a function of ``ExplainerState``; nothing here runs the model.

Sections build their Bokeh views when first opened and update them in place afterwards (only while
open: a closed section catches up when it opens), so a new prompt costs what is visible, not more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl

import panel as pn
import param
from bokeh.layouts import column as bokeh_column
from bokeh.models import CustomJS

from transformer_explainer.gpt2_core import GPT2CoreError

from transformer_explainer.viz.i18n import LANGUAGES, language_from, plural, said_in, translator

from transformer_explainer.viz.sections.attention import AttentionHeadView, ConcatProjectionView, HeadGridView
from transformer_explainer.viz.sections.embedding import EmbeddingView
from transformer_explainer.viz.sections.layer_norm import LayerNormView
from transformer_explainer.viz.sections.logit_lens import LogitLensView
from transformer_explainer.viz.sections.mlp import MlpView
from transformer_explainer.viz.sections.output import OutputView
from transformer_explainer.viz.sections.overview import OverviewView
from transformer_explainer.viz.sections.residual import ResidualView

from .examples import EXAMPLE_PROMPTS
from .compat import WholeNumberBox, answer_at_once, drop_every_watcher, parse_links_tolerantly, send_stranded_writes
from .picture_panel import PicturePanel
from .explanations import EXPLANATIONS
from .runtime import ModelRuntime, beside_the_event_loop
from .safe_html import TextBox, escape, token_chips
from .state import MAX_PROMPT_CHARACTERS, ExplainerState
from .static_files import static_text
from .summaries import ScreenReaderText, attention_summary
from .tour import attach_tour

URL_PARAMETERS = {"prompt": "prompt", "temperature": "t", "top_k": "k", "top_p": "p", "seed": "seed", "view": "view",
                  "layer": "layer", "head": "head", "position": "pos", "ablated": "ablate", "expanded": "expand",
                  "lang": "lang", "tour": "tour"}

# Panel renders each pane in its own shadow DOM: each pane gets the rules it needs.
# A visible keyboard focus on a section's header (it opens and closes with Enter or Space).
FOCUS_CSS = """
.card-header:focus-visible, .card-button:focus-visible, button:focus-visible { outline: 3px solid #005fcc;
                                                                              outline-offset: 2px; }
"""
HEADER_CSS = """
h1 { display: inline; font-size: 22px; margin: 0 12px 0 0; }
p { display: inline; margin: 0; color: #333; }
"""
TOKEN_CHIP_CSS = """
.te-token { display: inline-block; margin: 2px; padding: 1px 6px; border-radius: 4px; background: #efe9fb;
            border: 1px solid #d5c8f2; font-family: ui-monospace, monospace; font-size: 13px; white-space: pre; }
.te-token small { color: #5f5f5f; margin-left: 5px; font-size: 10px; }
"""
# A section's step buttons wrap onto a second line on a phone rather than run off the screen.
STEP_BUTTONS_CSS = ".bk-btn-group { flex-wrap: wrap; row-gap: 4px; }"
# White on Bokeh's success green (#5cb85c) is 2.5:1; on this green 5.1:1 (WCAG AA for text).
DARK_GREEN_BUTTON_CSS = ".bk-btn-success { background-color: #2e7d32; border-color: #2e7d32; }"
MESSAGE_CSS = {
    "error": "pre { background: #fdecea; color: #8a1c12; border: 1px solid #f5c2bd; border-radius: 6px; "
             "padding: 8px 12px; white-space: pre-wrap; font-family: inherit; margin: 0; }",
    "notice": "pre { background: #fff6dd; color: #6b4e00; border: 1px solid #f0dc9a; border-radius: 6px; "
              "padding: 8px 12px; white-space: pre-wrap; font-family: inherit; margin: 0; }",
    "formula": "pre { background: #f6f4fb; border-radius: 6px; padding: 6px 10px; margin: 0; white-space: pre-wrap; "
               "overflow-wrap: anywhere; }",  # on a phone a long formula breaks inside its box
    "status": "pre { white-space: pre-wrap; font-family: inherit; margin: 0; color: #444; }",
    "offline": "pre { color: #fff; margin: 0; white-space: pre-wrap; font-family: inherit; font-size: 15px; } "
               "@media (max-width: 600px) { pre { font-size: 13px; } }",
}

# The page's fonts (Bokeh's and Panel's widgets read ``--base-font``): Latin first, then a Simplified Chinese
# font on each system (Debian's fonts-noto-cjk, macOS, Windows), so CJK text is drawn, not boxes.
PAGE_FONTS = ('-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans CJK SC", '
              '"Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif')


class PageLanguage(pn.reactive.ReactiveHTML):
    """Tells the browser the page's language (``<html lang>``): screen readers pronounce by it, and the browser
    picks the CJK glyph forms for Chinese by it; and sets the page's font stack. Draws nothing. (ReactiveHTML, not
    an ESM component: those need Panel's module shim, which the static site's page does not load.)"""

    language = param.String(default="en")
    fonts = param.String(default=PAGE_FONTS)
    _template = '<div id="marker" style="display: none"></div>'
    _scripts = {"render": """
    document.documentElement.lang = data.language === "zh" ? "zh-Hans" : data.language;
    document.documentElement.style.setProperty("--base-font", data.fonts);
    document.body.style.fontFamily = data.fonts;
    """}


def text_box(kind: str, text: str = "", **params) -> TextBox:
    """Preformatted text, escaped (app/safe_html.py): safe for messages that quote what a user typed."""
    return TextBox(text, stylesheets=[MESSAGE_CSS[kind]], sizing_mode="stretch_width", **params)


def display_name(model_name: str) -> str:
    """A Hub id as it is (``openai-community/gpt2``); a local checkpoint by its folder's name, not a long path."""
    path = Path(model_name)
    return path.name if (path.is_absolute() or model_name.startswith(".") or path.exists()) and path.name else model_name


class Section:
    """One expandable part of the model: explanation, formula, "show the code", controls, and views."""

    def __init__(self, key: str, state: ExplainerState, build: Callable[[], list], update: Callable[[], None],
                 controls: list | None = None, start_open: bool = False):
        self.key, self.state, self._build, self._update = key, state, build, update
        explanation, words = EXPLANATIONS[key], translator(state.lang)
        self.views_column = pn.Column(sizing_mode="stretch_width")
        show_code = pn.widgets.Toggle(label=words("app.show_code"), color="light", width=140, css_classes=["te-control"])
        code = pn.pane.Markdown(f"```python\n{explanation.source()}\n```", visible=False, sizing_mode="stretch_width")
        show_code.link(code, value="visible")
        self.card = pn.Card(
            pn.pane.Markdown(explanation.text(words), sizing_mode="stretch_width"),
            pn.Row(text_box("formula", explanation.formula),
                   show_code, sizing_mode="stretch_width"),
            code,
            *(controls and [pn.FlexBox(*controls, sizing_mode="stretch_width")] or []),
            self.views_column,
            title=explanation.title(words), collapsed=state.view != key and not start_open, sizing_mode="stretch_width",
            name=f"section-{key}", css_classes=[f"te-section-{key}"], stylesheets=[FOCUS_CSS],
        )
        self.built = False
        self.stale = True
        self.steps: list = []  # one Panel column per step, when the section shows its views a step at a time
        self.step_picker = None
        self.card.param.watch(self._on_toggle, "collapsed")

    def _step_objects(self, built: list) -> list:
        """The views, one step at a time when ``build`` returned steps ((catalogue key of the step's name,
        [models]) pairs): buttons name the steps in order, and only the chosen step is shown (the others stay in
        the page, hidden, and are kept up to date), so that a section is one screen, not a wall of figures.

        A figure wider than a phone (the overview's minimum width) scrolls inside its own box: a Bokeh column
        around it, which Panel sees without the figure's minimum width, so the page keeps the phone's width
        (wrapped in a Panel layout, the minimum width would widen the whole page)."""
        def panes(models):
            return [pn.pane.Bokeh(bokeh_column(model, sizing_mode="stretch_width", styles={"overflow-x": "auto"}),
                                  sizing_mode="stretch_width") for model in models]

        if not built or not isinstance(built[0], tuple):
            return panes(built)
        words = translator(self.state.lang)
        self.steps = [pn.Column(*panes(models), visible=i == 0, sizing_mode="stretch_width",
                                css_classes=[f"te-step-{self.key}-{i}"]) for i, (_, models) in enumerate(built)]
        self.step_picker = pn.widgets.RadioButtonGroup(
            options={f"{i + 1} · {words(key)}": i for i, (key, _) in enumerate(built)}, value=0, color="light",
            css_classes=["te-steps", f"te-steps-{self.key}", "te-control"], stylesheets=[FOCUS_CSS, STEP_BUTTONS_CSS],
            sizing_mode="stretch_width")
        answer_at_once(self.step_picker)
        self.step_picker.param.watch(self._show_step, "value")
        return [self.step_picker, *self.steps]

    def _show_step(self, event) -> None:
        with pn.io.unlocked():
            for i, step in enumerate(self.steps):
                step.visible = i == event.new

    @property
    def is_open(self) -> bool:
        return not self.card.collapsed

    def _on_toggle(self, event) -> None:
        if not event.new:  # opened
            self.state.view = self.key
        self.refresh()

    def open(self) -> None:
        self.card.collapsed = False

    def mark_stale(self) -> None:
        self.stale = True
        self.refresh()

    def refresh(self) -> None:
        """Bring the views up to date if the section is open (build them the first time)."""
        if not self.is_open or self.state.trace is None:
            return
        with pn.io.unlocked():
            if not self.built:
                self.views_column.objects = self._step_objects(self._build())
                self.built = True
            elif self.stale:
                self._update()
        self.stale = False


class ExplainerApp:
    """Widgets, sections and the wiring between them and the state."""

    def __init__(self, runtime: ModelRuntime, state: ExplainerState | None = None):
        self.runtime = runtime
        self.state = state or ExplainerState(runtime)
        self.words = translator(self.state.lang)
        watching_before = set(map(id, all_watchers(self.state)))
        self.views: dict[str, object] = {}
        self._tap_callbacks: list[tuple[object, Callable]] = []  # (selection model, callback): removed by close()
        self._make_controls()
        self._make_sections()
        self.picture = PicturePanel(self.state, runtime, on_tap=self._on_tap,
                                    open_section=lambda key: setattr(self.state, "view", key))
        self.state.param.watch(self._on_derived, ["trace", "lens_logits", "probabilities", "sampled_id"])
        self.state.param.watch(self._on_selection, ["layer", "head", "position", "expanded"])
        self.state.param.watch(self._on_view, ["view"])
        self.state.param.watch(self._on_messages, ["error", "status", "generating"])
        # What this page added to the state (its widgets' links, the watchers above): ``detach`` takes them back.
        self._watchers = [w for w in all_watchers(self.state) if id(w) not in watching_before]
        self._on_messages()
        self._show_tokens()

    def detach(self) -> None:
        """This page gives way to another on the same state (the language changed): its watchers and tap
        callbacks go, the state's own reactions and the URL's stay."""
        for watcher in self._watchers:
            self.state.param.unwatch(watcher)
        self._watchers.clear()
        self._release_views()

    def _release_views(self) -> None:
        for selection, callback in self._tap_callbacks:
            selection.remove_on_change("indices", callback)
        self._tap_callbacks.clear()
        self.picture.close()
        self.views.clear()

    def close(self) -> None:
        """The page is gone (its session was destroyed): end a generation after its current token, and let go
        of what ties the session's objects together (the state's watchers: ours, the widgets' links, the URL's;
        the figures' tap callbacks; the views), so that they are freed at once rather than at the next full
        garbage collection, and nothing runs for a page nobody sees."""
        self.state.stop()
        drop_every_watcher(self.state)
        self._release_views()

    def _on_tap(self, selection, callback: Callable) -> None:
        selection.on_change("indices", callback)
        self._tap_callbacks.append((selection, callback))

    # -- controls -----------------------------------------------------------------------------------

    def _make_controls(self) -> None:
        state, words = self.state, self.words
        self.prompt_input = pn.widgets.TextAreaInput.from_param(
            state.param.prompt, label=words("app.prompt_label"), description=None, auto_grow=True, rows=2, max_rows=8, sizing_mode="stretch_width",
            placeholder=words("app.prompt_placeholder"),
            css_classes=["te-prompt", "te-control"],
            max_length=10 * MAX_PROMPT_CHARACTERS)  # the browser would cut a longer paste silently; the state says why
        self.run_button = pn.widgets.Button(label=words("app.run"), color="primary", width=90, align="end",
                                            css_classes=["te-run", "te-control"])
        # Run reads what is typed (value_input, sent on every key); Panel fills it only on typing, so a prompt
        # from a link, an example or a generation is copied into it, or Run would empty the box.
        self.prompt_input.value_input = self.prompt_input.value
        self.prompt_input.param.watch(lambda event: setattr(self.prompt_input, "value_input", event.new), "value")
        self.run_button.on_click(lambda event: state.run(self.prompt_input.value_input or ""))
        self.token_count = TextBox(sizing_mode="stretch_width", css_classes=["te-token-count"])
        self.prompt_input.param.watch(self._count_tokens, "value_input")
        self.prompt_input.jscallback(value_input=static_text("run_on_ctrl_enter.js"))
        self.examples = pn.widgets.Select(label=words("app.examples"),
                                          options=[words("app.examples_placeholder"), *EXAMPLE_PROMPTS], width=300,
                                          css_classes=["te-examples", "te-control"])
        self.examples.param.watch(self._pick_example, "value")
        self.tokens_html = pn.pane.HTML("", sizing_mode="stretch_width", stylesheets=[TOKEN_CHIP_CSS],
                                        css_classes=["te-tokens"])

        self.next_button = pn.widgets.Button(label=words("app.next_token"), color="success", width=130,
                                             stylesheets=[DARK_GREEN_BUTTON_CSS],
                                             css_classes=["te-next", "te-control"])
        self.next_button.on_click(lambda event: state.append_sampled_token())
        self.generate_count = WholeNumberBox(label=words("app.tokens"), value=10, width=90,
                                             css_classes=["te-generate-count", "te-control"])
        self.generate_button = pn.widgets.Button(label=words("app.generate"), color="primary", width=100,
                                                 css_classes=["te-generate", "te-control"])
        self.generate_button.on_click(self._generate)
        self.stop_button = pn.widgets.Button(label=words("app.stop"), color="danger", width=80, disabled=True,
                                             css_classes=["te-stop", "te-control"])
        self.stop_button.on_click(lambda event: state.stop())

        self.top_k = WholeNumberBox.from_param(state.param.top_k, label=words("app.top_k"),
                                               description=words("app.top_k_hint"), width=120,
                                               css_classes=["te-top-k", "te-control"])
        self.top_p = pn.widgets.FloatSlider.from_param(state.param.top_p, label=words("app.top_p"), width=200,
                                                       css_classes=["te-top-p", "te-control"])
        self.seed = WholeNumberBox.from_param(state.param.seed, label=words("app.seed"), description=words("app.seed_hint"), width=110,
                                              css_classes=["te-seed", "te-control"])
        answer_at_once(self.top_p)  # re-sampling takes milliseconds: answer a move now

        self.error_box = text_box("error", visible=False, css_classes=["te-error"])
        self.status_box = text_box("status", css_classes=["te-status"])
        notice = said_in(self.runtime.notice, self.state.lang)
        self.notice_box = text_box("notice", notice, visible=bool(notice))
        # Each language named in its own words, so that a reader of either finds the way back.
        self.language = pn.widgets.Select.from_param(state.param.lang, label=words("app.language"), description=None,
                                                     options={name: lang for lang, name in LANGUAGES.items()},
                                                     width=110, css_classes=["te-language", "te-control"])
        self.reload_button = pn.widgets.Button(label=words("app.reload"), color="light", width=110, css_classes=["te-reload"])
        # No args: Panel keeps a callback's args alive for as long as its source, so a widget passed here would
        # keep the whole page alive after its session ends. reload.js finds the prompt box in the page instead.
        self.reload_button.js_on_click(code=static_text("reload.js"))
        # Sticky: the message stays in view wherever the student had scrolled to when the connection went.
        self.offline_box = pn.Column(text_box("offline", words("app.offline")), self.reload_button, visible=False,
                                     css_classes=["te-offline"], sizing_mode="stretch_width",
                                     styles={"position": "sticky", "top": "0", "z-index": "10", "background": "#8a1c12",
                                             "border-radius": "6px", "padding": "6px 8px"})

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

    def _show_example(self) -> None:
        """The menu names the example only while the prompt is that example (not after it was edited)."""
        shown = self.state.prompt if self.state.prompt in EXAMPLE_PROMPTS else self.words("app.examples_placeholder")
        if self.examples.value != shown:
            self.examples.value = shown

    async def _generate(self, event) -> None:
        await self.state.generate(self.generate_count.value)

    def _on_messages(self, *events) -> None:
        state = self.state
        self.error_box.plain_text = state.error
        self.error_box.visible = bool(state.error)
        self.status_box.plain_text = state.status
        for widget in (self.next_button, self.generate_button, self.run_button, self.prompt_input, self.examples):
            widget.disabled = state.generating
        self.stop_button.disabled = not state.generating

    def _show_tokens(self) -> None:
        trace = self.state.trace
        if trace is None:
            return
        self.tokens_html.object = token_chips(trace.tokens, trace.token_ids)
        self.token_count.plain_text = self._token_count(trace.n_tokens)
        self._show_position()

    def _show_position(self) -> None:
        """Every token picker shows the current token list and the selected token. Setting them is not a pick:
        ``state.position`` keeps -1 ("the last token") until the student picks one."""
        trace = self.state.trace
        if trace is None:
            return
        options = {f"{i}: {token}": i for i, token in enumerate(trace.tokens)}
        self._showing_position = True
        try:
            for select in self.position_selects.values():
                select.param.update(options=options, value=self.state.selected_position)
        finally:
            self._showing_position = False

    def _pick_position(self, event) -> None:
        if not self._showing_position:
            self.state.position = event.new

    # -- sections -----------------------------------------------------------------------------------

    def _make_sections(self) -> None:
        state, words = self.state, self.words
        # One widget per place it is shown: a Panel widget placed in two sections keeps only one of its
        # browser views in sync (the other would show a stale layer or token).
        self.layer_sliders = {key: pn.widgets.IntSlider.from_param(state.param.layer, label=words("app.layer"), width=220,
                                                                   css_classes=["te-layer", "te-control"])
                              for key in ("block", "attention", "mlp")}
        self.layer_slider = self.layer_sliders["attention"]
        self.head_slider = pn.widgets.IntSlider.from_param(state.param.head, label=words("app.head"), width=220,
                                                           css_classes=["te-head", "te-control"])
        self._showing_position = False
        self.position_selects = {key: pn.widgets.Select(label=words("app.token"), options={}, width=220,
                                                        css_classes=["te-position", "te-control"])
                                 for key in ("block", "mlp")}
        for select in self.position_selects.values():
            select.param.watch(self._pick_position, "value")
        self.position_select = self.position_selects["block"]
        # ``name`` is the checkbox's own label (clicking it toggles); Panel's ``label`` is a separate one, which does not
        self.expand_toggle = pn.widgets.Toggle.from_param(state.param.expanded, name=words("app.show_every_block"),
                                                            css_classes=["te-expand", "te-control"])
        self.click_mode = pn.widgets.RadioButtonGroup(options={words("app.click_to_open"): "inspect",
                                                               words("app.click_to_ablate"): "ablate"},
                                                      value="inspect", color="light",
                                                      css_classes=["te-click-mode", "te-control"])
        # Panel applies a widget change 50 ms late, but a tap in the grid at once: a tap right after switching to
        # "ablate" would still open the head. Apply the switch at once, so the two stay in order.
        answer_at_once(self.click_mode)
        self.reset_ablation = pn.widgets.Button(label=words("app.restore_heads"), width=160, css_classes=["te-control"])
        self.reset_ablation.on_click(lambda event: setattr(state, "ablated", ""))
        self.ablation_note = TextBox(sizing_mode="stretch_width", css_classes=["te-ablation-note"])
        # The keyboard's way to silence heads (the grid is clicked with a mouse): type them, as the link has them.
        self.ablation_box = pn.widgets.TextInput.from_param(state.param.ablated, label=words("app.silenced_heads"),
                                                            placeholder="0.3, 1.0", width=220, description=None,
                                                            css_classes=["te-ablation-box", "te-control"])
        self.attention_text = ScreenReaderText(css_classes=["te-attention-summary"])  # the head, said in words

        self.sections = {
            # The Sankey overview is open below the picture from the start (not "the open section" of a link).
            "overview": Section("overview", state, self._build_overview, self._update_overview, [self.expand_toggle],
                                start_open=True),
            "embedding": Section("embedding", state, self._build_embedding, self._update_embedding),
            "block": Section("block", state, self._build_block, self._update_block,
                             [self.layer_sliders["block"], self.position_selects["block"]]),
            "attention": Section("attention", state, self._build_attention, self._update_attention,
                                 [self.layer_sliders["attention"], self.head_slider, self.attention_text]),
            "heads": Section("heads", state, self._build_heads, self._update_heads,
                             [self.click_mode, self.ablation_box, self.reset_ablation, self.ablation_note]),
            "mlp": Section("mlp", state, self._build_mlp, self._update_mlp,
                           [self.layer_sliders["mlp"], self.position_selects["mlp"]]),
            "output": Section("output", state, self._build_output, self._update_output),
            "lens": Section("lens", state, self._build_lens, self._update_lens),
        }

    def _build_overview(self):
        s = self.state
        view = self.views["overview"] = OverviewView(s.trace, s.probabilities, s.sampled_id, self.runtime.display,
                                                     expanded=s.expanded, lang=s.lang)
        self._on_tap(view.stage_source.selected, self._on_stage_tap)
        self._on_tap(view.token_source.selected, self._on_token_tap)
        self._overview_shows = (s.trace, s.expanded)
        return [view.layout]

    def _update_overview(self):
        s, view = self.state, self.views["overview"]
        if self._overview_shows == (s.trace, s.expanded):  # only the sampling changed: move the bars
            view.update_probabilities(s.probabilities, s.sampled_id)
        else:
            view.update(s.trace, s.probabilities, s.sampled_id, expanded=s.expanded)
            self._overview_shows = (s.trace, s.expanded)

    def _build_embedding(self):
        view = self.views["embedding"] = EmbeddingView(self.state.trace, lang=self.state.lang)
        return [("steps.embedding.tokens", [view.tokens_figure]),
                ("steps.embedding.token", [view.token_embedding.figure]),
                ("steps.embedding.position", [view.position_embedding.figure]),
                ("steps.embedding.sum", [view.embedding_sum.figure])]

    def _update_embedding(self):
        self.views["embedding"].update(self.state.trace)

    def _block_views(self):
        s, layer, position = self.state, self.state.layer, self.state.selected_position
        return s.trace, layer, position

    def _build_block(self):
        trace, layer, position = self._block_views()
        ln1 = self.views["ln1"] = LayerNormView(trace, layer, "ln1", *self.runtime.layer_norm_weights(layer, "ln1"),
                                                     lang=self.state.lang)
        residual = self.views["residual"] = ResidualView(trace, layer, position, lang=self.state.lang)
        ln2 = self.views["ln2"] = LayerNormView(trace, layer, "ln2", *self.runtime.layer_norm_weights(layer, "ln2"),
                                                     lang=self.state.lang)
        return [("steps.block.ln1", [ln1.layout]), ("steps.block.residual", [residual.layout]),
                ("steps.block.ln2", [ln2.layout])]

    def _update_block(self):
        trace, layer, position = self._block_views()
        self.views["ln1"].update(trace, layer, "ln1", *self.runtime.layer_norm_weights(layer, "ln1"))
        self.views["residual"].update(trace, layer, position)
        self.views["ln2"].update(trace, layer, "ln2", *self.runtime.layer_norm_weights(layer, "ln2"))

    def _build_attention(self):
        s = self.state
        head = self.views["head"] = AttentionHeadView(s.trace, s.layer, s.head, lang=s.lang)
        concat = self.views["concat"] = ConcatProjectionView(s.trace, s.layer, lang=s.lang)
        self.attention_text.plain_text = attention_summary(s.trace, s.layer, s.head, self.words)
        return [("steps.attention.qkv", [head.qkv_row]), ("steps.attention.weights", [head.matrices_row]),
                ("steps.attention.z", [head.heatmaps["z"].figure]), ("steps.attention.concat", [concat.layout])]

    def _update_attention(self):
        s = self.state
        self.views["head"].update(s.trace, s.layer, s.head)
        self.views["concat"].update(s.trace, s.layer)
        self.attention_text.plain_text = attention_summary(s.trace, s.layer, s.head, self.words)

    def _build_heads(self):
        view = self.views["heads"] = HeadGridView(self.state.trace, ablated=frozenset(self.state.ablated_heads),
                                                  lang=self.state.lang)
        self._on_tap(view.head_source.selected, self._on_head_tap)
        self._note_ablation()
        return [view.layout]

    def _update_heads(self):
        self.views["heads"].update(self.state.trace, ablated=frozenset(self.state.ablated_heads))
        self._note_ablation()

    def _note_ablation(self):
        heads = self.state.ablated_heads
        words = self.words
        self.ablation_note.plain_text = (
            words("app.silenced", heads=", ".join(words("app.silenced_head", layer=l, head=h) for l, h in heads))
            if heads else words("app.all_heads_active"))

    def _build_mlp(self):
        trace, layer, position = self._block_views()
        view = self.views["mlp"] = MlpView(trace, layer, position, lang=self.state.lang)
        h = view.heatmaps
        return [("steps.mlp.up", [h["input"].figure, h["pre"].figure]),
                ("steps.mlp.gelu", [view.gelu_figure, h["post"].figure]),
                ("steps.mlp.down", [h["output"].figure])]

    def _update_mlp(self):
        self.views["mlp"].update(*self._block_views())

    def _build_output(self):
        s = self.state
        view = self.views["output"] = OutputView(s.trace.logits, self.runtime.display, sampled_id=s.sampled_id,
                                                 **s.sampling_settings(), lang=s.lang)
        return [view.layout]

    def _update_output(self):
        s = self.state
        self.views["output"].update(s.trace.logits, sampled_id=s.sampled_id, **s.sampling_settings())

    def _build_lens(self):
        s = self.state
        view = self.views["lens"] = LogitLensView(s.lens_logits, self.runtime.display, s.trace.tokens, lang=s.lang)
        return [view.layout]

    def _update_lens(self):
        s = self.state
        self.views["lens"].update(s.lens_logits, s.trace.tokens)

    # -- reactions ----------------------------------------------------------------------------------

    def _stale(self, *keys: str) -> None:
        with pn.io.unlocked():  # one message to the browser for all the sections, not one each
            for key in keys:
                self.sections[key].mark_stale()

    def _on_derived(self, *events) -> None:
        """A new trace refreshes every section; new sampling settings only the overview and the output."""
        if {event.name for event in events} & {"trace", "lens_logits"}:
            self._show_tokens()
            self._show_example()
            self.picture.refresh()
            self._stale(*self.sections)
        else:
            self.picture.refresh_probabilities()
            self._stale("overview", "output")

    def _on_selection(self, *events) -> None:
        names = {event.name for event in events}
        if "expanded" in names:
            self._stale("overview")
        if "position" in names:
            self._show_position()  # a token tapped in the overview, or a link: the pickers follow
        if names & {"layer", "head", "position"}:
            self.picture.refresh()
        if names & {"layer", "position"}:
            self._stale("block", "mlp", "attention")
        if "head" in names:
            self._stale("attention")

    def _on_view(self, event) -> None:
        section = self.sections.get(event.new)
        if section is not None:
            section.open()

    def _on_stage_tap(self, attr, old, new) -> None:
        if not new:
            return
        source = self.views["overview"].stage_source
        stage, layer = source.data["stage"][new[0]], int(source.data["layer"][new[0]])
        source.selected.indices = []  # so that tapping the same stage again is heard
        if stage == "block" and layer < 0:  # the "× N blocks" node says "tap to expand": it does
            self.state.expanded = True
            return
        if layer >= 0:
            self.state.layer = layer
        if stage in self.sections:
            self.state.view = stage

    def _on_token_tap(self, attr, old, new) -> None:
        if not new:
            return
        source = self.views["overview"].token_source
        position = int(source.data["position"][new[0]])
        source.selected.indices = []
        self.state.position = position

    def _on_head_tap(self, attr, old, new) -> None:
        if not new:
            return
        source = self.views["heads"].head_source
        layer, head = int(source.data["layer"][new[0]]), int(source.data["head"][new[0]])
        source.selected.indices = []
        if self.click_mode.value == "ablate":
            self.state.toggle_ablation(layer, head)
        else:
            self.state.param.update(layer=layer, head=head)
            self.state.view = "attention"

    # -- the page -----------------------------------------------------------------------------------

    def layout(self) -> pn.viewable.Viewable:
        config = self.runtime.config
        header = pn.pane.HTML(  # HTML, not Markdown: a model's name is a file's text, and Markdown would format it
            f"<h1>{self.words('app.title')}</h1><p>"
            + self.words("app.header", model=escape(display_name(self.runtime.model.name)), n_layer=config.n_layer,
                         n_head=config.n_head, n_embd=config.n_embd) + "</p>", sizing_mode="stretch_width",
            css_classes=["te-header"], stylesheets=[HEADER_CSS])
        header_row = pn.Row(header, self.language, sizing_mode="stretch_width")
        prompt_row = pn.Row(self.prompt_input, self.run_button, sizing_mode="stretch_width")
        # One row of controls (it wraps on a narrow screen): the temperature slider sits beside the bars.
        actions = pn.FlexBox(self.examples, self.next_button, self.generate_count, self.generate_button,
                             self.stop_button, self.top_k, self.top_p, self.seed, *self.picture.pickers,
                             align_items="end", sizing_mode="stretch_width", styles={"column-gap": "6px"})
        controls = pn.Column(prompt_row, self.token_count, self.tokens_html, self.error_box, actions,
                             self.status_box, sizing_mode="stretch_width")
        sections = [self.sections[key].card for key in
                    ("overview", "embedding", "block", "attention", "heads", "mlp", "output", "lens")]
        page_language = PageLanguage(language=self.state.lang, height=0, width=0, margin=0)
        page = pn.Column(page_language, self.offline_box, header_row, self.notice_box, controls, self.picture.layout, *sections,
                         sizing_mode="stretch_width", max_width=1400, styles={"margin": "0 auto"})
        if self.state.view in self.sections:
            self.sections[self.state.view].open()
        for section in self.sections.values():
            section.refresh()
        attach_tour(self, page)
        return page


def all_watchers(state: ExplainerState) -> list:
    """Every watcher on the state's parameters (param keeps them by parameter and by what they watch)."""
    return [watcher for by_what in state.param.watchers.values() for watchers in by_what.values()
            for watcher in watchers]


def build_app(runtime: ModelRuntime, browser_language: str | None = None) -> pn.viewable.Viewable:
    """A new page for one browser session, its state synced with the URL's query string, in the language the
    link names (``lang``), else the one the browser prefers (its Accept-Language header, or ``browser_language``
    from the static site's page). A language picked in the page redraws it in that language on the same state.
    When the session's connection is lost the page says so and offers a reload; when the session is destroyed
    the app lets go."""
    send_stranded_writes()
    parse_links_tolerantly()
    headers = pn.state.headers if pn.state.curdoc is not None else {}
    preferred = language_from(browser_language or (headers or {}).get("Accept-Language"))
    state = ExplainerState(runtime, lang=preferred)
    app = ExplainerApp(runtime, state)
    page = pn.Column(app.layout(), sizing_mode="stretch_width", css_classes=["te-page"])
    shown = {"app": app}

    def redraw_in_language(event) -> None:
        shown["app"].detach()
        shown["app"] = ExplainerApp(runtime, state)
        page.objects = [shown["app"].layout()]

    state.param.watch(redraw_in_language, "lang")
    if pn.state.location is not None:
        location = pn.state.location
        location.sync(state, URL_PARAMETERS,
                      on_error=lambda values: apply_link_settings(state, values, location.search))
    document = pn.state.curdoc
    if document is not None:
        document.js_on_event("connection_lost", CustomJS(code=static_text("connection_lost.js")))
        document.js_on_event("document_ready", CustomJS(code=static_text("run_on_ctrl_enter.js")))
        pn.state.on_session_destroyed(lambda session_context: shown["app"].close())
    return page


def apply_link_settings(state: ExplainerState, values: dict, search: str = "") -> None:
    """What Panel's URL sync calls when it could not apply a link's settings. Two of its habits need undoing:
    it reads text that looks like a number, a boolean or JSON as one (a prompt "1984", an ablation "0.3" or
    "0.10"), which a text setting refuses; and when one setting is refused it applies none. Text settings take
    the link's own text; the others are applied one by one, and only those refused are named."""
    raw = dict(parse_qsl(search.lstrip("?"), keep_blank_values=True))
    invalid = []
    for name, value in values.items():
        if isinstance(state.param[name], param.String) and URL_PARAMETERS.get(name) in raw:
            value = raw[URL_PARAMETERS[name]]
        try:
            state.param.update({name: value})
        except Exception:  # noqa: BLE001 - any value param refuses (out of bounds, wrong type) is reported
            invalid.append(name)
    if invalid:  # beside what the settings that did apply have to say (an ignored ablation entry, a bad seed)
        state.report("link", translator(state.lang)("app.invalid_link", names=", ".join(sorted(invalid))))
