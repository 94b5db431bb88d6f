"""What each view says: a plain-language explanation, its formula, and the gpt2_core code that computed it.

The words are in the catalogues (viz/locales, English and Chinese), by key; formulas and code are the same in
every language.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from transformer_explainer.gpt2_core import lens, model, sampling
from transformer_explainer.viz.i18n import Translator


@dataclass(frozen=True)
class Explanation:
    title_key: str  # the catalogue's key of the title (viz/locales)
    text_key: str  # ... and of the text: Markdown, written by us (never user text)
    formula: str  # plain Unicode, shown as code: the same in every language
    code: tuple[Callable, ...]  # the functions "show the code" displays

    def title(self, words: Translator) -> str:
        return words(self.title_key)

    def text(self, words: Translator) -> str:
        return words(self.text_key)

    def source(self) -> str:
        return "\n\n".join(inspect.getsource(function) for function in self.code)


EXPLANATIONS = {
    "overview": Explanation("explain.overview.title", "explain.overview.text",
        "next token ~ softmax(unembed(blocks(embed(tokens)))[-1] / T)",
        (model.gpt2,)),
    "embedding": Explanation("explain.embedding.title", "explain.embedding.text",
        "x₀[i] = W_te[token_i] + W_pe[i]",
        (model.gpt2,)),
    "block": Explanation("explain.block.title", "explain.block.text",
        "x_mid = x + Attn(LN₁(x));   x_out = x_mid + MLP(LN₂(x_mid))",
        (model.transformer_block, model.layer_norm)),
    "attention": Explanation("explain.attention.title", "explain.attention.text",
        "pattern = softmax(mask(q·kᵀ / √dₕ));   z = pattern · v;   out = concat(z₁…z_h) · W_O + b_O",
        (model.attention, model.causal_mask, model.softmax)),
    "mlp": Explanation("explain.mlp.title", "explain.mlp.text",
        "MLP(x) = GELU(x·W_fc + b_fc)·W_proj + b_proj;   GELU(x) ≈ ½x(1 + tanh(√(2/π)(x + 0.044715x³)))",
        (model.mlp, model.gelu, model.linear)),
    "output": Explanation("explain.output.title", "explain.output.text",
        "p = softmax(cutoff(logits / T));   next ~ p",
        (sampling.probabilities, sampling.scaled_logits, sampling.top_k_mask, sampling.top_p_mask)),
    "lens": Explanation("explain.lens.title", "explain.lens.text",
        "lensₗ = LN_f(x after block ℓ) · W_teᵀ",
        (lens.logit_lens,)),
    "heads": Explanation("explain.heads.title", "explain.heads.text",
        "ablated head h:  z_h := 0",
        (model.attention,)),
}
