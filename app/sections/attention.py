"""Attention, one head at a time: q, k, v; q·kᵀ → weights; z = weights · v; then every head through concat and
c_proj. A summary in words says where the head looks (for screen readers)."""

from transformer_explainer.gpt2_core import model
from transformer_explainer.viz.sections.attention import AttentionHeadView, ConcatProjectionView

from ..summaries import ScreenReaderText, attention_summary
from . import Explanation, Section, SectionView


class AttentionSection(SectionView):
    def controls(self) -> list:
        self.summary = ScreenReaderText(css_classes=["te-attention-summary"])  # the head, said in words
        return [self.summary]

    def build(self, inputs) -> list:
        head = self.views["head"] = AttentionHeadView(inputs.trace, inputs.layer, inputs.head, lang=inputs.lang)
        concat = self.views["concat"] = ConcatProjectionView(inputs.trace, inputs.layer, lang=inputs.lang)
        self._summarize(inputs)
        return [("steps.attention.qkv", [head.qkv_row]), ("steps.attention.weights", [head.matrices_row]),
                ("steps.attention.z", [head.heatmaps["z"].figure]), ("steps.attention.concat", [concat.layout])]

    def update(self, inputs, changed) -> None:
        self.views["head"].update(inputs.trace, inputs.layer, inputs.head)
        self.views["concat"].update(inputs.trace, inputs.layer)
        self._summarize(inputs)

    def report(self, inputs) -> list:
        self.build(inputs)
        return [self.views["head"].layout, self.views["concat"].layout]

    def _summarize(self, inputs) -> None:
        if hasattr(self, "summary"):
            self.summary.plain_text = attention_summary(inputs.trace, inputs.layer, inputs.head, self.context.words)


SECTION = Section(
    key="attention", order=40, view=AttentionSection, depends_on=("layer", "head"), controls=("layer", "head"),
    stages=("attention_output",),
    explanation=Explanation("explain.attention.title", "explain.attention.text",
                            "pattern = softmax(mask(q·kᵀ / √dₕ));   z = pattern · v;   out = concat(z₁…z_h) · W_O + b_O",
                            (model.attention, model.causal_mask, model.softmax)),
)
