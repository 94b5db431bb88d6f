"""The first screen's picture, wired to the state: a transformer block at work on the student's own tokens
(viz.picture), which opens in place into the animated derivations (viz.derivation, viz.popover).

    tap the attention matrix        → the head's math, animated (q·kᵀ, ÷√dₕ, mask, softmax, × V), in its place
    tap Q/K/V, the MLP, the logits  → the real vector × the real weights, animated, under the picture
    tap a head card                 → that head is drawn
    tap the blocks                  → the next block is drawn (or pick it with "Block drawn")
    tap another stage               → its detail section opens below
    tap a token                     → its path stays lit; the per-token views follow it

Views are functions of ``ExplainerState``: this module reads it, and changes it only as a student's tap does.
"""

from __future__ import annotations

from typing import Callable

import panel as pn
from bokeh.models import Slider

from viz.derivation import AttentionDerivationView
from viz.i18n import translator
from viz.picture import PictureView
from viz.picture.keyboard import PictureKeyboard
from viz.popover import WeightPopoverView

from .runtime import ModelRuntime
from .state import ExplainerState
from .summaries import ScreenReaderText, picture_text

# A part that opens appears with a short fade and zoom, and its place keeps its height meanwhile: no jump.
APPEAR_CSS = """
:host { animation: te-appear 220ms ease-out; }
@keyframes te-appear { from { opacity: 0; transform: scale(0.985); } to { opacity: 1; transform: none; } }
@media (prefers-reduced-motion: reduce) { :host { animation: none; } }
"""
POPOVER_KINDS = {"qkv": "qkv", "mlp": "mlp_up", "output": "output"}
# A stage of the picture that has a detail section: a tap opens it below.
SECTION_OF_STAGE = {"embedding": "embedding", "ln1": "block", "residual_mid": "block", "ln2": "block",
                    "residual_post": "block", "attention_output": "attention", "ln_final": "output"}


class PicturePanel:
    """The picture with its block and head pickers and the temperature slider beside the bars, the derivation
    that takes the matrix's place, and the popover under it. ``layout`` is the Panel layout; ``close()`` unhooks."""

    def __init__(self, state: ExplainerState, runtime: ModelRuntime, on_tap: Callable, open_section: Callable):
        self.state, self.runtime, self._open_section = state, runtime, open_section
        s, config = state, runtime.config
        self.words = words = translator(state.lang)
        self.view = PictureView(s.trace, s.layer, s.head, s.probabilities, s.sampled_id, runtime.display,
                                n_layer=config.n_layer, selected_position=self._position(),
                                ablated_heads=s.ablated_heads, lang=s.lang)
        self._shows = (s.trace, s.layer, s.head)
        # The temperature slider beside the bars, in the picture's own slot for it: a Bokeh slider (a Panel widget
        # cannot sit inside a Bokeh layout), kept in step with the state both ways.
        self.temperature = Slider(start=0, end=10, step=0.05, value=float(s.temperature),
                                  title=words("app.temperature"), width=200, height=50, margin=(6, 10, 4, 10),
                                  name="picture-temperature", css_classes=["te-temperature", "te-control"])
        self.temperature.on_change("value", self._on_temperature)
        self.view.output_column.children = [self.temperature, *self.view.output_column.children[1:]]
        on_tap(self.view.stage_source.selected, self._on_stage_tap)
        on_tap(self.view.head_source.selected, self._on_head_tap)
        on_tap(self.view.token_source.selected, self._on_token_tap)

        self.block_slider = pn.widgets.IntSlider.from_param(s.param.layer, label=words("app.block_drawn"), width=150,
                                                            css_classes=["te-picture-layer", "te-control"])
        self.head_slider = pn.widgets.IntSlider.from_param(s.param.head, label=words("app.head_drawn"), width=120,
                                                           css_classes=["te-picture-head", "te-control"])
        self.back_button = pn.widgets.Button(label=words("app.back_to_picture"), width=190, css_classes=["te-picture-back"])
        self.back_button.on_click(lambda event: self.show_picture())
        self.close_popover = pn.widgets.Button(label=words("app.close"), width=90, css_classes=["te-popover-close"])
        self.close_popover.on_click(lambda event: self.hide_popover())

        self.derivation: AttentionDerivationView | None = None
        self.popover: WeightPopoverView | None = None
        self.picture_pane = pn.pane.Bokeh(self.view.layout, sizing_mode="stretch_width")
        self.area = pn.Column(self.picture_pane, sizing_mode="stretch_width", css_classes=["te-picture-area"],
                              min_height=610)
        self.popover_area = pn.Column(visible=False, sizing_mode="stretch_width", css_classes=["te-popover"],
                                      stylesheets=[APPEAR_CSS])
        self.pickers = [self.block_slider, self.head_slider]  # placed with the page's other controls
        # Without a mouse: a keyboard cursor over the picture, and what it shows in words (a screen reader's).
        self.keyboard = PictureKeyboard(self.view, s.lang)
        self.keyboard.attach(pn.state.curdoc)
        self.summary = ScreenReaderText(picture_text(s, runtime), css_classes=["te-picture-summary"])
        self.layout = pn.Column(self.summary, self.area, self.popover_area, sizing_mode="stretch_width",
                                name="picture", css_classes=["te-picture"])

    def shows(self) -> tuple:
        """(trace, layer, head) the picture draws now."""
        return self._shows

    def _position(self) -> int | None:
        return None if self.state.position < 0 else self.state.selected_position

    # -- the state changed ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """A new trace, or another block, head, token or ablation: the picture (and what is open) follow."""
        s = self.state
        with pn.io.unlocked():
            if self._shows[0] is s.trace:
                self.view.select(layer=s.layer, head=s.head, ablated_heads=s.ablated_heads)
            else:
                self.view.update(s.trace, s.layer, s.head, s.probabilities, s.sampled_id,
                                 selected_position=self._position(), ablated_heads=s.ablated_heads)
            self._shows = (s.trace, s.layer, s.head)
            self.summary.plain_text = picture_text(s, self.runtime)
            if self.derivation is not None:
                self.derivation.update(s.trace, s.layer, s.head, s.trace.tokens)
            if self.popover is not None:
                self.popover.update(s.trace, s.layer, self._popover_position(self.popover.kind),
                                    self.runtime.model.params)

    def refresh_probabilities(self) -> None:
        """Only the sampling changed: the bars move, nothing else is sent."""
        s = self.state
        with pn.io.unlocked():
            self.view.update_probabilities(s.probabilities, s.sampled_id)
            self.summary.plain_text = picture_text(s, self.runtime)
            if self.temperature.value != s.temperature:
                self.temperature.value = float(s.temperature)

    def _on_temperature(self, attr, old, new) -> None:
        if new != self.state.temperature:
            self.state.temperature = new

    # -- taps ----------------------------------------------------------------------------------------

    def _on_stage_tap(self, attr, old, new) -> None:
        if not new:
            return
        source = self.view.stage_source
        stage = source.data["stage"][new[0]]
        source.selected.indices = []  # so that tapping the same stage again is heard
        if stage == "attention":
            self.show_derivation()
        elif stage in POPOVER_KINDS:
            self.show_popover(POPOVER_KINDS[stage])
        elif stage == "blocks":
            self.state.layer = (self.state.layer + 1) % self.runtime.config.n_layer
        elif stage in SECTION_OF_STAGE:
            self._open_section(SECTION_OF_STAGE[stage])

    def _on_head_tap(self, attr, old, new) -> None:
        if not new:
            return
        head = int(self.view.head_source.data["head"][new[0]])
        self.view.head_source.selected.indices = []
        self.state.head = head

    def _on_token_tap(self, attr, old, new) -> None:
        if new:  # the highlight stays in the page; the per-token views follow the token
            self.state.position = int(self.view.token_source.data["position"][new[0]])

    # -- what opens in place ---------------------------------------------------------------------------

    def show_derivation(self) -> None:
        """The attention matrix opens into its derivation, in the picture's place, and starts playing."""
        s = self.state
        with pn.io.unlocked():
            if self.derivation is None:
                self.derivation = AttentionDerivationView(s.trace, s.layer, s.head, s.trace.tokens, lang=s.lang)
            else:
                self.derivation.update(s.trace, s.layer, s.head, s.trace.tokens)
            self.area.objects = [pn.Column(self.back_button, pn.pane.Bokeh(self.derivation.layout,
                                                                          sizing_mode="stretch_width"),
                                           sizing_mode="stretch_width", stylesheets=[APPEAR_CSS],
                                           css_classes=["te-derivation"])]
            self.derivation.play_from_start()

    def show_picture(self) -> None:
        with pn.io.unlocked():
            self.area.objects = [pn.Column(self.picture_pane, sizing_mode="stretch_width", stylesheets=[APPEAR_CSS])]

    def _popover_position(self, kind: str) -> int:
        """The selected token; for the logits the last one (the trace keeps only the last position's logits)."""
        return self.state.token_count - 1 if kind == "output" else self.state.selected_position

    def show_popover(self, kind: str) -> None:
        """The real vector of the selected token times the real weights, animated under the picture."""
        s, weights = self.state, self.runtime.model.params
        with pn.io.unlocked():
            if self.popover is None or self.popover.kind != kind:
                self.popover = WeightPopoverView(kind, s.trace, s.layer, self._popover_position(kind), weights,
                                                 s.trace.tokens, token_text=self.runtime.display, lang=s.lang)
            else:
                self.popover.update(s.trace, s.layer, self._popover_position(kind), weights)
            self.popover_area.objects = [self.close_popover, pn.pane.Bokeh(self.popover.layout,
                                                                           sizing_mode="stretch_width")]
            self.popover_area.visible = True
            self.popover.play_from_start()

    def hide_popover(self) -> None:
        with pn.io.unlocked():
            self.popover_area.visible = False
            self.popover_area.objects = []
            self.popover = None

    def close(self) -> None:
        self.temperature.remove_on_change("value", self._on_temperature)
        self.derivation = self.popover = None
