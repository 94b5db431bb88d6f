"""The logit lens: what each block would predict if the model stopped there (its residual stream through the final
LayerNorm and the unembedding)."""

from transformer_explainer.gpt2_core import lens
from transformer_explainer.viz.sections.logit_lens import LogitLensView

from . import Explanation, Section, SectionView


class LensSection(SectionView):
    def build(self, inputs) -> list:
        view = self.views["lens"] = LogitLensView(inputs.lens_logits, inputs.display, inputs.trace.tokens,
                                                  lang=inputs.lang)
        return [view.layout]

    def update(self, inputs, changed) -> None:
        self.views["lens"].update(inputs.lens_logits, inputs.trace.tokens)


SECTION = Section(
    key="lens", order=80, view=LensSection,
    explanation=Explanation("explain.lens.title", "explain.lens.text", "lensₗ = LN_f(x after block ℓ) · W_teᵀ",
                            (lens.logit_lens,)),
)
