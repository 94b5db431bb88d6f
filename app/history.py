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
