"""``load_model``: a GPT-2 checkpoint from the Hugging Face Hub (cached) or from a local directory.

A checkpoint is ``config.json``, ``model.safetensors`` (or ``pytorch_model.bin``), ``vocab.json``
and ``merges.txt``. ``huggingface_hub`` and ``safetensors`` are imported here, only when a file is
fetched or read, so the rest of gpt2_core runs where they do not exist (Pyodide).

Every failure ends in a ``ModelNotAvailableError`` (the files cannot be found or fetched) or a
``WeightsError`` (the files are there but wrong) whose message says what is wrong and what to do.
Errors that are not about the model (a full disk, a permission problem) are left as they are.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path

import numpy as np

from .config import GPT2Config
from .errors import ModelNotAvailableError, WeightsError
from .gpt2 import GPT2
from .tokenizer import MERGES_FILE, VOCAB_FILE, Tokenizer
from .weights import params_from_hf_tensors

DEFAULT_MODEL = "openai-community/gpt2"
CONFIG_FILE = "config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # in order of preference
REQUIRED_FILES = (CONFIG_FILE, WEIGHT_FILES[0], VOCAB_FILE, MERGES_FILE)
HUB_URL = "https://huggingface.co"


def load_model(source: str | Path = DEFAULT_MODEL, *, revision: str | None = None, cache_dir: str | Path | None = None,
               progress: bool = True, local_files_only: bool = False, endpoint: str | None = None) -> GPT2:
    """Load a GPT-2-family model: a Hub id (``openai-community/gpt2``, ``distilgpt2``, ``gpt2-medium``...)
    or a local directory holding the checkpoint files.

    ``revision`` (a branch, tag or commit of the Hub repository), ``cache_dir`` (default: Hugging Face's
    cache), ``progress`` (download progress bars), ``local_files_only`` (use the cache, never the network)
    and ``endpoint`` (another Hub server) apply to Hub ids only."""
    if not isinstance(source, (str, Path)) or not str(source).strip():
        raise ModelNotAvailableError(f"a model is a Hugging Face id like {DEFAULT_MODEL!r} or a directory path, "
                                     f"got {source!r}")
    files = (local_checkpoint_files(Path(source)) if looks_like_path(source)
             else hub_checkpoint_files(str(source), revision, cache_dir, progress, local_files_only, endpoint))
    return model_from_files(files, name=str(source))


def looks_like_path(source: str | Path) -> bool:
    text = str(source)
    return isinstance(source, Path) or Path(text).exists() or text.startswith((".", "/", "~")) or "\\" in text \
        or text.count("/") > 1


# -- a local directory -------------------------------------------------------------------------------


def local_checkpoint_files(directory: Path) -> dict[str, Path]:
    directory = directory.expanduser().absolute()
    if not directory.is_dir():
        what = "a file, not a directory," if directory.is_file() else "no directory"
        raise ModelNotAvailableError(f"there is {what} at {directory}: pass a directory holding "
                                     f"{', '.join(REQUIRED_FILES)}, or a Hugging Face id like {DEFAULT_MODEL!r}")
    files = {name: directory / name for name in (CONFIG_FILE, VOCAB_FILE, MERGES_FILE)}
    weights = next((directory / name for name in WEIGHT_FILES if (directory / name).is_file()), None)
    missing = [name for name, path in files.items() if not path.is_file()]
    if weights is None:
        missing.append(f"{WEIGHT_FILES[0]} (or {WEIGHT_FILES[1]})")
        if (directory / f"{WEIGHT_FILES[0]}.index.json").is_file():
            missing[-1] += (": sharded checkpoints (model.safetensors.index.json) are not supported; "
                            "save the model as one file (save_pretrained(..., max_shard_size='100GB'))")
    if missing:
        raise ModelNotAvailableError(f"the model directory {directory} lacks {', '.join(missing)} "
                                     f"(a GPT-2 checkpoint needs {', '.join(REQUIRED_FILES)})")
    files["weights"] = weights
    return files


# -- the Hugging Face Hub ----------------------------------------------------------------------------


def hub_checkpoint_files(repo_id: str, revision, cache_dir, progress: bool, local_files_only: bool,
                         endpoint: str | None) -> dict[str, Path]:
    """Fetch (or find in the cache) each file of a Hub checkpoint, with huggingface_hub's progress bars.
    config.json comes first and is checked before the (large) weights are downloaded."""
    import huggingface_hub.errors
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub import utils as hub_errors  # where every version of huggingface_hub exports its errors

    # huggingface_hub < 1.0 has no RemoteEntryNotFoundError: its EntryNotFoundError is the remote one,
    # and LocalEntryNotFoundError derives from it (so it is caught first below).
    local_missing = hub_errors.LocalEntryNotFoundError
    remote_missing = getattr(huggingface_hub.errors, "RemoteEntryNotFoundError", hub_errors.EntryNotFoundError)
    fetching = [CONFIG_FILE]  # the file being fetched, for the messages

    def fetch(filename: str, cache_only: bool = local_files_only) -> Path:
        fetching[0] = filename
        return Path(hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir,
                                    local_files_only=cache_only, endpoint=endpoint))

    def fetch_weights() -> Path:
        first, second = WEIGHT_FILES
        known_missing = try_to_load_from_cache(repo_id, first, cache_dir=cache_dir, revision=revision)
        if known_missing is not None and not isinstance(known_missing, str):
            first, second = second, first  # the cache remembers that this revision has no model.safetensors
        try:
            return fetch(first)
        except local_missing as offline:
            try:  # offline: a checkpoint with only pytorch_model.bin may still be in the cache
                return fetch(second, cache_only=True)
            except local_missing:
                raise offline from None
        except remote_missing:
            return fetch(second)  # older checkpoints have only pytorch_model.bin

    where = f"{repo_id!r}" + (f" at revision {revision!r}" if revision else "")
    try:
        with progress_bars(progress):
            files = {CONFIG_FILE: fetch(CONFIG_FILE)}
            GPT2Config.from_json_file(files[CONFIG_FILE])  # not a GPT-2: say so before downloading gigabytes
            files.update({name: fetch(name) for name in (VOCAB_FILE, MERGES_FILE)})
            files["weights"] = fetch_weights()
        for path in files.values():
            check_cached_file(path)
    except hub_errors.GatedRepoError:
        raise ModelNotAvailableError(
            f"the model {where} is gated: accept its conditions on {hub_url(repo_id, endpoint)} and log in "
            f"(`hf auth login`, or set HF_TOKEN) before downloading it") from None
    except hub_errors.RepositoryNotFoundError:
        raise ModelNotAvailableError(
            f"there is no model {repo_id!r} on the Hugging Face Hub (or it is private): check the name, "
            f"e.g. {DEFAULT_MODEL!r}{local_hint(repo_id)}") from None
    except hub_errors.RevisionNotFoundError:
        raise ModelNotAvailableError(
            f"the model {repo_id!r} has no revision {revision!r}: pass a branch, tag or commit id listed on "
            f"{hub_url(repo_id, endpoint)}/commits, or leave revision out for 'main'") from None
    except local_missing as error:
        raise ModelNotAvailableError(offline_message(repo_id, revision, where, cache_dir, endpoint,
                                                     local_files_only, error)) from None
    except remote_missing:
        what = (f"weights: neither {WEIGHT_FILES[0]} nor {WEIGHT_FILES[1]}" if fetching[0] in WEIGHT_FILES
                else fetching[0])
        raise ModelNotAvailableError(
            f"the model {where} has no {what}; a GPT-2 checkpoint holds {', '.join(REQUIRED_FILES)}. "
            f"Is it a GPT-2 model? See {hub_url(repo_id, endpoint)}/tree/{revision or 'main'}") from None
    except hub_errors.HFValidationError as error:
        raise ModelNotAvailableError(
            f"{repo_id!r} is neither a directory nor a valid Hugging Face id ({summary(error)}); "
            f"a Hub id looks like {DEFAULT_MODEL!r}") from None
    except hub_errors.HfHubHTTPError as error:
        status = getattr(getattr(error, "response", None), "status_code", "an error")
        raise ModelNotAvailableError(
            f"the Hugging Face Hub answered {status} when asked for {fetching[0]} of {where}: "
            f"{summary(error)}. Try again later, or download {checkpoint_files_of(repo_id, revision, endpoint)} "
            f"into a directory and pass that directory instead") from None
    except network_errors() as error:
        raise ModelNotAvailableError(
            f"the connection to the Hugging Face Hub broke while downloading {fetching[0]} of {where} "
            f"({summary(error)}). Check your connection and run again (files already downloaded stay "
            f"in the cache), or download {checkpoint_files_of(repo_id, revision, endpoint)} "
            f"into a directory and pass that directory instead") from None
    return files


def check_cached_file(path: Path) -> None:
    """A file in the Hugging Face cache against the hash it is stored under: the cache keeps each file as a blob
    named by the Hub's ETag, the sha256 of a large (LFS) file or the git blob id (sha1) of a small one. A file
    damaged on disk after its download (a bad sector, a stray edit) is refused, never loaded as a model."""
    import hashlib

    blob = path.resolve()
    if blob.parent.name != "blobs" or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", blob.name):
        return  # not a Hub cache blob (a local directory, or a cache layout this code does not know)
    data = blob.read_bytes()
    actual = (hashlib.sha256(data).hexdigest() if len(blob.name) == 64 else
              hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest())
    if actual != blob.name:
        raise WeightsError(f"{path.name} in the Hugging Face cache is damaged: its content no longer matches the "
                           f"hash it was downloaded with. Delete {blob} (and the link {path}) and load again to "
                           f"download it afresh")


def offline_message(repo_id: str, revision, where: str, cache_dir, endpoint, local_files_only: bool,
                    error: BaseException) -> str:
    from huggingface_hub import constants as hub_constants
    from huggingface_hub.utils import HfHubHTTPError, OfflineModeIsEnabled

    cause = error.__cause__ or error.__context__
    server = endpoint or hub_constants.ENDPOINT
    advice = "Connect to the internet and try again"
    if local_files_only:
        reason = "local_files_only=True forbids downloading"
    elif isinstance(cause, OfflineModeIsEnabled) or getattr(hub_constants, "HF_HUB_OFFLINE", False):
        reason = "HF_HUB_OFFLINE is set, which forbids downloading"
    elif isinstance(cause, HfHubHTTPError):  # the Hub is down (5xx): huggingface_hub then tries the cache
        reason = f"{server} answered with an error ({summary(cause)})"
        advice = "Try again later"
    else:
        reason = f"cannot reach {server}" + (f" ({summary(cause)})" if cause else "")
    cache = cache_dir or hub_constants.HF_HUB_CACHE
    name = repo_id.rsplit("/", 1)[-1]
    return (f"cannot load the model {where}: {reason}, and it is not in the local cache ({cache}). "
            f"{advice}, or download {checkpoint_files_of(repo_id, revision, endpoint)} into a directory and pass "
            f"that directory instead of the id, e.g. load_model('./{name}') or --model ./{name}")


def checkpoint_files_of(repo_id: str, revision: str | None = None, endpoint: str | None = None) -> str:
    """Which files to download by hand, and from where: for every message that says to."""
    return f"{', '.join(REQUIRED_FILES)} from {hub_url(repo_id, endpoint)}/tree/{revision or 'main'}"


def hub_url(repo_id: str, endpoint: str | None) -> str:
    return f"{(endpoint or HUB_URL).rstrip('/')}/{repo_id}"


def hub_unreachable(timeout: float = 3.0) -> str:
    """Why the Hugging Face Hub cannot be reached (a name that does not resolve, a refused connection), or ''.
    Seconds at most, where huggingface_hub itself retries an unreachable Hub for about 25 s before giving up."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout).close()
    except OSError as error:
        return f"{url.hostname}: {error.strerror or error}"
    return ""


def local_hint(repo_id: str) -> str:
    if "/" in repo_id:
        return f". If you meant a local directory, there is none at {Path(repo_id).resolve()}"
    return ""


def summary(error: BaseException) -> str:
    """The first two lines of an error's message (huggingface_hub's run on with advice we replace)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(error).__name__


def network_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean the connection failed, from the HTTP library huggingface_hub uses
    (httpx2, httpx or requests, depending on its version)."""
    types: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module_name, names in (("httpx2", ("TransportError",)), ("httpx", ("TransportError",)),
                               ("requests.exceptions", ("ConnectionError", "Timeout", "ChunkedEncodingError"))):
        module = sys.modules.get(module_name)
        types.extend(getattr(module, name) for name in names if module is not None and hasattr(module, name))
    return tuple(types)


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


# -- reading the files -------------------------------------------------------------------------------


def read_weight_file(path: Path) -> dict:
    """All tensors of a safetensors (or, with PyTorch installed, a pytorch_model.bin) file, as NumPy arrays."""
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    try:
        import torch
    except ImportError:
        raise WeightsError(f"{path} is a PyTorch pickle; reading it needs PyTorch (pip install torch). "
                           f"Or use a checkpoint with model.safetensors instead") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds (UnpicklingError, RuntimeError, EOFError...) for a bad file
        raise WeightsError(f"cannot read {path}: {summary(error)} (the file may be truncated or corrupt; "
                           f"delete it and download it again)") from None
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict of tensors")
    return {name: tensor.float().numpy() for name, tensor in state.items() if isinstance(tensor, torch.Tensor)}


def read_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file
    try:
        return load_file(str(path))
    except SafetensorError as error:
        raise WeightsError(f"cannot read {path}: {error}. The file is truncated or corrupt: "
                           f"delete it and download it again") from None
    except (TypeError, AttributeError):  # a dtype NumPy lacks: bfloat16 (models are often saved in it), float8
        return read_safetensors_by_hand(path)


SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
                      "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def read_safetensors_by_hand(path: Path) -> dict:
    """A safetensors file read without the safetensors package, for the dtypes NumPy lacks: bfloat16
    tensors are widened to float32 exactly (a bfloat16 is the top half of a float32)."""
    data = path.read_bytes()
    try:
        header_size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_size])
        tensors = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if info["dtype"] not in SAFETENSORS_DTYPES:
                raise WeightsError(f"tensor {name!r} in {path} has dtype {info['dtype']}, which gpt2_core cannot "
                                   f"read: save the checkpoint in float32, float16 or bfloat16")
            begin, end = (8 + header_size + offset for offset in info["data_offsets"])
            if end > len(data):
                raise ValueError(f"tensor {name!r} ends past the end of the file")
            raw = np.frombuffer(data[begin:end], dtype=SAFETENSORS_DTYPES[info["dtype"]])
            if info["dtype"] == "BF16":
                raw = (raw.astype(np.uint32) << 16).view(np.float32)
            tensors[name] = raw.reshape(info["shape"]).copy()
        return tensors
    except WeightsError:
        raise
    except (ValueError, KeyError, TypeError) as error:
        raise WeightsError(f"cannot read {path}: {error}. The file is truncated or corrupt: "
                           f"delete it and download it again") from None


def model_from_files(files: dict[str, Path], name: str) -> GPT2:
    config = GPT2Config.from_json_file(files[CONFIG_FILE])
    tokenizer = Tokenizer.from_files(files[VOCAB_FILE], files[MERGES_FILE])
    if tokenizer.vocab_size > config.n_vocab:
        raise WeightsError(
            f"the tokenizer ({files[VOCAB_FILE]}) has {tokenizer.vocab_size} tokens but the model's config.json "
            f"says vocab_size {config.n_vocab}: they are not from the same checkpoint. Use the vocab.json and "
            f"merges.txt that came with these weights")
    params = params_from_hf_tensors(read_weight_file(files["weights"]), config, source=str(files["weights"]))
    return GPT2(params, config, tokenizer=tokenizer, name=name)
