"""A shard manifest is checked before it is trusted: the shards' sha256 covers their bytes, not where the
manifest says each tensor lies, so overlapping, swapped, gapped or out-of-bounds pieces are refused by their
layout, and what no layout can show (same-size pieces exchanged) by the manifest's own hash."""

from __future__ import annotations

import hashlib
import json
import tracemalloc

import numpy as np
import pytest

from transformer_explainer.gpt2_core import GPT2Config, WeightsError, kernels, load_model
from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint
from transformer_explainer.gpt2_core.quantization import dequantize_rows, quantize_rows
from transformer_explainer.gpt2_core.shards import (MANIFEST_FILE, PIECE_ALIGNMENT, load_model_from_shards, manifest_sha256, read_manifest,
                              read_stored_tensors, stored_tensors, write_shards)

SMALL_SHARDS = 40_000  # bytes: the tiny model spans 16 shards, wte in three pieces, several tensors per shard


@pytest.fixture
def shards(tiny_model, tmp_path):
    write_shards(tiny_model, tmp_path, dtype="float32", max_shard_bytes=SMALL_SHARDS)
    return tmp_path


@pytest.fixture
def int8_shards(tiny_model, tmp_path):
    write_shards(tiny_model, tmp_path, dtype="int8", max_shard_bytes=SMALL_SHARDS // 4)
    return tmp_path


@pytest.fixture(scope="module")
def odd_width_model(tmp_path_factory):
    """12 wide: LayerNorm vectors are 48 bytes in float32, so the writer pads 16 zero bytes after each."""
    config = GPT2Config(n_vocab=457, n_ctx=8, n_embd=12, n_head=2, n_layer=1)
    return load_model(write_random_checkpoint(tmp_path_factory.mktemp("odd-width"), config, seed=4))


def manifest_of(directory) -> dict:
    return json.loads((directory / MANIFEST_FILE).read_text())


def save_manifest(directory, manifest) -> None:
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest))


def entry(manifest, name) -> dict:
    return next(e for e in manifest["tensors"] if e["name"] == name)


def rewrite_shard(directory, manifest, file, data: bytes) -> None:
    """Replace a shard's bytes and record its new size and sha256, as an attacker with the manifest would."""
    (directory / file).write_bytes(data)
    shard = next(s for s in manifest["shards"] if s["file"] == file)
    shard.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())


def refused(directory, *pattern: str) -> str:
    with pytest.raises(WeightsError) as error:
        load_model_from_shards(directory)
    message = str(error.value)
    assert message.startswith(f"{MANIFEST_FILE} in {directory}: "), message
    for part in pattern:
        assert part in message, message
    return message


# -- what the writer writes is accepted --------------------------------------------------------------

def as_written(value: np.ndarray, dtype: str) -> np.ndarray:
    """A stored tensor as the shards give it back: rounded to float16/float32; with int8, a matrix quantized
    (quantization.py) and a vector in float16."""
    if dtype == "int8":
        return dequantize_rows(*quantize_rows(value)) if value.ndim == 2 else as_written(value, "float16")
    return value.astype(dtype).astype(np.float32)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
@pytest.mark.parametrize("max_shard_bytes", [1_000, SMALL_SHARDS, 8 * 2**20])
def test_every_layout_the_writer_makes_passes_the_check(tiny_model, odd_width_model, tmp_path, dtype, max_shard_bytes):
    for model in (tiny_model, odd_width_model):
        directory = tmp_path / f"{model.config.n_embd}"
        write_shards(model, directory, dtype=dtype, max_shard_bytes=max_shard_bytes)
        assert load_model_from_shards(directory).config == model.config
        stored = read_stored_tensors(directory)
        for name, value in stored_tensors(model).items():
            np.testing.assert_array_equal(stored[name], as_written(value, dtype), err_msg=name)


def test_the_odd_width_model_really_has_padding_between_pieces(odd_width_model, tmp_path):
    write_shards(odd_width_model, tmp_path, dtype="float32")
    pieces = [p for e in manifest_of(tmp_path)["tensors"] for p in e["pieces"]]
    assert any(p["length"] % PIECE_ALIGNMENT for p in pieces)  # else the padding tests below test nothing
    assert all(p["offset"] % PIECE_ALIGNMENT == 0 for p in pieces)


# -- layouts that are refused ------------------------------------------------------------------------

def test_overlapping_pieces_are_refused_naming_both_tensors(shards):
    manifest = manifest_of(shards)
    g, b = entry(manifest, "blocks.0.ln_1.g")["pieces"][0], entry(manifest, "blocks.0.ln_1.b")["pieces"][0]
    b["offset"] = g["offset"] + PIECE_ALIGNMENT  # b now starts inside g
    save_manifest(shards, manifest)
    refused(shards, f"in '{b['file']}', tensor 'blocks.0.ln_1.b'", "overlaps 'blocks.0.ln_1.g'")


def test_a_gap_that_could_hide_data_is_refused(shards):
    manifest = manifest_of(shards)
    b = entry(manifest, "blocks.0.ln_1.b")["pieces"][0]
    data = (shards / b["file"]).read_bytes()
    hidden = b"hidden message, 64 bytes long".ljust(PIECE_ALIGNMENT, b"!")
    rewrite_shard(shards, manifest, b["file"], data[:b["offset"]] + hidden + data[b["offset"]:])
    gap_start = b["offset"]
    b["offset"] += PIECE_ALIGNMENT
    save_manifest(shards, manifest)
    refused(shards, f"in '{b['file']}', bytes {gap_start}..{gap_start + PIECE_ALIGNMENT} before tensor "
                    f"'blocks.0.ln_1.b' belong to no tensor")


def test_bytes_after_the_last_piece_are_refused(shards):
    manifest = manifest_of(shards)
    file = entry(manifest, "blocks.0.ln_1.b")["pieces"][0]["file"]
    data = (shards / file).read_bytes()
    rewrite_shard(shards, manifest, file, data + b"\0" * 100)
    save_manifest(shards, manifest)
    refused(shards, f"the last 100 bytes of '{file}' (from byte {len(data)}) belong to no tensor")


def test_a_piece_pointing_past_the_end_of_its_shard_is_refused(shards):
    manifest = manifest_of(shards)
    b = entry(manifest, "blocks.0.ln_1.b")["pieces"][0]
    size = next(s["bytes"] for s in manifest["shards"] if s["file"] == b["file"])
    b["offset"] = size  # still aligned, but wholly outside the file
    save_manifest(shards, manifest)
    refused(shards, f"tensor 'blocks.0.ln_1.b' ends at byte {size + b['length']} of '{b['file']}', past the "
                    f"shard's end ({size} bytes)")


def test_a_piece_off_the_alignment_is_refused(shards):
    manifest = manifest_of(shards)
    b = entry(manifest, "blocks.0.ln_1.b")["pieces"][0]
    b["offset"] += 4
    save_manifest(shards, manifest)
    refused(shards, f"tensor 'blocks.0.ln_1.b' starts at byte {b['offset']} of '{b['file']}', not on a 64-byte boundary")


def test_a_piece_in_a_shard_the_manifest_does_not_list_is_refused(shards):
    manifest = manifest_of(shards)
    entry(manifest, "ln_f.b")["pieces"][0]["file"] = "weights-99999.bin"
    save_manifest(shards, manifest)
    refused(shards, "tensor 'ln_f.b' lies in 'weights-99999.bin', which the manifest does not list among its shards")


def test_a_tensors_own_pieces_out_of_row_order_are_refused(shards):
    manifest = manifest_of(shards)
    pieces = entry(manifest, "wte")["pieces"]
    assert pieces[0]["length"] == pieces[1]["length"]  # a swap that keeps every length and the tiling
    pieces[0], pieces[1] = pieces[1], pieces[0]
    save_manifest(shards, manifest)
    refused(shards, "tensor 'wte' piece 1 lies before the piece holding the rows above it")


def test_pieces_of_different_sizes_swapped_between_tensors_are_refused(shards):
    manifest = manifest_of(shards)
    g, c_attn_b = entry(manifest, "blocks.0.ln_1.g"), entry(manifest, "blocks.0.attn.c_attn.b")
    g["pieces"], c_attn_b["pieces"] = c_attn_b["pieces"], g["pieces"]
    save_manifest(shards, manifest)
    refused(shards, "tensor 'blocks.0.ln_1.g': its pieces hold 192 rows, its shape (64,) needs 64")


def test_a_piece_whose_length_does_not_match_its_rows_is_refused(shards):
    manifest = manifest_of(shards)
    piece = entry(manifest, "wpe")["pieces"][0]
    piece["length"] -= PIECE_ALIGNMENT
    save_manifest(shards, manifest)
    refused(shards, f"tensor 'wpe' piece 0 in '{piece['file']}' is {piece['length']} bytes long, but 128 rows of "
                    f"shape (64,) in float32 take {piece['length'] + PIECE_ALIGNMENT}")


def test_non_zero_padding_between_pieces_is_refused_even_when_the_sha256_matches(odd_width_model, tmp_path):
    write_shards(odd_width_model, tmp_path, dtype="float32")
    manifest = manifest_of(tmp_path)
    piece = next(p for e in manifest["tensors"] for p in e["pieces"] if p["length"] % PIECE_ALIGNMENT)
    data = bytearray((tmp_path / piece["file"]).read_bytes())
    end = piece["offset"] + piece["length"]
    data[end] = 0x2A  # the first padding byte after this piece
    rewrite_shard(tmp_path, manifest, piece["file"], bytes(data))
    save_manifest(tmp_path, manifest)
    for verify_sha256 in (True, False):  # the browser checks the sha256 itself; the padding is checked here
        with pytest.raises(WeightsError, match=rf"weight shard '{piece['file']}' has non-zero bytes between its "
                                               rf"tensors \(bytes {end}\.\.{end + 16}\)"):
            load_model_from_shards(tmp_path, verify_sha256=verify_sha256)


@pytest.mark.parametrize("change, message", [
    (lambda m: m["tensors"].append(dict(entry(m, "ln_f.b"))), "lists the tensor 'ln_f.b' twice"),
    (lambda m: m["tensors"].append({**entry(m, "ln_f.b"), "name": "secret"}),
     "lists tensors this model does not have: 'secret'"),
    (lambda m: m["shards"].append(dict(m["shards"][0])), "lists the shard 'weights-00000.bin' twice"),
    (lambda m: m["shards"][0].update(file="../weights-00000.bin"), "shard entry 0 must give a plain 'file' name"),
    (lambda m: m["tokenizer"].update(vocab="/etc/passwd"), "'tokenizer' must name its 'vocab' and 'merges' files"),
    (lambda m: m["shards"][0].update(bytes="39936"), "shard entry 0 must give a plain 'file' name (no folder), its "
                                                     "'bytes'"),
    (lambda m: entry(m, "wpe")["pieces"][0].update(offset=-64), "tensor 'wpe' piece 0 must give its 'file', 'offset'"),
    (lambda m: entry(m, "wpe").update(pieces=[]), "tensor 'wpe' has no pieces"),
    (lambda m: entry(m, "wpe").update(dtype="int8"),
     "tensor 'wpe' has dtype 'int8' but does not name its scale tensor 'wpe.scale' (its 'scale' is None)"),
    (lambda m: entry(m, "wpe").update(dtype="bfloat16"), "tensor 'wpe' has dtype 'bfloat16'; shards hold float16, "
                                                         "float32 or int8"),
    (lambda m: m.update(config=[]), "has no 'config' object"),
    (lambda m: m["config"].update(layer_norm_epsilon=-1), "config layer_norm_epsilon must be a number between 0 and 1"),
    (lambda m: m.update(tensors={}), "has no list of 'tensors'"),
])
def test_malformed_entries_are_refused_naming_what_is_wrong(shards, change, message):
    manifest = manifest_of(shards)
    change(manifest)
    save_manifest(shards, manifest)
    refused(shards, message)


def test_the_odd_width_model_in_int8_has_padding_after_its_scales_and_vectors(odd_width_model, tmp_path):
    write_shards(odd_width_model, tmp_path, dtype="int8")
    entries = manifest_of(tmp_path)["tensors"]
    assert any(p["length"] % PIECE_ALIGNMENT for e in entries if e["name"].endswith(".scale") for p in e["pieces"])
    assert any(p["length"] % PIECE_ALIGNMENT for e in entries if e["dtype"] == "int8" for p in e["pieces"])


# -- int8 entries and their scales -------------------------------------------------------------------

def test_the_int8_manifest_stores_each_scale_right_after_its_matrix(int8_shards):
    entries = manifest_of(int8_shards)["tensors"]
    names = [e["name"] for e in entries]
    for index, e in enumerate(entries):
        if e["dtype"] == "int8":
            assert names[index + 1] == e["scale"] == f"{e['name']}.scale"
            assert entries[index + 1]["shape"] == e["shape"][:1] and entries[index + 1]["dtype"] == "float32"
    assert len(entry(manifest_of(int8_shards), "wte")["pieces"]) > 1  # split int8 rows are covered too


def remove_scale(manifest, name):
    manifest["tensors"] = [e for e in manifest["tensors"] if e["name"] != f"{name}.scale"]


@pytest.mark.parametrize("change, message", [
    (lambda m: entry(m, "wte").pop("scale"),
     "tensor 'wte' has dtype 'int8' but does not name its scale tensor 'wte.scale' (its 'scale' is None)"),
    (lambda m: entry(m, "wte").update(scale="wpe.scale"),
     "tensor 'wte' has dtype 'int8' but does not name its scale tensor 'wte.scale' (its 'scale' is 'wpe.scale')"),
    (lambda m: remove_scale(m, "blocks.1.mlp.c_fc.w"),
     "has no tensor 'blocks.1.mlp.c_fc.w.scale', the scales of the int8 tensor 'blocks.1.mlp.c_fc.w' "
     "(expected shape (256,))"),
    (lambda m: entry(m, "wte.scale").update(dtype="float16"),
     "tensor 'wte.scale' holds the scales of an int8 tensor: its dtype must be float32"),
    (lambda m: entry(m, "wte.scale").update(dtype="int8", scale="wte.scale.scale"),
     "tensor 'wte.scale' holds the scales of an int8 tensor: its dtype must be float32"),
    (lambda m: entry(m, "wte.scale").update(shape=[457, 1]),
     "tensor 'wte.scale' in the manifest has shape (457, 1), but the config says (457,)"),
    (lambda m: entry(m, "ln_f.g").update(dtype="int8", scale="ln_f.g.scale"),
     "tensor 'ln_f.g' has dtype 'int8', but only matrices are stored as int8 (one scale per row), and its shape "
     "is (64,)"),
    (lambda m: entry(m, "ln_f.g").update(scale="wte.scale"),
     "tensor 'ln_f.g' has dtype 'float16' and names a scale 'wte.scale': only int8 tensors have scales"),
    (lambda m: entry(m, "wpe").update(dtype="float16"),  # int8 bytes read as float16 would be garbage
     "tensor 'wpe' has dtype 'float16' and names a scale 'wpe.scale'"),
    (lambda m: (entry(m, "wpe").update(dtype="float16"), entry(m, "wpe").pop("scale")),
     "lists tensors this model does not have: 'wpe.scale'"),
    (lambda m: entry(m, "wte.scale")["pieces"][0].update(length=entry(m, "wte.scale")["pieces"][0]["length"] // 2),
     "tensor 'wte.scale' piece 0 in"),
])
def test_malformed_int8_entries_are_refused_naming_what_is_wrong(int8_shards, change, message):
    manifest = manifest_of(int8_shards)
    change(manifest)
    save_manifest(int8_shards, manifest)
    refused(int8_shards, message)


def test_a_scale_entry_in_a_float_manifest_is_refused(shards):
    manifest = manifest_of(shards)
    manifest["tensors"].append({**entry(manifest, "ln_f.b"), "name": "wte.scale"})
    save_manifest(shards, manifest)
    refused(shards, "lists tensors this model does not have: 'wte.scale'")


def test_an_int8_piece_overlapping_its_scale_is_refused(int8_shards):
    manifest = manifest_of(int8_shards)
    matrix, scale = entry(manifest, "blocks.0.attn.c_proj.w"), entry(manifest, "blocks.0.attn.c_proj.w.scale")
    assert matrix["pieces"][-1]["file"] == scale["pieces"][0]["file"]  # the scale follows in the same shard
    scale["pieces"][0]["offset"] -= PIECE_ALIGNMENT
    save_manifest(int8_shards, manifest)
    refused(int8_shards, "tensor 'blocks.0.attn.c_proj.w.scale'", "overlaps 'blocks.0.attn.c_proj.w'")


@pytest.mark.parametrize("bad_scale", [0.0, -0.5, np.inf, np.nan])
def test_a_scale_that_is_not_a_positive_number_is_refused_even_with_a_matching_sha256(int8_shards, bad_scale):
    manifest = manifest_of(int8_shards)
    piece = entry(manifest, "blocks.1.attn.c_attn.w.scale")["pieces"][0]
    data = bytearray((int8_shards / piece["file"]).read_bytes())
    data[piece["offset"] + 4 * 7:piece["offset"] + 4 * 8] = np.float32(bad_scale).tobytes()  # row 7's scale
    rewrite_shard(int8_shards, manifest, piece["file"], bytes(data))
    save_manifest(int8_shards, manifest)
    with pytest.raises(WeightsError, match=r"tensor 'blocks.1.attn.c_attn.w.scale' holds a scale that is not a "
                                           r"positive number: the shards are corrupt"):
        load_model_from_shards(int8_shards)


def test_a_manifest_that_is_not_an_object_is_refused(shards):
    (shards / MANIFEST_FILE).write_text("[1, 2, 3]")
    with pytest.raises(WeightsError, match=rf"{MANIFEST_FILE} in {shards} is not a gpt2-shards manifest of version 1 "
                                           rf"\(a JSON list\)"):
        read_manifest(shards)


def test_a_missing_tokenizer_file_is_refused_before_any_shard_is_read(shards):
    (shards / "merges.txt").unlink()
    asked = []

    def read(name):
        asked.append(name)
        return (shards / name).read_bytes()

    with pytest.raises(WeightsError, match="the tokenizer file 'merges.txt' is missing"):
        load_model_from_shards(read)
    assert not [name for name in asked if name.startswith("weights-")]


def test_a_tokenizer_vocabulary_that_is_not_json_is_refused_naming_it(shards):
    (shards / "vocab.json").write_text("{not json")
    with pytest.raises(WeightsError, match=rf"the tokenizer file 'vocab.json' in {shards} is not valid JSON"):
        load_model_from_shards(shards)


@pytest.mark.parametrize("file, content, expected", [
    ("merges.txt", "#version: 0.2\nĠ t\nthree symbols here\n", "{merges} line 3 is not a merge"),
    ("merges.txt", b"\xff\xfe", "cannot read the tokenizer merges: the tokenizer file {merges} is not UTF-8 text"),
    ("vocab.json", '["a", "b"]', "{vocab} is not a GPT-2 vocabulary"),
    ("vocab.json", '{"a": 0}', "{vocab} is not a byte-level BPE vocabulary: it lacks 255 of the 256 byte symbols"),
])
def test_tokenizer_files_are_read_and_refused_alike_from_shards_and_from_a_checkpoint(
        shards, tiny_checkpoint, tmp_path, file, content, expected):
    """One reader of vocab.json and merges.txt (tokenizer.tokenizer_from_file_contents): the same file gets the same
    refusal wherever it is read from, naming where it lies."""
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    for path in tiny_checkpoint.iterdir():
        (checkpoint / path.name).write_bytes(path.read_bytes())
    places = [(load_model_from_shards, shards, lambda name: f"'{name}' in {shards}"),
              (load_model, checkpoint, lambda name: str(checkpoint / name))]
    for load, folder, where in places:
        (folder / file).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        with pytest.raises(WeightsError) as error:
            load(folder)
        assert expected.format(vocab=where("vocab.json"), merges=where("merges.txt")) in str(error.value)


# -- the manifest's own hash -------------------------------------------------------------------------

def test_manifest_sha256_is_the_sha256_of_the_files_bytes():
    assert manifest_sha256(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert manifest_sha256(memoryview(b"abc")) == manifest_sha256(b"abc")  # what Pyodide's reader hands over


def test_pieces_of_the_same_size_swapped_between_tensors_load_unless_the_manifest_hash_is_checked(tiny_model, shards):
    """The one change no layout check can see: two equal-sized pieces exchanged. The hash sees it."""
    published = manifest_sha256((shards / MANIFEST_FILE).read_bytes())
    assert load_model_from_shards(shards, expected_manifest_sha256=published).config == tiny_model.config

    manifest = manifest_of(shards)
    g, b = entry(manifest, "blocks.0.ln_1.g"), entry(manifest, "blocks.0.ln_1.b")
    g["pieces"], b["pieces"] = b["pieces"], g["pieces"]
    save_manifest(shards, manifest)

    swapped = load_model_from_shards(shards)  # the layout still tiles: structurally this is a valid manifest
    np.testing.assert_array_equal(swapped.params["blocks"][0]["ln_1"]["g"], tiny_model.params["blocks"][0]["ln_1"]["b"])
    with pytest.raises(WeightsError) as error:
        load_model_from_shards(shards, expected_manifest_sha256=published)
    assert str(error.value).startswith(f"{MANIFEST_FILE} in {shards} has sha256 "
                                       f"{manifest_sha256((shards / MANIFEST_FILE).read_bytes())}, "
                                       f"not the expected {published}")


def test_the_expected_hash_is_compared_whatever_its_case_and_must_be_a_sha256(shards):
    published = manifest_sha256((shards / MANIFEST_FILE).read_bytes())
    load_model_from_shards(shards, expected_manifest_sha256=published.upper())
    with pytest.raises(WeightsError, match="the expected sha256 of manifest.json .* must be 64 hexadecimal digits, "
                                           "got 'abc'"):
        load_model_from_shards(shards, expected_manifest_sha256="abc")


def test_a_manifest_with_the_same_content_but_other_bytes_fails_the_hash(shards):
    """The hash is of the bytes served, not of the parsed JSON: rewriting the file (even equivalently) changes it."""
    published = manifest_sha256((shards / MANIFEST_FILE).read_bytes())
    save_manifest(shards, manifest_of(shards))  # same content, without the writer's indentation
    load_model_from_shards(shards)
    with pytest.raises(WeightsError, match="not the expected"):
        load_model_from_shards(shards, expected_manifest_sha256=published)


class Float16Kernel(kernels.EinsumKernel):
    """The site's kernel as far as reading goes: float16 matrices kept as stored (kernels.WasmSimdKernel)."""

    keeps_float16 = True


def test_reading_float16_shards_takes_the_models_memory_and_one_shard_not_every_shard_plus_copies(tmp_path):
    """In Pyodide the WebAssembly memory never shrinks: what the reading takes at its peak stays the page's. Each
    shard's pieces are placed as it arrives, so the peak is the model plus about one shard (before: every shard
    held while the multi-piece ``wte`` was copied, and a bool temporary as large as ``wte`` for the NaN check)."""
    config = GPT2Config(n_vocab=8000, n_ctx=32, n_embd=128, n_head=4, n_layer=1)
    model = load_model(write_random_checkpoint(tmp_path / "checkpoint", config, seed=5))
    directory = write_shards(model, tmp_path / "shards", dtype="float16", max_shard_bytes=256_000).parent
    manifest = read_manifest(directory)
    assert len(entry(manifest, "wte")["pieces"]) >= 8  # wte (2 MB in float16) spans many shards
    model_bytes = sum(shard["bytes"] for shard in manifest["shards"])
    largest_shard = max(shard["bytes"] for shard in manifest["shards"])
    previous = kernels.kernel
    kernels.use_kernel(Float16Kernel)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        loaded = load_model_from_shards(lambda name: (directory / name).read_bytes())  # new bytes, as to_bytes() makes
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
        kernels.use_kernel(previous)
    assert loaded.params["wte"].dtype == np.float16
    np.testing.assert_array_equal(loaded.params["wte"], model.params["wte"].astype(np.float16))
    assert peak <= model_bytes + largest_shard + 300_000, (peak, model_bytes, largest_shard)
