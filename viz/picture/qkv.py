"""Q, K, V: LayerNorm's output times W_q, W_k, W_v, for the selected head.

Each token row holds three thin strips, one per kind (query, key, value), coloured at their edge per kind (the
ribbons from the LayerNorm split into them in the same colours). Each is ``blocks.{L}.attn.hook_q/k/v[:, head]``,
dims 0..15 of d_head.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource, Quad

from transformer_explainer.gpt2_core import Trace

from ..i18n import translator
from .layout import COLUMNS, DIMS, MAX_TOKENS, Rows
from .ribbons import QKV_COLOURS
from .strips import Strip, pad
from ..common import set_if_changed

KINDS = ("q", "k", "v")
KIND_NAMES = {"q": "picture.kind.query", "k": "picture.kind.key", "v": "picture.kind.value"}  # catalogue keys


def qkv_hook(kind: str, layer: int) -> str:
    return f"blocks.{layer}.attn.hook_{kind}"


def frame_data(rows: Rows) -> dict:
    """A coloured tab left of each sub-row: which kind it is, at a glance."""
    left = COLUMNS["qkv"][0]
    centres, half = rows.qkv_sub_rows()
    n = rows.n
    tops = (centres - half).T.ravel()  # kind-major: all q tabs, then k, then v
    bottoms = (centres + half).T.ravel()
    data = {"left": np.full(3 * n, left - 3.0), "right": np.full(3 * n, left - 0.5), "top": tops, "bottom": bottoms,
            "colour": [QKV_COLOURS[kind] for kind in KINDS for _ in range(n)], "slot": np.tile(rows.slots, 3),
            "alpha": np.ones(3 * n), "base_alpha": np.ones(3 * n)}
    return pad(data, 3 * MAX_TOKENS)


class QkvStage:
    """``strips["q"|"k"|"v"]``: their sources hold ``hook_q/k/v[:, head, :16]`` as ``value``."""

    def __init__(self, d_head: int, lang: str = "en"):
        self.words = translator(lang)
        dims = min(DIMS, d_head)
        self.d_head = d_head
        self.strips = {kind: Strip(kind, qkv_hook(kind, 0), dims, d_head, MAX_TOKENS * dims, lang) for kind in KINDS}
        self.frame_source = ColumnDataSource(name="picture-qkv-frame-source")

    @property
    def sources(self) -> dict[str, ColumnDataSource]:
        return {kind: strip.source for kind, strip in self.strips.items()}

    def fill(self, trace: Trace, rows: Rows, layer: int, head: int) -> None:
        centres, half = rows.qkv_sub_rows()
        positions = list(rows.positions)
        for k, (kind, strip) in enumerate(self.strips.items()):
            strip.rename(self.words("picture.qkv_hook", hook=qkv_hook(kind, layer), head=head,
                                    kind=self.words(KIND_NAMES[kind])))
            values = trace[qkv_hook(kind, layer)][positions, head, :strip.n_dims]
            strip.fill(values, rows, *COLUMNS["qkv"], half, centres=centres[:, k])
        set_if_changed(self.frame_source, frame_data(rows))

    def draw(self, canvas, kit) -> None:
        frame = dict(left="left", right="right", top="top", bottom="bottom", fill_color="colour", line_color=None,
                     fill_alpha="alpha")
        canvas.add(self.frame_source, Quad, frame)
        for strip in self.strips.values():
            strip.draw(canvas, kit)
