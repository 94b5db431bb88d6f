"""The browser weight format: shards + manifest that both runtimes read."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest

from transformer_explainer.gpt2_core import WeightsError, kernels
from transformer_explainer.gpt2_core.shards import MANIFEST_FILE, load_model_from_shards, read_manifest, write_shards
from transformer_explainer.gpt2_core.weights import iter_params

PROMPT = "The quick brown fox jumps over the lazy dog."
SMALL_SHARDS = 40_000  # bytes: the tiny model (~550 kB in float32) then spans many shards and splits wte


@pytest.fixture
def float32_shards(tiny_model, tmp_path):
    write_shards(tiny_model, tmp_path, dtype="float32", max_shard_bytes=SMALL_SHARDS)
    return tmp_path


def edit_manifest(directory, change) -> None:
    path = directory / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_float32_shards_round_trip_exactly(tiny_model, float32_shards):
    loaded = load_model_from_shards(float32_shards)
    original = dict(iter_params(tiny_model.params))
    for name, value in iter_params(loaded.params):
        assert value.dtype == np.float32, name
        np.testing.assert_array_equal(value, original[name], err_msg=name)
    assert loaded.config == tiny_model.config


def test_float16_shards_hold_the_weights_rounded_to_half_precision(tiny_model, tmp_path):
    write_shards(tiny_model, tmp_path, dtype="float16")
    loaded = load_model_from_shards(tmp_path)
    original = dict(iter_params(tiny_model.params))
    for name, value in iter_params(loaded.params):
        assert value.dtype == np.float32, name
        np.testing.assert_array_equal(value, original[name].astype(np.float16).astype(np.float32), err_msg=name)
        assert np.abs(value - original[name]).max() <= np.abs(original[name]).max() * 2.0**-11, name
    assert sum(shard["bytes"] for shard in read_manifest(tmp_path)["shards"]) < 0.52 * sum(
        value.nbytes for name, value in original.items() if name != "lm_head")


def test_manifest_stores_linear_weights_out_in_and_the_embedding_once(tiny_model, float32_shards):
    manifest = read_manifest(float32_shards)
    shapes = {entry["name"]: tuple(entry["shape"]) for entry in manifest["tensors"]}
    c = tiny_model.config
    assert shapes["wte"] == (c.n_vocab, c.n_embd)
    assert "lm_head" not in shapes  # tied: the unembedding reads wte
    assert shapes["blocks.0.mlp.c_fc.w"] == (c.d_mlp, c.n_embd)  # [out, in]
    assert shapes["blocks.1.attn.c_attn.w"] == (3 * c.n_embd, c.n_embd)


def test_shards_stay_under_the_size_limit_and_big_tensors_are_split(float32_shards):
    manifest = read_manifest(float32_shards)
    assert len(manifest["shards"]) > 5
    assert all(shard["bytes"] <= SMALL_SHARDS for shard in manifest["shards"])
    for shard in manifest["shards"]:
        assert (float32_shards / shard["file"]).stat().st_size == shard["bytes"]
    wte = next(entry for entry in manifest["tensors"] if entry["name"] == "wte")
    assert len(wte["pieces"]) > 1
    assert sum(piece["rows"] for piece in wte["pieces"]) == wte["shape"][0]
    ranges = sorted((p["file"], p["offset"], p["offset"] + p["length"])
                    for entry in manifest["tensors"] for p in entry["pieces"])
    for (file_a, _, end_a), (file_b, start_b, _) in zip(ranges, ranges[1:]):
        assert file_a != file_b or end_a <= start_b, "pieces overlap"


def test_the_tokenizer_travels_with_the_shards(tiny_model, float32_shards):
    loaded = load_model_from_shards(float32_shards)
    assert loaded.tokenizer.encode(PROMPT) == tiny_model.tokenizer.encode(PROMPT)
    assert loaded.tokenizer.decode(loaded.tokenizer.encode(PROMPT)) == PROMPT


def test_a_reader_callable_supplies_the_bytes_as_in_pyodide(tiny_model, float32_shards):
    fetched = {path.name: memoryview(path.read_bytes()) for path in float32_shards.iterdir()}  # as Uint8Array.to_py()
    loaded = load_model_from_shards(lambda name: fetched[name])
    ids = tiny_model.encode(PROMPT)
    np.testing.assert_array_equal(loaded.forward(ids), tiny_model.forward(ids))


def test_the_pyodide_kernel_reads_the_shards_in_its_own_layout(tiny_model, float32_shards):
    ids = tiny_model.encode(PROMPT)
    expected = tiny_model.forward(ids)
    kernels.use_kernel(kernels.EinsumKernel)
    try:
        loaded = load_model_from_shards(float32_shards)
        w = loaded.params["blocks"][0]["mlp"]["c_fc"]["w"]
        assert w.shape == (tiny_model.config.d_mlp, tiny_model.config.n_embd) and w.flags.c_contiguous  # [out, in]
        np.testing.assert_allclose(loaded.forward(ids), expected, atol=1e-5)
    finally:
        kernels.use_kernel(kernels.BlasKernel)


def test_a_corrupt_shard_is_refused_naming_the_file(float32_shards):
    shard = read_manifest(float32_shards)["shards"][1]["file"]
    data = bytearray((float32_shards / shard).read_bytes())
    data[100] ^= 0xFF
    (float32_shards / shard).write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=rf"{shard}.*sha256"):
        load_model_from_shards(float32_shards)


def test_a_truncated_shard_is_refused_naming_the_file(float32_shards):
    shard = read_manifest(float32_shards)["shards"][0]["file"]
    data = (float32_shards / shard).read_bytes()
    (float32_shards / shard).write_bytes(data[:-10])
    with pytest.raises(WeightsError, match=rf"{shard}.*{len(data) - 10} bytes.*{len(data)}"):
        load_model_from_shards(float32_shards)


def test_a_missing_shard_is_refused_naming_the_file(float32_shards):
    shard = read_manifest(float32_shards)["shards"][-1]["file"]
    (float32_shards / shard).unlink()
    with pytest.raises(WeightsError, match=rf"{shard}.*missing"):
        load_model_from_shards(float32_shards)


def test_a_missing_manifest_is_refused(tmp_path):
    with pytest.raises(WeightsError, match=r"manifest.*missing"):
        load_model_from_shards(tmp_path)


def test_a_wrong_shape_is_refused_naming_the_tensor_and_both_shapes(tiny_model, float32_shards):
    c = tiny_model.config

    def change(manifest):
        entry = next(e for e in manifest["tensors"] if e["name"] == "blocks.1.mlp.c_fc.w")
        entry["shape"] = [c.n_embd, c.d_mlp]  # [in, out]: the wrong layout

    edit_manifest(float32_shards, change)
    both_shapes = rf"\({c.n_embd}, {c.d_mlp}\).*\({c.d_mlp}, {c.n_embd}\)"
    with pytest.raises(WeightsError, match=rf"'blocks.1.mlp.c_fc.w'.*{both_shapes}"):
        load_model_from_shards(float32_shards)


def test_a_missing_tensor_is_refused_naming_it(float32_shards):
    edit_manifest(float32_shards, lambda m: m.update(tensors=[e for e in m["tensors"] if e["name"] != "ln_f.b"]))
    with pytest.raises(WeightsError, match=r"no tensor 'ln_f.b'"):
        load_model_from_shards(float32_shards)


def test_weights_too_large_for_float16_are_refused(tiny_model, tmp_path):
    model = copy.deepcopy(tiny_model)
    model.params["blocks"][0]["mlp"]["c_fc"]["b"][3] = 1e6
    with pytest.raises(WeightsError, match=r"'blocks.0.mlp.c_fc.b'.*float16.*float32"):
        write_shards(model, tmp_path, dtype="float16")


def test_rewriting_a_directory_removes_stale_shards(tiny_model, float32_shards):
    n_before = len(list(float32_shards.glob("weights-*.bin")))
    write_shards(tiny_model, float32_shards, dtype="float16")  # default shard size: one shard
    n_after = len(list(float32_shards.glob("weights-*.bin")))
    assert n_before > 1 and n_after == len(read_manifest(float32_shards)["shards"])


def test_the_modules_pyodide_imports_need_only_numpy_regex_and_the_stdlib():
    """shards.py and onnx_runtime.py run in Pyodide: onnxruntime is imported only when a CPython model opens."""
    code = ("import sys, transformer_explainer.gpt2_core.shards, transformer_explainer.gpt2_core.onnx_runtime\n"
            "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    third_party = {m for m in loaded if m not in sys.stdlib_module_names and not m.startswith("_") and m != "transformer_explainer"}
    assert third_party <= {"numpy", "regex"}, third_party
