"""The MLP: d → 4d (c_fc), GELU, 4d → d (c_proj), for every token on its own.

The hidden vector is 4d wide: its strips are drawn twice as long (dims 0..31 of 4d) and taller, and the ribbons
widen into them and narrow out of them. ``mlp.hook_pre`` is before GELU, ``mlp.hook_post`` after it, and
``hook_mlp_out`` the MLP's output (dims 0..15 of d).
"""

from __future__ import annotations

from transformer_explainer.gpt2_core import Trace

from ..i18n import translator
from .layout import COLUMNS, DIMS, MAX_TOKENS, MLP_DIMS, WIDE_FRACTION, Rows
from .strips import Strip


class MlpStage:
    """``pre``: ``mlp.hook_pre[:, :32]``; ``post``: ``mlp.hook_post[:, :32]``; ``out``: ``hook_mlp_out[:, :16]``."""

    def __init__(self, d_model: int, d_mlp: int, lang: str = "en"):
        self.words = translator(lang)
        hidden = min(MLP_DIMS, d_mlp)
        self.pre = Strip("mlp_pre", "", hidden, d_mlp, MAX_TOKENS * hidden, lang)
        self.post = Strip("mlp_post", "", hidden, d_mlp, MAX_TOKENS * hidden, lang)
        self.out = Strip("mlp_out", "", min(DIMS, d_model), d_model, MAX_TOKENS * min(DIMS, d_model), lang)

    @property
    def strips(self) -> tuple[Strip, Strip, Strip]:
        return self.pre, self.post, self.out

    def fill(self, trace: Trace, rows: Rows, layer: int) -> None:
        positions = list(rows.positions)
        words = self.words
        for strip, hook, what, fraction in (
                (self.pre, "mlp.hook_pre", words("picture.mlp.pre"), WIDE_FRACTION),
                (self.post, "mlp.hook_post", words("picture.mlp.post"), WIDE_FRACTION),
                (self.out, "hook_mlp_out", words("picture.mlp.out"), None)):
            name = f"blocks.{layer}.{hook}"
            strip.rename(words("picture.hook_what", hook=name, what=what))
            half = rows.half(fraction) if fraction else rows.half()
            strip.fill(trace[name][positions, :strip.n_dims], rows, *COLUMNS[strip.key], half)

    def draw(self, canvas, kit) -> None:
        for strip in self.strips:
            strip.draw(canvas, kit)
