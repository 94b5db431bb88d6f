"""A transformer block: LayerNorm before attention, the residual stream's two adds, LayerNorm before the MLP."""

from transformer_explainer.gpt2_core import model
from transformer_explainer.viz.sections.layer_norm import LayerNormView
from transformer_explainer.viz.sections.residual import ResidualView

from . import Explanation, Section, SectionView


class BlockSection(SectionView):
    def build(self, inputs) -> list:
        layer, lang = inputs.layer, inputs.lang
        ln1 = self.views["ln1"] = LayerNormView(inputs.trace, layer, "ln1", *inputs.layer_norm_weights("ln1"), lang=lang)
        residual = self.views["residual"] = ResidualView(inputs.trace, layer, inputs.position, lang=lang)
        ln2 = self.views["ln2"] = LayerNormView(inputs.trace, layer, "ln2", *inputs.layer_norm_weights("ln2"), lang=lang)
        return [("steps.block.ln1", [ln1.layout]), ("steps.block.residual", [residual.layout]),
                ("steps.block.ln2", [ln2.layout])]

    def update(self, inputs, changed) -> None:
        trace, layer = inputs.trace, inputs.layer
        self.views["ln1"].update(trace, layer, "ln1", *inputs.layer_norm_weights("ln1"))
        self.views["residual"].update(trace, layer, inputs.position)
        self.views["ln2"].update(trace, layer, "ln2", *inputs.layer_norm_weights("ln2"))


SECTION = Section(
    key="block", order=30, view=BlockSection, depends_on=("layer", "position"), controls=("layer", "position"),
    stages=("ln1", "residual_mid", "ln2", "residual_post"),
    explanation=Explanation("explain.block.title", "explain.block.text",
                            "x_mid = x + Attn(LN₁(x));   x_out = x_mid + MLP(LN₂(x_mid))",
                            (model.transformer_block, model.layer_norm)),
)
