"""The first screen's picture, wired to the state: a transformer block at work on the student's own tokens
(viz.picture), which opens in place into the animated derivations (viz.derivation, viz.popover).

    tap the attention matrix        → the head's math, animated (q·kᵀ, ÷√dₕ, mask, softmax, × V), in its place
    tap Q/K/V, the MLP, the logits  → the real vector × the real weights, animated, under the picture
    tap a head card (or ‹ › by "Head") → that head is drawn; ‹ › by "Block": the block before / after
    tap the blocks (or "Whole model") → the picture zooms out to the whole model, every block in a row;
                                      tap one there and the picture zooms into it (or pick it with "Block drawn")
    tap another stage               → its detail section opens below
    tap a token                     → its path stays lit; the per-token views follow it

Views are functions of ``ExplainerState``: this module reads it, and changes it only as a student's tap does.
"""

from __future__ import annotations

from typing import Callable

import panel as pn
from bokeh.layouts import column as bokeh_column
from bokeh.models import Slider

from transformer_explainer.gpt2_core.weight_products import weight_product
from transformer_explainer.viz.derivation import AttentionDerivationView
from transformer_explainer.viz.i18n import translator
from transformer_explainer.viz.sections.overview import OverviewView
from transformer_explainer.viz.picture import PictureView
from transformer_explainer.viz.picture.keyboard import PictureKeyboard
from transformer_explainer.viz.popover import WeightPopoverView

from .compat import after_this_change
from .runtime import ModelRuntime
from .state import ExplainerState
from .static_files import static_text
from .summaries import ScreenReaderText, picture_text
from .widgets import Viewport
from .zoom import RangeZoom

NARROW_WINDOW_PX = 700  # a window narrower than this shows the picture turned (its flow top to bottom)
POPOVER_KINDS = {"qkv": "qkv", "mlp": "mlp_up", "output": "output"}
PICKER_STEPS = {"block_prev": ("layer", -1), "block_next": ("layer", 1), "head_prev": ("head", -1),
                "head_next": ("head", 1)}


class PicturePanel:
    """The picture with its block and head pickers and the temperature slider beside the bars, the derivation
    that takes the matrix's place, and the popover under it. ``layout`` is the Panel layout; ``close()`` unhooks."""

    def __init__(self, state: ExplainerState, runtime: ModelRuntime, on_tap: Callable, open_section: Callable,
                 section_of_stage: dict[str, str]):
        """``section_of_stage``: the detail section a tap on a stage opens below (app/sections)."""
        self.state, self.runtime, self._open_section = state, runtime, open_section
        self.section_of_stage = section_of_stage
        s, config = state, runtime.config
        self.words = words = translator(state.lang)
        self.view = PictureView(s.trace, s.layer, s.head, s.probabilities, s.sampled_id, runtime.display,
                                n_layer=config.n_layer, selected_position=self._position(),
                                ablated_heads=s.ablated_heads, lang=s.lang,
                                token_bytes=runtime.model.tokenizer.token_bytes)
        self._shows = (s.trace, s.layer, s.head)
        # The temperature slider (the page puts it in its header): a Bokeh slider, kept in step with the state both
        # ways, whose moves re-sample the bars at once.
        self.temperature = Slider(start=0, end=10, step=0.05, value=float(s.temperature),
                                  title=words("app.temperature"), width=176, height=44, margin=(2, 8, 2, 8),
                                  name="picture-temperature", css_classes=["te-temperature", "te-control"])
        self.temperature.on_change("value", self._on_temperature)
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

        self.zoom_out_button = pn.widgets.Button(label=words("app.whole_model"), width=150,
                                                 css_classes=["te-picture-zoom-out", "te-control"])
        self.zoom_out_button.on_click(lambda event: self.zoom_out())
        self.zoom_out_button.js_on_click(code=static_text("area_into_view.js"))  # on a phone the button is far above the area
        self.zoom_in_button = pn.widgets.Button(label=words("app.into_block", layer=s.layer), width=190,
                                                css_classes=["te-picture-zoom-in"])
        self.zoom_in_button.on_click(lambda event: self.zoom_in())
        self.model_hint = pn.pane.HTML(words("app.whole_model_hint"), styles={"color": "#444", "flex": "1 1 240px"})
        # What the whole model does, in words (our own Markdown from the catalogue), under its picture.
        self.model_text = pn.pane.Markdown(f"**{words('explain.overview.title')}** · {words('explain.overview.text')}",
                                           sizing_mode="stretch_width", css_classes=["te-whole-model-text"])

        self.derivation: AttentionDerivationView | None = None
        self.popover: WeightPopoverView | None = None
        self.model_view: OverviewView | None = None  # the zoomed-out level, built when first shown
        self.zoomer = RangeZoom()  # the camera move between the whole model and one block, in the browser
        self._zoom_in_serial = -1
        self.zoomer.param.watch(self._on_zoomed, "done")
        self._on_tap = on_tap
        self.level = "block"  # what the area shows: "block" (the picture), "model" (every block) or "derivation"
        self._spotlit: str | None = None
        self.picture_pane = pn.pane.Bokeh(self.view.layout, sizing_mode="stretch_width")
        self.area = pn.Column(self.picture_pane, sizing_mode="stretch_width", css_classes=["te-picture-area"],
                              min_height=610)
        self.popover_area = pn.Column(visible=False, sizing_mode="stretch_width", css_classes=["te-popover"],
                                      stylesheets=[static_text("appear.css")])
        # with the page's other controls (the block and head are also picked on the picture itself)
        self.pickers = [self.block_slider, self.head_slider, self.zoom_out_button]
        # Without a mouse: a keyboard cursor over the picture, and what it shows in words (a screen reader's).
        self.keyboard = PictureKeyboard(self.view, s.lang)
        self.keyboard.attach(pn.state.curdoc)
        self.view.attach_fit(pn.state.curdoc)  # the picture fits the window, and follows it
        # On a narrow window (a phone) the picture turns: the flow runs top to bottom.
        self.viewport = Viewport()
        self.viewport.param.watch(self._on_window_width, "window_width")
        # The whole model is the picture's zoomed-out level: a link's expand=true (or view=overview) opens it, and
        # the state says which level is shown.
        self._following_level = False
        s.param.watch(self._on_level_asked, ["expanded", "view"])
        self.summary = ScreenReaderText(picture_text(s, runtime), css_classes=["te-picture-summary"])
        self.layout = pn.Column(self.summary, self.viewport, self.area, self.popover_area, sizing_mode="stretch_width",
                                name="picture", css_classes=["te-picture"])

    def _on_level_asked(self, *events) -> None:
        if self._following_level:
            return
        s = self.state
        if s.view == "overview" and not s.expanded:
            self._say_level(True)
        if s.expanded and self.level != "model":
            self.zoom_out()
        elif not s.expanded and self.level == "model":
            self.zoom_in()

    def _say_level(self, zoomed_out: bool) -> None:
        """The state (and the link) follow the level shown."""
        self._following_level = True
        try:
            update = {"expanded": zoomed_out}
            if not zoomed_out and self.state.view == "overview":
                update["view"] = "picture"
            self.state.param.update(update)
        finally:
            self._following_level = False

    def _on_window_width(self, event) -> None:
        if event.new > 0:
            with pn.io.unlocked():
                self.view.set_orientation("vertical" if event.new < NARROW_WINDOW_PX else "horizontal")

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
            if self.level == "model":
                self._refresh_model_view()
            self.zoom_in_button.label = self.words("app.into_block", layer=s.layer)

    def refresh_probabilities(self) -> None:
        """Only the sampling changed: the bars move, nothing else is sent."""
        s = self.state
        with pn.io.unlocked():
            self.view.update_probabilities(s.probabilities, s.sampled_id)
            if self.level == "model":
                self._refresh_model_view()
            self.summary.plain_text = picture_text(s, self.runtime)
            if self.temperature.value != s.temperature:
                self.temperature.value = float(s.temperature)

    def spotlight(self, stage: str | None) -> None:
        """The tour's outline on one stage of the picture (None: none). A step about another stage brings the
        picture back into the area if the whole model or a derivation is there."""
        if stage is not None and stage != self._spotlit and self.level != "block":
            self.show_picture()
        self._spotlit = stage
        self.view.spotlight(stage)

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
        s = self.state
        if stage in PICKER_STEPS:  # the pickers drawn on the picture: ‹ › for the block and the head
            what, step = PICKER_STEPS[stage]
            if what == "layer":
                s.layer = min(max(s.layer + step, 0), self.runtime.config.n_layer - 1)
            else:
                s.head = min(max(s.head + step, 0), self.runtime.config.n_head - 1)
        elif stage in ("tokens_earlier", "tokens_later"):  # a long prompt's token rows scroll
            with pn.io.unlocked():
                self.view.scroll_tokens(-1 if stage == "tokens_earlier" else 1)
        elif stage == "attention":
            self.show_derivation()
        elif stage in POPOVER_KINDS:
            self.show_popover(POPOVER_KINDS[stage])
        elif stage == "blocks":
            self.zoom_out()
        elif stage in self.section_of_stage:
            self._open_section(self.section_of_stage[stage])

    def _on_head_tap(self, attr, old, new) -> None:
        if not new:
            return
        head = int(self.view.head_source.data["head"][new[0]])
        self.view.head_source.selected.indices = []
        self.state.head = head

    def _on_token_tap(self, attr, old, new) -> None:
        if new:  # the highlight stays in the page; the per-token views follow the token
            self.state.position = int(self.view.token_source.data["position"][new[0]])

    # -- the whole model: the picture's zoomed-out level ---------------------------------------------------

    def _refresh_model_view(self) -> None:
        s = self.state
        if self.model_view is None:
            self.model_view = OverviewView(s.trace, s.probabilities, s.sampled_id, self.runtime.display,
                                           expanded=True, lang=s.lang, marked_layer=s.layer, name_prefix="zoom-",
                                           title=self.words("app.whole_model_title"))
            self._on_tap(self.model_view.stage_source.selected, self._on_model_stage_tap)
            self._on_tap(self.model_view.token_source.selected, self._on_model_token_tap)
            # On a phone the whole model (wider than the screen) scrolls sideways inside its own box, as the
            # overview section does (a Bokeh column around it, so the page keeps the phone's width).
            self.model_pane = pn.pane.Bokeh(bokeh_column(self.model_view.layout, sizing_mode="stretch_width",
                                                         styles={"overflow-x": "auto"}), sizing_mode="stretch_width")
        elif self._model_shows[0] is not s.trace:
            self.model_view.update(s.trace, s.probabilities, s.sampled_id)
        elif self._model_shows[1:] != (id(s.probabilities), s.sampled_id):
            self.model_view.update_probabilities(s.probabilities, s.sampled_id)
        self._model_shows = (s.trace, id(s.probabilities), s.sampled_id)
        self.model_view.mark_layer(s.layer)

    def zoom_out(self) -> None:
        """From the block drawn to the whole model: the whole model comes in filled by that block (as the picture
        was), and the camera pulls back until every block is in view, the drawn one outlined."""
        with pn.io.unlocked():
            self._refresh_model_view()
            view = self.model_view
            whole, block = view.whole_window(), view.block_window(self.state.layer)
            view.show_window(block)
            self._zoom_in_serial = -1
            self.zoomer.play(view.figure.name, block, whole)  # before it is in the page: it arrives with it
            self.area.objects = [pn.Column(pn.FlexBox(self.zoom_in_button, self.model_hint, align_items="center",
                                                      sizing_mode="stretch_width"),
                                           self.zoomer, self.model_pane, self.model_text, sizing_mode="stretch_width",
                                           css_classes=["te-picture-model"])]
            self.level = "model"
        self._say_level(True)

    def zoom_in(self) -> None:
        """From the whole model into the block drawn: the camera moves in until that block fills the width, then
        the picture of the block takes its place."""
        if self.level != "model":
            return
        view = self.model_view
        self._zoom_in_serial = self.zoomer.play(view.figure.name, view.whole_window(),
                                                view.block_window(self.state.layer))

    def _on_zoomed(self, event) -> None:
        if event.new == self._zoom_in_serial and self.level == "model":
            self._zoom_in_serial = -1
            self.model_view.show_window(self.model_view.whole_window())
            self.show_picture()

    def _on_model_stage_tap(self, attr, old, new) -> None:
        """A block's attention or MLP (or its name) in the whole model: the picture zooms into that block;
        the embedding or the output: into the block drawn."""
        if not new or self.model_view is None:
            return
        source = self.model_view.stage_source
        layer = int(source.data["layer"][new[0]])
        source.selected.indices = []
        if layer >= 0:
            self.state.layer = layer
        self.zoom_in()

    def _on_model_token_tap(self, attr, old, new) -> None:
        if new and self.model_view is not None:
            source = self.model_view.token_source
            position = int(source.data["position"][new[0]])
            source.selected.indices = []
            if position >= 0:
                self.state.position = position

    # -- what opens in place ---------------------------------------------------------------------------

    def show_derivation(self, step: int | None = None) -> None:
        """The attention matrix opens into its derivation, in the picture's place, and starts playing (from the
        first frame, or from the first of ``step``: 1 q·kᵀ, 2 ÷√dₕ, 3 mask, 4 softmax, 5 × V)."""
        s = self.state
        with pn.io.unlocked():
            if self.derivation is None:
                self.derivation = AttentionDerivationView(s.trace, s.layer, s.head, s.trace.tokens, lang=s.lang)
            else:
                self.derivation.update(s.trace, s.layer, s.head, s.trace.tokens)
            self.area.objects = [pn.Column(self.back_button, pn.pane.Bokeh(self.derivation.layout,
                                                                          sizing_mode="stretch_width"),
                                           sizing_mode="stretch_width", stylesheets=[static_text("appear.css")],
                                           css_classes=["te-derivation"])]
            if step is None:
                self.derivation.play_from_start()
            else:
                derivation = self.derivation
                after_this_change(lambda: derivation.play_from_step(step))  # (the model may be new in the page)
            self.level = "derivation"
        self._say_level(False)

    def show_picture(self) -> None:
        with pn.io.unlocked():
            self.area.objects = [pn.Column(self.picture_pane, sizing_mode="stretch_width",
                                           stylesheets=[static_text("appear.css")])]
            self.level = "block"
        self._say_level(False)

    def _popover_position(self, kind: str) -> int:
        """The selected token; for the logits the last one (the trace keeps only the last position's logits)."""
        return self.state.token_count - 1 if kind == "output" else self.state.selected_position

    def show_popover(self, kind: str) -> None:
        """The real vector of the selected token times the real weights, animated under the picture."""
        s = self.state
        product = weight_product(kind, s.trace, s.layer, self._popover_position(kind), self.runtime.model.params)
        with pn.io.unlocked():
            if self.popover is None or self.popover.kind != kind:
                self.popover = WeightPopoverView(product, s.trace, s.trace.tokens, token_text=self.runtime.display,
                                                 lang=s.lang)
            else:
                self.popover.update(product, s.trace)
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
        self.derivation = self.popover = self.model_view = None
