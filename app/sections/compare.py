"""Two prompts side by side: the picture's prompt (A) and a second one (B, the link's ``compare=``), traced by the
same model with the same silenced heads. Their next-token probabilities are aligned token by token (the union of
both top-10 lists, sorted by the difference A − B) and the same head's attention is drawn for both. The picture
shows one prompt at a time: "Show this prompt in the picture" swaps the two (the link keeps both)."""

from __future__ import annotations

from transformer_explainer.gpt2_core import comparison, sampling
from transformer_explainer.viz.sections.compare import ComparisonView, PatternPairView
from transformer_explainer.viz.sections.output import settings_text

from ..compat import answer_at_once
from ..widgets import text_box
from . import Explanation, Section, SectionView

# Pairs that differ in one word, where the difference in what comes next is the lesson.
EXAMPLE_PAIRS = (("The doctor said that he", "The doctor said that she"),
                 ("The Eiffel Tower is in", "The Colosseum is in"))
N_TOP = 10  # each prompt's most likely tokens; the rows are the union of both lists


def aligned(inputs) -> comparison.AlignedProbabilities:
    """A's probabilities (the page's, with its sampling settings) against B's under the same settings; without a
    second prompt, A against itself (the views are hidden then)."""
    second = inputs.compare_trace
    if second is None:
        return comparison.aligned_probabilities(inputs.probabilities, inputs.probabilities, N_TOP)
    return comparison.aligned_probabilities(inputs.probabilities,
                                            sampling.probabilities(second.logits, **inputs.sampling), N_TOP)


class CompareSection(SectionView):
    def controls(self) -> list:
        import panel as pn

        state, words = self.context.state, self.context.words
        if state is None:
            return []
        self.first_prompt = text_box("status", css_classes=["te-compare-first"])
        self.second_box = pn.widgets.TextInput.from_param(
            state.param.compare, label=words("compare.second_prompt"), placeholder=words("compare.placeholder"),
            description=None, sizing_mode="stretch_width", min_width=220, css_classes=["te-compare-prompt", "te-control"])
        self.run_button = pn.widgets.Button(label=words("compare.run"), color="primary", width=110,
                                            css_classes=["te-compare-run", "te-control"])
        self.run_button.on_click(lambda event: setattr(state, "compare", self.second_box.value_input or ""))
        self.swap_button = pn.widgets.Button(label=words("compare.swap"), color="light", width=260,
                                             css_classes=["te-compare-swap", "te-control"])
        self.swap_button.on_click(lambda event: state.swap_prompts())
        self.examples = [pn.widgets.Button(label=f"“{a}” ⇄ “{b}”", color="light", css_classes=["te-compare-example",
                                                                                             "te-control"])
                         for a, b in EXAMPLE_PAIRS]
        for button, (a, b) in zip(self.examples, EXAMPLE_PAIRS):
            button.on_click(lambda event, a=a, b=b: state.param.update(prompt=a, compare=b))
        self.message = text_box("error", css_classes=["te-compare-error"])
        self.hint = text_box("notice", words("compare.empty"), css_classes=["te-compare-hint"])
        answer_at_once(self.swap_button)
        state.param.watch(lambda *events: self._show_messages(), ["compare_error", "compare_trace", "trace"])
        self._show_messages()
        examples = pn.FlexBox(pn.pane.Markdown(words("compare.examples"), margin=(0, 5)), *self.examples,
                              align_items="center", sizing_mode="stretch_width")
        return [self.first_prompt,
                pn.FlexBox(self.second_box, self.run_button, self.swap_button, align_items="end",
                           sizing_mode="stretch_width"),
                examples, self.message, self.hint]

    def _show_messages(self) -> None:
        state, words = self.context.state, self.context.words
        self.first_prompt.plain_text = words("compare.first_prompt", prompt=state.traced_prompt or "")
        still = state.compare_trace is not None and state.compare_error
        self.message.plain_text = "\n".join(filter(None, [state.compare_error, still and words(
            "compare.still_showing", prompt=state.runtime.decode(state.compare_trace.token_ids))]))
        self.message.visible = bool(state.compare_error)
        self.hint.visible = state.compare_trace is None and not state.compare_error
        self.swap_button.disabled = state.compare_trace is None or bool(state.compare_error)

    def build(self, inputs) -> list:
        settings = settings_text(**inputs.sampling, words=self.context.words)
        probabilities = self.views["comparison"] = ComparisonView(aligned(inputs), inputs.display, settings,
                                                                  lang=inputs.lang)
        second = inputs.compare_trace or inputs.trace
        patterns = self.views["compare_patterns"] = PatternPairView(inputs.trace, second, inputs.layer, inputs.head,
                                                                    lang=inputs.lang)
        self._show(inputs)
        return [probabilities.layout, patterns.layout]

    def update(self, inputs, changed) -> None:
        settings = settings_text(**inputs.sampling, words=self.context.words)
        self.views["comparison"].update(aligned(inputs), settings)
        self.views["compare_patterns"].update(inputs.trace, inputs.compare_trace or inputs.trace, inputs.layer,
                                              inputs.head)
        self._show(inputs)

    def _show(self, inputs) -> None:
        shown = inputs.compare_trace is not None
        self.views["comparison"].layout.visible = shown
        self.views["compare_patterns"].layout.visible = shown


SECTION = Section(
    key="compare", order=90, view=CompareSection, depends_on=("probabilities", "layer", "head", "compare_trace"),
    controls=("layer", "head"), in_report=False,
    explanation=Explanation("explain.compare.title", "explain.compare.text", "Δ(t) = P(t | A) − P(t | B)",
                            (comparison.aligned_probabilities,)),
)
