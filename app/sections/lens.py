"""The logit lens: what each block would predict if the model stopped there (its residual stream through the final
LayerNorm and the unembedding), for the token picked (the last by default).

Under it, the commitment strip: for each position, the first block whose top token is already the final one
(gpt2_core/commitment.py; computed for every position at once when the section first shows, once per prompt).
A tap on a cell picks that token, as the token menu does: the lens above then shows that position, its commitment
block outlined."""

from __future__ import annotations

from transformer_explainer.gpt2_core import commitment, lens
from transformer_explainer.viz.sections.logit_lens import CommitmentStripView, LogitLensView

from . import Explanation, Section, SectionView


class LensSection(SectionView):
    def controls(self) -> list:
        import panel as pn

        return [pn.pane.Markdown(self.context.words("lens.commit.text"), sizing_mode="stretch_width",
                                 css_classes=["te-commit-text"])]

    def build(self, inputs) -> list:
        self._top_of = inputs.trace
        self.top = commitment.lens_top_tokens(inputs.model.params, inputs.model.config, inputs.trace)
        lens_view = self.views["lens"] = LogitLensView(self._lens(inputs), inputs.display, self._tokens(inputs),
                                                       lang=inputs.lang)
        strip = self.views["commitment"] = CommitmentStripView(self.top, inputs.trace.tokens, inputs.display,
                                                               selected=inputs.position, lang=inputs.lang)
        lens_view.mark_block(self._commitment_block(inputs.position))
        self.context.on_tap(strip.source.selected, self._on_tap)
        return [lens_view.layout, strip.layout]

    def update(self, inputs, changed) -> None:
        if "trace" in changed or self._top_of is not inputs.trace:
            self._top_of = inputs.trace
            self.top = commitment.lens_top_tokens(inputs.model.params, inputs.model.config, inputs.trace)
            self.views["commitment"].update(self.top, inputs.trace.tokens, selected=inputs.position)
        else:
            self.views["commitment"].select(inputs.position)
        self.views["lens"].update(self._lens(inputs), self._tokens(inputs))
        self.views["lens"].mark_block(self._commitment_block(inputs.position))

    @staticmethod
    def _lens(inputs):
        """[n_layer, V] at the token picked: the state's cached lens for the last token, else computed here."""
        if inputs.position == inputs.trace.n_tokens - 1:
            return inputs.lens_logits
        return inputs.model.logit_lens(inputs.trace, inputs.position)

    @staticmethod
    def _tokens(inputs) -> list[str]:
        return inputs.trace.tokens[:inputs.position + 1]  # the lens's title names the last of them

    def _commitment_block(self, position: int) -> int | None:
        shown = list(self.top.positions)
        if position not in shown:
            return None  # a long prompt's early token: outside the strip
        return int(commitment.commitment_blocks(self.top.top_ids)[shown.index(position)])

    def _on_tap(self, attr, old, new) -> None:
        if not new or self.context.state is None:
            return
        source = self.views["commitment"].source
        position = int(source.data["position"][new[0]])
        source.selected.indices = []
        self.context.state.position = position


SECTION = Section(
    key="lens", order=80, view=LensSection, depends_on=("position",), controls=("position",),
    explanation=Explanation("explain.lens.title", "explain.lens.text", "lensₗ = LN_f(x after block ℓ) · W_teᵀ",
                            (lens.logit_lens, commitment.commitment_blocks)),
)
