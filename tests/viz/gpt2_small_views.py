"""One of each of the page's views on GPT-2-small-shaped traces, as the app builds and updates them: shared by
tests/viz/test_viz_gpt2_small_shapes.py (drawn in Chromium) and scripts/bench_views.py (timed)."""

from __future__ import annotations

import numpy as np

from transformer_explainer.gpt2_core import kernels, sampling
from transformer_explainer.viz.sections.attention import AttentionHeadView, ConcatProjectionView, HeadGridView
from transformer_explainer.viz.sections.embedding import EmbeddingView
from transformer_explainer.viz.sections.layer_norm import LayerNormView
from transformer_explainer.viz.sections.logit_lens import LogitLensView
from transformer_explainer.viz.sections.mlp import MlpView
from transformer_explainer.viz.sections.output import OutputView
from transformer_explainer.viz.sections.overview import OverviewView
from transformer_explainer.viz.picture import PictureView
from transformer_explainer.viz.sections.residual import ResidualView

PROMPT = "The quick brown fox jumps over the lazy dog, and the capital of France is"


def lens(model, trace):
    params, eps = model.params, np.float32(model.config.layer_norm_epsilon)
    x = np.stack([trace[f"blocks.{layer}.hook_resid_post"][-1] for layer in range(model.config.n_layer)])
    centered = x - x.mean(axis=-1, keepdims=True)
    normalized = centered / np.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
    return kernels.matmul(normalized * params["ln_f"]["g"] + params["ln_f"]["b"], params["lm_head"])


def view_builders(model, first, second):
    """{name: (build, update)}: one of each view, as the app builds and updates them."""
    display = model.tokenizer.display
    probabilities = sampling.probabilities(first.logits, 1.0)
    new_probabilities = sampling.probabilities(second.logits, 0.8)
    lens_first, lens_second = lens(model, first), lens(model, second)
    n_layer = model.config.n_layer

    def ln(layer, which):
        weights = model.params["blocks"][layer]["ln_1" if which == "ln1" else "ln_2"]
        return weights["g"], weights["b"]

    return {
        "picture": (lambda: PictureView(first, 3, 5, probabilities, 11, display, n_layer=n_layer),
                    lambda v: v.update(second, 4, 6, new_probabilities, 12)),
        "overview": (lambda: OverviewView(first, probabilities, 11, display),
                     lambda v: v.update(second, new_probabilities, 12)),
        "embedding": (lambda: EmbeddingView(first), lambda v: v.update(second)),
        "layer_norm": (lambda: LayerNormView(first, 3, "ln1", *ln(3, "ln1")),
                       lambda v: v.update(second, 4, "ln2", *ln(4, "ln2"))),
        "residual": (lambda: ResidualView(first, 3, 5), lambda v: v.update(second, 4, 6)),
        "attention_head": (lambda: AttentionHeadView(first, 3, 5), lambda v: v.update(second, 4, 6)),
        "concat_projection": (lambda: ConcatProjectionView(first, 3), lambda v: v.update(second, 4)),
        "head_grid": (lambda: HeadGridView(first, {(1, 2)}), lambda v: v.update(second, {(1, 3)})),
        "mlp": (lambda: MlpView(first, 3, 5), lambda v: v.update(second, 4, 6)),
        "output": (lambda: OutputView(first.logits, display, 1.0, None, None, 11),
                   lambda v: v.update(second.logits, 0.7, 40, 0.9, 12)),
        "logit_lens": (lambda: LogitLensView(lens_first, display, first.tokens),
                       lambda v: v.update(lens_second, second.tokens)),
    }
