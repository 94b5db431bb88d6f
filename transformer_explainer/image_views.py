"""The views of one image model's capture, put together: which ``viz`` views show what, for the notebook widgets
and the report alike.

- A vision transformer (a ``Capture`` with ``patches``): ``viz.image_attention.ImageAttentionView`` and
  ``viz.hidden_states.HiddenStatesView`` with the patch norms on the picture.
- CLIP (an ``ImageTextCapture`` with ``similarity``): the image tower as above, each prompt's text tower
  (``AttentionExplorer``, ``HiddenStatesView``), and the similarity per prompt (``SimilarityView``).
- A vision-to-text model (an ``ImageTextCapture`` with ``cross_attentions``): the encoder as above, the
  cross-attention on the picture per text token (``CrossAttentionView``), and the decoder's self-attention.

Each part is headed by a line of text (a Bokeh ``Div``); a prompt in it is escaped, as the report escapes texts.
Models are named with ``<name>image-``, ``<name>text<i>-``, ``<name>decoder-`` and ``<name>cross-attention-``
prefixes, so several parts (and several sections of a report) share one page.
"""

from __future__ import annotations

import html

from .capture import Capture, ImageTextCapture


def heading(text: str, level: int = 4, name: str | None = None):
    from bokeh.models import Div

    return Div(text=f"<h{level}>{text}</h{level}>", disable_math=True, sizing_mode="stretch_width", name=name)


def describe_tokens(capture: Capture, lang: str = "en") -> str:
    """A line about the tokens: how many, and for an image how they lie on it (plain text)."""
    from transformer_explainer.viz.i18n import translator

    patches = capture.patches
    if patches is None:
        return f"{capture.n_tokens} tokens"
    return translator(lang)("image.tokens", n=capture.n_tokens, first=patches.first, rows=patches.rows,
                            cols=patches.cols)


def image_attention_view(capture: Capture, *, layer: int = 0, head: int = 0, query: int | None = None,
                         rollout: bool = False, name: str = "", lang: str = "en"):
    from transformer_explainer.viz.image_attention import ImageAttentionView

    return ImageAttentionView(capture.attentions, capture.tokens, capture.patches, layer=layer, head=head, query=query,
                              rollout=rollout, name=name, lang=lang)


class ImageTextAttentionView:
    """``image`` (an ``ImageAttentionView``), ``texts`` (an ``AttentionExplorer`` per prompt, or the decoder's),
    ``similarity`` (a ``SimilarityView``, CLIP) and ``cross`` (a ``CrossAttentionView``, a vision-to-text model),
    each None where the model has none; ``layout``. ``select`` chooses in the image's view."""

    def __init__(self, capture: ImageTextCapture, *, layer: int = 0, head: int = 0, query: int | None = None,
                 rollout: bool = False, name: str = "", lang: str = "en"):
        from bokeh.layouts import column

        from transformer_explainer.viz.attention_explorer import AttentionExplorer
        from transformer_explainer.viz.i18n import translator
        from transformer_explainer.viz.image_attention import CrossAttentionView
        from transformer_explainer.viz.image_text_similarity import SimilarityView

        words = translator(lang)
        decoder = bool(capture.cross_attentions)
        patches = capture.image.patches
        parts = [heading(words("image.heading.encoder" if decoder else "image.heading.image_tower"))]
        self.image = image_attention_view(capture.image, layer=layer, head=head, query=query, rollout=rollout,
                                          name=f"{name}image-", lang=lang)
        parts.append(self.image.layout)
        self.cross = None
        if decoder:
            text = capture.texts[0]
            self.cross = CrossAttentionView(capture.cross_attentions, text.tokens, capture.image.tokens, patches,
                                            name=name, lang=lang)
            parts += [heading(words("image.heading.cross")), heading(words("image.explain.cross"), level=5),
                      self.cross.layout]
        self.texts = []
        for i, text in enumerate(capture.texts):
            title, prefix = text_title(capture, i, words, name)
            parts.append(title)
            explorer = AttentionExplorer(text.attentions, text.tokens, name=prefix)
            self.texts.append(explorer)
            parts.append(explorer.layout)
        self.similarity = None
        if capture.similarity is not None:
            similarity = capture.similarity
            self.similarity = SimilarityView(similarity.texts, similarity.logits, similarity.cosines,
                                             similarity.probabilities, name=name, lang=lang)
            parts += [heading(words("image.heading.similarity")), self.similarity.layout]
        self.layout = column(*parts, sizing_mode="stretch_width", name=f"{name}image-text-attention")

    def select(self, layer: int | None = None, head: int | None = None, query: int | None = None,
               rollout: bool | None = None) -> None:
        self.image.select(layer, head, query, rollout)


def text_title(capture: ImageTextCapture, i: int, words, name: str) -> tuple:
    """The heading of the ``i``-th text's views (the decoder's, or a text tower's with its prompt) and the prefix of
    their Bokeh names."""
    if capture.cross_attentions:
        return heading(words("image.heading.decoder")), f"{name}decoder-"
    prompt = capture.similarity.texts[i] if capture.similarity is not None else " ".join(capture.texts[i].tokens)
    return (heading(f"{html.escape(words('image.heading.text_tower', number=i + 1))}: "
                    f"<code>{html.escape(prompt)}</code>"), f"{name}text{i}-")


class ImageTextHiddenStatesView:
    """``image`` (the image tower's or the encoder's ``HiddenStatesView``, with the patch norms on the picture) and
    ``texts`` (one per prompt, or the decoder's); ``layout``. ``select`` chooses in the image's view."""

    def __init__(self, capture: ImageTextCapture, *, layer: int | None = None, name: str = "", lang: str = "en"):
        from bokeh.layouts import column

        from transformer_explainer.viz.hidden_states import HiddenStatesView
        from transformer_explainer.viz.i18n import translator

        words = translator(lang)
        decoder = bool(capture.cross_attentions)
        image = capture.image
        parts = [heading(words("image.heading.encoder" if decoder else "image.heading.image_tower"))]
        self.image = HiddenStatesView(image.hidden_states, image.tokens, labels=image.hidden_state_labels, layer=layer,
                                      name=f"{name}image-", patches=image.patches, lang=lang)
        parts.append(self.image.layout)
        self.texts = []
        for i, text in enumerate(capture.texts):
            if not text.hidden_states:
                continue
            title, prefix = text_title(capture, i, words, name)
            parts.append(title)
            view = HiddenStatesView(text.hidden_states, text.tokens, labels=text.hidden_state_labels, name=prefix)
            self.texts.append(view)
            parts.append(view.layout)
        self.layout = column(*parts, sizing_mode="stretch_width", name=f"{name}image-text-hidden-states")

    def select(self, layer: int) -> None:
        self.image.select(layer)
