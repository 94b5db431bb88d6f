"""Every head of every layer at a glance: a tap opens a head in the attention section, or (in "silence" mode)
ablates it, and the prediction changes. The heads silenced are typed in a box too (the keyboard's way, as a link
has them)."""

from transformer_explainer.gpt2_core import model
from transformer_explainer.viz.sections.attention import HeadGridView

from ..compat import answer_at_once
from ..safe_html import TextBox
from . import Explanation, Section, SectionView


class HeadsSection(SectionView):
    def controls(self) -> list:
        import panel as pn

        state, words = self.context.state, self.context.words
        if state is None:
            return []
        self.click_mode = pn.widgets.RadioButtonGroup(options={words("app.click_to_open"): "inspect",
                                                               words("app.click_to_ablate"): "ablate"},
                                                      value="inspect", color="light",
                                                      css_classes=["te-click-mode", "te-control"])
        # Panel applies a widget change 50 ms late, but a tap in the grid at once: a tap right after switching to
        # "ablate" would still open the head. Apply the switch at once, so the two stay in order.
        answer_at_once(self.click_mode)
        self.reset_ablation = pn.widgets.Button(label=words("app.restore_heads"), width=160, css_classes=["te-control"])
        self.reset_ablation.on_click(lambda event: setattr(state, "ablated", ""))
        self.ablation_note = TextBox(sizing_mode="stretch_width", css_classes=["te-ablation-note"])
        self.ablation_box = pn.widgets.TextInput.from_param(state.param.ablated, label=words("app.silenced_heads"),
                                                            placeholder="0.3, 1.0", width=220, description=None,
                                                            css_classes=["te-ablation-box", "te-control"])
        return [self.click_mode, self.ablation_box, self.reset_ablation, self.ablation_note]

    def build(self, inputs) -> list:
        view = self.views["heads"] = HeadGridView(inputs.trace, ablated=inputs.ablated, lang=inputs.lang)
        self.context.on_tap(view.head_source.selected, self._on_head_tap)
        self._note_ablation(inputs)
        return [view.layout]

    def update(self, inputs, changed) -> None:
        self.views["heads"].update(inputs.trace, ablated=inputs.ablated)
        self._note_ablation(inputs)

    def _note_ablation(self, inputs) -> None:
        if not hasattr(self, "ablation_note"):
            return
        words = self.context.words
        self.ablation_note.plain_text = (
            words("app.silenced", heads=", ".join(words("app.silenced_head", layer=l, head=h)
                                                  for l, h in sorted(inputs.ablated)))
            if inputs.ablated else words("app.all_heads_active"))

    def _on_head_tap(self, attr, old, new) -> None:
        if not new:
            return
        state, source = self.context.state, self.views["heads"].head_source
        layer, head = int(source.data["layer"][new[0]]), int(source.data["head"][new[0]])
        source.selected.indices = []
        if self.click_mode.value == "ablate":
            state.toggle_ablation(layer, head)
        else:
            state.param.update(layer=layer, head=head)
            state.view = "attention"


SECTION = Section(
    key="heads", order=50, view=HeadsSection, depends_on=("ablated",),
    explanation=Explanation("explain.heads.title", "explain.heads.text", "ablated head h:  z_h := 0",
                            (model.attention,)),
)
