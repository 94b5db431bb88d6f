"""The detail sections in the page: one card per registered section (app/sections), and the driver that keeps the
open ones up to date.

A card builds its views when first opened and updates them in place afterwards, only while open: a closed card
notes what changed and catches up when it opens, so a new prompt costs what is visible, not more. What redraws
when is read from each section's ``depends_on``, not from a table of watchers.
"""

from __future__ import annotations

from typing import Callable, Sequence

import panel as pn
from bokeh.layouts import column as bokeh_column

from .compat import answer_at_once
from .sections import INPUTS, SECTIONS, Section, SectionContext, SectionInputs, keys
from .state import PICTURE_VIEWS
from .static_files import static_text
from .widgets import text_box


class SectionCard:
    """One section in the page: its explanation, formula, "show the code", controls, and views."""

    def __init__(self, section: Section, state, context: SectionContext, controls: list):
        self.section, self.key, self.state = section, section.key, state
        self.view = section.view(context)
        self.words = context.words
        self.controls = [*controls, *self.view.controls()]
        self.views_column = pn.Column(sizing_mode="stretch_width")
        # A closed card is its title only: what it holds is made when it first opens (the page starts sooner).
        self.card = pn.Card(
            title=section.explanation.title(self.words), collapsed=state.view != self.key and not section.start_open,
            sizing_mode="stretch_width", name=f"section-{self.key}", css_classes=[f"te-section-{self.key}"],
            stylesheets=[static_text("focus.css")],
        )
        self.has_body = False
        self.built = False
        self.pending: set[str] = {"trace"}  # what changed since the views last drew
        self.steps: list = []  # one Panel column per step, when the section shows its views a step at a time
        self.step_picker = None
        self.card.param.watch(self._on_toggle, "collapsed")
        if self.is_open:
            self._make_body()

    def _make_body(self) -> None:
        """The explanation, the formula, "show the code", the controls and the column the views go in."""
        if self.has_body:
            return
        explanation, words = self.section.explanation, self.words
        show_code = pn.widgets.Toggle(label=words("app.show_code"), color="light", width=140,
                                      css_classes=["te-control"])
        code = pn.pane.Markdown(f"```python\n{explanation.source()}\n```", visible=False, sizing_mode="stretch_width")
        show_code.link(code, value="visible")
        self.card.objects = [
            pn.pane.Markdown(explanation.text(words), sizing_mode="stretch_width"),
            pn.Row(text_box("formula", explanation.formula), show_code, sizing_mode="stretch_width"),
            code,
            *([pn.FlexBox(*self.controls, sizing_mode="stretch_width")] if self.controls else []),
            self.views_column,
        ]
        self.has_body = True

    @property
    def views(self) -> dict:
        return self.view.views

    @property
    def is_open(self) -> bool:
        return not self.card.collapsed

    def open(self) -> None:
        self.card.collapsed = False

    def _on_toggle(self, event) -> None:
        if not event.new:  # opened
            self._make_body()
            self.state.view = self.key

    def note(self, changed: set[str]) -> None:
        self.pending |= changed

    def refresh(self, inputs: Callable[[], SectionInputs]) -> None:
        """Bring the views up to date if the card is open (build them the first time)."""
        if not self.is_open or not self.pending:
            return
        with pn.io.unlocked():
            if not self.built:
                self.views_column.objects = self._step_objects(self.view.build(inputs()))
                self.built = True
            else:
                self.view.update(inputs(), self.pending)
        self.pending = set()

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
        self.steps = [pn.Column(*panes(models), visible=i == 0, sizing_mode="stretch_width",
                                css_classes=[f"te-step-{self.key}-{i}"]) for i, (_, models) in enumerate(built)]
        self.step_picker = pn.widgets.RadioButtonGroup(
            options={f"{i + 1} · {self.words(key)}": i for i, (key, _) in enumerate(built)}, value=0, color="light",
            css_classes=["te-steps", f"te-steps-{self.key}", "te-control"],
            stylesheets=[static_text("focus.css"), static_text("step_buttons.css")], sizing_mode="stretch_width")
        answer_at_once(self.step_picker)
        self.step_picker.param.watch(self._show_step, "value")
        return [self.step_picker, *self.steps]

    def _show_step(self, event) -> None:
        with pn.io.unlocked():
            for i, step in enumerate(self.steps):
                step.visible = i == event.new


class SectionCards(pn.viewable.Viewer):
    """Every registered section as a card, in page order, kept up to date: a change of the state's values updates
    the open cards whose section depends on it (``Section.depends_on``); a link's or a tap's ``view`` opens one."""

    def __init__(self, state, runtime, controls: Callable[[str, str], object], on_tap: Callable,
                 sections: Sequence[Section] = SECTIONS, **params):
        super().__init__(**params)
        self.state, self.runtime = state, runtime
        sections = sorted(sections, key=lambda section: section.order)
        # A section added beside the built-in ones (a test's) is a view the link may name.
        state.param.view.objects = [*PICTURE_VIEWS, *keys(sections)]
        context = SectionContext(words=state.words, lang=state.lang, state=state, on_tap=on_tap)
        self.cards = {section.key: SectionCard(section, state, context,
                                               [controls(name, section.key) for name in section.controls])
                      for section in sections}
        self._inputs: SectionInputs | None = None
        state.param.watch(self._on_change, sorted({name for section in sections for name in ("trace", *section.depends_on)}))
        state.param.watch(self._on_view, "view")
        for card in self.cards.values():
            card.card.param.watch(lambda event, card=card: self._refresh(card), "collapsed")

    # The cards by section key, as a mapping: ``cards["attention"].open()``.
    def __getitem__(self, key: str) -> SectionCard:
        return self.cards[key]

    def __contains__(self, key: str) -> bool:
        return key in self.cards

    def __iter__(self):
        return iter(self.cards)

    def keys(self):
        return self.cards.keys()

    def values(self):
        return self.cards.values()

    def items(self):
        return self.cards.items()

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(*(card.card for card in self.cards.values()), sizing_mode="stretch_width")

    @property
    def views(self) -> dict:
        """Every built view of every card, by name (``head``, ``overview``, ``output``, ...)."""
        return {name: view for card in self.cards.values() for name, view in card.views.items()}

    def inputs(self) -> SectionInputs:
        """The sections' inputs as the state holds them now (made once per change, shared by every card)."""
        if self._inputs is None:
            s = self.state
            self._inputs = SectionInputs(
                trace=s.trace, model=self.runtime.model, probabilities=s.probabilities, sampled_id=s.sampled_id,
                sampling=s.sampling_settings(), layer=s.layer, head=s.head, position=s.selected_position,
                ablated=frozenset(s.ablated_heads), lang=s.lang, lens=lambda: s.lens_logits,
                compare_trace=s.compare_trace)
        return self._inputs

    def _on_change(self, *events) -> None:
        changed = {event.name for event in events} & set(INPUTS)
        self._inputs = None
        with pn.io.unlocked():  # one message to the browser for all the cards, not one each
            for card in self.cards.values():
                followed = changed & {"trace", *card.section.depends_on}
                if followed:
                    card.note(followed)
                    self._refresh(card)

    def _refresh(self, card: SectionCard) -> None:
        if self.state.trace is not None:
            card.refresh(self.inputs)

    def _on_view(self, event) -> None:
        card = self.cards.get(event.new)
        if card is not None:
            card.open()

    def refresh_all(self) -> None:
        if self.state.view in self.cards:
            self.cards[self.state.view].open()
        for card in self.cards.values():
            self._refresh(card)

    def release(self) -> None:
        """Let go of every card's views (the page is gone)."""
        for card in self.cards.values():
            card.view.views.clear()
