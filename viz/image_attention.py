"""Attention of image models, drawn on the image: a vision transformer's self-attention over its patches, the
attention rollout, and a vision-to-text model's cross-attention from each text token to the image.

- ``ImageAttentionView``: the ``AttentionExplorer`` of the model's sequence (``[CLS]``, DeiT's distillation
  token, then one token per patch: the selected head's pattern, the query's row, every head in an overview) and
  beside it the picture with the chosen query's row laid over its patches. The query is ``[CLS]`` by default;
  tapping a patch makes it the query. "show": the selected head, or the attention rollout.
- ``attention_rollout``: Abnar & Zuidema (2020), "Quantifying Attention Flow in Transformers": per layer, the
  heads' attention averaged, the residual connection added as ½·A + ½·I (rows renormalized), and the layers
  multiplied, first to last: R = Â_L ··· Â_1. R[i, j] is the share of token i's vector after the last layer
  that flows from input token j, through every path of attention and residual.
- ``CrossAttentionView``: a vision-to-text model's cross-attention ([heads, text tokens, image tokens] per
  layer): layer, head and text-token selectors, the selected head's matrix, and the chosen token's row drawn
  on the picture.

Every pattern travels with the page and the selectors run there (``CustomJS``, viz/js/image_attention_select.js
and cross_attention_select.js); ``select`` does the same from Python.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJS, Row, Select

from . import js_code
from .attention_explorer import WRAP, AttentionExplorer, OPTION_LABEL_LIMIT
from .common import check_head, check_layer, normalize_position, position_labels, shorten
from .heatmap import Heatmap
from .i18n import translator
from .patch_overlay import OPACITY, PatchOverlay, check_patches

MODES = ("head", "rollout")


def attention_rollout(attentions: Sequence[np.ndarray]) -> np.ndarray:  # L × [heads, n, n] -> [n, n]
    """Abnar & Zuidema's attention rollout (see the module's docstring), computed in float64, given as float32."""
    n = attentions[0].shape[-1]
    identity = np.eye(n)
    rollout = identity
    for layer in attentions:
        mixed = 0.5 * np.asarray(layer, dtype=np.float64).mean(axis=0) + 0.5 * identity
        mixed /= mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout.astype(np.float32)


def image_titles(lang: str) -> dict[str, str]:
    """The overlay's titles and hover texts (templates the page fills too), in ``lang``."""
    words = translator(lang)
    return {"head": words("image.title.head"), "rollout": words("image.title.rollout"),
            "what_head": words("image.what.head"), "what_rollout": words("image.what.rollout")}


class ImageAttentionView:
    """``explorer`` (the ``AttentionExplorer``: ``heatmap``, ``row_source``, ``patterns_source``, the selectors,
    ``overview``), ``rollout`` ([n, n], ``rollout_source``), ``overlay`` (a ``PatchOverlay``: ``values`` is the
    shown row on the patch grid), ``mode_select``; ``layout`` is the whole view."""

    def __init__(self, attentions: Sequence[np.ndarray], tokens: Sequence[str], patches, *, layer: int = 0,
                 head: int = 0, query: int | None = None, rollout: bool = False, name: str = "", lang: str = "en"):
        words = translator(lang)
        self.explorer = AttentionExplorer(attentions, tokens, layer=layer, head=head,
                                          query=0 if query is None else query, name=name)
        self.patches = check_patches(patches, self.explorer.n)
        self.first, self.count = int(patches.first), int(patches.rows) * int(patches.cols)
        self.labels = list(self.explorer.tokens)
        self.rollout = attention_rollout(self.explorer.patterns)
        self.rollout_source = ColumnDataSource({"image": [self.rollout]}, name=f"{name}attention-rollout")
        self.titles = image_titles(lang)
        self.mode = "rollout" if rollout else "head"
        self.mode_select = Select(title=words("image.mode.label"), value=self.mode, width=220,
                                  options=[("head", words("image.mode.head")),
                                           ("rollout", words("image.mode.rollout"))],
                                  name=f"{name}image-attention-mode-select")
        values, what, title = self._shown()
        self.overlay = PatchOverlay(patches, values, title=title, what=what, value_name=words("image.value.weight"),
                                    name=f"{name}attention-picture", lang=lang)
        self.overlay.tap_selects(self.explorer.query_select, self.first)
        explorer = self.explorer
        update = CustomJS(args=dict(
            layer_select=explorer.layer_select, head_select=explorer.head_select, query_select=explorer.query_select,
            mode_select=self.mode_select, patterns=explorer.patterns_source, rollout=self.rollout_source,
            cells=self.overlay.cells, mapper=self.overlay.mapper, overlay_title=self.overlay.figure.title,
            n_head=explorer.n_head, n=explorer.n, n_layer=explorer.n_layer, first=self.first, count=self.count,
            labels=self.labels, titles=self.titles, opacity=OPACITY),
            code=js_code("image_attention_select", "fill_template", "patch_overlay"))
        for widget in (explorer.layer_select, explorer.head_select, explorer.query_select, self.mode_select):
            widget.js_on_change("value", update)
        explorer.extend(controls=[self.mode_select], figures=[self.overlay.figure])
        self.layout = explorer.layout

    # The explorer's parts, under the names the text views use.
    @property
    def heatmap(self):
        return self.explorer.heatmap

    @property
    def patterns_source(self):
        return self.explorer.patterns_source

    @property
    def overview(self):
        return self.explorer.overview

    @property
    def layer(self) -> int:
        return self.explorer.layer

    @property
    def head(self) -> int:
        return self.explorer.head

    @property
    def query(self) -> int:
        return self.explorer.query

    def _shown(self) -> tuple[np.ndarray, str, str]:
        """(values on the patch grid, what they are, the title) for the current layer, head, query and mode."""
        explorer, query = self.explorer, self.explorer.query
        fields = dict(layer=explorer.layer, head=explorer.head, query=query, label=self.labels[query],
                      n_layer=explorer.n_layer)
        row = self.rollout[query] if self.mode == "rollout" else explorer.patterns[explorer.layer][explorer.head][query]
        grid = row[self.first:self.first + self.count].reshape(int(self.patches.rows), int(self.patches.cols))
        return grid, self.titles[f"what_{self.mode}"].format(**fields), self.titles[self.mode].format(**fields)

    def select(self, layer: int | None = None, head: int | None = None, query: int | None = None,
               rollout: bool | None = None) -> None:
        """Show another head, query or mode (what the selectors and a tap do in the page), from Python."""
        self.explorer.select(layer, head, query)
        if rollout is not None:
            self.mode = "rollout" if rollout else "head"
            self.mode_select.value = self.mode
        values, what, title = self._shown()
        self.overlay.show(values, what, title)


def cross_titles(lang: str) -> dict[str, str]:
    words = translator(lang)
    return {"pattern": words("image.cross.pattern_title"), "overlay": words("image.cross.title"),
            "what": words("image.cross.what")}


class CrossAttentionView:
    """A vision-to-text model's cross-attention: ``heatmap`` (the selected head's [text tokens, image tokens]
    matrix), ``patterns_source`` (every head: ``layer``, ``head``, ``image``), ``overlay`` (the chosen text
    token's row on the patch grid), ``layer_select``, ``head_select``, ``token_select``; ``layout``."""

    def __init__(self, cross_attentions: Sequence[np.ndarray], text_tokens: Sequence[str],
                 image_tokens: Sequence[str], patches, *, layer: int = 0, head: int = 0, token: int = 0,
                 name: str = "", lang: str = "en"):
        words = translator(lang)
        self.text_tokens, self.image_tokens = [str(t) for t in text_tokens], [str(t) for t in image_tokens]
        n_text, n_image = len(self.text_tokens), len(self.image_tokens)
        self.patterns = [np.ascontiguousarray(np.asarray(layer_values), dtype=np.float32)
                         for layer_values in cross_attentions]
        if not self.patterns:
            raise ValueError("no cross-attention to show: give one [heads, text tokens, image tokens] array per layer")
        for i, values in enumerate(self.patterns):
            heads = self.patterns[0].shape[0]
            if values.ndim != 3 or values.shape[1:] != (n_text, n_image) or values.shape[0] != heads:
                raise ValueError(f"the cross-attention of layer {i} must be [heads, {n_text}, {n_image}], got "
                                 f"{values.shape}")
        self.patches = check_patches(patches, n_image)
        self.first, self.count = int(patches.first), int(patches.rows) * int(patches.cols)
        self.n_layer, self.n_head = len(self.patterns), self.patterns[0].shape[0]
        self.layer, self.head = check_layer(layer, self.n_layer), check_head(head, self.n_head)
        self.token = normalize_position(token, n_text)
        self.titles = cross_titles(lang)

        layers = np.repeat(np.arange(self.n_layer), self.n_head)
        heads = np.tile(np.arange(self.n_head), self.n_layer)
        self.patterns_source = ColumnDataSource(
            {"layer": layers, "head": heads, "image": [self.patterns[i][h] for i, h in zip(layers, heads)]},
            name=f"{name}cross-attention-patterns")
        text_hover, image_hover = position_labels(self.text_tokens), position_labels(self.image_tokens)
        self.heatmap = Heatmap(self.patterns[self.layer][self.head], title=self._pattern_title(), kind="probability",
                               row_labels=self.text_tokens, col_labels=self.image_tokens, row_hover=text_hover,
                               col_hover=image_hover, row_name=words("image.cross.text_token"),
                               col_name=words("image.cross.image_token"), value_name=words("image.value.weight"),
                               max_col_ticks=24, lang=lang)
        self.heatmap.source.name = f"{name}cross-attention-heatmap"
        self.heatmap.figure.name = f"{name}cross-attention-figure"
        self.heatmap.outline_row(self.token)
        values, what, title = self._shown()
        self.overlay = PatchOverlay(patches, values, title=title, what=what, value_name=words("image.value.weight"),
                                    name=f"{name}cross-attention-picture", lang=lang)

        def select(title: str, value: int, options: list[tuple[str, str]], what: str, width: int = 110) -> Select:
            return Select(title=title, value=str(value), options=options, width=width,
                          name=f"{name}cross-attention-{what}-select")

        self.layer_select = select(words("image.select.layer"), self.layer,
                                   [(str(i), str(i)) for i in range(self.n_layer)], "layer")
        self.head_select = select(words("image.select.head"), self.head,
                                  [(str(h), str(h)) for h in range(self.n_head)], "head")
        self.token_select = select(words("image.cross.text_token"), self.token,
                                   [(str(i), shorten(label, OPTION_LABEL_LIMIT)) for i, label in enumerate(text_hover)],
                                   "token", width=200)
        update = CustomJS(args=dict(
            layer_select=self.layer_select, head_select=self.head_select, token_select=self.token_select,
            patterns=self.patterns_source, heatmap=self.heatmap.source, heatmap_title=self.heatmap.figure.title,
            outline=self.heatmap.outline, cells=self.overlay.cells, mapper=self.overlay.mapper,
            overlay_title=self.overlay.figure.title, n_head=self.n_head, n_image=n_image, n_text=n_text,
            first=self.first, count=self.count, labels=self.text_tokens, titles=self.titles, opacity=OPACITY),
            code=js_code("cross_attention_select", "fill_template", "patch_overlay"))
        for widget in (self.layer_select, self.head_select, self.token_select):
            widget.js_on_change("value", update)
        self.layout = column(Row(children=[self.layer_select, self.head_select, self.token_select]),
                             Row(children=[self.heatmap.figure, self.overlay.figure], styles=WRAP,
                                 sizing_mode="stretch_width"),
                             sizing_mode="stretch_width", name=f"{name}cross-attention-view")

    def _fields(self) -> dict:
        return dict(layer=self.layer, head=self.head, token=self.token, label=self.text_tokens[self.token])

    def _pattern_title(self) -> str:
        return self.titles["pattern"].format(**self._fields())

    def _shown(self) -> tuple[np.ndarray, str, str]:
        row = self.patterns[self.layer][self.head][self.token]
        grid = row[self.first:self.first + self.count].reshape(int(self.patches.rows), int(self.patches.cols))
        fields = self._fields()
        return grid, self.titles["what"].format(**fields), self.titles["overlay"].format(**fields)

    def select(self, layer: int | None = None, head: int | None = None, token: int | None = None) -> None:
        """Show another head or text token (what the selectors do in the page), from Python."""
        self.layer = self.layer if layer is None else check_layer(layer, self.n_layer)
        self.head = self.head if head is None else check_head(head, self.n_head)
        self.token = self.token if token is None else normalize_position(token, len(self.text_tokens))
        self.heatmap.update(self.patterns[self.layer][self.head], title=self._pattern_title())
        self.heatmap.outline_row(self.token)
        values, what, title = self._shown()
        self.overlay.show(values, what, title)
        self.layer_select.value, self.head_select.value = str(self.layer), str(self.head)
        self.token_select.value = str(self.token)
