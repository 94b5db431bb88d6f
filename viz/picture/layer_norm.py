"""The LayerNorms: before attention (``ln1``), before the MLP (``ln2``) and after the last block (``ln_final``).

Each strip is the LayerNorm's output after γ and β (``…hook_out``), dims 0..15: each token's vector centred, divided
by its spread, then scaled and shifted per dimension.
"""

from __future__ import annotations

from bokeh.models import ColumnDataSource

from transformer_explainer.gpt2_core import Trace

from .layout import COLUMNS, DIMS, MAX_TOKENS, Rows
from .strips import Strip


def layer_norm_hook(which: str, layer: int) -> str:
    return "ln_final.hook_out" if which == "ln_final" else f"blocks.{layer}.{which}.hook_out"


class LayerNormStage:
    """``which``: "ln1", "ln2" or "ln_final"; the strip's ``value`` is that LayerNorm's ``hook_out``."""

    def __init__(self, which: str, d_model: int, lang: str = "en"):
        self.which = which
        dims = min(DIMS, d_model)
        self.strip = Strip(which, layer_norm_hook(which, 0), dims, d_model, MAX_TOKENS * dims, lang)

    @property
    def source(self) -> ColumnDataSource:
        return self.strip.source

    def fill(self, trace: Trace, rows: Rows, layer: int) -> None:
        hook = layer_norm_hook(self.which, layer)
        self.strip.rename(hook)
        values = trace[hook][list(rows.positions), :self.strip.n_dims]
        self.strip.fill(values, rows, *COLUMNS[self.which], rows.half())

    def draw(self, canvas, kit) -> None:
        self.strip.draw(canvas, kit)
