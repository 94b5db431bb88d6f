"""A model named on the command line (``generate --model NAME_OR_DIR``), ready to explain.

- ``demo``: gpt2_core's small random GPT-2 (no download, no PyTorch).
- A folder written by ``save_pretrained`` (config.json, the weights, the tokenizer files), or a Hugging Face
  id: read with ``transformers`` (``AutoModel`` with eager attention, ``AutoTokenizer``). An image model (ViT,
  DeiT, CLIP, a vision encoder-decoder: its config names an image size, or a vision tower) is read with its
  processor instead (``AutoProcessor``: preprocessor_config.json or processor_config.json). A Hub id is taken
  from the Hugging Face cache when it is there; otherwise it is downloaded (with huggingface_hub's progress
  bars) if the Hub answers within seconds, and else refused at once, naming what to download.
- Without PyTorch and transformers installed: GPT-2 checkpoints only, read by gpt2_core.

Every failure is a ``ModelLoadError`` that says what to do (one line on the command line).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from transformer_explainer.gpt2_core.demo import DEMO_MODEL, demo_model
from transformer_explainer.gpt2_core.loading import hub_unreachable

from .errors import ModelLoadError

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model")
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
INSTALL_HINT = "pip install torch transformers"


def has_transformers() -> bool:
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("torch", "transformers"))
    except (ImportError, ValueError):  # a broken or blocked install counts as none
        return False


def looks_like_path(name: str) -> bool:
    return Path(name).exists() or name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def load_explainer(name: str, revision: str | None = None):
    """An ``Explainer`` for the model called ``name`` (see the module's docstring)."""
    from .explainer import Explainer

    if name == DEMO_MODEL:
        return Explainer(demo_model())
    if looks_like_path(name):
        check_folder(Path(name).expanduser())
    if not has_transformers():
        return Explainer(load_with_gpt2_core(name, revision))
    model, tokenizer = load_with_transformers(name, revision)
    return Explainer(model, tokenizer)


def check_folder(folder: Path) -> None:
    """A local checkpoint folder, checked before transformers reads it (its own errors are long and generic)."""
    if not folder.exists():
        raise ModelLoadError(f"there is no folder {folder.absolute()}: pass a folder written by save_pretrained "
                             f"(config.json, the weights, the tokenizer files) or a Hugging Face id such as "
                             f"bert-base-uncased")
    if not folder.is_dir():
        raise ModelLoadError(f"{folder} is a file: pass the folder that holds config.json, the weights and the "
                             f"tokenizer files")
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"the folder {folder} has no config.json: it is not a saved model (save one with "
                             f"model.save_pretrained(folder) and tokenizer.save_pretrained(folder))")
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        raise ModelLoadError(f"the folder {folder} has no weights ({' or '.join(WEIGHT_FILES[::2])}): save them with "
                             f"model.save_pretrained({str(folder)!r})")
    if is_image_config(read_config(folder)):
        if not any((folder / name).is_file() for name in PROCESSOR_FILES):
            raise ModelLoadError(f"the folder {folder} holds an image model but no image processor "
                                 f"({' or '.join(PROCESSOR_FILES)}): save it with processor.save_pretrained("
                                 f"{str(folder)!r})")
        return
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(f"the folder {folder} has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, ...): "
                             f"save them with tokenizer.save_pretrained({str(folder)!r})")


def read_config(folder: Path) -> dict:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def model_type(folder: Path) -> str | None:
    return read_config(folder).get("model_type")


def is_image_config(config) -> bool:
    """Whether a model's config (a dict, or a transformers config) is an image model's: a vision encoder-decoder,
    a model with a vision tower (CLIP), or one that reads images of a size in patches (ViT, DeiT)."""
    values = config if isinstance(config, dict) else config.to_dict()
    encoder = values.get("encoder") if isinstance(values.get("encoder"), dict) else {}
    return (values.get("model_type") == "vision-encoder-decoder" or "vision_config" in values
            or ("image_size" in values and "patch_size" in values) or "image_size" in encoder)


def load_with_gpt2_core(name: str, revision: str | None):
    from transformer_explainer.gpt2_core import GPT2CoreError, load_model

    folder = Path(name).expanduser()
    if folder.is_dir() and model_type(folder) not in (None, "gpt2"):
        raise ModelLoadError(f"{name} is a {model_type(folder)!r} model: reading it needs PyTorch and transformers "
                             f"({INSTALL_HINT}); without them only GPT-2 checkpoints can be read")
    try:
        return load_model(name, revision=revision)
    except GPT2CoreError as error:
        raise ModelLoadError(f"{error} (without PyTorch and transformers only GPT-2 checkpoints can be read: "
                             f"{INSTALL_HINT})") from None


def load_with_transformers(name: str, revision: str | None):
    """(model, tokenizer) with transformers; a Hub id comes from the cache, or is downloaded when the Hub answers."""
    import transformers
    from huggingface_hub import constants

    transformers.utils.logging.set_verbosity_error()  # its warnings and "Loading weights" bars are not ours
    transformers.utils.logging.disable_progress_bar()
    local = Path(name).expanduser().is_dir()
    source = str(Path(name).expanduser()) if local else name
    if not local:
        try:
            return read_transformers(source, revision, local_files_only=True)
        except OSError:
            pass  # not (all) in the cache
        if constants.HF_HUB_OFFLINE:
            raise not_downloadable(name, "HF_HUB_OFFLINE is set") from None
        unreachable = hub_unreachable()
        if unreachable:
            raise not_downloadable(name, f"the Hugging Face Hub cannot be reached: {unreachable}") from None
    return read_transformers(source, revision, local_files_only=local)


def not_downloadable(name: str, why: str) -> ModelLoadError:
    return ModelLoadError(f"{name} is not in the Hugging Face cache and cannot be downloaded ({why}): download it on "
                          f"a machine with internet (hf download {name}, or huggingface-cli download {name}) and copy "
                          f"the cache, or save it there with save_pretrained and pass --model FOLDER")


def read_transformers(source: str, revision: str | None, local_files_only: bool):
    """(model, tokenizer), or for an image model (model, processor)."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer, VisionEncoderDecoderModel

    options = dict(revision=revision, local_files_only=local_files_only)
    try:
        config = AutoConfig.from_pretrained(source, **options)
        model_class = VisionEncoderDecoderModel if config.model_type == "vision-encoder-decoder" else AutoModel
        if is_image_config(config):
            tokenizer = read_processor(source, config, options)
        else:
            tokenizer = AutoTokenizer.from_pretrained(source, **options)
        try:
            model = model_class.from_pretrained(source, attn_implementation="eager", **options)
        except TypeError:  # an older transformers, or a model that takes no attn_implementation
            model = model_class.from_pretrained(source, **options)
    except OSError as error:
        if local_files_only and not Path(source).is_dir():
            raise  # the caller tries the Hub next
        raise ModelLoadError(explain_os_error(source, error)) from None
    except (ValueError, KeyError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(f"transformers cannot read {source}: {first}") from None
    return model.eval(), tokenizer


def read_processor(source: str, config, options: dict):
    """An image model's processor: the joint one (image processor and tokenizer) where it was saved, else the image
    processor, paired with the tokenizer for a model that reads text too (CLIP, a vision encoder-decoder)."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    from .images import image_processor_of, tokenizer_of

    reads_text = config.model_type == "vision-encoder-decoder" or hasattr(config, "text_config")
    processor = AutoProcessor.from_pretrained(source, **options)
    if image_processor_of(processor) is not None and (tokenizer_of(processor) is not None or not reads_text):
        return processor
    image_processor = AutoImageProcessor.from_pretrained(source, **options)
    return (image_processor, AutoTokenizer.from_pretrained(source, **options)) if reads_text else image_processor


def explain_os_error(source: str, error: OSError) -> str:
    text = str(error)
    if "not a valid model identifier" in text or "Repository Not Found" in text or "404" in text:
        return (f"unknown model {source!r}: no such folder here and no such model on the Hugging Face Hub (check the "
                f"spelling, e.g. bert-base-uncased or openai-community/gpt2; a gated model needs `hf auth login`)")
    if "couldn't connect" in text or "offline" in text.lower():
        return not_downloadable(source, "the Hub cannot be reached").args[0]
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f"cannot read {source}: {first}"
