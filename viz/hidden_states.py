"""Hidden states of any model, layer by layer: how long each token's vector is, what its dimensions hold, and
how alike the tokens are.

Takes plain arrays (one [tokens, width] hidden state per point, the embeddings first where the model gives
them) and their labels, not a ``Trace``, like ``attention_explorer``.

- ``norms``: a ``Heatmap`` of ‖h‖ (the Euclidean length) for every hidden state × token; the selected row
  is outlined.
- ``strip``: the selected hidden state itself, [tokens × width]: a heat strip per token, one cell per dimension.
- ``similarity``: cosine similarity between every two tokens' vectors in the selected hidden state
  (h_i · h_j / (‖h_i‖ ‖h_j‖); 0 where a vector is all zeros).

Every state's values and similarities travel with the page and the layer selector swaps them in the browser
(``CustomJS``), as in ``attention_explorer``; ``select`` does the same from Python.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJS, Select

from . import js_code
from .common import position_labels
from .heatmap import Heatmap, colour_range


def check_hidden_states(hidden_states: Sequence, tokens: Sequence[str]) -> list[np.ndarray]:
    states = [np.ascontiguousarray(np.asarray(state), dtype=np.float32) for state in hidden_states]
    if not states:
        raise ValueError("no hidden states to show: give one [tokens, width] array per layer")
    n = len(tokens)
    for i, state in enumerate(states):
        if state.ndim != 2 or state.shape[0] != n:
            raise ValueError(f"hidden state {i} must be [{n}, width] for {n} tokens, got shape {state.shape}")
        if state.shape[1] != states[0].shape[1]:
            raise ValueError(f"hidden state {i} is {state.shape[1]} wide, hidden state 0 is {states[0].shape[1]}")
    return states


def token_norms(state: np.ndarray) -> np.ndarray:  # [n, width] -> [n]
    return np.linalg.norm(state, axis=-1).astype(np.float32)


def cosine_similarity(state: np.ndarray) -> np.ndarray:  # [n, width] -> [n, n]
    norms = token_norms(state)
    unit = np.divide(state, norms[:, None], out=np.zeros_like(state), where=norms[:, None] > 0)
    return np.clip(unit @ unit.T, np.float32(-1), np.float32(1)).astype(np.float32)


# The titles' templates: filled here, and by the selector's script in the page (the same text either way).
TITLES = {"strip": "{label}: every dimension of every token's vector",
          "similarity": "{label}: cosine similarity between tokens"}


def strip_title(label: str) -> str:
    return TITLES["strip"].format(label=label)


def similarity_title(label: str) -> str:
    return TITLES["similarity"].format(label=label)


class HiddenStatesView:
    """``norms``, ``strip``, ``similarity`` (``Heatmap``s), ``states_source`` (every state: ``image``,
    ``similarity``, ``label`` and the colour limits), ``layer_select``; ``layout`` is the whole view."""

    def __init__(self, hidden_states: Sequence[np.ndarray], tokens: Sequence[str], *,
                 labels: Sequence[str] | None = None, layer: int | None = None, name: str = ""):
        self.states = check_hidden_states(hidden_states, tokens)
        self.tokens = [str(token) for token in tokens]
        self.labels = [str(label) for label in labels] if labels is not None else \
            [f"hidden state {i}" for i in range(len(self.states))]
        if len(self.labels) != len(self.states):
            raise ValueError(f"{len(self.labels)} labels for {len(self.states)} hidden states")
        n_states, n = len(self.states), len(self.tokens)
        self.layer = self._check(n_states - 1 if layer is None else layer)
        self.similarities = [cosine_similarity(state) for state in self.states]
        strip_limits = [colour_range(state, "signed") for state in self.states]
        similarity_limits = [colour_range(similarity, "signed") for similarity in self.similarities]
        self.states_source = ColumnDataSource({
            "image": self.states, "similarity": self.similarities, "label": self.labels,
            "width": [state.shape[1] for state in self.states],
            "low": [low for low, _ in strip_limits], "high": [high for _, high in strip_limits],
            "similarity_low": [low for low, _ in similarity_limits],
            "similarity_high": [high for _, high in similarity_limits]}, name=f"{name}hidden-states")
        token_hover = position_labels(self.tokens)

        self.norms = Heatmap(np.stack([token_norms(state) for state in self.states]),
                             title="‖h‖: the length of each token's vector, at every layer", kind="sequential",
                             row_labels=self.labels, col_labels=self.tokens, col_hover=token_hover, row_name="state",
                             col_name="token", value_name="‖h‖", token_rows=False, max_row_ticks=n_states)
        self.norms.outline_row(self.layer)
        label = self.labels[self.layer]
        self.strip = Heatmap(self.states[self.layer], title=strip_title(label), row_labels=self.tokens,
                             row_hover=token_hover, col_name="dimension")
        self.similarity = Heatmap(self.similarities[self.layer], title=similarity_title(label),
                                  row_labels=self.tokens, col_labels=self.tokens, row_hover=token_hover,
                                  col_hover=token_hover, row_name="token", col_name="token", value_name="cosine",
                                  square=True, max_col_ticks=24)
        for heatmap, what in ((self.norms, "norms"), (self.strip, "strip"), (self.similarity, "similarity")):
            heatmap.source.name, heatmap.figure.name = f"{name}hidden-{what}", f"{name}hidden-{what}-figure"
        self.layer_select = Select(title="hidden state", value=str(self.layer), width=200,
                                   options=[(str(i), label) for i, label in enumerate(self.labels)],
                                   name=f"{name}hidden-layer-select")
        self.layer_select.js_on_change("value", CustomJS(args=dict(
            layer_select=self.layer_select, states=self.states_source, n=n,
            strip=self.strip.source, strip_mapper=self.strip.color_mapper, strip_title_model=self.strip.figure.title,
            similarity=self.similarity.source, similarity_mapper=self.similarity.color_mapper,
            similarity_title_model=self.similarity.figure.title, outline=self.norms.outline, titles=TITLES),
            code=js_code("hidden_states_select", "fill_template")))
        self.layout = column(self.norms.figure, self.layer_select, self.strip.figure, self.similarity.figure,
                             sizing_mode="stretch_width", name=f"{name}hidden-states-view")

    def _check(self, layer: int) -> int:
        layer = int(layer)
        if layer < 0:
            layer += len(self.states)
        if not 0 <= layer < len(self.states):
            n = len(self.states)
            raise IndexError(f"hidden state {layer} is outside the {n} given (0..{n - 1})")
        return layer

    def select(self, layer: int) -> None:
        """Show another hidden state (what the selector does in the browser), from Python."""
        self.layer = self._check(layer)
        label = self.labels[self.layer]
        self.strip.update(self.states[self.layer], title=strip_title(label))
        self.similarity.update(self.similarities[self.layer], title=similarity_title(label))
        self.norms.outline_row(self.layer)
        self.layer_select.value = str(self.layer)
