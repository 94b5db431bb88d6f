"""The page: the header and the controls on top, the picture (the first screen), and the detail sections below.
Every view is a function of ``ExplainerState``; nothing here runs the model.

    Controls      app/controls.py   the prompt, examples, Next token, Generate, sampling, language, messages
    PicturePanel  app/picture_panel.py   the picture, its derivations and popovers, the zoom to the whole model
    SectionCards  app/section_cards.py   the registered sections (app/sections), kept up to date while open
    the tour      app/tour.py
"""

from __future__ import annotations

from typing import Callable

import panel as pn

from transformer_explainer.viz.i18n import translator

from .controls import Controls
from .export import Exports
from .history import HistoryRow
from .picture_panel import PicturePanel
from .runtime import ModelRuntime
from .safe_html import escape
from .section_cards import SectionCards
from .sections import SECTIONS, Section, section_of_stage
from .state import ExplainerState
from .tour import attach_tour
from .static_files import static_text
from .widgets import header_parts, section_control


class ExplainerApp:
    """One page of the app on one state: its controls, the picture, the sections, and the wiring between them."""

    def __init__(self, runtime: ModelRuntime, state: ExplainerState | None = None,
                 sections: tuple[Section, ...] = SECTIONS):
        self.runtime = runtime
        self.state = state = state or ExplainerState(runtime)
        self.words = translator(state.lang)
        watching_before = set(map(id, all_watchers(state)))
        self._tap_callbacks: list[tuple[object, Callable]] = []  # (selection model, callback): removed by close()
        self.controls = Controls(state, runtime)
        self.picture = PicturePanel(state, runtime, on_tap=self._on_tap,
                                    open_section=lambda key: setattr(state, "view", key),
                                    section_of_stage=section_of_stage(sections))
        # The picture first (the first screen), then the open sections below it.
        state.param.watch(self._redraw_picture, ["trace", "layer", "head", "position", "probabilities", "sampled_id"])
        self.history = HistoryRow(state, runtime.display)  # the steps of a generation, under the picture
        self.exports = Exports(state, runtime, self.picture.area)
        self.sections = SectionCards(state, runtime, lambda name, key: section_control(state, name, self.words),
                                     self._on_tap, sections)
        # What this page added to the state (its widgets' links, the watchers above): ``detach`` takes them back.
        self._watchers = [w for w in all_watchers(state) if id(w) not in watching_before]

    def _redraw_picture(self, *events) -> None:
        """A new trace or selection redraws the picture; new sampling settings only move its bars."""
        if {event.name for event in events} & {"trace", "layer", "head", "position"}:
            self.picture.refresh()
        else:
            self.picture.refresh_probabilities()

    @property
    def views(self) -> dict:
        """Every built view of the open sections, by name (``head``, ``overview``, ``output``, ...)."""
        return self.sections.views

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
        self.sections.release()

    def close(self) -> None:
        """The page is gone (its session was destroyed): end a generation after its current token, and let go
        of what ties the session's objects together (the state's watchers: ours, the widgets' links, the URL's;
        the figures' tap callbacks; the views), so that they are freed at once rather than at the next full
        garbage collection, and nothing runs for a page nobody sees."""
        from .compat import drop_every_watcher

        self.state.stop()
        drop_every_watcher(self.state)
        self._release_views()

    def _on_tap(self, selection, callback: Callable) -> None:
        selection.on_change("indices", callback)
        self._tap_callbacks.append((selection, callback))

    def layout(self) -> pn.viewable.Viewable:
        """One header row (title, examples, the prompt, Run, Generate, the temperature, the other language, "More"),
        the drawer of every other control under it, the messages, then the picture and the sections."""
        c, picture = self.controls, self.picture
        language_marker, title, about = header_parts(self.state, self.runtime)
        c.prompt_input.styles = {"flex": "1 1 180px"}
        items = [title, c.examples, c.prompt_input, c.run_button, c.generate_button, c.stop_button,
                 pn.pane.Bokeh(picture.temperature), c.language_switch,
                 c.menu_toggle]
        for item in items:
            item.margin = (0, 3)
        header = pn.FlexBox(*items, align_items="center", flex_wrap="wrap", gap="2px 6px", sizing_mode="stretch_width",
                            css_classes=["te-header-row"], margin=(2, 6))
        # The drawer: everything else, nothing removed. Wraps on a narrow screen.
        drawer = pn.Column(
            pn.FlexBox(c.next_button, c.generate_count, c.top_k, c.top_p, c.seed, c.language, *picture.pickers,
                       c.copy_link, *self.exports.widgets, align_items="end", sizing_mode="stretch_width", styles={"column-gap": "8px"}),
            about, pn.pane.HTML(f"<b>{escape(self.words('app.prompt_tokens'))}</b>", margin=(4, 10, 0, 10)),
            c.token_count, c.tokens_html, visible=False, sizing_mode="stretch_width",
            css_classes=["te-menu"], stylesheets=[static_text("menu.css")])
        c.menu_toggle.jslink(drawer, value="visible")  # at once in the page
        c.menu_toggle.param.watch(lambda event: setattr(drawer, "visible", event.new), "value")  # and for Python
        # (width 100%: in the page's flex column, auto margins alone would shrink it to its content's width)
        page = pn.Column(language_marker, c.offline_box, header, drawer, c.notice_box, c.error_box, c.status_box,
                         picture.layout, self.history.layout, self.sections, sizing_mode="stretch_width", max_width=1920,
                         styles={"margin": "0 auto", "width": "100%"})
        self.sections.refresh_all()
        attach_tour(self, page)
        return page


def all_watchers(state: ExplainerState) -> list:
    """Every watcher on the state's parameters (param keeps them by parameter and by what they watch)."""
    return [watcher for by_what in state.param.watchers.values() for watchers in by_what.values()
            for watcher in watchers]
