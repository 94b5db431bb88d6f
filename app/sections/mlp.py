"""The MLP of one token: d → 4d (the up projection), GELU, 4d → d (the down projection)."""

from transformer_explainer.gpt2_core import model
from transformer_explainer.viz.sections.mlp import MlpView

from . import Explanation, Section, SectionView


class MlpSection(SectionView):
    def build(self, inputs) -> list:
        view = self.views["mlp"] = MlpView(inputs.trace, inputs.layer, inputs.position, lang=inputs.lang)
        h = view.heatmaps
        return [("steps.mlp.up", [h["input"].figure, h["pre"].figure]),
                ("steps.mlp.gelu", [view.gelu_figure, h["post"].figure]),
                ("steps.mlp.down", [h["output"].figure])]

    def update(self, inputs, changed) -> None:
        self.views["mlp"].update(inputs.trace, inputs.layer, inputs.position)

    def report(self, inputs) -> list:
        self.build(inputs)
        return [self.views["mlp"].layout]


SECTION = Section(
    key="mlp", order=60, view=MlpSection, depends_on=("layer", "position"), controls=("layer", "position"),
    explanation=Explanation(
        "explain.mlp.title", "explain.mlp.text",
        "MLP(x) = GELU(x·W_fc + b_fc)·W_proj + b_proj;   GELU(x) ≈ ½x(1 + tanh(√(2/π)(x + 0.044715x³)))",
        (model.mlp, model.gelu, model.linear)),
)
