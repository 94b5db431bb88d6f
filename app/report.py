"""A standalone HTML report of one forward pass: every view of the app, for one prompt, in one file.

Bokeh's JavaScript is inlined, so the file opens offline and can be mailed or put in a notebook.
"""

from __future__ import annotations

import html
from pathlib import Path

from bokeh.layouts import column
from bokeh.models import Div

from transformer_explainer.gpt2_core import GPT2, sampling
from transformer_explainer.viz.sections.attention import AttentionHeadView, ConcatProjectionView, HeadGridView
from transformer_explainer.viz.sections.embedding import EmbeddingView
from transformer_explainer.viz.i18n import Translator, translator
from transformer_explainer.viz.sections.layer_norm import LayerNormView
from transformer_explainer.viz.sections.logit_lens import LogitLensView
from transformer_explainer.viz.sections.mlp import MlpView
from transformer_explainer.viz.sections.output import OutputView
from transformer_explainer.viz.sections.overview import OverviewView
from transformer_explainer.viz.sections.residual import ResidualView
from transformer_explainer.viz.standalone import standalone_html

from .explanations import EXPLANATIONS


def heading(key: str, words: Translator) -> Div:
    """A section's title, explanation and formula: our own text; Bokeh's TeX reading is turned off."""
    explanation = EXPLANATIONS[key]
    text = html.escape(explanation.text(words)).replace("**", "")
    return Div(text=f"<h2>{html.escape(explanation.title(words))}</h2><p>{text}</p>"
                    f"<pre>{html.escape(explanation.formula)}</pre>", disable_math=True, sizing_mode="stretch_width")


def write_report(model: GPT2, prompt: str, path: str | Path, *, layer: int = 0, head: int = 0,
                 temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                 seed: int = 0, lang: str = "en") -> Path:
    """Trace ``prompt`` and write every view to ``path`` (an .html file), its words in ``lang`` ('en' or 'zh').
    Returns the path written."""
    import numpy as np

    config, words = model.config, translator(lang)
    if not 0 <= layer < config.n_layer or not 0 <= head < config.n_head:
        from transformer_explainer.gpt2_core import PromptError
        raise PromptError(f"layer must be in 0..{config.n_layer - 1} and head in 0..{config.n_head - 1}, "
                          f"got layer {layer}, head {head}")
    trace = model.run_with_trace(prompt, head_results=True)
    probabilities = sampling.probabilities(trace.logits, temperature, top_k, top_p)
    sampled = sampling.next_token(trace.logits, temperature, top_k, top_p, np.random.default_rng(seed))
    display = model.tokenizer.display
    params = model.params
    position = trace.n_tokens - 1
    views = [
        Div(text=f"<h1>{html.escape(words('report.title'))}</h1><p>"
                 + words("report.about", model=f"<b>{html.escape(model.name)}</b>", n_layer=config.n_layer,
                         n_head=config.n_head, n_embd=config.n_embd, n_tokens=trace.n_tokens,
                         prompt=f"<code>{html.escape(prompt)}</code>") + "</p>",
            disable_math=True, sizing_mode="stretch_width"),
        heading("overview", words), OverviewView(trace, probabilities, sampled, display, lang=lang).layout,
        heading("embedding", words), EmbeddingView(trace, lang=lang).layout,
        heading("block", words),
        LayerNormView(trace, layer, "ln1", params["blocks"][layer]["ln_1"]["g"], params["blocks"][layer]["ln_1"]["b"],
                      lang=lang).layout,
        ResidualView(trace, layer, position, lang=lang).layout,
        heading("attention", words), AttentionHeadView(trace, layer, head, lang=lang).layout, ConcatProjectionView(trace, layer, lang=lang).layout,
        heading("heads", words), HeadGridView(trace, lang=lang).layout,
        heading("mlp", words), MlpView(trace, layer, position, lang=lang).layout,
        heading("output", words), OutputView(trace.logits, display, temperature, top_k, top_p, sampled, lang=lang).layout,
        heading("lens", words), LogitLensView(model.logit_lens(trace), display, trace.tokens, lang=lang).layout,
    ]
    path = Path(path)
    path.write_text(standalone_html(column(*views, sizing_mode="stretch_width"),
                                    title=f"Transformer Explainer: {prompt[:60]}"), encoding="utf-8")
    return path
