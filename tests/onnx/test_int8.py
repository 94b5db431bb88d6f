"""Int8 shards: matrices as int8 with a float32 scale per row, vectors float16; both runtimes dequantize the same way.

Bounds on what int8 costs were measured here on random models and leave about twice the room:
the tiny model (std 0.2, 2 layers, 64 wide): largest logit error 0.30 over REPORT_PROMPTS, top-1 agreement
96%; GPT-2 small's shapes (std 0.02, real tokenizer): 0.08 and 97%.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the ONNX export needs the onnx package (pip install -e .[onnx])")
ort = pytest.importorskip("onnxruntime", reason="the ONNX runtime needs onnxruntime (pip install -e .[onnx])")

from transformer_explainer.gpt2_core import load_model  # noqa: E402
from transformer_explainer.gpt2_core.onnx_export import GRAPH_FILE, IR_VERSION, OPSET, export_onnx, main as export_main  # noqa: E402
from transformer_explainer.gpt2_core.onnx_runtime import OnnxGPT2  # noqa: E402
from transformer_explainer.gpt2_core.quantization import (REPORT_PROMPTS, dequantize_rows, quantization_cost,  # noqa: E402
                                    quantize_rows)
from transformer_explainer.gpt2_core.shards import (load_model_from_shards, read_manifest, read_stored_tensors, stored_tensors,  # noqa: E402
                              total_shard_bytes, write_shards)
from transformer_explainer.gpt2_core.weights import iter_params  # noqa: E402

PROMPT = "The capital of France is Paris. The quick brown fox"
SAME_SHARDS_TOLERANCE = 1e-4  # onnxruntime and NumPy on the very same dequantized weights
TINY_LOGIT_ERROR, TINY_AGREEMENT = 0.6, 0.9  # measured 0.30 and 0.96
SMALL_LOGIT_ERROR, SMALL_AGREEMENT = 0.16, 0.9  # measured 0.08 and 0.97


# -- quantizing one matrix ---------------------------------------------------------------------------------

def test_a_hand_made_matrix_quantizes_to_the_values_worked_out_by_hand():
    w = np.array([[1.0, -0.5, 0.25],  # scale 1/127: -63.5 rounds to even (-64), 31.75 to 32
                  [0.0, 0.0, 0.0],  # all zero: scale 1, nothing divided by 0
                  [-254.0, 127.0, 0.9]], dtype=np.float32)  # scale 2: 63.5 rounds to 64, 0.45 to 0
    q, scale = quantize_rows(w)
    assert q.dtype == np.int8 and scale.dtype == np.float32
    np.testing.assert_array_equal(q, [[127, -64, 32], [0, 0, 0], [-127, 64, 0]])
    np.testing.assert_allclose(scale, [1 / 127, 1.0, 2.0], rtol=1e-7)
    np.testing.assert_allclose(dequantize_rows(q, scale), [[1.0, -64 / 127, 32 / 127], [0, 0, 0], [-254, 128, 0]],
                               rtol=1e-6)


def test_the_round_trip_error_is_at_most_half_a_step_in_every_row():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((300, 77)).astype(np.float32) * rng.uniform(1e-4, 10, (300, 1)).astype(np.float32)
    w[5] = 0  # an all-zero row
    w[6] = 0
    w[6, 3] = -3e-3  # a row with one value
    q, scale = quantize_rows(w)
    restored = dequantize_rows(q, scale)
    assert restored.dtype == np.float32 and np.isfinite(restored).all()
    error = np.abs(restored - w)  # [rows, cols]
    assert (error <= scale[:, None] * (0.5 + 1e-4)).all()  # half a step, give or take float32 rounding
    assert (error.max(axis=1) > scale / 4).sum() > 250  # the bound is nearly reached: the steps are not finer
    assert np.abs(q).max(axis=1).tolist() == [0 if row in (5,) else 127 for row in range(300)]  # the peak is ±127
    assert q.min() >= -127 and scale[5] == 1.0
    np.testing.assert_array_equal(restored[5], 0)
    assert restored[6, 3] == pytest.approx(-3e-3, rel=1e-6) and not restored[6, :3].any()


def test_only_matrices_are_quantized():
    with pytest.raises(ValueError, match=r"a matrix \[rows, cols\], got shape \(8,\)"):
        quantize_rows(np.ones(8, dtype=np.float32))


# -- what quantization_cost measures -----------------------------------------------------------------------

class FixedLogits:
    """A stand-in model: the logits [pos, V] it gives for each prompt (a tuple of token ids)."""

    def __init__(self, logits: dict):
        self.logits = {ids: np.asarray(rows, dtype=np.float32) for ids, rows in logits.items()}

    def forward(self, ids):
        return self.logits[tuple(ids)]


def test_quantization_cost_on_logits_worked_out_by_hand():
    ln3 = math.log(3)
    reference = FixedLogits({(1,): [[ln3, 0.0]], (2,): [[2.0, 0.0]]})  # probabilities [.75, .25]; argmax 0, 0
    quantized = FixedLogits({(1,): [[0.0, ln3]], (2,): [[2.5, 0.5]]})  # [.25, .75]: argmax 1; shifted by 0.5: same
    cost = quantization_cost(reference, quantized, [[1], [2]])
    assert cost["positions"] == 2
    assert cost["top1_agreement"] == 0.5
    assert cost["max_logit_error"] == pytest.approx(ln3, rel=1e-6)
    assert cost["max_probability_error"] == pytest.approx(0.5, rel=1e-6)


def test_logits_shifted_by_a_constant_cost_no_probability():
    reference = FixedLogits({(1, 2): [[0.0, 1.0, 3.0], [2.0, -1.0, 0.5]]})
    quantized = FixedLogits({(1, 2): [[0.25, 1.25, 3.25], [2.25, -0.75, 0.75]]})
    cost = quantization_cost(reference, quantized, [[1, 2]])
    assert cost["top1_agreement"] == 1.0 and cost["positions"] == 2
    assert cost["max_logit_error"] == pytest.approx(0.25)
    assert cost["max_probability_error"] < 1e-7


def test_a_model_compared_with_itself_costs_nothing(tiny_model):
    cost = quantization_cost(tiny_model, tiny_model, [PROMPT, "Hello"])
    assert cost == {"top1_agreement": 1.0, "max_logit_error": 0.0, "max_probability_error": 0.0,
                    "positions": len(tiny_model.encode(PROMPT)) + len(tiny_model.encode("Hello"))}
    with pytest.raises(ValueError, match="at least one prompt"):
        quantization_cost(tiny_model, tiny_model, [])


# -- int8 shards of the tiny model ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_int8(tiny_model, tmp_path_factory):
    """The tiny model exported as int8 shards + graph; shards small enough that wte and others are split."""
    directory = tmp_path_factory.mktemp("tiny-int8")
    export_onnx(tiny_model, directory, dtype="int8", attention_patterns=True, max_shard_bytes=12_000)
    return directory


def test_the_manifest_says_int8_and_names_each_matrixs_scale(tiny_int8, tiny_model):
    manifest = read_manifest(tiny_int8)
    assert manifest["dtype"] == "int8" and manifest["format_version"] == 1
    entries = {e["name"]: e for e in manifest["tensors"]}
    c, stored = tiny_model.config, stored_tensors(tiny_model)
    assert len(entries["wte"]["pieces"]) > 1  # the int8 rows of wte span shards
    for name, value in stored.items():
        if value.ndim == 2:
            assert (entries[name]["dtype"], entries[name]["scale"]) == ("int8", f"{name}.scale"), name
            scale = entries[f"{name}.scale"]
            assert (scale["dtype"], scale["shape"]) == ("float32", [value.shape[0]]), name
        else:
            assert entries[name]["dtype"] == "float16" and "scale" not in entries[name], name
    assert entries["blocks.0.mlp.c_fc.w"]["shape"] == [c.d_mlp, c.n_embd]  # one scale per output row
    assert set(entries) == set(stored) | {f"{name}.scale" for name, value in stored.items() if value.ndim == 2}


def test_int8_matrices_take_half_the_bytes_of_float16_ones(tiny_model, tiny_int8, tmp_path):
    write_shards(tiny_model, tmp_path, dtype="float16")
    half = {e["name"]: sum(p["length"] for p in e["pieces"]) for e in read_manifest(tmp_path)["tensors"]}
    quarter = {e["name"]: sum(p["length"] for p in e["pieces"]) for e in read_manifest(tiny_int8)["tensors"]}
    for name, value in stored_tensors(tiny_model).items():
        expected = value.size * (1 if value.ndim == 2 else 2)
        assert quarter[name] == expected and half[name] == 2 * value.size, name
        if value.ndim == 2:
            assert quarter[f"{name}.scale"] == 4 * value.shape[0], name


def test_the_numpy_model_from_int8_shards_holds_the_dequantized_weights_in_float32(tiny_model, tiny_int8):
    stored = read_stored_tensors(tiny_int8)
    for name, value in stored_tensors(tiny_model).items():
        assert stored[name].dtype == np.float32, name
        if value.ndim == 2:
            np.testing.assert_array_equal(stored[name], dequantize_rows(*quantize_rows(value)), err_msg=name)
            step = np.abs(value).max(axis=1, keepdims=True) / 127
            assert (np.abs(stored[name] - value) <= step * (0.5 + 1e-4)).all(), name
        else:
            np.testing.assert_array_equal(stored[name], value.astype(np.float16).astype(np.float32), err_msg=name)
    loaded = load_model_from_shards(tiny_int8)
    assert all(value.dtype == np.float32 for _, value in iter_params(loaded.params))
    trace = loaded.run_with_trace(PROMPT, all_logits=True)
    assert {name: trace[name].dtype for name in trace.names} == {name: np.float32 for name in trace.names}


def test_int8_logits_stay_close_to_the_float32_models(tiny_model, tiny_int8):
    cost = quantization_cost(tiny_model, load_model_from_shards(tiny_int8), REPORT_PROMPTS)
    assert cost["max_logit_error"] <= TINY_LOGIT_ERROR
    assert cost["top1_agreement"] >= TINY_AGREEMENT
    assert cost["max_logit_error"] > 0.01  # the weights really were rounded to 8 bits


# -- the int8 graph ----------------------------------------------------------------------------------------

def test_the_int8_graph_is_ir10_and_reads_int8_pieces_from_the_shards(tiny_int8):
    path = tiny_int8 / GRAPH_FILE
    model = onnx.load(str(path), load_external_data=False)
    assert model.ir_version == IR_VERSION == 10 and [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    onnx.checker.check_model(str(path), full_check=True)
    external = {}
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            info = {entry.key: entry.value for entry in tensor.external_data}
            external[(info["location"], int(info["offset"]), int(info["length"]))] = tensor.data_type
    types = {"int8": onnx.TensorProto.INT8, "float32": onnx.TensorProto.FLOAT, "float16": onnx.TensorProto.FLOAT16}
    expected = {(p["file"], p["offset"], p["length"]): types[e["dtype"]]
                for e in read_manifest(tiny_int8)["tensors"] for p in e["pieces"]}
    assert external == expected  # every piece once, read as the dtype it is stored in
    assert {p.key: p.value for p in model.metadata_props}["weights_dtype"] == "int8"


def test_onnxruntime_dequantizes_the_weights_once_when_the_session_opens(tiny_int8, tmp_path):
    """Its optimized graph holds no int8 tensor any more: every Cast and Mul of a weight was folded away."""
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    options.log_severity_level = 3  # not the warning that an optimized model is machine-specific
    ort.InferenceSession(str(tiny_int8 / GRAPH_FILE), options, providers=["CPUExecutionProvider"])
    optimized = onnx.load(str(tmp_path / "optimized.onnx"))
    assert not [t.name for t in optimized.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert "Cast" not in {node.op_type for node in optimized.graph.node}
    assert "DequantizeLinear" not in {node.op_type for node in optimized.graph.node}


def test_onnxruntime_on_int8_shards_equals_numpy_on_the_same_shards(tiny_int8, tiny_model):
    runtime, numpy_model = OnnxGPT2.from_directory(tiny_int8), load_model_from_shards(tiny_int8)
    ids = tiny_model.encode(PROMPT)
    full = numpy_model.forward(ids)  # [pos, V]
    session = runtime.start_session(len(ids))
    steps = [session.feed(ids[:-3])] + [session.feed([token]) for token in ids[-3:]]
    for position, logits in enumerate(steps, start=len(ids) - 4):
        assert np.abs(logits - full[position]).max() <= SAME_SHARDS_TOLERANCE
    assert np.abs(full - tiny_model.forward(ids)).max() > 0.01  # these are not the float32 weights
    greedy = dict(max_new_tokens=30, temperature=0)
    ours = [step.token_id for step in runtime.generate(ids, **greedy)]
    assert ours == [step.token_id for step in numpy_model.generate(ids, **greedy)]
    assert len(set(ours)) > 1


def test_the_command_line_writes_int8_and_reports_its_cost(tiny_checkpoint, tiny_model, tmp_path, capsys):
    assert export_main([str(tiny_checkpoint), str(tmp_path), "--int8"]) == 0
    printed = capsys.readouterr().out
    assert read_manifest(tmp_path)["dtype"] == "int8"
    cost = quantization_cost(tiny_model, load_model_from_shards(tmp_path), REPORT_PROMPTS)
    assert (f"int8 against float32 over {cost['positions']} positions: top-1 agreement "
            f"{cost['top1_agreement']:.1%}, largest logit error {cost['max_logit_error']:.3f}") in printed
    ids = tiny_model.encode(PROMPT)
    np.testing.assert_allclose(OnnxGPT2.from_directory(tmp_path).forward_last(ids),
                               load_model_from_shards(tmp_path).forward(ids)[-1], atol=SAME_SHARDS_TOLERANCE, rtol=0)
    with pytest.raises(SystemExit) as exit_info:
        export_main([str(tiny_checkpoint), str(tmp_path), "--int8", "--float32"])
    assert exit_info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_an_unknown_storage_dtype_is_refused(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="shards store float16, float32 or int8, not 'int4'"):
        write_shards(tiny_model, tmp_path, dtype="int4")


# -- GPT-2 small's shapes ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_shaped(small_shaped_checkpoint, tmp_path_factory):
    """GPT-2 small's shapes and tokenizer (random weights): the float32 model and its int8 export."""
    model = load_model(small_shaped_checkpoint)
    directory = tmp_path_factory.mktemp("small-shaped-int8")
    export_onnx(model, directory, dtype="int8")
    return model, directory


@pytest.mark.slow
def test_gpt2_small_shaped_int8_shards_are_half_the_float16_download(small_shaped, tmp_path):
    model, directory = small_shaped
    int8_bytes = total_shard_bytes(read_manifest(directory))
    write_shards(model, tmp_path, dtype="float16")
    float16_bytes = total_shard_bytes(read_manifest(tmp_path))
    assert 248e6 < float16_bytes < 250e6
    assert 124e6 < int8_bytes <= 125.2e6  # 124.3 MB of int8, 0.54 MB of scales, 0.24 MB of float16 vectors
    assert int8_bytes < 0.503 * float16_bytes


@pytest.mark.slow
def test_gpt2_small_shaped_int8_logits_stay_close_and_onnxruntime_agrees(small_shaped):
    model, directory = small_shaped
    quantized = load_model_from_shards(directory)
    cost = quantization_cost(model, quantized, REPORT_PROMPTS)
    assert cost["max_logit_error"] <= SMALL_LOGIT_ERROR
    assert cost["top1_agreement"] >= SMALL_AGREEMENT
    assert cost["max_probability_error"] < 1e-4  # random weights: nearly flat predictions

    runtime = OnnxGPT2.from_directory(directory)
    ids = model.encode(PROMPT)
    full = quantized.forward(ids)
    session = runtime.start_session(len(ids))
    steps = [session.feed(ids[:-2])] + [session.feed([token]) for token in ids[-2:]]
    for position, logits in enumerate(steps, start=len(ids) - 3):
        assert np.abs(logits - full[position]).max() <= SAME_SHARDS_TOLERANCE
