"""One small player for every animation in viz: an animation is data, played in the browser by one CustomJS.

An animation is a table of frames (a ``ColumnDataSource``: each frame's ``duration`` in ms and its ``step``, plus
whatever columns the view's drawing code reads) and the view's final arrays, sent once. The view hands the player the
JavaScript that defines ``render(frame, t)``, which draws frame ``frame`` from those arrays (``t`` in [0, 1]: how far
that frame's own change has got, for cells fading in): the names of its ``viz/js/<name>.functions.js`` files, put in
front of the player's own body (viz/js/player.js). The player calls it

- on every animation frame while playing (``requestAnimationFrame``, in the page: no Python round trip, so it runs
  the same in the served app and in the static site), moving on when a frame's duration has passed;
- once, with ``t = 1``, whenever the frame is set any other way: the scrubber, the buttons, the step pills, a test.

Within a frame only what the view draws on the plot's overlay layer should change (a fading veil, a glowing
outline): the overlay has its own canvas, so the ticks between frames repaint almost nothing. New frames from
Python (``set_frames``: another prompt, layer or head) reset the page to frame 0, paused.

What a page or a test drives (``<prefix>`` is the view's, e.g. ``derivation``):

- ``<prefix>-player``: a ``Slider`` whose ``value`` is the frame shown. Setting it shows that frame (and pauses);
- ``<prefix>-play``: a ``Toggle``; ``active`` is whether it plays (setting it plays or pauses);
- ``<prefix>-back`` / ``-forward`` (one frame), ``-replay`` (from the start, playing), ``-skip`` (to the end): Buttons;
- ``<prefix>-steps``: a ``RadioButtonGroup``, one pill per step, the current one active; a click plays that step;
- ``<prefix>-step``: a ``Div`` saying which step is shown and its formula (text written here, never user text);
- ``<prefix>-frames``: the frames' ``ColumnDataSource``.

The drawing lands a microtask after the change (Bokeh runs callbacks asynchronously); the player notes the last one
on the slider's JavaScript object, ``slider.__te_player.drawn == "<frame>:<t>"``, which a test can wait for.

Python starts it with ``play_from_start()`` (e.g. when the app opens the view): a property change the browser
acts on, in served and static mode alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from bokeh.models import (Button, Column, ColumnDataSource, CustomJS, Div, InlineStyleSheet, RadioButtonGroup, Row,
                          Slider, Toggle)

from . import js_code
from .i18n import translator

PLAY_LABEL, PAUSE_LABEL = "▶ Play", "❚❚ Pause"
WRAP = {"flex-wrap": "wrap", "align-items": "center", "gap": "4px"}


@dataclass(frozen=True)
class Step:
    """One step of an animation: its pill's label and the indicator's HTML (our own text: no user strings)."""
    label: str
    html: str


def scroll_box(figure, width: int, name: str, lang: str = "en") -> Column:
    """``figure`` in a box that scrolls sideways once the page is too narrow for it at its smallest (a phone), with a
    hint saying so that only such pages show. The figure itself scales down to ``MIN_SCALE`` of ``width`` first."""
    figure.update(sizing_mode="scale_width", max_width=width, min_width=int(width * MIN_SCALE))
    narrowest = int(width * MIN_SCALE) + 40
    hint = Div(text=translator(lang)("player.scroll_hint"), name=f"{name}-scroll-hint",
               styles={"font-size": "12px", "color": "#6b6b6b"},
               stylesheets=[InlineStyleSheet(css=f"@media (min-width: {narrowest}px) {{ :host {{ display: none; }} }}")])
    return Column(children=[hint, figure], sizing_mode="stretch_width", styles={"overflow-x": "auto"},
                  name=f"{name}-scroll")


MIN_SCALE = 0.72


class Player:
    """Plays ``frames`` (columns: ``duration`` in ms and ``step`` per frame, plus the view's own) by calling the
    view's ``render(frame, t)``, defined in the function files ``render_functions`` (viz/js/<name>.functions.js,
    reading ``render_args``)."""

    def __init__(self, prefix: str, frames: Mapping[str, Sequence], steps: Sequence[Step], ready_html: str,
                 render_functions: Sequence[str], render_args: Mapping[str, object], lang: str = "en"):
        words = translator(lang)
        self.play_label, self.pause_label = words("player.play"), words("player.pause")
        self.prefix = prefix
        self._check(frames)
        self.frames_source = ColumnDataSource(dict(frames), name=f"{prefix}-frames")
        n_frames = len(frames["duration"])
        self.slider = Slider(start=0, end=n_frames - 1, value=0, step=1, title=words("player.frame"),
                             name=f"{prefix}-player",
                             sizing_mode="stretch_width", min_width=140, margin=(0, 8, 0, 8))
        self.play = Toggle(label=self.play_label, active=False, name=f"{prefix}-play", width=92,
                           button_type="primary")
        self.back = Button(label=words("player.back"), name=f"{prefix}-back", width=70)
        self.forward = Button(label=words("player.next"), name=f"{prefix}-forward", width=70)
        self.replay = Button(label=words("player.replay"), name=f"{prefix}-replay", width=84)
        self.skip = Button(label=words("player.skip"), name=f"{prefix}-skip", width=70)
        self.steps = RadioButtonGroup(labels=[step.label for step in steps], active=None, name=f"{prefix}-steps",
                                      margin=(2, 5, 2, 5))
        self.step_div = Div(text=ready_html, name=f"{prefix}-step", sizing_mode="stretch_width",
                            styles={"font-size": "13px", "line-height": "1.35", "min-height": "2.7em"})
        self.callback = CustomJS(
            args=dict(render_args, frames=self.frames_source, slider=self.slider, play=self.play, back=self.back,
                      forward=self.forward, replay=self.replay, skip=self.skip, steps=self.steps,
                      step_div=self.step_div, step_html=[ready_html] + [step.html for step in steps],
                      play_label=self.play_label, pause_label=self.pause_label),
            code=js_code("player", *render_functions))
        self.slider.js_on_change("value", self.callback)
        self.play.js_on_change("active", self.callback)
        self.steps.js_on_change("active", self.callback)
        self.frames_source.js_on_change("data", self.callback)
        for button in (self.back, self.forward, self.replay, self.skip):
            button.js_on_event("button_click", self.callback)
        buttons = Row(children=[self.replay, self.back, self.play, self.forward, self.skip], styles=WRAP)
        self.controls = Row(children=[buttons, self.slider], styles=WRAP, sizing_mode="stretch_width")

    @staticmethod
    def _check(frames: Mapping[str, Sequence]) -> None:
        if "duration" not in frames or "step" not in frames:
            raise ValueError("an animation's frames need a 'duration' (ms) and a 'step' column")
        if len(frames["duration"]) < 2:
            raise ValueError("an animation needs at least two frames (the start and one change)")

    @property
    def n_frames(self) -> int:
        return len(self.frames_source.data["duration"])

    def set_frames(self, frames: Mapping[str, Sequence], steps: Sequence[Step], ready_html: str,
                   render_args: Mapping[str, object] | None = None) -> None:
        """New frames (a new prompt, layer or head): paused at the start, which the view's data shows."""
        self._check(frames)
        self.play.update(active=False, label=self.play_label)
        self.frames_source.data = dict(frames)
        args = dict(self.callback.args, step_html=[ready_html] + [step.html for step in steps])
        if render_args:
            args.update(render_args)
        self.callback.args = args
        self.steps.update(labels=[step.label for step in steps], active=None)
        self.step_div.text = ready_html
        self.slider.update(end=len(frames["duration"]) - 1, value=0)

    def play_from_start(self) -> None:
        """Play from the first frame (sent to the browser as property changes; its loop does the rest)."""
        self.slider.value = 0
        if self.play.active:
            self.play.active = False
        self.play.active = True
