"""The overview: a Sankey-style flow from the prompt's tokens through the blocks to the next token. A tap on a stage
opens its section (a block's: that block), a tap on a token selects it, "× N blocks" expands into every block."""

from transformer_explainer.gpt2_core import model
from transformer_explainer.viz.sections.overview import OverviewView

from . import Explanation, Section, SectionView


class OverviewSection(SectionView):
    def controls(self) -> list:
        import panel as pn

        state, words = self.context.state, self.context.words
        if state is None:
            return []
        # ``name`` is the checkbox's own label (clicking it toggles); Panel's ``label`` is a separate one, which
        # does not
        self.expand_toggle = pn.widgets.Toggle.from_param(state.param.expanded, name=words("app.show_every_block"),
                                                          css_classes=["te-expand", "te-control"])
        return [self.expand_toggle]

    def build(self, inputs) -> list:
        view = self.views["overview"] = OverviewView(inputs.trace, inputs.probabilities, inputs.sampled_id,
                                                     inputs.display, expanded=inputs.expanded, lang=inputs.lang)
        self.context.on_tap(view.stage_source.selected, self._on_stage_tap)
        self.context.on_tap(view.token_source.selected, self._on_token_tap)
        return [view.layout]

    def update(self, inputs, changed) -> None:
        view = self.views["overview"]
        if changed & {"trace", "expanded"}:
            view.update(inputs.trace, inputs.probabilities, inputs.sampled_id, expanded=inputs.expanded)
        else:  # only the sampling changed: move the bars
            view.update_probabilities(inputs.probabilities, inputs.sampled_id)

    def _on_stage_tap(self, attr, old, new) -> None:
        if not new:
            return
        state, source = self.context.state, self.views["overview"].stage_source
        stage, layer = source.data["stage"][new[0]], int(source.data["layer"][new[0]])
        source.selected.indices = []  # so that tapping the same stage again is heard
        if stage == "block" and layer < 0:  # the "× N blocks" node says "tap to expand": it does
            state.expanded = True
            return
        if layer >= 0:
            state.layer = layer
        if stage in state.param.view.objects:
            state.view = stage

    def _on_token_tap(self, attr, old, new) -> None:
        if not new:
            return
        source = self.views["overview"].token_source
        position = int(source.data["position"][new[0]])
        source.selected.indices = []
        self.context.state.position = position


SECTION = Section(
    key="overview", order=10, view=OverviewSection, depends_on=("probabilities", "sampled_id", "expanded"),
    start_open=True,
    explanation=Explanation("explain.overview.title", "explain.overview.text",
                            "next token ~ softmax(unembed(blocks(embed(tokens)))[-1] / T)", (model.gpt2,)),
)
