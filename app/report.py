"""A standalone HTML report of one forward pass: every view of the app, for one prompt, in one file.

Bokeh's JavaScript is inlined, so the file opens offline and can be mailed or put in a notebook.
"""

from __future__ import annotations

import html
from pathlib import Path

from bokeh.layouts import column
from bokeh.models import Div

from transformer_explainer.gpt2_core import GPT2, sampling
from transformer_explainer.viz.i18n import Translator, translator
from transformer_explainer.viz.standalone import standalone_html

from .sections import SECTIONS, Section, SectionContext, SectionInputs


def heading(section: Section, words: Translator) -> Div:
    """A section's title, explanation and formula: our own text; Bokeh's TeX reading is turned off."""
    explanation = section.explanation
    text = html.escape(explanation.text(words)).replace("**", "")
    return Div(text=f"<h2>{html.escape(explanation.title(words))}</h2><p>{text}</p>"
                    f"<pre>{html.escape(explanation.formula)}</pre>", disable_math=True, sizing_mode="stretch_width")


def write_report(model: GPT2, prompt: str, path: str | Path, *, layer: int = 0, head: int = 0,
                 temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                 seed: int = 0, lang: str = "en", trace=None) -> Path:
    """Trace ``prompt`` and write every section's views (app/sections) to ``path`` (an .html file), its words in
    ``lang`` ('en' or 'zh'). ``trace``: a pass already made over ``prompt`` (the page's, with its silenced heads),
    drawn instead of a new one. Returns the path written."""
    import numpy as np

    config, words = model.config, translator(lang)
    if not 0 <= layer < config.n_layer or not 0 <= head < config.n_head:
        from transformer_explainer.gpt2_core import PromptError
        raise PromptError(f"layer must be in 0..{config.n_layer - 1} and head in 0..{config.n_head - 1}, "
                          f"got layer {layer}, head {head}")
    trace = trace if trace is not None else model.run_with_trace(prompt, head_results=True)
    settings = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
    inputs = SectionInputs(
        trace=trace, model=model, probabilities=sampling.probabilities(trace.logits, **settings),
        sampled_id=sampling.next_token(trace.logits, temperature, top_k, top_p, np.random.default_rng(seed)),
        sampling=settings, layer=layer, head=head, position=trace.n_tokens - 1, lang=lang)
    context = SectionContext(words=words, lang=lang)
    views = [Div(text=f"<h1>{html.escape(words('report.title'))}</h1><p>"
                      + words("report.about", model=f"<b>{html.escape(model.name)}</b>", n_layer=config.n_layer,
                              n_head=config.n_head, n_embd=config.n_embd, n_tokens=trace.n_tokens,
                              prompt=f"<code>{html.escape(prompt)}</code>") + "</p>",
                 disable_math=True, sizing_mode="stretch_width")]
    for section in SECTIONS:
        if section.in_report:
            views += [heading(section, words), *section.view(context).report(inputs)]
    path = Path(path)
    path.write_text(standalone_html(column(*views, sizing_mode="stretch_width"),
                                    title=f"Transformer Explainer: {prompt[:60]}"), encoding="utf-8")
    return path
