"""Embeddings: each token's id, its row of the token embedding, its position's row, and their sum."""

from transformer_explainer.gpt2_core import model
from transformer_explainer.viz.sections.embedding import EmbeddingView

from . import Explanation, Section, SectionView


class EmbeddingSection(SectionView):
    def build(self, inputs) -> list:
        view = self.views["embedding"] = EmbeddingView(inputs.trace, lang=inputs.lang)
        return [("steps.embedding.tokens", [view.tokens_figure]),
                ("steps.embedding.token", [view.token_embedding.figure]),
                ("steps.embedding.position", [view.position_embedding.figure]),
                ("steps.embedding.sum", [view.embedding_sum.figure])]

    def update(self, inputs, changed) -> None:
        self.views["embedding"].update(inputs.trace)

    def report(self, inputs) -> list:
        self.build(inputs)
        return [self.views["embedding"].layout]


SECTION = Section(
    key="embedding", order=20, view=EmbeddingSection, stages=("embedding",),
    explanation=Explanation("explain.embedding.title", "explain.embedding.text", "x₀[i] = W_te[token_i] + W_pe[i]",
                            (model.gpt2,)),
)
