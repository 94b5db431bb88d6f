"""The steps of a generation: the prompt's own tokens (step 0), then each token the model drew (Next token,
Generate), with its probability and rank when it was drawn and the settings it was drawn with.

Step k (k >= 1) is the traced pass that drew the k-th new token: the pass over the prompt and the k - 1 tokens
drawn before it. It is recomputed from the model's own ids when a student taps the step (a pass costs a fraction
of a second; keeping every trace would cost memory a phone has not got). A shared link carries how many tokens at
the end of its prompt the model drew (``made``) and the step shown (``step``); the page rebuilds the steps from
one pass over the whole text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from transformer_explainer.gpt2_core import sampling


@dataclass(frozen=True)
class DrawnToken:
    """One token the model drew, as it was drawn."""

    token_id: int
    probability: float  # its probability under the settings below
    rank: int  # 1: the most likely token
    temperature: float
    top_k: int | None = None
    top_p: float | None = None

    @property
    def settings(self) -> dict:
        return {"temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p}


def drawn_token(token_id: int, logits: np.ndarray, settings: dict) -> DrawnToken:
    """``token_id`` as drawn from ``logits`` [V] with the sampling ``settings`` (temperature, top_k, top_p)."""
    probabilities = sampling.probabilities(logits, **settings)
    raw = sampling.probabilities(logits, 1.0)  # the rank by the model's own preference, whatever the settings
    rank = int(np.sum(raw > raw[token_id])) + 1
    return DrawnToken(int(token_id), float(probabilities[token_id]), rank, float(settings["temperature"]),
                      settings.get("top_k"), settings.get("top_p"))


@dataclass(frozen=True)
class History:
    """The prompt's own ids and the tokens the model drew after them, in order."""

    prompt_ids: tuple[int, ...]
    drawn: tuple[DrawnToken, ...] = field(default_factory=tuple)

    @property
    def ids(self) -> list[int]:
        return [*self.prompt_ids, *(token.token_id for token in self.drawn)]

    @property
    def steps(self) -> int:
        """The steps after the prompt (one per drawn token)."""
        return len(self.drawn)

    def ids_before(self, step: int) -> list[int]:
        """The ids the pass of ``step`` read: the prompt and the tokens drawn before the step's own."""
        return [*self.prompt_ids, *(token.token_id for token in self.drawn[:step - 1])]

    def extended(self, drawn: list[DrawnToken]) -> "History":
        return History(self.prompt_ids, (*self.drawn, *drawn))

    @classmethod
    def from_link(cls, ids: list[int], made: int, all_logits: np.ndarray, settings: dict) -> "History":
        """The steps a link describes: the last ``made`` of ``ids`` were drawn by the model (with ``settings``);
        ``all_logits`` [len(ids), V] are one pass's logits at every position (position i predicts id i + 1)."""
        made = max(0, min(int(made), len(ids) - 1))
        first = len(ids) - made
        drawn = tuple(drawn_token(ids[i], all_logits[i - 1], settings) for i in range(first, len(ids)))
        return cls(tuple(ids[:first]), drawn)


class HistoryRow:
    """The steps under the picture: "0 · the prompt", then one button per drawn token with its probability and
    rank when it was drawn; tapping one shows that step (``state.step``), and a line says what the picture shows.
    Hidden while the model has drawn nothing."""

    def __init__(self, state, display):
        import panel as pn

        from .compat import answer_at_once
        from .safe_html import TextBox
        from .static_files import static_text

        self.state, self.display, self.words = state, display, state.words
        self.buttons = pn.widgets.RadioButtonGroup(options={}, color="light", sizing_mode="stretch_width",
                                                   css_classes=["te-history-steps", "te-control"],
                                                   stylesheets=[static_text("focus.css"),
                                                                static_text("step_buttons.css")])
        answer_at_once(self.buttons)
        self.note = TextBox(sizing_mode="stretch_width", css_classes=["te-history-note"],
                            stylesheets=[static_text("message-status.css")])
        self.layout = pn.Column(self.buttons, self.note, visible=False, sizing_mode="stretch_width",
                                css_classes=["te-history"])
        self._showing = False
        self.buttons.param.watch(self._pick, "value")
        state.param.watch(lambda *events: self.show(), ["history", "step", "trace"])
        self.show()

    def labels(self) -> dict[str, int]:
        history, words = self.state.history, self.words
        options = {words("history.prompt_step"): 0}
        for k, token in enumerate(history.drawn if history is not None else (), 1):
            options[words("history.step", k=k, token=self.display(token.token_id),
                          probability=100 * token.probability, rank=token.rank)] = k
        return options

    def show(self) -> None:
        history, state, words = self.state.history, self.state, self.words
        self.layout.visible = history is not None and history.steps > 0
        if not self.layout.visible:
            return
        self._showing = True
        try:
            self.buttons.param.update(options=self.labels(), value=min(state.step, history.steps))
        finally:
            self._showing = False
        step = min(state.step, history.steps)
        if step == 0:
            self.note.plain_text = words("history.now", n=history.steps)
            return
        token = history.drawn[step - 1]
        settings = ", ".join([words("history.temperature", t=token.temperature),
                              words("history.top_k", k=token.top_k) if token.top_k else words("history.top_k_off"),
                              words("history.top_p", p=token.top_p) if token.top_p else words("history.top_p_off")])
        self.note.plain_text = words("history.shown", k=step, token=self.display(token.token_id),
                                     probability=100 * token.probability, rank=token.rank, settings=settings,
                                     n=len(history.ids_before(step)))

    def _pick(self, event) -> None:
        if not self._showing and event.new is not None:
            self.state.step = int(event.new)
