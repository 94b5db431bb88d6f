"""What a user may pass as an image, and how it becomes the model's ``pixel_values``.

An image is a PIL image, a path to an image file, a NumPy array of a picture ([height, width, 3] or
[height, width] for grey, uint8 0..255 or floats 0..1), or ``pixel_values`` already prepared ([1, 3, H, W] or
[3, H, W]: a tensor or an array). A picture goes through the model's image processor (resized, rescaled,
normalized as the model was trained); without one, only prepared pixel values of the model's own size are
accepted. A grey or RGBA picture is converted to RGB (the processors expect three channels) and the capture's
notes say so. One image at a time: a batch is refused.

``picture``: the image shown under the attention is the one the model saw, its pixel values with the
processor's normalization undone (or, when no processor says how they were normalized, stretched to 0..255).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .capture import to_numpy
from .errors import InputError

PICTURE_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA in the last axis of a picture array
INSTALL_PILLOW = "pip install 'transformer-explainer[vision]'"


@dataclass
class PreparedImage:
    """``pixel_values``: float32 [1, channels, height, width], what the model reads; ``picture``: uint8
    [height, width, 3], what is drawn; ``notes``: what was done to the input on the way (a conversion)."""

    pixel_values: np.ndarray
    picture: np.ndarray
    notes: list[str] = field(default_factory=list)


def pil_image_class():
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image.Image


def is_pil_image(value) -> bool:
    image_class = pil_image_class()
    return image_class is not None and isinstance(value, image_class)


def is_image_input(value) -> bool:
    """A PIL image, an image file's path, or an array of 3 or 4 dimensions: what only an image model reads."""
    if is_pil_image(value) or isinstance(value, Path):
        return True
    shape = getattr(value, "shape", None)
    return shape is not None and len(shape) in (3, 4)


def is_processor_pair(value) -> bool:
    """(image processor, tokenizer), in either order: what a checkpoint without a joint processor gives."""
    return isinstance(value, tuple) and len(value) == 2 and sum(map(is_image_processor, value)) == 1


def image_processor_of(processor):
    """The image processor in ``processor``: itself, the ``image_processor`` of a processor that also holds a
    tokenizer (CLIPProcessor, TrOCRProcessor), or the image processor of a pair; None when there is none."""
    if processor is None:
        return None
    if is_processor_pair(processor):
        return next(part for part in processor if is_image_processor(part))
    inner = getattr(processor, "image_processor", None)
    if inner is not None:
        return inner
    return processor if is_image_processor(processor) else None


def tokenizer_of(processor):
    """The tokenizer in ``processor`` (CLIPProcessor, TrOCRProcessor, a pair), or ``processor`` itself when it is
    not an image processor (a tokenizer, a function), or None."""
    if processor is None:
        return None
    if is_processor_pair(processor):
        return next(part for part in processor if not is_image_processor(part))
    inner = getattr(processor, "tokenizer", None)
    if inner is not None:
        return inner
    return None if is_image_processor(processor) else processor


def is_image_processor(value) -> bool:
    try:
        from transformers.image_processing_utils import BaseImageProcessor
    except ImportError:
        BaseImageProcessor = ()
    return isinstance(value, BaseImageProcessor) or (
        hasattr(value, "preprocess") and hasattr(value, "image_mean") and not hasattr(value, "convert_ids_to_tokens"))


def open_image(path: Path):
    """The image file at ``path``, read with Pillow."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise InputError(f"reading the image file {path} needs Pillow ({INSTALL_PILLOW})") from None
    try:
        with Image.open(path) as image:
            image.load()
            return image
    except FileNotFoundError:
        raise InputError(f"there is no image file {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder: give an image file (PNG, JPEG, ...)") from None
    except UnidentifiedImageError:
        raise InputError(f"{path} is not an image Pillow can read (PNG, JPEG, GIF, BMP, WebP, ...)") from None
    except OSError as error:
        raise InputError(f"cannot read the image {path}: {error.strerror or error}") from None


def as_rgb(image, notes: list[str]):
    """A PIL image in RGB; a grey, RGBA or palette image is converted, and ``notes`` says so."""
    if image.mode == "RGB":
        return image
    what = {"L": "a greyscale image", "LA": "a greyscale image with transparency", "1": "a black-and-white image",
            "RGBA": "an RGBA image", "P": "a palette image", "CMYK": "a CMYK image"}.get(image.mode,
                                                                                    f"a {image.mode} image")
    dropped = " (its transparency dropped)" if "A" in image.mode or "transparency" in image.info else ""
    notes.append(f"the input was {what}: it was converted to RGB{dropped}, as the model reads three colour "
                 f"channels")
    return image.convert("RGB")


def picture_to_pil(array: np.ndarray):
    """A picture array ([H, W], [H, W, 1|3|4]; uint8 0..255 or floats 0..1) as a PIL image."""
    try:
        from PIL import Image
    except ImportError:
        raise InputError(f"turning an image array into pixel values needs Pillow ({INSTALL_PILLOW})") from None
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.dtype == np.uint8:
        values = array
    elif array.dtype.kind == "f":
        finite = np.isfinite(array).all()
        if not finite or array.min() < 0 or array.max() > 1:
            held = f"{array.min():g} to {array.max():g}" if finite else "NaN or infinite values"
            raise InputError(f"an image array of floats must hold values from 0 to 1 (or give uint8 values 0..255); "
                             f"this one holds {held}: if these are already the model's pixel_values, pass them as "
                             f"[1, 3, height, width]")
        values = np.round(array * 255).astype(np.uint8)
    elif array.dtype.kind in "iu":
        if array.min() < 0 or array.max() > 255:
            raise InputError(f"an image array of integers must hold values from 0 to 255, this one holds "
                             f"{array.min()} to {array.max()}")
        values = array.astype(np.uint8)
    else:
        raise InputError(f"an image array must hold numbers, got dtype {array.dtype}")
    return Image.fromarray(np.ascontiguousarray(values))


def expected_size(config) -> tuple[int, int] | None:
    """(height, width) of the images the model reads (its config's ``image_size``), or None if it does not say."""
    size = getattr(config, "image_size", None)
    if isinstance(size, int):
        return size, size
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return int(size[0]), int(size[1])
    return None


def classify(value, channels: int) -> tuple[str, object]:
    """("pil", image), ("picture", [H, W(, C)] array) or ("pixels", [1, C, H, W] array) for one image input."""
    if isinstance(value, Path):
        return "pil", open_image(value)
    if isinstance(value, str):
        raise InputError("a string is read as text: give an image as a PIL image, a pathlib.Path to the file, or an "
                         "array")
    if is_pil_image(value):
        return "pil", value
    if isinstance(value, (list, tuple)):
        if value and all(is_pil_image(item) or isinstance(item, Path) for item in value):
            if len(value) == 1:
                return classify(value[0], channels)
            raise InputError(f"a list of {len(value)} images: the explainer shows one image at a time; pass one")
        raise InputError("an image is a PIL image, a pathlib.Path, a NumPy array [height, width, 3] or pixel_values "
                         f"[1, 3, height, width]; got a {type(value).__name__}")
    if isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "__getitem__")):
        if "pixel_values" not in value:
            raise InputError(f"a dict of image inputs must hold 'pixel_values'; it has {', '.join(map(str, value))}")
        value = value["pixel_values"]
    try:
        array = to_numpy(value)
    except (TypeError, ValueError, RuntimeError):
        array = None
    if array is None or array.dtype == object or array.ndim == 0:
        raise InputError(f"an image is a PIL image, a pathlib.Path, a NumPy array [height, width, 3] or pixel_values "
                         f"[1, 3, height, width]; got a {type(value).__name__}")
    if array.ndim == 4:
        if array.shape[0] != 1:
            raise InputError(f"a batch of {array.shape[0]} images (shape {tuple(array.shape)}): the explainer shows "
                             f"one image at a time; pass one, e.g. pixel_values[0:1]")
        if array.shape[1] != channels:
            raise InputError(f"pixel_values must be [1, {channels}, height, width] (channels first), got shape "
                             f"{tuple(array.shape)}")
        return "pixels", array
    if array.ndim == 3 and array.shape[0] == channels and array.shape[-1] not in PICTURE_CHANNELS:
        return "pixels", array[None]
    if array.ndim == 3 and array.shape[-1] in PICTURE_CHANNELS:
        return "picture", array
    if array.ndim == 2:
        return "picture", array
    raise InputError(f"an image array must be a picture [height, width, 3] or pixel_values [1, {channels}, height, "
                     f"width], got shape {tuple(array.shape)}")


def prepare_image(value, processor, config, model_name: str) -> PreparedImage:
    """``value`` (see the module's docstring) as the model's pixel values and the picture to draw."""
    channels = int(getattr(config, "num_channels", 3) or 3)
    image_processor = image_processor_of(processor)
    if value is None:
        raise InputError("give an image: a PIL image, a pathlib.Path to an image file, an array, or pixel_values")
    kind, image = classify(value, channels)
    notes: list[str] = []
    if kind == "picture":
        image = picture_to_pil(image)
        kind = "pil"
    if kind == "pil":
        if image_processor is None:
            raise InputError(f"{model_name} reads pixel values: a picture needs the model's image processor to become "
                             f"them (resized and normalized as the model was trained): Explainer(model, "
                             f"AutoImageProcessor.from_pretrained(...)); or pass pixel_values [1, {channels}, height, "
                             f"width]")
        image = as_rgb(image, notes)
        try:
            pixels = image_processor(images=image, return_tensors="np")["pixel_values"]
        except ImportError as error:
            raise InputError(f"the image processor cannot run here: {error}") from None
        pixels = np.asarray(pixels, dtype=np.float32)
    else:
        pixels = np.asarray(image, dtype=np.float32)
        if not np.isfinite(pixels).all():
            raise InputError("the pixel values hold NaN or infinite values")
    check_size(pixels, config, model_name, image_processor is not None)
    return PreparedImage(np.ascontiguousarray(pixels), picture_of(pixels[0], image_processor, notes), notes)


def check_size(pixels: np.ndarray, config, model_name: str, has_processor: bool) -> None:
    size = expected_size(config)
    height, width = pixels.shape[-2:]
    if size is not None and (height, width) != size:
        hint = ("the image processor made them this size: give the one the model was saved with" if has_processor
                else "resize the image, or give the model's image processor, which does: Explainer(model, "
                     "AutoImageProcessor.from_pretrained(...))")
        raise InputError(f"{model_name} reads images of {size[0]}×{size[1]} pixels (its config's image_size), these "
                         f"pixel values are {height}×{width}: {hint}")


def picture_of(pixels: np.ndarray, image_processor, notes: list[str]) -> np.ndarray:  # [C, H, W] -> [H, W, 3] uint8
    """The pixels as the model saw them, drawable: the processor's normalization undone, or stretched to 0..255."""
    values = np.asarray(pixels, dtype=np.float64)
    mean, std = normalization(image_processor)
    if mean is not None:
        channels = values.shape[0]
        values = values * np.resize(std, channels)[:, None, None] + np.resize(mean, channels)[:, None, None]
        if not getattr(image_processor, "do_rescale", True):  # then the pixels were never brought to 0..1
            values = values / 255
    else:
        low, high = float(values.min()), float(values.max())
        values = (values - low) / (high - low) if high > low else np.zeros_like(values)
        notes.append("no image processor says how these pixel values were normalized: the picture under the "
                     "attention is them stretched to the full range of brightness")
    picture = np.clip(np.round(values * 255), 0, 255).astype(np.uint8).transpose(1, 2, 0)
    if picture.shape[-1] == 1:
        picture = np.repeat(picture, 3, axis=-1)
    return np.ascontiguousarray(picture[..., :3])


def normalization(image_processor) -> tuple[np.ndarray | None, np.ndarray | None]:
    if image_processor is None:
        return None, None
    if not getattr(image_processor, "do_normalize", False):
        return np.zeros(1), np.ones(1)
    mean, std = getattr(image_processor, "image_mean", None), getattr(image_processor, "image_std", None)
    if mean is None or std is None:
        return None, None
    return np.atleast_1d(np.asarray(mean, dtype=np.float64)), np.atleast_1d(np.asarray(std, dtype=np.float64))
