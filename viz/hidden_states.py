"""Hidden states of any model, layer by layer: how long each token's vector is, what its dimensions hold, and
how alike the tokens are.

Takes plain arrays (one [tokens, width] hidden state per point, the embeddings first where the model gives
them) and their labels, not a ``Trace``, like ``attention_explorer``.

- ``norms``: a ``Heatmap`` of ‖h‖ (the Euclidean length) for every hidden state × token; the selected row
  is outlined.
- ``strip``: the selected hidden state itself, [tokens × width]: a heat strip per token, one cell per dimension.
- ``similarity``: cosine similarity between every two tokens' vectors in the selected hidden state
  (h_i · h_j / (‖h_i‖ ‖h_j‖); 0 where a vector is all zeros).

- ``patch_norms`` (an image model's states, when ``patches`` is given): the selected state's ‖h‖ of each patch
  drawn on the picture (a ``PatchOverlay``), beside the norms.

Every state's values and similarities travel with the page and the layer selector swaps them in the browser
(``CustomJS``), as in ``attention_explorer``; ``select`` does the same from Python.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJS, Row, Select

from . import js_code
from .common import position_labels
from .heatmap import Heatmap, colour_range
from .i18n import translator
from .patch_overlay import OPACITY, PatchOverlay, check_patches


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
    ``similarity``, ``label`` and the colour limits), ``layer_select``, ``patch_norms`` (a ``PatchOverlay``, or
    None without ``patches``: see ``viz.patch_overlay``); ``layout`` is the whole view."""

    def __init__(self, hidden_states: Sequence[np.ndarray], tokens: Sequence[str], *,
                 labels: Sequence[str] | None = None, layer: int | None = None, name: str = "", patches=None,
                 lang: str = "en"):
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
        self.patches, self.patch_norms = patches, None
        figures = [self.norms.figure]
        if patches is not None:
            self._draw_patch_norms(check_patches(patches, n), name, lang)
            figures = [Row(children=[self.norms.figure, self.patch_norms.figure], styles={"flex-wrap": "wrap"},
                           sizing_mode="stretch_width")]
        self.layout = column(*figures, self.layer_select, self.strip.figure, self.similarity.figure,
                             sizing_mode="stretch_width", name=f"{name}hidden-states-view")

    def _draw_patch_norms(self, patches, name: str, lang: str) -> None:
        """The selected state's ‖h‖ per patch on the picture, following the layer selector."""
        words = translator(lang)
        self.patch_titles = {"title": words("image.norms.title"), "what": words("image.norms.what")}
        values, what, title = self._patch_norms_shown()
        self.patch_norms = PatchOverlay(patches, values, title=title, what=what, value_name="‖h‖",
                                        name=f"{name}hidden-patch-norms", lang=lang)
        self.layer_select.js_on_change("value", CustomJS(args=dict(
            layer_select=self.layer_select, norms=self.norms.source, states=self.states_source,
            cells=self.patch_norms.cells, mapper=self.patch_norms.mapper,
            overlay_title=self.patch_norms.figure.title, n=len(self.tokens),
            first=int(patches.first), count=int(patches.rows) * int(patches.cols), titles=self.patch_titles,
            opacity=OPACITY), code=js_code("patch_norms_select", "fill_template", "patch_overlay")))

    def _patch_norms_shown(self) -> tuple[np.ndarray, str, str]:
        patches, label = self.patches, self.labels[self.layer]
        first, rows, cols = int(patches.first), int(patches.rows), int(patches.cols)
        grid = token_norms(self.states[self.layer])[first:first + rows * cols].reshape(rows, cols)
        return grid, self.patch_titles["what"].format(label=label), self.patch_titles["title"].format(label=label)

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
        if self.patch_norms is not None:
            self.patch_norms.show(*self._patch_norms_shown())
        self.layer_select.value = str(self.layer)
