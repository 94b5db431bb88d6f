"""The browser weight format: a manifest and shard files that both runtimes read (one download, not two).

A shard directory holds:

- ``manifest.json``: the format version, the Hugging Face config, the storage dtype, and for each
  tensor its name, shape, dtype and where its bytes lie (shard file, byte offset, byte length);
  for each shard its file name, byte size and sha256.
- ``weights-00000.bin``, ``weights-00001.bin``, ...: a few MB each, so a browser fetches them in
  parallel with a progress bar and caches them.
- ``vocab.json`` and ``merges.txt``: the tokenizer.

Tensor names are our parameter names (``wte``, ``blocks.0.attn.c_attn.w``, ``ln_f.g``). Linear
weights are stored ``[out, in]``: what Pyodide's einsum kernel and ONNX ``Gemm(transB=1)`` read.
``wte`` ``[V, d]`` is stored once and serves both the embedding lookup and the tied unembedding.
A tensor larger than one shard is cut into pieces along its first axis (``wte``: 77 MB in float16),
each piece whole inside one shard; most tensors are one piece.

Only numpy and the standard library: this module runs in Pyodide, where a ``read(file_name) ->
bytes`` callable supplies what the browser fetched.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np

from .checkpoints import hf_config_dict, write_tokenizer_files
from .config import GPT2Config
from .errors import WeightsError
from .gpt2 import GPT2
from .kernels import OUT_IN, as_in_out, to_kernel_layout
from .tokenizer import Tokenizer
from .weights import is_linear_weight, iter_params, nest, param_shapes

FORMAT_NAME = "gpt2-shards"
FORMAT_VERSION = 1
MANIFEST_FILE, VOCAB_FILE, MERGES_FILE = "manifest.json", "vocab.json", "merges.txt"
STORAGE_DTYPES = ("float16", "float32")
DEFAULT_SHARD_BYTES = 8 * 2**20
PIECE_ALIGNMENT = 64  # every piece starts on a 64-byte boundary: typed-array views in JS need aligned offsets

Reader = Callable[[str], bytes]


# -- which tensors are stored, and in which layout ---------------------------------------------------

def stored_shapes(config: GPT2Config, untied_lm_head: bool = False) -> dict[str, tuple[int, ...]]:
    """Every stored tensor's name and shape: linear weights as ``[out, in]``; ``lm_head`` only when untied."""
    shapes = {}
    for name, shape in param_shapes(config).items():
        if name == "lm_head" and not untied_lm_head:
            continue  # tied to wte: stored once
        shapes[name] = shape[::-1] if is_linear_weight(name) else shape
    return shapes


def stored_tensors(model: GPT2) -> dict[str, np.ndarray]:
    """The model's parameters as they are stored: linear weights ``[out, in]``, ``lm_head`` dropped when tied."""
    tensors = {}
    for name, value in iter_params(model.params):
        tensors[name] = as_in_out(value).T if is_linear_weight(name) else value
    if np.array_equal(tensors["lm_head"], tensors["wte"]):
        del tensors["lm_head"]
    return tensors


# -- writing -----------------------------------------------------------------------------------------

class ShardWriter:
    """Packs tensors into shard files of at most ``max_shard_bytes``, hashing each file as it goes."""

    def __init__(self, directory: Path, max_shard_bytes: int):
        self.directory, self.max_shard_bytes = directory, max_shard_bytes
        self.shards: list[dict] = []
        self.file = None

    def add(self, array: np.ndarray) -> list[dict]:
        """Store one tensor; returns its pieces (file, offset, length, rows)."""
        rows = array.shape[0]
        row_bytes = array[:1].nbytes
        if array.nbytes > self.max_shard_bytes:  # too big for one shard: pieces that each fill a shard
            rows_per_piece = max(1, self.max_shard_bytes // row_bytes)
            self.close_shard()
        else:
            rows_per_piece = rows  # one piece, in this shard if it fits, else in the next
        pieces = []
        for start in range(0, rows, rows_per_piece):
            piece = np.ascontiguousarray(array[start:start + rows_per_piece])
            if self.file is not None and self.aligned_size() + piece.nbytes > self.max_shard_bytes:
                self.close_shard()
            pieces.append(self.write_piece(piece))
        return pieces

    def write_piece(self, piece: np.ndarray) -> dict:
        if self.file is None:
            self.open_shard()
        padding = self.aligned_size() - self.size
        self.write(b"\0" * padding)
        offset = self.size
        self.write(piece.tobytes())
        return {"file": self.name, "offset": offset, "length": piece.nbytes, "rows": int(piece.shape[0])}

    def aligned_size(self) -> int:
        return -(-self.size // PIECE_ALIGNMENT) * PIECE_ALIGNMENT

    def open_shard(self) -> None:
        self.name = f"weights-{len(self.shards):05d}.bin"
        self.file = open(self.directory / self.name, "wb")
        self.size, self.sha256 = 0, hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def close_shard(self) -> None:
        if self.file is None:
            return
        self.file.close()
        self.shards.append({"file": self.name, "bytes": self.size, "sha256": self.sha256.hexdigest()})
        self.file = None


def write_shards(model: GPT2, directory: str | Path, dtype: str = "float16",
                 max_shard_bytes: int = DEFAULT_SHARD_BYTES) -> Path:
    """Write ``model``'s weights as shards + manifest (+ tokenizer files) into ``directory``; returns the manifest path.

    ``dtype`` is the storage type: float16 (half the download; runtimes convert to float32 once at
    load) or float32 (exact)."""
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"shards store float16 or float32, not {dtype!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for old_shard in directory.glob("weights-*.bin"):
        old_shard.unlink()  # a smaller model must not leave stale shards behind

    writer = ShardWriter(directory, max_shard_bytes)
    entries = []
    for name, value in stored_tensors(model).items():
        with np.errstate(over="ignore"):  # an overflow is reported just below, naming the tensor
            stored = value.astype(dtype)
        if not np.isfinite(stored).all():
            raise WeightsError(f"tensor {name!r} does not fit in {dtype} (values up to {np.abs(value).max():.3g}); "
                               f"write the shards as float32")
        entries.append({"name": name, "shape": list(stored.shape), "dtype": dtype, "pieces": writer.add(stored)})
    writer.close_shard()

    manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "name": model.name, "dtype": dtype,
                "config": hf_config_dict(model.config), "tensors": entries, "shards": writer.shards}
    if model.tokenizer is not None:
        write_tokenizer(model.tokenizer, directory)
        manifest["tokenizer"] = {"vocab": VOCAB_FILE, "merges": MERGES_FILE}
    path = directory / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return path


def write_tokenizer(tokenizer: Tokenizer, directory: Path) -> None:
    merges = sorted(tokenizer.merge_ranks, key=tokenizer.merge_ranks.get)
    write_tokenizer_files(directory, tokenizer.vocab, merges)


# -- reading -----------------------------------------------------------------------------------------

def directory_reader(directory: str | Path) -> Reader:
    directory = Path(directory)

    def read(file_name: str) -> bytes:
        return (directory / file_name).read_bytes()

    read.where = str(directory)  # for error messages
    return read


def as_reader(source: str | Path | Reader) -> Reader:
    return source if callable(source) else directory_reader(source)


def read_file(read: Reader, file_name: str, what: str) -> bytes:
    where = getattr(read, "where", "the model's location")
    try:
        return read(file_name)
    except FileNotFoundError:
        raise WeightsError(f"{what} {file_name!r} is missing from {where}; rewrite the shards "
                           f"(python -m gpt2_core.onnx_export MODEL OUT_DIR)") from None
    except Exception as error:  # a reader may fail in its own way (a browser fetch, a permission)
        raise WeightsError(f"cannot read {what} {file_name!r} from {where}: {error}") from None


def read_manifest(source: str | Path | Reader) -> dict:
    read = as_reader(source)
    try:
        manifest = json.loads(bytes(read_file(read, MANIFEST_FILE, "the manifest")))
    except ValueError as error:
        raise WeightsError(f"{MANIFEST_FILE} is not valid JSON: {error}") from None
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        raise WeightsError(f"{MANIFEST_FILE} is not a {FORMAT_NAME} manifest of version {FORMAT_VERSION} "
                           f"(format {manifest.get('format')!r}, version {manifest.get('format_version')!r})")
    return manifest


def read_shard(read: Reader, shard: dict, verify_sha256: bool = True) -> bytes:
    """One shard's bytes, checked against the manifest's size and (unless already done) its sha256."""
    data = read_file(read, shard["file"], "weight shard")
    if len(data) != shard["bytes"]:
        raise WeightsError(f"weight shard {shard['file']!r} has {len(data)} bytes, the manifest says "
                           f"{shard['bytes']}: the file is truncated or from another model")
    if verify_sha256 and hashlib.sha256(data).hexdigest() != shard["sha256"]:
        raise WeightsError(f"weight shard {shard['file']!r} does not match its sha256 in the manifest: "
                           f"the file is corrupt or from another model; fetch it again")
    return data


def assemble_tensor(entry: dict, shards: dict[str, bytes], expected_shape: tuple[int, ...]) -> np.ndarray:
    """A stored tensor from its pieces, converted to float32 once."""
    name, shape = entry["name"], tuple(entry["shape"])
    if shape != expected_shape:
        raise WeightsError(f"tensor {name!r} in the manifest has shape {shape}, but the config says {expected_shape}")
    if entry["dtype"] not in STORAGE_DTYPES:
        raise WeightsError(f"tensor {name!r} has dtype {entry['dtype']!r}; shards hold {' or '.join(STORAGE_DTYPES)}")
    dtype = np.dtype(entry["dtype"])
    tensor = np.empty(shape, dtype=np.float32)
    row = 0
    for piece in entry["pieces"]:
        count = piece["rows"] * int(np.prod(shape[1:], dtype=np.int64))
        if piece["length"] != count * dtype.itemsize or piece["offset"] + piece["length"] > len(shards[piece["file"]]):
            raise WeightsError(f"tensor {name!r}: a piece in {piece['file']!r} does not match its shape {shape}")
        tensor[row:row + piece["rows"]] = np.frombuffer(shards[piece["file"]], dtype, count,
                                                        piece["offset"]).reshape(piece["rows"], *shape[1:])
        row += piece["rows"]
    if row != shape[0]:
        raise WeightsError(f"tensor {name!r}: its pieces hold {row} rows, its shape {shape} needs {shape[0]}")
    if not np.isfinite(tensor).all():
        raise WeightsError(f"tensor {name!r} holds NaN or infinite values: the shards are corrupt")
    return tensor


def read_stored_tensors(source: str | Path | Reader, manifest: dict | None = None,
                        verify_sha256: bool = True) -> dict[str, np.ndarray]:
    """Every stored tensor (float32, in the stored layout), each shard checked against the manifest."""
    read = as_reader(source)
    manifest = manifest or read_manifest(read)
    config = GPT2Config.from_hf_dict(manifest["config"])
    entries = {entry["name"]: entry for entry in manifest["tensors"]}
    expected = stored_shapes(config, untied_lm_head="lm_head" in entries)
    for name, shape in expected.items():
        if name not in entries:
            raise WeightsError(f"the manifest has no tensor {name!r} (expected shape {shape})")
    shards = {shard["file"]: read_shard(read, shard, verify_sha256) for shard in manifest["shards"]}
    for entry in entries.values():
        for piece in entry["pieces"]:
            if piece["file"] not in shards:
                raise WeightsError(f"tensor {entry['name']!r} lies in {piece['file']!r}, which the manifest "
                                   f"does not list among its shards")
    return {name: assemble_tensor(entries[name], shards, shape) for name, shape in expected.items()}


def params_from_stored(tensors: dict[str, np.ndarray], config: GPT2Config) -> dict:
    """Nested parameters (as in weights.py) in the kernel's layout, from stored tensors (linear weights
    stored ``[out, in]``; ``lm_head`` is ``wte`` unless stored untied)."""
    flat = {name: tensors[name] for name in param_shapes(config) if name != "lm_head"}
    flat["lm_head"] = tensors.get("lm_head", tensors["wte"])  # [V, d] is [out, in]
    return nest({name: to_kernel_layout(value, OUT_IN) if is_linear_weight(name) else value
                 for name, value in flat.items()})


def read_tokenizer(source: str | Path | Reader, manifest: dict | None = None) -> Tokenizer | None:
    read = as_reader(source)
    manifest = manifest or read_manifest(read)
    files = manifest.get("tokenizer")
    if not files:
        return None
    vocab = json.loads(bytes(read_file(read, files["vocab"], "the tokenizer file")))
    lines = bytes(read_file(read, files["merges"], "the tokenizer file")).decode("utf-8").splitlines()
    merges = [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]
    return Tokenizer(vocab, merges)


def load_model_from_shards(source: str | Path | Reader, name: str | None = None, verify_sha256: bool = True) -> GPT2:
    """A ``GPT2`` from a shard directory, or from a ``read(file_name) -> bytes`` callable (Pyodide).

    ``verify_sha256=False`` skips hashing (~1 s for GPT-2 small in Pyodide) when the bytes come from
    ``fetchModelFiles`` in assets/ort_bridge.mjs, which checked every shard's sha256 already."""
    read = as_reader(source)
    manifest = read_manifest(read)
    config = GPT2Config.from_hf_dict(manifest["config"])
    params = params_from_stored(read_stored_tensors(read, manifest, verify_sha256), config)
    return GPT2(params, config, tokenizer=read_tokenizer(read, manifest), name=name or manifest.get("name", "gpt2"))


def total_shard_bytes(manifest: dict) -> int:
    """What a browser downloads for the weights."""
    return sum(shard["bytes"] for shard in manifest["shards"])
