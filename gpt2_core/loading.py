"""``load_model``: a GPT-2 checkpoint from the Hugging Face Hub (cached) or from a local directory.

A checkpoint is ``config.json``, ``model.safetensors`` (or ``pytorch_model.bin``), ``vocab.json``
and ``merges.txt``. ``huggingface_hub`` and ``safetensors`` are imported here, only when a file is
fetched or read, so the rest of gpt2_core runs where they do not exist (Pyodide).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from .config import GPT2Config
from .errors import ModelNotAvailableError, WeightsError
from .gpt2 import GPT2
from .tokenizer import Tokenizer
from .weights import params_from_hf_tensors

DEFAULT_MODEL = "openai-community/gpt2"
CONFIG_FILE, VOCAB_FILE, MERGES_FILE = "config.json", "vocab.json", "merges.txt"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # in order of preference
REQUIRED_FILES = (CONFIG_FILE, WEIGHT_FILES[0], VOCAB_FILE, MERGES_FILE)


def load_model(source: str | Path = DEFAULT_MODEL, *, revision: str | None = None, cache_dir: str | Path | None = None,
               progress: bool = True, local_files_only: bool = False, endpoint: str | None = None) -> GPT2:
    """Load a GPT-2-family model: a Hub id (``openai-community/gpt2``, ``distilgpt2``, ``gpt2-medium``...)
    or a local directory holding the checkpoint files."""
    if not isinstance(source, (str, Path)) or not str(source).strip():
        raise ModelNotAvailableError(f"a model is a Hugging Face id or a directory path, got {source!r}")
    files = (local_checkpoint_files(Path(source)) if looks_like_path(source)
             else hub_checkpoint_files(str(source), revision, cache_dir, progress, local_files_only, endpoint))
    return model_from_files(files, name=str(source))


def looks_like_path(source: str | Path) -> bool:
    text = str(source)
    return isinstance(source, Path) or Path(text).exists() or text.startswith((".", "/", "~")) or "\\" in text \
        or text.count("/") > 1


def local_checkpoint_files(directory: Path) -> dict[str, Path]:
    directory = directory.expanduser()
    if not directory.is_dir():
        raise ModelNotAvailableError(f"no model directory at {directory}: pass a directory holding "
                                     f"{', '.join(REQUIRED_FILES)}, or a Hugging Face id like {DEFAULT_MODEL!r}")
    files = {name: directory / name for name in (CONFIG_FILE, VOCAB_FILE, MERGES_FILE)}
    weights = next((directory / name for name in WEIGHT_FILES if (directory / name).is_file()), None)
    missing = [name for name, path in files.items() if not path.is_file()] + ([] if weights else [WEIGHT_FILES[0]])
    if missing:
        raise ModelNotAvailableError(f"the model directory {directory} lacks {', '.join(missing)} "
                                     f"(a GPT-2 checkpoint needs {', '.join(REQUIRED_FILES)})")
    files["weights"] = weights
    return files


def hub_checkpoint_files(repo_id: str, revision, cache_dir, progress: bool, local_files_only: bool,
                         endpoint: str | None) -> dict[str, Path]:
    """Fetch (or find in the cache) each file of a Hub checkpoint, with huggingface_hub's progress bars."""
    from huggingface_hub import errors as hub_errors
    from huggingface_hub import hf_hub_download

    def fetch(filename: str) -> Path:
        return Path(hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir,
                                    local_files_only=local_files_only, endpoint=endpoint))

    where = f"{repo_id!r}" + (f" at revision {revision!r}" if revision else "")
    try:
        with progress_bars(progress):
            files = {name: fetch(name) for name in (CONFIG_FILE, VOCAB_FILE, MERGES_FILE)}
            try:
                files["weights"] = fetch(WEIGHT_FILES[0])
            except hub_errors.RemoteEntryNotFoundError:
                files["weights"] = fetch(WEIGHT_FILES[1])
    except hub_errors.RepositoryNotFoundError:
        raise ModelNotAvailableError(f"there is no model {where} on the Hugging Face Hub (or it is private): "
                                     f"check the name, e.g. {DEFAULT_MODEL!r}") from None
    except hub_errors.RevisionNotFoundError:
        raise ModelNotAvailableError(f"the model {repo_id!r} has no revision {revision!r}") from None
    except hub_errors.RemoteEntryNotFoundError as error:
        raise ModelNotAvailableError(f"the model {where} lacks a file GPT-2 needs ({error}); "
                                     f"a GPT-2 checkpoint holds {', '.join(REQUIRED_FILES)}") from None
    except (hub_errors.LocalEntryNotFoundError, hub_errors.OfflineModeIsEnabled, OSError) as error:
        raise ModelNotAvailableError(offline_message(repo_id, where)) from error
    return files


def offline_message(repo_id: str, where: str) -> str:
    return (f"cannot download the model {where} from the Hugging Face Hub, and it is not in the local cache. "
            f"Connect to the internet and try again, or download {', '.join(REQUIRED_FILES)} from "
            f"https://huggingface.co/{repo_id} into a directory and pass that directory instead "
            f"(e.g. load_model('./gpt2') or --model ./gpt2).")


@contextlib.contextmanager
def progress_bars(enabled: bool):
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
    were_disabled = are_progress_bars_disabled()
    disable_progress_bars() if not enabled else None
    try:
        yield
    finally:
        if not enabled and not were_disabled:
            enable_progress_bars()


def read_weight_file(path: Path) -> dict:
    """All tensors of a safetensors (or, with PyTorch installed, a pytorch_model.bin) file, as NumPy arrays."""
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError, TypeError) as error:
            raise WeightsError(f"cannot read {path}: {error} (the file may be truncated or corrupt; "
                               f"delete it and download it again)") from None
    try:
        import torch
    except ImportError:
        raise WeightsError(f"{path} is a PyTorch pickle; reading it needs PyTorch. "
                           f"Use a checkpoint with model.safetensors instead") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a bad file
        raise WeightsError(f"cannot read {path}: {error}") from None
    return {name: tensor.float().numpy() for name, tensor in state.items()}


def model_from_files(files: dict[str, Path], name: str) -> GPT2:
    config = GPT2Config.from_json_file(files[CONFIG_FILE])
    params = params_from_hf_tensors(read_weight_file(files["weights"]), config, source=str(files["weights"]))
    try:
        tokenizer = Tokenizer.from_files(files[VOCAB_FILE], files[MERGES_FILE])
    except (OSError, ValueError) as error:
        raise WeightsError(f"cannot read the tokenizer files {files[VOCAB_FILE]}, {files[MERGES_FILE]}: {error}") from None
    return GPT2(params, config, tokenizer=tokenizer, name=name)
