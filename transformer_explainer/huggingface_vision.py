"""Adapters: Hugging Face models that read images (PyTorch).

- ``ImageModelAdapter``: a vision transformer (ViT, DeiT, CLIP's image tower alone, BEiT, DINOv2, ...): its
  self-attention over its own sequence, ``[CLS]`` (and DeiT's distillation token) then one token per patch.
- ``ImageTextAdapter``: CLIP (or another dual encoder with ``vision_model`` and ``text_model``): the image
  tower, the text tower for each prompt, and the image–text similarity the model computes.
- ``ImageToTextAdapter``: a ``VisionEncoderDecoderModel``: the encoder's self-attention over the image, the
  decoder's over the text, and the decoder's cross-attention from each text token to the image's tokens.

As for text models (``huggingface``), each capture is one forward pass with ``output_attentions=True,
output_hidden_states=True``, eager attention (noted when the model was switched), eval mode and no gradients.
A model whose attention is not one [heads, tokens, tokens] array over one token per patch (Swin's windows,
pooling models) is refused with a ``CaptureError``: its attention cannot be drawn on the image's patches.
"""

from __future__ import annotations

import warnings
import numpy as np

from .capture import (Capture, ImageTextCapture, PatchGrid, Similarity, make_capture, make_cross_attentions,
                      to_numpy)
from .errors import CaptureError, InputError
from .huggingface import eager_attention, evaluating, model_name
from .images import image_processor_of, prepare_image, tokenizer_of
from .inputs import token_labels

DEFAULT_CAPTION_TOKENS = 12  # a vision-to-text model given no text writes this many tokens itself (greedy)


def image_model_kind(model) -> str | None:
    """"image", "image-text" (CLIP-like), "image-to-text" (vision encoder-decoder), or None for a text model."""
    config = model.config
    if getattr(config, "is_encoder_decoder", False) and getattr(model, "main_input_name", "") == "pixel_values":
        return "image-to-text"
    if hasattr(model, "vision_model") and hasattr(model, "text_model") and hasattr(model, "get_image_features"):
        return "image-text"
    if getattr(model, "main_input_name", "") == "pixel_values":
        return "image"
    return None


def pair(value) -> tuple[int, int] | None:
    if isinstance(value, int):
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return None


def prefix_labels(n: int, vision_module) -> list[str]:
    """The tokens before the patches: ``[CLS]``, DeiT's ``[DIST]``, then any register tokens."""
    embeddings = getattr(vision_module, "embeddings", None)
    named = ["[CLS]"] + (["[DIST]"] if hasattr(embeddings, "distillation_token") else [])
    return (named + [f"[REG {i + 1}]" for i in range(n - len(named))])[:n]


def patch_labels(rows: int, cols: int) -> list[str]:
    """Each patch named by its place on the grid, (row, column), counted from the top left."""
    return [f"({row}, {col})" for row in range(rows) for col in range(cols)]


def torch_pixels(model, pixel_values: np.ndarray):
    import torch

    parameter = next(model.parameters())
    return torch.as_tensor(pixel_values, dtype=parameter.dtype, device=parameter.device)


def warn_once(adapter, notes: list[str]) -> None:
    eager = [note for note in notes if "attn_implementation='eager'" in note]
    if eager and not adapter.warned:
        warnings.warn(eager[0], stacklevel=5)
        adapter.warned = True


def image_capture(model, vision_module, vision_config, attentions, hidden_states, prepared, notes,
                  name: str) -> Capture:
    """The image tower's capture: its tokens named, its patches placed on the picture's grid."""
    if not attentions or any(layer is None for layer in attentions):
        raise CaptureError(f"{type(model).__name__} returned no attention weights for the image (asked with "
                           f"output_attentions=True, attn_implementation='eager'): it may have no attention layers")
    shape = tuple(attentions[0].shape)
    patch = pair(getattr(vision_config, "patch_size", None))
    height, width = prepared.pixel_values.shape[-2:]
    if patch is None or len(shape) != 4 or shape[0] != 1 or shape[-1] != shape[-2]:
        raise CaptureError(f"{type(model).__name__}'s attention is not one [heads, tokens, tokens] array over the "
                           f"image's patches (the first layer's is {list(shape)}): it cannot be drawn on the image "
                           f"(windowed or pooled attention, as in Swin, is not shown)")
    rows, cols = height // patch[0], width // patch[1]
    first = shape[-1] - rows * cols
    if first < 0 or any(tuple(layer.shape)[-1] != shape[-1] for layer in attentions):
        raise CaptureError(f"{type(model).__name__}'s attention is over {shape[-1]} tokens, not one per patch of its "
                           f"{rows} × {cols} grid ({patch[0]}×{patch[1]}-pixel patches): it cannot be drawn on the "
                           f"image")
    tokens = prefix_labels(first, vision_module) + patch_labels(rows, cols)
    grid = PatchGrid(rows, cols, first, prepared.picture)
    return make_capture(tokens, list(attentions), list(hidden_states or ()), model_name=name, notes=notes,
                        patches=grid)


class ImageModelAdapter:
    """A vision transformer: ``capture(image)``."""

    kind = "image"

    def __init__(self, model, processor=None):
        self.model, self.processor, self.tokenizer = model, processor, None
        self.name = model_name(model)
        self.max_tokens = None
        self.warned = False

    def capture(self, image=None, text=None) -> Capture:
        import torch

        if text is not None:
            raise InputError(f"{type(self.model).__name__} reads images only: text is for CLIP-like or "
                             f"vision-to-text models")
        prepared = prepare_image(image, self.processor, self.model.config, self.name)
        notes = list(prepared.notes)
        with evaluating(self.model), eager_attention(self.model, notes), torch.no_grad():
            try:
                outputs = self.model(pixel_values=torch_pixels(self.model, prepared.pixel_values),
                                     output_attentions=True, output_hidden_states=True, return_dict=True)
            except TypeError as error:
                if "output_attentions" not in str(error):
                    raise
                raise CaptureError(f"{type(self.model).__name__} takes no output_attentions: it has no attention to "
                                   f"show (a convolutional network, such as ConvNeXt or ResNet)") from None
        warn_once(self, notes)
        return image_capture(self.model, self.model, self.model.config, getattr(outputs, "attentions", None),
                             getattr(outputs, "hidden_states", None), prepared, notes, self.name)


def as_texts(text) -> list[str]:
    if text is None:
        return []
    texts = [text] if isinstance(text, str) else list(text)
    if not all(isinstance(item, str) for item in texts):
        raise InputError("text must be a string or a list of strings")
    empty = next((i for i, item in enumerate(texts) if not item.strip()), None)
    if empty is not None:
        raise InputError(f"text {empty + 1} is empty: give at least one character" if len(texts) > 1 else
                         "the text is empty: give at least one character")
    return texts


def need_tokenizer(tokenizer, name: str, what: str):
    if tokenizer is None or not callable(tokenizer):
        raise InputError(f"{name} needs a tokenizer to read {what}: give the model's processor, which holds both, "
                         f"e.g. Explainer(model, AutoProcessor.from_pretrained(...))")
    return tokenizer


class ImageTextAdapter:
    """CLIP: ``capture(image, text)``, ``text`` one prompt or several (compared with the image)."""

    kind = "image-text"

    def __init__(self, model, processor=None):
        self.model, self.processor = model, processor
        self.tokenizer = tokenizer_of(processor)
        self.name = model_name(model)
        self.max_tokens = getattr(model.text_model.config, "max_position_embeddings", None)
        self.warned = False

    def tokens_of(self, texts: list[str]):
        tokenizer = need_tokenizer(self.tokenizer, self.name, "text prompts")
        encoded = tokenizer(texts, padding=True, return_tensors="pt")
        lengths = encoded["attention_mask"].sum(dim=1).tolist()
        for i, length in enumerate(lengths):
            if self.max_tokens and length > self.max_tokens:
                raise InputError(f"text {i + 1} is {length} tokens long, but {self.name}'s text tower reads at most "
                                 f"{self.max_tokens}: shorten it")
        return encoded, lengths

    def capture(self, image=None, text=None) -> ImageTextCapture | Capture:
        import torch

        texts = as_texts(text)
        prepared = prepare_image(image, self.processor, self.model.vision_model.config, self.name)
        notes = list(prepared.notes)
        pixels = torch_pixels(self.model, prepared.pixel_values)
        with evaluating(self.model), eager_attention(self.model, notes), torch.no_grad():
            if not texts:  # the image tower alone
                outputs = self.model.vision_model(pixel_values=pixels, output_attentions=True,
                                                  output_hidden_states=True, return_dict=True)
                warn_once(self, notes)
                image = image_capture(self.model, self.model.vision_model, self.model.vision_model.config,
                                      outputs.attentions, outputs.hidden_states, prepared, notes, self.name)
                return ImageTextCapture(image, (), model_name=self.name, notes=tuple(notes))
            encoded, lengths = self.tokens_of(texts)
            device = pixels.device
            outputs = self.model(pixel_values=pixels, input_ids=encoded["input_ids"].to(device),
                                 attention_mask=encoded["attention_mask"].to(device), output_attentions=True,
                                 output_hidden_states=True, return_dict=True)
        warn_once(self, notes)
        vision, text_output = outputs.vision_model_output, outputs.text_model_output
        image = image_capture(self.model, self.model.vision_model, self.model.vision_model.config,
                              vision.attentions, vision.hidden_states, prepared, notes, self.name)
        if not text_output.attentions:
            raise CaptureError(f"{type(self.model).__name__} returned no attention weights for the text")
        captures = []
        for i, length in enumerate(lengths):  # each prompt without the padding the batch gave it
            ids = encoded["input_ids"][i, :length].tolist()
            captures.append(make_capture(token_labels(self.tokenizer, ids),
                                         [layer[i, :, :length, :length] for layer in text_output.attentions],
                                         [state[i, :length] for state in text_output.hidden_states or ()],
                                         token_ids=ids, model_name=self.name, notes=notes))
        logits = to_numpy(outputs.logits_per_image[0]).astype(np.float32)
        cosines = to_numpy(outputs.image_embeds @ outputs.text_embeds.T)[0].astype(np.float32)
        probabilities = to_numpy(outputs.logits_per_image.softmax(dim=-1)[0]).astype(np.float32)
        return ImageTextCapture(image, tuple(captures), Similarity(texts, logits, cosines, probabilities),
                                model_name=self.name, notes=tuple(notes))


class ImageToTextAdapter:
    """A ``VisionEncoderDecoderModel``: ``capture(image, text)``; with no text, the model writes its own
    (greedy decoding, ``max_new_tokens``) and that is what is shown."""

    kind = "image-to-text"

    def __init__(self, model, processor=None, max_new_tokens: int = DEFAULT_CAPTION_TOKENS):
        self.model, self.processor = model, processor
        self.tokenizer = tokenizer_of(processor)
        self.name = model_name(model)
        decoder = model.decoder.config
        self.max_tokens = next((getattr(decoder, name) for name in ("n_positions", "max_position_embeddings")
                                if isinstance(getattr(decoder, name, None), int)), None)
        self.max_new_tokens = max_new_tokens
        self.warned = False

    def start_token(self) -> int:
        start = getattr(self.model.config, "decoder_start_token_id", None)
        if start is None:
            start = getattr(self.model.generation_config, "decoder_start_token_id", None)
        if start is None:
            raise CaptureError(f"{self.name} has no decoder_start_token_id in its config: the decoder cannot start")
        return int(start)

    def decoder_ids(self, text: str | None, pixels, notes: list[str]) -> list[int]:
        """The start token, then the text's tokens; or what the model writes itself when there is no text."""
        if text is not None:
            tokenizer = need_tokenizer(self.tokenizer, self.name, "text")
            ids = [self.start_token()] + list(tokenizer(text, add_special_tokens=False)["input_ids"])
            if self.max_tokens and len(ids) > self.max_tokens:
                raise InputError(f"the text is {len(ids) - 1} tokens long, but {self.name}'s decoder reads at most "
                                 f"{self.max_tokens - 1} after its start token: shorten it")
            return ids
        sequences = self.model.generate(pixel_values=pixels, max_new_tokens=self.max_new_tokens, do_sample=False,
                                        num_beams=1)
        ids = [int(i) for i in sequences[0].tolist()]
        notes.append(f"no text was given: the decoder's tokens are the model's own greedy caption "
                     f"({len(ids) - 1} tokens after the start token)")
        return ids

    def capture(self, image=None, text=None) -> ImageTextCapture:
        import torch

        texts = as_texts(text)
        if len(texts) > 1:
            raise InputError(f"{self.name} reads one text at a time (the caption its decoder reads); give one")
        prepared = prepare_image(image, self.processor, self.model.encoder.config, self.name)
        notes = list(prepared.notes)
        pixels = torch_pixels(self.model, prepared.pixel_values)
        with evaluating(self.model), eager_attention(self.model, notes), torch.no_grad():
            ids = self.decoder_ids(texts[0] if texts else None, pixels, notes)
            outputs = self.model(pixel_values=pixels, decoder_input_ids=torch.tensor([ids], device=pixels.device),
                                 output_attentions=True, output_hidden_states=True, return_dict=True)
        warn_once(self, notes)
        image = image_capture(self.model, self.model.encoder, self.model.encoder.config, outputs.encoder_attentions,
                              outputs.encoder_hidden_states, prepared, notes, self.name)
        if not outputs.cross_attentions or any(layer is None for layer in outputs.cross_attentions):
            raise CaptureError(f"{type(self.model).__name__} returned no cross-attention weights")
        labels = token_labels(self.tokenizer, ids) if self.tokenizer is not None else [str(i) for i in ids]
        decoder = make_capture(labels, list(outputs.decoder_attentions), list(outputs.decoder_hidden_states or ()),
                               token_ids=ids, model_name=self.name, notes=notes)
        cross = make_cross_attentions(outputs.cross_attentions, len(ids), image.n_tokens)
        return ImageTextCapture(image, (decoder,), cross_attentions=cross, model_name=self.name, notes=tuple(notes))


def image_adapter_for(model, processor):
    kind = image_model_kind(model)
    if kind == "image-to-text":
        return ImageToTextAdapter(model, processor)
    if kind == "image-text":
        return ImageTextAdapter(model, processor)
    if kind == "image":
        if image_processor_of(processor) is None and processor is not None:
            raise InputError(f"{type(model).__name__} reads images: give its image processor "
                             f"(AutoImageProcessor.from_pretrained(...)), or None and pass pixel_values; got "
                             f"{type(processor).__name__}")
        return ImageModelAdapter(model, processor)
    return None
