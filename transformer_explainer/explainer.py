"""``Explainer``: any model's attention and hidden states, shown with the project's own views (``viz``).

    explainer = Explainer(model, tokenizer)           # gpt2_core, Hugging Face, or your own nn.Module
    explainer.show_attention(inputs["input_ids"])     # in a notebook: per-head heatmaps with selectors
    explainer.show_hidden_states("some text")         # norms, heat strips, cosine similarity per layer
    explainer.report(["a text", "another"], "report.html")

    Explainer(vit, image_processor).show_attention(image)         # ViT, DeiT: over the patches, drawn on the image
    Explainer(clip, clip_processor).show_attention(image=image, text=["a cat", "a dog"])
    Explainer.from_arrays(tokens, attentions=[...], hidden_states=[...])   # JAX, TensorFlow, NumPy, ...

Which adapter reads the model is decided once, here; each lives in its own module (``gpt2_core_model``,
``huggingface``, ``huggingface_vision``, ``torch_hooks``, ``arrays``) and turns one input into a ``Capture``
(an ``ImageTextCapture`` for a model with an image tower and a text tower).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from .capture import Capture, ImageTextCapture
from .errors import CaptureError, ExplainerError, InputError
from .images import is_image_input
from .inputs import check_tokenizer, encode

# Every value a view shows travels with the page (its selectors run there): beyond this, a notebook output or a
# report gets too heavy for a browser (BERT-base's 144 heads at 512 tokens would be 151 MB).
MAX_VIEW_MEGABYTES = 64

FRAMEWORK_HINT = ("Explainer reads gpt2_core models and PyTorch models (Hugging Face transformers, or your own "
                  "torch.nn.Module); for TensorFlow, JAX or anything else, compute the attention there and pass "
                  "the arrays: Explainer.from_arrays(tokens, attentions=[...], hidden_states=[...])")


def adapter_for(model, tokenizer, attention_modules, attention_output, hidden_state_modules):
    from transformer_explainer.gpt2_core import GPT2

    from .huggingface import HuggingFaceAdapter, is_hf_model
    from .torch_hooks import TorchHooksAdapter, is_torch_module

    hooks_asked = any(option is not None for option in (attention_modules, attention_output, hidden_state_modules))
    if isinstance(model, GPT2):
        if hooks_asked:
            raise ExplainerError("attention_modules, attention_output and hidden_state_modules are for PyTorch "
                                 "modules; a gpt2_core model gives its attention by hook name already")
        from .gpt2_core_model import Gpt2CoreAdapter
        return Gpt2CoreAdapter(model, tokenizer)
    if is_hf_model(model) and not hooks_asked:
        from .huggingface_vision import image_adapter_for

        return image_adapter_for(model, tokenizer) or HuggingFaceAdapter(model, tokenizer)
    if is_torch_module(model):
        return TorchHooksAdapter(model, tokenizer, attention_modules=attention_modules,
                                 attention_output=attention_output, hidden_state_modules=hidden_state_modules)
    raise ExplainerError(f"cannot read a {type(model).__module__}.{type(model).__name__}: {FRAMEWORK_HINT}")


class Explainer:
    """Attention heatmaps and hidden-state views for one model.

    ``model``: a gpt2_core ``GPT2``, a Hugging Face ``transformers`` PyTorch model (text models, and image models:
    ViT, DeiT, CLIP, a ``VisionEncoderDecoderModel``), or any ``torch.nn.Module`` (its attention found by forward
    hooks; see ``torch_hooks``). ``tokenizer``: a Hugging Face tokenizer, gpt2_core's ``Tokenizer``, any function
    from text to token ids, or None (then pass token ids); for an image model, its processor: an image processor,
    a processor that holds an image processor and a tokenizer (``CLIPProcessor``, ``TrOCRProcessor``), or None
    (then pass ``pixel_values``). For a module whose attention the hooks cannot find: ``attention_modules`` (names
    or modules), ``attention_output`` (output -> attention tensor) and ``hidden_state_modules``."""

    def __init__(self, model, tokenizer=None, *, attention_modules: Sequence | None = None,
                 attention_output: Callable | None = None, hidden_state_modules: Sequence | None = None):
        check_tokenizer(tokenizer)
        self.adapter = adapter_for(model, tokenizer, attention_modules, attention_output, hidden_state_modules)
        self.model = model

    @classmethod
    def from_arrays(cls, tokens, attentions: Sequence | None = None, hidden_states: Sequence | None = None, *,
                    hidden_state_labels: Sequence[str] | None = None, name: str = "arrays") -> "Explainer":
        """An explainer of values computed elsewhere: ``attentions`` one [heads, n, n] array per layer,
        ``hidden_states`` one [n, width] per point (a batch dimension of 1 is dropped), from any framework."""
        from .arrays import ArraysAdapter

        explainer = cls.__new__(cls)
        explainer.adapter = ArraysAdapter(tokens, attentions, hidden_states, hidden_state_labels=hidden_state_labels,
                                          name=name)
        explainer.model = None
        return explainer

    @property
    def name(self) -> str:
        return self.adapter.name

    @property
    def tokenizer(self):
        return self.adapter.tokenizer

    @property
    def reads_images(self) -> bool:
        """Whether the model reads images (ViT, DeiT, CLIP, a vision encoder-decoder): its inputs are images."""
        return getattr(self.adapter, "kind", "text") != "text"

    # -- the numbers -------------------------------------------------------------------------------------------

    def capture(self, inputs=None, *, image=None, text=None) -> Capture | ImageTextCapture:
        """One forward pass's attention and hidden states. ``inputs``: text, token ids ([n] or [1, n]: a
        list, an array, a tensor) or a dict of model inputs (a Hugging Face ``BatchEncoding``); none for an
        explainer made ``from_arrays``.

        For an image model, ``inputs`` (or ``image``) is the image: a PIL image, a ``pathlib.Path``, an array
        [height, width, 3] or ``pixel_values`` [1, 3, height, width]; ``text``: CLIP's prompts (one or a list),
        or the text a vision-to-text model's decoder reads (none: the model's own caption). A vision
        transformer gives a ``Capture`` with ``patches``; CLIP and vision-to-text models an
        ``ImageTextCapture``."""
        from .arrays import ArraysAdapter

        if isinstance(self.adapter, ArraysAdapter):
            if image is not None or text is not None:
                raise InputError("this explainer shows the arrays it was made from: call it without an input")
            return self.adapter.capture(inputs)
        if self.reads_images:
            if inputs is not None and image is not None:
                raise InputError("give the image once: explainer.capture(image) or explainer.capture(image=image)")
            return self.adapter.capture(image=image if image is not None else inputs, text=text)
        if image is not None or is_image_input(inputs):
            raise InputError(f"{self.name} reads text, not images: an image needs a vision model (ViT, DeiT, CLIP, "
                             f"a VisionEncoderDecoderModel) and its processor: Explainer(model, processor)")
        if text is not None:
            if inputs is not None:
                raise InputError("give the input once: explainer.capture(text) or explainer.capture(text=text)")
            inputs = text
        return self.adapter.capture(encode(inputs, self.adapter.tokenizer))

    # -- Bokeh views (viz) -------------------------------------------------------------------------------------

    def attention_view(self, inputs=None, *, image=None, text=None, layer: int = 0, head: int = 0,
                       query: int | None = None, rollout: bool = False, name: str = ""):
        """The attention view (Bokeh models) of ``inputs``: a ``viz.attention_explorer.AttentionExplorer`` for
        text, a ``viz.image_attention.ImageAttentionView`` for a vision transformer, an
        ``image_views.ImageTextAttentionView`` for CLIP and vision-to-text models."""
        return attention_view(self.capture(inputs, image=image, text=text), layer=layer, head=head, query=query,
                              rollout=rollout, name=name)

    def hidden_states_view(self, inputs=None, *, image=None, text=None, layer: int | None = None, name: str = ""):
        """A ``viz.hidden_states.HiddenStatesView`` (Bokeh models) of ``inputs`` (an
        ``image_views.ImageTextHiddenStatesView`` for CLIP and vision-to-text models)."""
        return hidden_states_view(self.capture(inputs, image=image, text=text), layer=layer, name=name)

    # -- notebooks ---------------------------------------------------------------------------------------------

    def show_attention(self, inputs=None, *, image=None, text=None, layer: int = 0, head: int = 0,
                       query: int | None = None, rollout: bool = False):
        """Per-head attention heatmaps with layer, head and query-token selectors, and an all-heads overview,
        as a notebook widget (Panel; displays itself in Jupyter, JupyterLab and VS Code).

        For an image, beside them the picture with the query's attention (``[CLS]`` by default; tap a patch to
        choose it) or the attention rollout (``rollout=True``) over its patches; for CLIP, each prompt's text
        tower and the image–text similarity; for a vision-to-text model, each text token's cross-attention
        drawn on the picture."""
        from .notebook import AttentionWidget

        capture = self.capture(inputs, image=image, text=text)
        return AttentionWidget(capture, attention_view(capture, layer=layer, head=head, query=query, rollout=rollout))

    def show_hidden_states(self, inputs=None, *, image=None, text=None, layer: int | None = None):
        """Per-layer hidden-state views (norms per token, heat strips per dimension, cosine similarity between
        tokens; for an image, its patches' norms drawn on it too) as a notebook widget."""
        from .notebook import HiddenStatesWidget

        capture = self.capture(inputs, image=image, text=text)
        return HiddenStatesWidget(capture, hidden_states_view(capture, layer=layer))

    # -- reports -----------------------------------------------------------------------------------------------

    def report(self, texts, path: str | Path, *, text=None, progress: bool | None = False) -> Path:
        """One standalone HTML file (all JavaScript inline; opens from file:// with no network): for each text
        (a string, or a list of inputs), every layer's attention heatmaps and the hidden-state views; for an
        explainer made ``from_arrays``, ``texts`` is None. For an image model, ``texts`` are the images (one, or
        a list) and ``text`` is CLIP's prompts (compared with every image) or the text a vision-to-text model's
        decoder reads. Returns the path written."""
        from .report import write_report

        if text is not None and not self.reads_images:
            raise InputError(f"text= goes with images, for CLIP and vision-to-text models; {self.name} reads text: "
                             f"give the texts as the first argument")
        if isinstance(texts, str) or (self.reads_images and not isinstance(texts, (list, tuple))):
            texts = [texts]
        return write_report(self, texts, path, text=text, progress=progress)


def check_size(nbytes: int, what: str, capture: Capture) -> None:
    megabytes = nbytes / 2 ** 20
    if megabytes > MAX_VIEW_MEGABYTES:
        raise InputError(f"the {what} of these {capture.n_tokens} tokens is {megabytes:.1f} MB, more than a page can "
                         f"carry ({MAX_VIEW_MEGABYTES} MB): shorten the text, or read the numbers with "
                         f"explainer.capture(...)")


def attention_bytes(capture: Capture) -> int:
    return sum(layer.nbytes for layer in capture.attentions)


def hidden_state_bytes(capture: Capture) -> int:
    similarities = len(capture.hidden_states) * capture.n_tokens ** 2 * 4  # a float32 [n, n] per state
    return sum(state.nbytes for state in capture.hidden_states) + similarities


def attention_view(capture: Capture | ImageTextCapture, *, layer: int = 0, head: int = 0, query: int | None = None,
                   rollout: bool = False, name: str = ""):
    from transformer_explainer.viz.attention_explorer import AttentionExplorer

    from .image_views import ImageTextAttentionView, image_attention_view

    if isinstance(capture, ImageTextCapture):
        cross = sum(layer.nbytes for layer in capture.cross_attentions)
        check_size(sum(map(attention_bytes, capture.captures)) + cross, "attention", capture.image)
    elif not capture.attentions:
        raise CaptureError(f"no attention was captured from {capture.model_name or 'these arrays'}")
    else:
        check_size(attention_bytes(capture), "attention", capture)
    try:
        if isinstance(capture, ImageTextCapture):
            return ImageTextAttentionView(capture, layer=layer, head=head, query=query, rollout=rollout, name=name)
        if capture.patches is not None:
            return image_attention_view(capture, layer=layer, head=head, query=query, rollout=rollout, name=name)
        return AttentionExplorer(capture.attentions, capture.tokens, layer=layer, head=head, query=query, name=name)
    except IndexError as error:
        raise ExplainerError(str(error)) from None


def hidden_states_view(capture: Capture | ImageTextCapture, *, layer: int | None = None, name: str = ""):
    from transformer_explainer.viz.hidden_states import HiddenStatesView

    from .image_views import ImageTextHiddenStatesView

    image = capture.image if isinstance(capture, ImageTextCapture) else capture
    if not image.hidden_states:
        raise CaptureError(f"no hidden states were captured from {image.model_name or 'these arrays'}: for a "
                           f"module of your own, name them: Explainer(model, tokenizer, hidden_state_modules=[...])")
    captures = capture.captures if isinstance(capture, ImageTextCapture) else (capture,)
    check_size(sum(map(hidden_state_bytes, captures)), "hidden states", image)
    try:
        if isinstance(capture, ImageTextCapture):
            return ImageTextHiddenStatesView(capture, layer=layer, name=name)
        return HiddenStatesView(capture.hidden_states, capture.tokens, labels=capture.hidden_state_labels,
                                layer=layer, name=name, patches=capture.patches)
    except IndexError as error:
        raise ExplainerError(str(error)) from None
