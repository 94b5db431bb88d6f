"""LayerNorm with its real values: input x, each token's mean and scale = sqrt(var + eps),
normalized = (x − mean) / scale, the learnt gain γ and bias β, output = normalized · γ + β.

γ and β are weights, not activations, so the app passes them in (``params["blocks"][L]["ln_1"]["g"]`` ...).
"""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column
from bokeh.models import Row

from transformer_explainer.gpt2_core import Trace

from ..common import check_layer, position_labels
from ..heatmap import Heatmap
from ..i18n import Translator, translator

WHICH = ("ln1", "ln2", "ln_final")
STAT_WIDTH = 170


def layer_norm_names(which: str, layer: int | None, n_layer: int) -> tuple[str, str]:
    """(the hook holding the input, the hook prefix of this LayerNorm)."""
    if which == "ln1":
        layer = check_layer(layer, n_layer)
        return f"blocks.{layer}.hook_resid_pre", f"blocks.{layer}.ln1"
    if which == "ln2":
        layer = check_layer(layer, n_layer)
        return f"blocks.{layer}.hook_resid_mid", f"blocks.{layer}.ln2"
    if which == "ln_final":
        return f"blocks.{n_layer - 1}.hook_resid_post", "ln_final"
    raise ValueError(f"which must be one of {WHICH}, got {which!r}")


def layer_norm_values(trace: Trace, layer: int | None, which: str, gamma, beta) -> dict[str, np.ndarray]:
    input_name, prefix = layer_norm_names(which, layer, trace.config.n_layer)
    x = trace[input_name]  # [pos, d]
    return {
        "input": x,
        "mean": x.mean(axis=-1, keepdims=True),  # [pos, 1], as the model computes it
        "scale": trace[f"{prefix}.hook_scale"],  # [pos, 1]
        "normalized": trace[f"{prefix}.hook_normalized"],
        "gamma": np.asarray(gamma, dtype=np.float32).reshape(1, -1),
        "beta": np.asarray(beta, dtype=np.float32).reshape(1, -1),
        "output": trace[f"{prefix}.hook_out"],
    }


def titles(which: str, layer: int | None, words: Translator | None = None) -> dict[str, str]:
    words = words or translator()
    where = {"ln_final": words("layer_norm.where_final"), "ln1": words("layer_norm.where_ln1", layer=layer),
             "ln2": words("layer_norm.where_ln2", layer=layer)}[which]
    return {
        "input": words("layer_norm.input_title", where=where),
        "mean": words("layer_norm.mean_title"), "scale": words("layer_norm.scale_title"),
        "normalized": words("layer_norm.normalized_title"),
        "gamma": words("layer_norm.gamma_title"), "beta": words("layer_norm.beta_title"),
        "output": words("layer_norm.output_title"),
    }


class LayerNormView:
    """Seven heatmaps in ``heatmaps`` (input, mean, scale, normalized, gamma, beta, output); each ``.source``
    holds the values shown. ``which`` is "ln1", "ln2" or "ln_final" (``layer`` is ignored for ln_final)."""

    def __init__(self, trace: Trace, layer: int | None, which: str, gamma, beta, lang: str = "en"):
        self.words = words = translator(lang)
        values = layer_norm_values(trace, layer, which, gamma, beta)
        names = titles(which, layer, words)
        rows = dict(row_labels=trace.tokens, row_hover=position_labels(trace.tokens), lang=lang)
        statistic, weight = words("layer_norm.statistic"), words("layer_norm.weight")
        self.heatmaps = {
            "input": Heatmap(values["input"], title=names["input"], **rows),
            "mean": Heatmap(values["mean"], title=names["mean"], col_labels=[words("layer_norm.mean")],
                            width=STAT_WIDTH, col_name=statistic, colorbar=True, **rows),
            "scale": Heatmap(values["scale"], title=names["scale"], kind="sequential",
                             col_labels=[words("layer_norm.scale")], width=STAT_WIDTH, col_name=statistic,
                             colorbar=True, **rows),
            "normalized": Heatmap(values["normalized"], title=names["normalized"], **rows),
            "gamma": Heatmap(values["gamma"], title=names["gamma"], row_labels=["γ"], row_name=weight, token_rows=False,
                             lang=lang),
            "beta": Heatmap(values["beta"], title=names["beta"], row_labels=["β"], row_name=weight, token_rows=False,
                            lang=lang),
            "output": Heatmap(values["output"], title=names["output"], **rows),
        }
        h = self.heatmaps
        self.layout = column(h["input"].figure,
                             Row(children=[h["mean"].figure, h["scale"].figure], styles={"flex-wrap": "wrap"}),
                             h["normalized"].figure, h["gamma"].figure, h["beta"].figure, h["output"].figure,
                             sizing_mode="stretch_width")

    def source(self, name: str):
        return self.heatmaps[name].source

    def update(self, trace: Trace, layer: int | None, which: str, gamma, beta) -> None:
        values = layer_norm_values(trace, layer, which, gamma, beta)
        names = titles(which, layer, self.words)
        rows = dict(row_labels=trace.tokens, row_hover=position_labels(trace.tokens))
        for name, heatmap in self.heatmaps.items():
            labels = {} if name in ("gamma", "beta") else rows
            heatmap.update(values[name], title=names[name], **labels)
