"""The guided tour: eighteen short steps from the prompt's tokens to the sampled next token, for a teacher to walk
a class through, in the page's language (``state.lang``).

Each step has a title, two or three sentences, a formula with this prompt's real numbers (read from the trace:
the drawn block and head, the last token against the first), and one thing to try; it outlines the stage of the
picture it talks about (``PictureView.spotlight``, viz/picture/spotlight.py). ``state.tour`` is the only state:
0 = no tour, 1..N = the step shown, carried by the URL (``?tour=7`` opens step 7), so the card is a view of it.

    steps = TOUR_STEPS                       the steps, in order (each names its catalogue keys in full)
    numbers = step.numbers(state)            the raw values its formula shows (floats, ints, token strings)
    step_formula(step, state, words)         the formula as shown: the template filled with formatted numbers

Every word comes from the catalogues (viz/locales): ``tour.*`` keys; numbers and token strings are filled in,
never translated. The card also holds a short glossary: the ``glossary.*`` terms, with a line each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable
from urllib.parse import parse_qsl, urlencode

import numpy as np
import panel as pn
from bokeh.models import CustomJS

from transformer_explainer.viz.i18n import Translator, translator

from .compat import after_this_change
from .static_files import static_text
from .runtime import ModelRuntime
from .safe_html import escape
from .state import ExplainerState

MINUS = "\u2212"  # a real minus sign: "−0.42", not the hyphen "-0.42"


# -- the numbers ----------------------------------------------------------------------------------------------

def number(value, digits: int = 2) -> str:
    """A value as a formula shows it: two decimals, a real minus sign, ∞ for the masked scores."""
    value = float(value)
    if math.isinf(value):
        return f"{MINUS}∞" if value < 0 else "∞"
    text = f"{value:.{digits}f}"
    if text.startswith("-"):
        text = MINUS + text[1:] if float(text) != 0 else text[1:]  # "-0.00" is just 0.00
    return text


def percent(value) -> str:
    return f"{100 * float(value):.1f}%"


def formatted(values: dict) -> dict[str, str]:
    """Every value as text: floats as ``number`` (``p_*`` as a percentage), ints as they are, strings unchanged."""
    out = {}
    for name, value in values.items():
        if isinstance(value, str):
            out[name] = value
        elif isinstance(value, (int, np.integer)):
            out[name] = str(int(value))
        elif name.startswith("p_"):
            out[name] = percent(value)
        else:
            out[name] = number(value)
    return out


def _last(state: ExplainerState) -> int:
    return state.trace.n_tokens - 1


def _token(state: ExplainerState, position: int) -> str:
    return state.trace.tokens[position]


def tokens_numbers(state: ExplainerState) -> dict:
    trace, last = state.trace, _last(state)
    return {"n": trace.n_tokens, "token": _token(state, last), "id": int(trace.token_ids[last])}


def embedding_numbers(state: ExplainerState) -> dict:
    trace, last = state.trace, _last(state)
    return {"id": int(trace.token_ids[last]), "pos": last, "wte": float(trace["hook_embed"][last, 0]),
            "wpe": float(trace["hook_pos_embed"][last, 0]), "x": float(trace["blocks.0.hook_resid_pre"][last, 0])}


def residual_numbers(state: ExplainerState) -> dict:
    trace, last, L = state.trace, _last(state), f"blocks.{state.layer}"
    return {"layer": state.layer, "pre": float(trace[f"{L}.hook_resid_pre"][last, 0]),
            "attn": float(trace[f"{L}.hook_attn_out"][last, 0]), "mlp": float(trace[f"{L}.hook_mlp_out"][last, 0]),
            "post": float(trace[f"{L}.hook_resid_post"][last, 0])}


def layer_norm_numbers(state: ExplainerState) -> dict:
    trace, last, L = state.trace, _last(state), f"blocks.{state.layer}"
    x = trace[f"{L}.hook_resid_pre"][last]
    return {"x": float(x[0]), "mean": float(np.mean(x, dtype=np.float64)),
            "scale": float(trace[f"{L}.ln1.hook_scale"][last, 0]),
            "normalized": float(trace[f"{L}.ln1.hook_normalized"][last, 0]),
            "out": float(trace[f"{L}.ln1.hook_out"][last, 0])}


def qkv_numbers(state: ExplainerState) -> dict:
    trace, last, L, h = state.trace, _last(state), f"blocks.{state.layer}", state.head
    return {"head": h, "d_head": trace.config.d_head, "q": float(trace[f"{L}.attn.hook_q"][last, h, 0]),
            "k": float(trace[f"{L}.attn.hook_k"][last, h, 0]), "v": float(trace[f"{L}.attn.hook_v"][last, h, 0])}


def scores_numbers(state: ExplainerState) -> dict:
    trace, last, L = state.trace, _last(state), f"blocks.{state.layer}"
    return {"query": _token(state, last), "key": _token(state, 0),
            "raw": float(trace[f"{L}.attn.hook_attn_raw"][state.head, last, 0])}


def scaling_numbers(state: ExplainerState) -> dict:
    trace, last, L = state.trace, _last(state), f"blocks.{state.layer}"
    return {"raw": float(trace[f"{L}.attn.hook_attn_raw"][state.head, last, 0]), "d_head": trace.config.d_head,
            "scaled": float(trace[f"{L}.attn.hook_attn_scores"][state.head, last, 0])}


def mask_numbers(state: ExplainerState) -> dict:
    """The first token's score for the last one (a later token: masked), and how many scores the mask removes."""
    trace, last, L = state.trace, _last(state), f"blocks.{state.layer}"
    scores = trace[f"{L}.attn.hook_attn_scores"][state.head]
    n = trace.n_tokens
    return {"first": _token(state, 0), "later": _token(state, last), "masked": float(scores[0, last]),
            "count": int(np.count_nonzero(np.isneginf(scores))), "total": n * n}


def softmax_numbers(state: ExplainerState) -> dict:
    trace, last, L = state.trace, _last(state), f"blocks.{state.layer}"
    row = trace[f"{L}.attn.hook_pattern"][state.head, last]
    return {"query": _token(state, last), "key": _token(state, 0), "weight": float(row[0]),
            "sum": float(np.sum(row, dtype=np.float64))}


def heads_numbers(state: ExplainerState) -> dict:
    config, last = state.trace.config, _last(state)
    return {"n_head": config.n_head, "d_head": config.d_head, "d": config.n_embd,
            "out": float(state.trace[f"blocks.{state.layer}.hook_attn_out"][last, 0])}


def mlp_numbers(state: ExplainerState) -> dict:
    trace, last, L = state.trace, _last(state), f"blocks.{state.layer}"
    return {"d": trace.config.n_embd, "dm": int(trace[f"{L}.mlp.hook_pre"].shape[-1]),
            "hidden": float(trace[f"{L}.mlp.hook_pre"][last, 0]), "out": float(trace[f"{L}.hook_mlp_out"][last, 0])}


def gelu_numbers(state: ExplainerState) -> dict:
    trace, last, L = state.trace, _last(state), f"blocks.{state.layer}"
    return {"x": float(trace[f"{L}.mlp.hook_pre"][last, 0]), "y": float(trace[f"{L}.mlp.hook_post"][last, 0])}


def blocks_numbers(state: ExplainerState) -> dict:
    trace, last, n_layer = state.trace, _last(state), state.trace.config.n_layer
    return {"n_layer": n_layer, "last_block": n_layer - 1, "start": float(trace["blocks.0.hook_resid_pre"][last, 0]),
            "end": float(trace[f"blocks.{n_layer - 1}.hook_resid_post"][last, 0])}


def logits_numbers(state: ExplainerState) -> dict:
    logits = state.trace.logits
    top = int(np.argmax(logits))
    return {"token": state.runtime.display(top), "logit": float(logits[top]), "vocab": int(logits.shape[-1])}


def temperature_numbers(state: ExplainerState) -> dict:
    probabilities = state.probabilities
    top = int(np.argmax(probabilities))
    return {"t": float(state.temperature), "token": state.runtime.display(top), "p_top": float(probabilities[top])}


def cutoff_numbers(state: ExplainerState) -> dict:
    settings = state.sampling_settings()
    return {"k": int(settings["top_k"] or 0), "top_p": float(state.top_p),
            "kept": int(np.count_nonzero(state.probabilities > 0)), "vocab": int(state.probabilities.shape[-1])}


def sampling_numbers(state: ExplainerState) -> dict:
    sampled = int(state.sampled_id)
    # The seed the highlighted token was drawn with: the box's, or the last valid one while the box holds another.
    return {"seed": int(state._valid["seed"]), "token": state.runtime.display(sampled),
            "p_sampled": float(state.probabilities[sampled])}


def generating_numbers(state: ExplainerState) -> dict:
    n = state.trace.n_tokens
    return {"n": n, "token": state.runtime.display(int(state.sampled_id)), "n1": n + 1,
            "n_ctx": state.runtime.config.n_ctx}


# -- the steps ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TourStep:
    """One step: the stage it outlines, its catalogue keys (written out, so a search finds them), its numbers."""

    name: str
    stage: str | None
    title: str
    text: str
    formula: str
    try_this: str
    numbers: Callable[[ExplainerState], dict]
    derivation_step: int | None = None  # the step of the head's animated math that shows it (1 q·kᵀ ... 5 × V)


TOUR_STEPS: tuple[TourStep, ...] = (
    TourStep("tokens", "tokens", "tour.step.tokens.title", "tour.step.tokens.text", "tour.step.tokens.formula",
             "tour.step.tokens.try", tokens_numbers),
    TourStep("embedding", "embedding", "tour.step.embedding.title", "tour.step.embedding.text",
             "tour.step.embedding.formula", "tour.step.embedding.try", embedding_numbers),
    TourStep("residual", "residual_post", "tour.step.residual.title", "tour.step.residual.text",
             "tour.step.residual.formula", "tour.step.residual.try", residual_numbers),
    TourStep("layer_norm", "ln1", "tour.step.layer_norm.title", "tour.step.layer_norm.text",
             "tour.step.layer_norm.formula", "tour.step.layer_norm.try", layer_norm_numbers),
    TourStep("qkv", "qkv", "tour.step.qkv.title", "tour.step.qkv.text", "tour.step.qkv.formula",
             "tour.step.qkv.try", qkv_numbers),
    TourStep("scores", "attention", "tour.step.scores.title", "tour.step.scores.text", "tour.step.scores.formula",
             "tour.step.scores.try", scores_numbers, derivation_step=1),
    TourStep("scaling", "attention", "tour.step.scaling.title", "tour.step.scaling.text",
             "tour.step.scaling.formula", "tour.step.scaling.try", scaling_numbers, derivation_step=2),
    TourStep("mask", "attention", "tour.step.mask.title", "tour.step.mask.text", "tour.step.mask.formula",
             "tour.step.mask.try", mask_numbers, derivation_step=3),
    TourStep("softmax", "attention", "tour.step.softmax.title", "tour.step.softmax.text",
             "tour.step.softmax.formula", "tour.step.softmax.try", softmax_numbers, derivation_step=4),
    TourStep("heads", "attention_output", "tour.step.heads.title", "tour.step.heads.text",
             "tour.step.heads.formula", "tour.step.heads.try", heads_numbers),
    TourStep("mlp", "mlp", "tour.step.mlp.title", "tour.step.mlp.text", "tour.step.mlp.formula",
             "tour.step.mlp.try", mlp_numbers),
    TourStep("gelu", "mlp", "tour.step.gelu.title", "tour.step.gelu.text", "tour.step.gelu.formula",
             "tour.step.gelu.try", gelu_numbers),
    TourStep("blocks", "blocks", "tour.step.blocks.title", "tour.step.blocks.text", "tour.step.blocks.formula",
             "tour.step.blocks.try", blocks_numbers),
    TourStep("logits", "ln_final", "tour.step.logits.title", "tour.step.logits.text", "tour.step.logits.formula",
             "tour.step.logits.try", logits_numbers),
    TourStep("temperature", "output", "tour.step.temperature.title", "tour.step.temperature.text",
             "tour.step.temperature.formula", "tour.step.temperature.try", temperature_numbers),
    TourStep("cutoff", "output", "tour.step.cutoff.title", "tour.step.cutoff.text", "tour.step.cutoff.formula",
             "tour.step.cutoff.try", cutoff_numbers),
    TourStep("sampling", "output", "tour.step.sampling.title", "tour.step.sampling.text",
             "tour.step.sampling.formula", "tour.step.sampling.try", sampling_numbers),
    TourStep("generating", "output", "tour.step.generating.title", "tour.step.generating.text",
             "tour.step.generating.formula", "tour.step.generating.try", generating_numbers),
)
N_STEPS = len(TOUR_STEPS)

# The glossary the card can show: each term (its fixed translation) and a line saying what it is.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("glossary.token", "tour.glossary.token"),
    ("glossary.embedding", "tour.glossary.embedding"),
    ("glossary.residual_stream", "tour.glossary.residual_stream"),
    ("glossary.layer_norm", "tour.glossary.layer_norm"),
    ("glossary.attention", "tour.glossary.attention"),
    ("glossary.query", "tour.glossary.query"),
    ("glossary.key", "tour.glossary.key"),
    ("glossary.value", "tour.glossary.value"),
    ("glossary.head", "tour.glossary.head"),
    ("glossary.causal_mask", "tour.glossary.causal_mask"),
    ("glossary.softmax", "tour.glossary.softmax"),
    ("glossary.output_projection", "tour.glossary.output_projection"),
    ("glossary.mlp", "tour.glossary.mlp"),
    ("glossary.block", "tour.glossary.block"),
    ("glossary.logits", "tour.glossary.logits"),
    ("glossary.probability", "tour.glossary.probability"),
    ("glossary.temperature", "tour.glossary.temperature"),
    ("glossary.sampling", "tour.glossary.sampling"),
    ("glossary.ablation", "tour.glossary.ablation"),
)


def step_formula(step: TourStep, state: ExplainerState, words: Translator) -> str:
    """The step's formula with this prompt's numbers; a one-token prompt has nothing to mask, and says so."""
    values = formatted(step.numbers(state))
    if step.name == "mask" and state.trace.n_tokens == 1:
        return words("tour.step.mask.formula_one", **values)
    return words(step.formula, **values)


def clamped(step: int) -> int:
    """A step number as the tour can show it: 0 (no tour) or 1..N."""
    return min(max(int(step), 0), N_STEPS)


# -- the page -------------------------------------------------------------------------------------------------

CARD_STYLE, BUTTON_STYLE = [static_text("tour_card.css")], [static_text("tour_button.css")]
BOX_STYLES = {"background": "#fffbea", "border": "2px solid #f0b400", "border-radius": "8px", "padding": "6px 10px",
              "margin": "4px 0 6px 0"}


class TourPanel:
    """The tour's card (``layout``: shown while ``state.tour`` > 0) and its start button (``start_button``).

    ``picture``: the page's PicturePanel, whose picture the steps outline (None: no picture to light)."""

    def __init__(self, state: ExplainerState, runtime: ModelRuntime, picture=None):
        self.state, self.runtime, self.picture = state, runtime, picture
        self.start_button = pn.widgets.Button(width=150, color="primary", variant="outline",
                                              align="end", css_classes=["te-tour-start"], stylesheets=BUTTON_STYLE)
        self.start_button.on_click(lambda event: self.start())
        self.back_button = pn.widgets.Button(width=110, css_classes=["te-tour-back"], stylesheets=BUTTON_STYLE)
        self.back_button.on_click(lambda event: self.back())
        self.next_button = pn.widgets.Button(width=130, color="primary", css_classes=["te-tour-next"],
                                             stylesheets=BUTTON_STYLE)
        self.next_button.on_click(lambda event: self.next())
        self.close_button = pn.widgets.Button(width=100, color="light", css_classes=["te-tour-close"],
                                              stylesheets=BUTTON_STYLE)
        self.close_button.on_click(lambda event: self.close())
        # On the steps about one head's math: that moment of the animated derivation, in the picture's place.
        self.math_button = pn.widgets.Button(width=230, color="light", visible=False, css_classes=["te-tour-math"],
                                             stylesheets=BUTTON_STYLE)
        self.math_button.on_click(lambda event: self.show_math())
        self.glossary_toggle = pn.widgets.Toggle(width=120, color="light", css_classes=["te-tour-glossary-toggle"],
                                                 stylesheets=BUTTON_STYLE)
        self.glossary_toggle.param.watch(lambda event: self._render(), "value")
        self.body = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["te-tour-body"],
                                 stylesheets=CARD_STYLE)
        self.body.jscallback(text=static_text("tour_card_into_view.js"))
        self.glossary = pn.pane.HTML("", sizing_mode="stretch_width", visible=False, css_classes=["te-tour-glossary"],
                                     stylesheets=CARD_STYLE)
        buttons = pn.FlexBox(self.back_button, self.next_button, self.math_button, self.glossary_toggle,
                             self.close_button,
                             sizing_mode="stretch_width", styles={"column-gap": "6px"})
        self.layout = pn.Column(self.body, self.glossary, buttons, visible=False, sizing_mode="stretch_width",
                                css_classes=["te-tour"], name="tour", styles=BOX_STYLES)
        self.asked: int | None = None  # a step asked for that the tour has not (a link's ?tour=99), said once
        state.param.watch(self._on_tour, ["tour"])
        state.param.watch(lambda *events: self._render(),
                          ["trace", "probabilities", "sampled_id", "layer", "head", "temperature", "top_p", "top_k",
                           "seed", "lang"])
        self._on_tour()

    # -- moving through the steps -------------------------------------------------------------------------

    @property
    def step(self) -> TourStep | None:
        shown = self.shown_step
        return TOUR_STEPS[shown - 1] if shown else None

    @property
    def shown_step(self) -> int:
        """The step shown: ``state.tour``, or the last one while a step past the end is being put right."""
        return clamped(self.state.tour)

    def start(self) -> None:
        self.state.tour = 1

    def next(self) -> None:
        self.state.tour = min(self.shown_step + 1, N_STEPS)

    def back(self) -> None:
        self.state.tour = max(self.shown_step - 1, 1)

    def close(self) -> None:
        self.state.tour = 0

    def show_math(self) -> None:
        """The head's derivation, playing from the moment this step is about."""
        step = self.step
        if step is not None and step.derivation_step is not None and self.picture is not None:
            self.picture.show_derivation(step.derivation_step)

    def _on_tour(self, *events) -> None:
        asked = self.state.tour
        if asked != clamped(asked):  # a link's ?tour=99: the last step, saying why
            self.asked = asked
            self._render()
            self._put_right(asked)
            return
        came_from = events[0].old if events else 0
        if came_from == clamped(came_from):  # a step moved to, not one put in range: no note
            self.asked = None
        self._render()
        if events and asked == 0:
            self._forget_in_link()

    def _put_right(self, asked: int) -> None:
        """``state.tour`` becomes the step shown, so the link says it too. In a served page, at the next tick: Panel
        does not send a change made while it applies the link's settings back to the URL."""
        def put_right() -> None:
            if self.state.tour == asked:
                self.state.tour = clamped(asked)  # heard again, as a change from the step asked for

        after_this_change(put_right)

    def _forget_in_link(self) -> None:
        """The tour closed: the link loses ``tour`` (Panel would keep ``tour=0``), at the next tick, once Panel has
        written its own change. The other settings keep their text exactly as the link has it."""
        location, document = pn.state.location, pn.state.curdoc
        if location is None or document is None or document.session_context is None:
            return

        def forget() -> None:
            pairs = parse_qsl(location.search.lstrip("?"), keep_blank_values=True)
            kept = [(name, value) for name, value in pairs if name != "tour"]
            if self.state.tour == 0 and len(kept) != len(pairs):
                location.search = f"?{urlencode(kept)}" if kept else ""

        document.add_next_tick_callback(forget)

    # -- drawing ------------------------------------------------------------------------------------------

    def _render(self) -> None:
        words = translator(self.state.lang)
        step = self.step
        with pn.io.unlocked():
            self.start_button.name = words("tour.start")
            self.back_button.name = words("tour.back")
            self.next_button.name = words("tour.next")
            self.close_button.name = words("tour.close")
            self.math_button.name = words("tour.show_math")
            self.math_button.visible = step is not None and step.derivation_step is not None
            self.glossary_toggle.name = words("tour.glossary_button")
            self.layout.visible = step is not None
            if self.picture is not None:
                self.picture.spotlight(step.stage if step is not None else None)
            if step is None:
                return
            self.back_button.disabled = self.shown_step <= 1
            self.next_button.disabled = self.shown_step >= N_STEPS
            self.body.object = self.card_html(step, words)
            self.glossary.visible = self.glossary_toggle.value
            if self.glossary_toggle.value:
                self.glossary.object = glossary_html(words)

    def card_html(self, step: TourStep, words: Translator) -> str:
        state = self.state
        formula = step_formula(step, state, words) if state.trace is not None else ""
        note = (f'<p class="te-tour-note">{escape(words("tour.clamped", asked=self.asked, n=N_STEPS))}</p>'
                if self.asked is not None else "")
        return (f'<div class="te-tour-progress">{escape(words("tour.progress", step=self.shown_step, n=N_STEPS))}</div>'
                f'<h2 class="te-tour-title">{escape(words(step.title))}</h2>{note}'
                f'<p class="te-tour-text">{escape(words(step.text))}</p>'
                f'<div class="te-tour-formula">{escape(formula)}</div>'
                f'<p class="te-tour-try"><b>{escape(words("tour.try_label"))}</b> {escape(words(step.try_this))}</p>')


def glossary_html(words: Translator) -> str:
    items = "".join(f"<dt>{escape(words(term))}</dt><dd>{escape(words(line))}</dd>" for term, line in GLOSSARY)
    return f'<h2>{escape(words("tour.glossary_title"))}</h2><dl>{items}</dl>'


def attach_tour(app, page: pn.Column) -> TourPanel:
    """Put the tour into an ExplainerApp's page (app/layout.py): its card just above the picture, its start button
    first in the row of actions, Esc wired in the browser. Called once the page is built; calling again does
    nothing."""
    tour = getattr(app, "tour", None)
    if tour is None:
        tour = app.tour = TourPanel(app.state, app.runtime, picture=app.picture)
    objects = list(page.objects)
    if tour.layout not in objects:
        objects.insert(objects.index(app.picture.layout) if app.picture.layout in objects else len(objects),
                       tour.layout)
        page.objects = objects
    for row in page.select(pn.FlexBox):
        if app.controls.next_button in row.objects and tour.start_button not in row.objects:
            row.objects = [tour.start_button, *row.objects]
            break
    document = pn.state.curdoc
    if document is not None and not getattr(document, "_te_tour_escape", False):
        document.js_on_event("document_ready", CustomJS(code=static_text("esc_closes_tour.js")))
        document._te_tour_escape = True
    return tour
