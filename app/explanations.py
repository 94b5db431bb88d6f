"""What each view says: a plain-language explanation, its formula, and the gpt2_core code that computed it.

Kept in Python (not separate files) so the same texts ship inside the wheel that Pyodide installs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from gpt2_core import lens, model, sampling


@dataclass(frozen=True)
class Explanation:
    title: str
    text: str  # Markdown, written by us (never user text)
    formula: str  # plain Unicode, shown as code
    code: tuple[Callable, ...]  # the functions "show the code" displays

    def source(self) -> str:
        return "\n\n".join(inspect.getsource(function) for function in self.code)


EXPLANATIONS = {
    "overview": Explanation(
        "How GPT-2 predicts the next token",
        "Your text is split into **tokens**; each becomes a vector (**embedding**). The vectors flow through a stack "
        "of identical **transformer blocks**: in each, **attention** lets every token gather information from the "
        "tokens before it, and an **MLP** transforms each token on its own. At the end, the last token's vector is "
        "compared with every word piece in the vocabulary (**logits**), and **softmax** turns those scores into "
        "**probabilities**. Hover a token to follow its path; click a stage to open it.",
        "next token ~ softmax(unembed(blocks(embed(tokens)))[-1] / T)",
        (model.gpt2,)),
    "embedding": Explanation(
        "Tokens and embeddings",
        "GPT-2 reads **tokens**, not letters: frequent words are one token, rare ones are split into pieces (byte-pair "
        "encoding); ␣ marks a leading space. Each token id selects a row of the **token embedding** matrix, and each "
        "position selects a row of the **position embedding** matrix. Their sum is the **residual stream** that enters "
        "the first block. Every value here is the model's own.",
        "x₀[i] = W_te[token_i] + W_pe[i]",
        (model.gpt2,)),
    "block": Explanation(
        "A transformer block",
        "Each block reads the residual stream, **normalizes** it (LayerNorm), lets the tokens **attend** to each other, "
        "adds the result back (**residual connection**), normalizes again, runs the **MLP** on each token, and adds "
        "that back too. The residual stream is a running sum: each block writes a correction into it. GPT-2 has no "
        "dropout at inference, so none is shown.",
        "x_mid = x + Attn(LN₁(x));   x_out = x_mid + MLP(LN₂(x_mid))",
        (model.transformer_block, model.layer_norm)),
    "attention": Explanation(
        "Attention, one head at a time",
        "Each token's normalized vector is projected into a **query** (what am I looking for?), a **key** (what do I "
        "contain?) and a **value** (what do I pass on?), split across heads. A head scores every pair with the dot "
        "product q·k, divides by √dₕ, **masks** the future (a token may only look back), and turns each row into "
        "weights with **softmax**. The output is the weighted sum of the values. The heads' outputs are "
        "**concatenated** and mixed by the output projection **c_proj**: each head's share is shown separately.",
        "pattern = softmax(mask(q·kᵀ / √dₕ));   z = pattern · v;   out = concat(z₁…z_h) · W_O + b_O",
        (model.attention, model.causal_mask, model.softmax)),
    "mlp": Explanation(
        "The MLP",
        "The MLP works on each token separately: it widens the vector four times (768 → 3072 in GPT-2 small), applies "
        "the **GELU** non-linearity (which lets small negative values through, softly), and projects back down. "
        "The points on the curve are this token's real values.",
        "MLP(x) = GELU(x·W_fc + b_fc)·W_proj + b_proj;   GELU(x) ≈ ½x(1 + tanh(√(2/π)(x + 0.044715x³)))",
        (model.mlp, model.gelu, model.linear)),
    "output": Explanation(
        "From logits to the next token",
        "The last token's final vector is multiplied by the token embedding matrix: one **logit** per vocabulary "
        "entry. Dividing by the **temperature** T sharpens (T < 1) or flattens (T > 1) the distribution; T = 0 always "
        "picks the top token. **Top-k** keeps the k best candidates, **top-p** the fewest whose probabilities add up "
        "to p. **Softmax** turns the survivors into probabilities, and one token is drawn (seeded, so repeatable).",
        "p = softmax(cutoff(logits / T));   next ~ p",
        (sampling.probabilities, sampling.scaled_logits, sampling.top_k_mask, sampling.top_p_mask)),
    "lens": Explanation(
        "Logit lens: what each block would predict",
        "Apply the final LayerNorm and the unembedding to the residual stream after each block, as if the model "
        "stopped there. Early blocks often guess poorly; watch the prediction settle as the blocks refine it. "
        "The last row is the model's real output.",
        "lensₗ = LN_f(x after block ℓ) · W_teᵀ",
        (lens.logit_lens,)),
    "heads": Explanation(
        "Every head of every layer",
        "Each small square is one head's attention pattern for your prompt (rows: the token that looks; columns: the "
        "tokens it looks at). Click a head to open it, or switch to **ablate** and click to silence it: its output "
        "becomes zero, the model runs again, and you see how the prediction changes.",
        "ablated head h:  z_h := 0",
        (model.attention,)),
}
