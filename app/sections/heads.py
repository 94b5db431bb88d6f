"""Every head of every layer at a glance: a tap opens a head in the attention section, or (in "silence" mode)
ablates it, and the prediction changes. The heads silenced are typed in a box too (the keyboard's way, as a link
has them).

Each head is labelled by measurement (gpt2_core/head_scores.py): its previous-token and first-token scores on the
prompt's trace, its induction score on a fixed random probe (one extra pass, once per model), in the hover and as a
mark of its strongest role; "show heads that ..." outlines and lists the heads whose score is above a threshold."""

from __future__ import annotations

import weakref

import numpy as np

from transformer_explainer.gpt2_core import head_scores, model
from transformer_explainer.gpt2_core.head_scores import HeadScores
from transformer_explainer.viz.sections.attention import HeadGridView

from ..compat import answer_at_once
from ..safe_html import TextBox
from ..widgets import text_box
from . import Explanation, Section, SectionView

# model -> its heads' induction scores [n_layer, h]: the probe is the same for every prompt and every page.
_INDUCTION_SCORES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
DEFAULT_THRESHOLD = 0.4
SCORE_NAMES = {"previous": "heads.role.previous.score", "first": "heads.role.first.score",
               "induction": "heads.role.induction.score"}


def induction_scores(gpt2) -> np.ndarray:
    """The induction scores of ``gpt2``'s heads, measured on the probe the first time they are asked for."""
    scores = _INDUCTION_SCORES.get(gpt2)
    if scores is None:
        scores = _INDUCTION_SCORES[gpt2] = head_scores.induction_scores(gpt2)
    return scores


def scores_of(inputs) -> HeadScores:
    return head_scores.head_scores(inputs.trace, induction_scores(inputs.model))


def heads_list(heads: list[tuple[int, int]], scores: np.ndarray) -> str:
    """"L0 H1 (0.62), L1 H3 (0.45)": the heads with their scores, as the grid names them."""
    return ", ".join(f"L{layer} H{head} ({scores[layer, head]:.2f})" for layer, head in heads)


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
        return [self.click_mode, self.ablation_box, self.reset_ablation, self.ablation_note, *self._filter_controls()]

    def _filter_controls(self) -> list:
        """"Show heads that ...": a role, a threshold, the list of heads above it; and what each role means."""
        import panel as pn

        words = self.context.words
        self.role_filter = pn.widgets.Select(
            label=words("heads.filter.label"), value="",
            options={words("heads.filter.off"): "", words("heads.filter.previous"): "previous",
                     words("heads.filter.first"): "first", words("heads.filter.induction"): "induction"},
            width=260, css_classes=["te-head-filter", "te-control"])
        self.threshold = pn.widgets.FloatSlider(label=words("heads.filter.threshold"), start=0.0, end=1.0, step=0.05,
                                                value=DEFAULT_THRESHOLD, width=220,
                                                css_classes=["te-head-threshold", "te-control"])
        answer_at_once(self.role_filter, self.threshold)
        self.filter_note = text_box("status", css_classes=["te-head-filter-note"])
        probe = head_scores.probe_length(self.context.state.runtime.config.n_ctx)
        self.roles_text = pn.pane.Markdown(words("heads.roles.text", length=probe, seed=head_scores.PROBE_SEED),
                                           sizing_mode="stretch_width",
                                           css_classes=["te-head-roles"])
        for widget in (self.role_filter, self.threshold):
            widget.param.watch(lambda event: self._apply_filter(), "value")
        return [self.role_filter, self.threshold, self.filter_note, self.roles_text]

    def build(self, inputs) -> list:
        view = self.views["heads"] = HeadGridView(inputs.trace, ablated=inputs.ablated, lang=inputs.lang,
                                                  scores=scores_of(inputs))
        self.context.on_tap(view.head_source.selected, self._on_head_tap)
        self._note_ablation(inputs)
        self._apply_filter()
        return [view.layout]

    def update(self, inputs, changed) -> None:
        self.views["heads"].update(inputs.trace, ablated=inputs.ablated, scores=scores_of(inputs))
        self._note_ablation(inputs)
        self._apply_filter()

    def _apply_filter(self) -> None:
        """Outline the heads above the threshold for the chosen role, and list them."""
        view = self.views.get("heads")
        if view is None or not hasattr(self, "role_filter"):
            return
        role, threshold = self.role_filter.value or None, float(self.threshold.value)
        heads = view.show_heads(role, threshold)
        if role is None:
            self.filter_note.plain_text = ""
            return
        words = self.context.words
        score = words(SCORE_NAMES[role])
        self.filter_note.plain_text = (
            words("heads.filter.result", score=score, threshold=f"{threshold:.2f}", n=len(heads),
                  total=view.n_layer * view.n_head, heads=heads_list(heads, view.scores[role]))
            if heads else words("heads.filter.result_none", score=score, threshold=f"{threshold:.2f}"))

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
