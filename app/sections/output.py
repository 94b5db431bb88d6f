"""The output: logits → ÷ temperature → top-k / top-p → softmax → the probabilities the next token is drawn from."""

from transformer_explainer.gpt2_core import sampling
from transformer_explainer.viz.sections.output import OutputView

from . import Explanation, Section, SectionView


class OutputSection(SectionView):
    def build(self, inputs) -> list:
        view = self.views["output"] = OutputView(inputs.trace.logits, inputs.display, sampled_id=inputs.sampled_id,
                                                 **inputs.sampling, lang=inputs.lang)
        return [view.layout]

    def update(self, inputs, changed) -> None:
        self.views["output"].update(inputs.trace.logits, sampled_id=inputs.sampled_id, **inputs.sampling)


SECTION = Section(
    key="output", order=70, view=OutputSection, depends_on=("probabilities", "sampled_id"), stages=("ln_final",),
    explanation=Explanation("explain.output.title", "explain.output.text", "p = softmax(cutoff(logits / T));   next ~ p",
                            (sampling.probabilities, sampling.scaled_logits, sampling.top_k_mask, sampling.top_p_mask)),
)
