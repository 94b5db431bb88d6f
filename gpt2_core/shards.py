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

Three storage dtypes (the manifest's top-level ``"dtype"``); runtimes convert to float32 once, at load:

- ``float32``: exact. GPT-2 small: 498 MB.
- ``float16``: every tensor rounded to half precision (3 significant digits). 249 MB.
- ``int8``: every matrix (the linear weights, ``wte``, ``wpe``) as int8 with one float32 scale per stored
  row (``quantization.py``: symmetric, ``w = q * scale``), every vector (biases, LayerNorm) in float16.
  125.1 MB: 124.3 MB of int8, 0.54 MB of scales, 0.24 MB of vectors.
  ``wpe`` is int8 too: in float16 it would be 1.6 MB instead of 0.8, and its rows (one per position)
  are rows like ``wte``'s, which are int8 anyway. The scales are float32: one number per row, 0.4% of
  the bytes, and NumPy and the ONNX graph then multiply by the very same numbers (float16 scales would
  save 0.27 MB and need one more conversion in both).

An int8 tensor's entry has ``"dtype": "int8"`` and names its scale, ``"scale": "<name>.scale"``; the
scale is a tensor entry of its own (``"<name>.scale"``, float32, shape ``[rows]``), stored right after
it like any other tensor. Manifests of every dtype are ``FORMAT_VERSION`` 1: every reader of version 1,
even one older than int8, refuses an entry whose dtype is not float16 or float32, so none misreads int8
bytes as floats.

Reading checks the manifest's layout before trusting it (the shards' sha256 covers their bytes, not
where the manifest says each tensor lies): file names are plain names in the same directory; every
tensor the config needs is there once, with the config's shape, and besides them only the scales of the
int8 tensors (int8 only for a matrix; its scale float32 with one positive value per row); each tensor's
pieces follow its rows in storage order, each as long as its rows; and in every shard the pieces of all
tensors tile the file exactly as ``write_shards`` lays them out: the first at offset 0, each on a
``PIECE_ALIGNMENT`` boundary right after the previous one (only zero padding between them, less than
the alignment), the last ending at the shard's end. Nothing overlaps, nothing is left over to hide data in.

What the layout cannot show (two pieces of the same size exchanged between tensors) the manifest's
own hash does: ``manifest_sha256(manifest_bytes)`` is the sha256 of manifest.json's bytes, exactly
as written; a page built with the shards records it and passes it as
``load_model_from_shards(..., expected_manifest_sha256=...)``.

Only numpy and the standard library: this module runs in Pyodide, where a ``read(file_name) ->
bytes`` callable supplies what the browser fetched.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np

from .checkpoints import hf_config_dict, write_tokenizer_files
from .config import GPT2Config
from .errors import WeightsError
from .gpt2 import GPT2
from .kernels import OUT_IN, as_in_out, kept_dtype, to_kernel_layout
from .quantization import dequantize_rows, quantize_rows
from .tokenizer import MERGES_FILE, VOCAB_FILE, Tokenizer, tokenizer_from_file_contents
from .weights import is_linear_weight, iter_params, nest, param_shapes

FORMAT_NAME = "gpt2-shards"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
STORAGE_DTYPES = ("float16", "float32", "int8")  # what write_shards writes: the manifest's top-level dtype
FLOAT_DTYPES = ("float16", "float32")  # a tensor entry's dtype: one of these, or int8 with a scale
QUANTIZED_DTYPE, SCALE_DTYPE = "int8", "float32"  # an int8 matrix and its scales (one per row)
INT8_VECTOR_DTYPE = "float16"  # int8 shards keep the vectors (biases, LayerNorm) in float16
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


def scale_name(name: str) -> str:
    """The scale tensor of an int8 tensor: ``wte`` -> ``wte.scale``."""
    return f"{name}.scale"


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

    ``dtype`` is the storage type (see the module docstring): float16 (half the download), float32 (exact)
    or int8 (half of float16: matrices int8 with a scale per row, vectors float16)."""
    if dtype not in STORAGE_DTYPES:
        raise ValueError(f"shards store {', '.join(STORAGE_DTYPES[:-1])} or {STORAGE_DTYPES[-1]}, not {dtype!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for old_shard in directory.glob("weights-*.bin"):
        old_shard.unlink()  # a smaller model must not leave stale shards behind

    writer = ShardWriter(directory, max_shard_bytes)
    entries = []
    for name, value in stored_tensors(model).items():
        if dtype == QUANTIZED_DTYPE and value.ndim == 2:  # a matrix: int8 rows, then their scales
            q, scale = quantize_rows(value)
            entries.append({"name": name, "shape": list(q.shape), "dtype": QUANTIZED_DTYPE, "scale": scale_name(name),
                            "pieces": writer.add(q)})
            entries.append({"name": scale_name(name), "shape": list(scale.shape), "dtype": SCALE_DTYPE,
                            "pieces": writer.add(scale)})
        else:
            stored = as_storage_float(name, value, INT8_VECTOR_DTYPE if dtype == QUANTIZED_DTYPE else dtype)
            entries.append({"name": name, "shape": list(stored.shape), "dtype": stored.dtype.name,
                            "pieces": writer.add(stored)})
    writer.close_shard()

    manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "name": model.name, "dtype": dtype,
                "config": hf_config_dict(model.config), "tensors": entries, "shards": writer.shards}
    if model.tokenizer is not None:
        write_tokenizer(model.tokenizer, directory)
        manifest["tokenizer"] = {"vocab": VOCAB_FILE, "merges": MERGES_FILE}
    path = directory / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return path


def as_storage_float(name: str, value: np.ndarray, dtype: str) -> np.ndarray:
    with np.errstate(over="ignore"):  # an overflow is reported just below, naming the tensor
        stored = value.astype(dtype)
    if not np.isfinite(stored).all():
        raise WeightsError(f"tensor {name!r} does not fit in {dtype} (values up to {np.abs(value).max():.3g}); "
                           f"write the shards as float32")
    return stored


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
                           f"(python -m transformer_explainer.gpt2_core.onnx_export MODEL OUT_DIR)") from None
    except Exception as error:  # a reader may fail in its own way (a browser fetch, a permission)
        raise WeightsError(f"cannot read {what} {file_name!r} from {where}: {error}") from None


def manifest_sha256(manifest_bytes: bytes) -> str:
    """The sha256 (64 lowercase hex digits) of manifest.json's bytes, exactly as written and served:
    ``manifest_sha256(Path("manifest.json").read_bytes())``. The shards' hashes are inside the manifest,
    so this one hash pins the whole model: layout, config and every shard."""
    return hashlib.sha256(bytes(manifest_bytes)).hexdigest()


def where_of(read: Reader) -> str:
    return getattr(read, "where", "the model's location")


def read_manifest(source: str | Path | Reader, expected_sha256: str | None = None) -> dict:
    """manifest.json, parsed and checked (see the module docstring); with ``expected_sha256``, its bytes must
    hash to it (``manifest_sha256``)."""
    read = as_reader(source)
    where = f"{MANIFEST_FILE} in {where_of(read)}"
    data = bytes(read_file(read, MANIFEST_FILE, "the manifest"))
    if expected_sha256 is not None:
        check_manifest_sha256(data, expected_sha256, where)
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise WeightsError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME \
            or manifest.get("format_version") != FORMAT_VERSION:
        found = (f"format {manifest.get('format')!r}, version {manifest.get('format_version')!r}"
                 if isinstance(manifest, dict) else f"a JSON {type(manifest).__name__}")
        raise WeightsError(f"{where} is not a {FORMAT_NAME} manifest of version {FORMAT_VERSION} ({found})")
    check_manifest(manifest, where)
    return manifest


def check_manifest_sha256(data: bytes, expected: str, where: str) -> None:
    if not isinstance(expected, str) or len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected.lower()):
        raise WeightsError(f"the expected sha256 of {where} must be 64 hexadecimal digits, got {expected!r}")
    actual = manifest_sha256(data)
    if actual != expected.lower():
        raise WeightsError(f"{where} has sha256 {actual}, not the expected {expected.lower()}: it is not the manifest "
                           f"these weights were published with (altered, or a stale copy); fetch it again")


# -- checking the manifest's layout ------------------------------------------------------------------

def is_whole(value, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def is_plain_file_name(name) -> bool:
    """A file beside manifest.json: no folder, no way out of the directory."""
    return isinstance(name, str) and bool(name) and "\\" not in name and PurePosixPath(name).name == name \
        and not name.startswith(".")


def aligned(offset: int) -> int:
    return -(-offset // PIECE_ALIGNMENT) * PIECE_ALIGNMENT


def check_manifest(manifest: dict, where: str = MANIFEST_FILE) -> None:
    """Refuse a manifest whose entries are malformed or whose layout is not the one ``write_shards`` writes
    (see the module docstring): a WeightsError naming the file, the tensor or shard, and what is wrong."""
    try:
        config_dict = manifest.get("config")
        if not isinstance(config_dict, dict):
            raise WeightsError("has no 'config' object (the model's Hugging Face config)")
        config = GPT2Config.from_hf_dict(config_dict)
        shard_bytes = shard_sizes(manifest.get("shards"))
        check_tokenizer_entry(manifest.get("tokenizer"))
        pieces_by_shard = tensor_pieces(manifest.get("tensors"), config, shard_bytes)
        for file, pieces in pieces_by_shard.items():
            check_tiling(file, pieces, shard_bytes[file])
    except WeightsError as error:
        raise WeightsError(f"{where}: {error}") from None


def shard_sizes(shards) -> dict[str, int]:
    """{file: bytes} of the listed shards, in their order."""
    if not isinstance(shards, list) or not shards:
        raise WeightsError("has no list of 'shards'")
    sizes: dict[str, int] = {}
    for index, shard in enumerate(shards):
        if not isinstance(shard, dict) or not is_plain_file_name(shard.get("file")) \
                or not is_whole(shard.get("bytes")) or not isinstance(shard.get("sha256"), str):
            raise WeightsError(f"shard entry {index} must give a plain 'file' name (no folder), its 'bytes' and its "
                               f"'sha256', got {shard!r}")
        if shard["file"] in sizes:
            raise WeightsError(f"lists the shard {shard['file']!r} twice")
        sizes[shard["file"]] = shard["bytes"]
    return sizes


def check_tokenizer_entry(tokenizer) -> None:
    if tokenizer is not None and not (isinstance(tokenizer, dict) and all(
            is_plain_file_name(tokenizer.get(key)) for key in ("vocab", "merges"))):
        raise WeightsError(f"'tokenizer' must name its 'vocab' and 'merges' files (plain names beside the manifest), "
                           f"got {tokenizer!r}")


def tensor_pieces(tensors, config: GPT2Config, shard_bytes: dict[str, int]) -> dict[str, list[tuple[int, int, str]]]:
    """Check every tensor entry against the config; returns each shard's pieces as (offset, end, tensor name)."""
    if not isinstance(tensors, list):
        raise WeightsError("has no list of 'tensors'")
    entries: dict[str, dict] = {}
    for index, entry in enumerate(tensors):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise WeightsError(f"tensor entry {index} has no name: {entry!r}")
        if entry["name"] in entries:
            raise WeightsError(f"lists the tensor {entry['name']!r} twice")
        entries[entry["name"]] = entry
    expected = expected_entries(entries, config)
    unknown = [name for name in entries if name not in expected]
    if unknown:
        raise WeightsError(f"lists tensors this model does not have: {', '.join(map(repr, unknown))}")
    shard_order = {file: index for index, file in enumerate(shard_bytes)}
    by_shard: dict[str, list[tuple[int, int, str]]] = {file: [] for file in shard_bytes}
    for name, entry in entries.items():
        for piece in checked_pieces(entry, expected[name], shard_order):
            by_shard[piece["file"]].append((piece["offset"], piece["offset"] + piece["length"], name))
    return by_shard


def expected_entries(entries: dict[str, dict], config: GPT2Config) -> dict[str, tuple[int, ...]]:
    """The name and shape of every tensor entry the manifest must hold: the model's stored tensors, each with a
    float dtype or int8, and the float32 scale [rows] of each int8 one. Refuses a missing tensor or a dtype
    the format does not have."""
    expected = stored_shapes(config, untied_lm_head="lm_head" in entries)
    for name, shape in expected.items():
        if name not in entries:
            raise WeightsError(f"has no tensor {name!r} (expected shape {shape})")
    scales = {}
    for name, shape in expected.items():
        if check_dtype(entries[name], shape) == QUANTIZED_DTYPE:
            scales[scale_name(name)] = shape[:1]
    for name, shape in scales.items():
        if name not in entries:
            raise WeightsError(f"has no tensor {name!r}, the scales of the int8 tensor {name.removesuffix('.scale')!r} "
                               f"(expected shape {shape})")
        if entries[name].get("dtype") != SCALE_DTYPE or "scale" in entries[name]:
            raise WeightsError(f"tensor {name!r} holds the scales of an int8 tensor: its dtype must be {SCALE_DTYPE} "
                               f"(and it has no scale of its own), got {entries[name].get('dtype')!r}")
    return {**expected, **scales}


def check_dtype(entry: dict, shape: tuple[int, ...]) -> str:
    """A stored tensor's dtype: float16 or float32, or int8 for a matrix naming its scale (``<name>.scale``)."""
    name, dtype = entry["name"], entry.get("dtype")
    if dtype == QUANTIZED_DTYPE:
        if len(shape) != 2:
            raise WeightsError(f"tensor {name!r} has dtype 'int8', but only matrices are stored as int8 (one scale "
                               f"per row), and its shape is {shape}")
        if entry.get("scale") != scale_name(name):
            raise WeightsError(f"tensor {name!r} has dtype 'int8' but does not name its scale tensor "
                               f"{scale_name(name)!r} (its 'scale' is {entry.get('scale')!r})")
    elif dtype not in FLOAT_DTYPES:
        raise WeightsError(f"tensor {name!r} has dtype {dtype!r}; shards hold {', '.join(FLOAT_DTYPES)} or "
                           f"{QUANTIZED_DTYPE}")
    elif "scale" in entry:
        raise WeightsError(f"tensor {name!r} has dtype {dtype!r} and names a scale {entry['scale']!r}: only int8 "
                           f"tensors have scales")
    return dtype


def checked_pieces(entry: dict, expected_shape: tuple[int, ...], shard_order: dict[str, int]) -> list[dict]:
    """One tensor's pieces: its rows in order, each piece as long as its rows, in listed shards, in storage order."""
    name, shape = entry["name"], entry.get("shape")
    if not isinstance(shape, list) or tuple(shape) != expected_shape:
        shown = tuple(shape) if isinstance(shape, list) else shape
        raise WeightsError(f"tensor {name!r} in the manifest has shape {shown!r}, but the config says {expected_shape}")
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(entry["dtype"]).itemsize
    pieces = entry.get("pieces")
    if not isinstance(pieces, list) or not pieces:
        raise WeightsError(f"tensor {name!r} has no pieces")
    rows, previous = 0, None
    for number, piece in enumerate(pieces):
        what = f"tensor {name!r} piece {number}"
        if not isinstance(piece, dict) or not isinstance(piece.get("file"), str) or not is_whole(piece.get("offset")) \
                or not is_whole(piece.get("length")) or not is_whole(piece.get("rows"), 1):
            raise WeightsError(f"{what} must give its 'file', 'offset', 'length' and 'rows' (whole numbers), "
                               f"got {piece!r}")
        if piece["file"] not in shard_order:
            raise WeightsError(f"tensor {name!r} lies in {piece['file']!r}, which the manifest does not list among "
                               f"its shards")
        if piece["length"] != piece["rows"] * row_bytes:
            raise WeightsError(f"{what} in {piece['file']!r} is {piece['length']} bytes long, but {piece['rows']} rows "
                               f"of shape {tuple(shape[1:])} in {entry['dtype']} take {piece['rows'] * row_bytes}")
        place = (shard_order[piece["file"]], piece["offset"])
        if previous is not None and place <= previous:
            raise WeightsError(f"{what} lies before the piece holding the rows above it: a tensor's pieces are "
                               f"stored in row order")
        previous = place
        rows += piece["rows"]
    if rows != shape[0]:
        raise WeightsError(f"tensor {name!r}: its pieces hold {rows} rows, its shape {tuple(shape)} needs {shape[0]}")
    return pieces


def check_tiling(file: str, pieces: list[tuple[int, int, str]], size: int) -> None:
    """The pieces (offset, end, tensor) of one shard fill it as written: from byte 0, each aligned right after the
    previous, the last ending at the shard's end."""
    if not pieces:
        raise WeightsError(f"the shard {file!r} holds no piece of any tensor")
    end, last_name = 0, None
    for offset, piece_end, name in sorted(pieces):
        if offset % PIECE_ALIGNMENT:
            raise WeightsError(f"tensor {name!r} starts at byte {offset} of {file!r}, not on a {PIECE_ALIGNMENT}-byte "
                               f"boundary")
        if offset < end:
            raise WeightsError(f"in {file!r}, tensor {name!r} (bytes {offset}..{piece_end}) overlaps {last_name!r} "
                               f"(which ends at byte {end})")
        if piece_end > size:
            raise WeightsError(f"tensor {name!r} ends at byte {piece_end} of {file!r}, past the shard's end "
                               f"({size} bytes)")
        if offset != aligned(end):
            raise WeightsError(f"in {file!r}, bytes {end}..{offset} before tensor {name!r} belong to no tensor")
        end, last_name = piece_end, name
    if end != size:
        raise WeightsError(f"the last {size - end} bytes of {file!r} (from byte {end}) belong to no tensor")


def check_padding(file: str, data: bytes, manifest: dict) -> None:
    """The bytes between pieces of one shard (alignment padding, under ``PIECE_ALIGNMENT`` each) must be zero."""
    ranges = sorted((piece["offset"], piece["offset"] + piece["length"])
                    for entry in manifest["tensors"] for piece in entry["pieces"] if piece["file"] == file)
    view = memoryview(data)
    for (_, end), (offset, _) in zip(ranges, ranges[1:]):
        if any(view[end:offset]):
            raise WeightsError(f"weight shard {file!r} has non-zero bytes between its tensors (bytes {end}..{offset}), "
                               f"where the format holds only zero padding: the file is corrupt or altered")


# -- reading the shards ------------------------------------------------------------------------------

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


class StoredTensor:
    """One stored tensor being read, shard after shard: a view of its bytes where it is one float16 piece kept as
    stored (kernels.kept_dtype: no copy), else an array its pieces are copied into as their shards arrive."""

    def __init__(self, entry: dict, dtype: str):
        self.entry, self.dtype, self.shape = entry, dtype, tuple(entry["shape"])
        pieces = entry["pieces"]
        self.is_view = len(pieces) == 1 and dtype == entry["dtype"] == "float16"
        self.array = None if self.is_view else np.empty(self.shape, dtype=dtype)
        self.first_row = {}  # (file, offset) -> the row its piece starts at
        row = 0
        for piece in pieces:
            self.first_row[piece["file"], piece["offset"]] = row
            row += piece["rows"]

    def place(self, piece: dict, data: bytes) -> None:
        """Copy (or view) one piece of the tensor from its shard's bytes."""
        rows = piece["rows"]
        count = rows * int(np.prod(self.shape[1:], dtype=np.int64))
        stored = np.frombuffer(data, self.entry["dtype"], count, piece["offset"]).reshape(rows, *self.shape[1:])
        if self.is_view:
            self.array = stored.reshape(self.shape)
        else:
            row = self.first_row[piece["file"], piece["offset"]]
            self.array[row:row + rows] = stored


def all_finite(tensor: np.ndarray, chunk_values: int = 1 << 16) -> bool:
    """``np.isfinite(tensor).all()``, a block of rows at a time: no temporary as large as the tensor (in Pyodide
    the WebAssembly memory never shrinks, so a 38 MB temporary for ``wte`` would stay the page's for good)."""
    rows = tensor.reshape(tensor.shape[0], -1) if tensor.ndim > 1 else tensor.reshape(-1, 1)
    step = max(1, chunk_values // max(1, rows.shape[1]))
    return all(np.isfinite(rows[start:start + step]).all() for start in range(0, rows.shape[0], step))


def assemble_tensor(entry: dict, stored: dict[str, np.ndarray], expected_shape: tuple[int, ...],
                    entries: dict[str, dict]) -> np.ndarray:
    """A stored tensor as the model holds it, converted once: float16 widened to float32 (or kept where the kernel
    multiplies it so, kernels.kept_dtype), int8 dequantized with its scales."""
    name, shape = entry["name"], tuple(entry["shape"])
    if shape != expected_shape:
        raise WeightsError(f"tensor {name!r} in the manifest has shape {shape}, but the config says {expected_shape}")
    tensor = stored[name]
    if entry["dtype"] == QUANTIZED_DTYPE:
        scale = stored[entry["scale"]]  # [rows]
        if not (np.isfinite(scale) & (scale > 0)).all():
            raise WeightsError(f"tensor {entry['scale']!r} holds a scale that is not a positive number: the shards "
                               f"are corrupt")
        tensor = dequantize_rows(tensor, scale)  # [rows, cols]
    if not all_finite(tensor):
        raise WeightsError(f"tensor {name!r} holds NaN or infinite values: the shards are corrupt")
    return tensor


def read_dtype(name: str, entry: dict, scales: set[str]) -> str:
    """The dtype a stored tensor is read into: int8 and scales as stored, floats as the kernel keeps them."""
    if entry["dtype"] == QUANTIZED_DTYPE:
        return QUANTIZED_DTYPE
    if name in scales:
        return SCALE_DTYPE
    return kept_dtype(name, entry["dtype"])


def read_stored_tensors(source: str | Path | Reader, manifest: dict | None = None,
                        verify_sha256: bool = True) -> dict[str, np.ndarray]:
    """Every stored tensor (float32, in the stored layout; int8 ones dequantized), each shard checked against
    the manifest.

    The shards are read one at a time and each one's pieces placed at once, so that a shard's bytes are let go
    as soon as no tensor views them: the memory it takes at its peak is about the model's own (GPT-2 small in
    float16 in Pyodide: 250 MB, not 390 with every shard held while ``wte``'s pieces are copied)."""
    read = as_reader(source)
    if manifest is None:
        manifest = read_manifest(read)
    else:
        check_manifest(manifest, f"{MANIFEST_FILE} in {where_of(read)}")
    config = GPT2Config.from_hf_dict(manifest["config"])
    entries = {entry["name"]: entry for entry in manifest["tensors"]}
    expected = stored_shapes(config, untied_lm_head="lm_head" in entries)
    scales = {entries[name]["scale"] for name in expected if entries[name]["dtype"] == QUANTIZED_DTYPE}
    reading = {name: StoredTensor(entries[name], read_dtype(name, entries[name], scales))
               for name in [*expected, *scales]}
    pieces_in = {shard["file"]: [] for shard in manifest["shards"]}
    for tensor in reading.values():
        for piece in tensor.entry["pieces"]:
            pieces_in[piece["file"]].append((tensor, piece))
    for shard in manifest["shards"]:
        data = read_shard(read, shard, verify_sha256)
        check_padding(shard["file"], data, manifest)
        for tensor, piece in pieces_in[shard["file"]]:
            tensor.place(piece, data)
        del data  # (views keep what they need of it)
    stored = {name: tensor.array for name, tensor in reading.items()}
    return {name: assemble_tensor(entries[name], stored, shape, entries) for name, shape in expected.items()}


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
    where = where_of(read)
    return tokenizer_from_file_contents(read_file(read, files["vocab"], "the tokenizer file"),
                                        read_file(read, files["merges"], "the tokenizer file"),
                                        vocab_source=f"{files['vocab']!r} in {where}",
                                        merges_source=f"{files['merges']!r} in {where}")


def load_model_from_shards(source: str | Path | Reader, name: str | None = None, verify_sha256: bool = True,
                           expected_manifest_sha256: str | None = None) -> GPT2:
    """A ``GPT2`` from a shard directory, or from a ``read(file_name) -> bytes`` callable (Pyodide).

    ``verify_sha256=False`` skips hashing (~1 s for GPT-2 small in Pyodide) when the bytes come from
    ``fetchModelFiles`` in assets/ort_bridge.mjs, which checked every shard's sha256 already.
    ``expected_manifest_sha256``: ``manifest_sha256`` of the manifest these weights were published with
    (a page records it); the manifest read must hash to it."""
    read = as_reader(source)
    manifest = read_manifest(read, expected_sha256=expected_manifest_sha256)
    config = GPT2Config.from_hf_dict(manifest["config"])
    tokenizer = read_tokenizer(read, manifest)  # first: a missing tokenizer file is found before megabytes are read
    params = params_from_stored(read_stored_tensors(read, manifest, verify_sha256), config)
    return GPT2(params, config, tokenizer=tokenizer, name=name or manifest.get("name", "gpt2"))


def total_shard_bytes(manifest: dict) -> int:
    """What a browser downloads for the weights."""
    return sum(shard["bytes"] for shard in manifest["shards"])
