"""The ONNX fast path (onnxruntime in CPython) against the NumPy pass: same logits, same tokens."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the ONNX export needs the onnx package (pip install -e .[onnx])")
pytest.importorskip("onnxruntime", reason="the ONNX runtime needs onnxruntime (pip install -e .[onnx])")

from transformer_explainer.gpt2_core import GPT2Config, PromptError, load_model  # noqa: E402
from transformer_explainer.gpt2_core.checkpoints import write_random_checkpoint  # noqa: E402
from transformer_explainer.gpt2_core.onnx_export import IR_VERSION, OPSET, export_onnx, main as export_main  # noqa: E402
from transformer_explainer.gpt2_core.onnx_runtime import OnnxGPT2  # noqa: E402
from transformer_explainer.gpt2_core.shards import load_model_from_shards, read_manifest  # noqa: E402

PROMPT = "The capital of France is Paris. The quick brown fox"
FLOAT32_TOLERANCE = 1e-4
FLOAT16_TOLERANCE = 5e-2


def top_tokens(logits, k=10) -> set[int]:
    return set(np.argsort(-logits)[:k].tolist())


def run_async(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API (browser tests) may hold this thread's loop."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


def decode_logits(runtime, ids, n_prompt) -> list[np.ndarray]:
    """The prompt's first ``n_prompt`` tokens in one call, then the rest one token per call (KV cache)."""
    session = runtime.start_session(len(ids))
    logits = [session.feed(ids[:n_prompt])]
    logits += [session.feed([token]) for token in ids[n_prompt:]]
    return logits


@pytest.fixture(scope="module")
def exported_tiny(tiny_model, tmp_path_factory):
    """dtype -> a directory holding the tiny model's shards, tokenizer and model.onnx (with the attention output)."""
    def export(dtype: str):
        directory = tmp_path_factory.mktemp(f"tiny-onnx-{dtype}")
        export_onnx(tiny_model, directory, dtype=dtype, attention_patterns=True)
        return directory

    return {dtype: export(dtype) for dtype in ("float32", "float16")}


@pytest.fixture(scope="module")
def onnx_tiny(exported_tiny):
    return {dtype: OnnxGPT2.from_directory(directory) for dtype, directory in exported_tiny.items()}


# -- the graph ---------------------------------------------------------------------------------------------

def test_the_graph_is_ir10_and_reads_every_weight_from_the_shards(exported_tiny):
    for dtype, directory in exported_tiny.items():
        model = onnx.load(str(directory / "model.onnx"), load_external_data=False)
        assert model.ir_version == IR_VERSION == 10
        assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
        onnx.checker.check_model(str(directory / "model.onnx"), full_check=True)
        external = {}
        for tensor in model.graph.initializer:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                info = {entry.key: entry.value for entry in tensor.external_data}
                external[(info["location"], int(info["offset"]), int(info["length"]))] = tensor.data_type
        manifest = read_manifest(directory)
        pieces = {(p["file"], p["offset"], p["length"]) for e in manifest["tensors"] for p in e["pieces"]}
        assert set(external) == pieces  # every stored piece, and nothing else, is external data
        expected_type = onnx.TensorProto.FLOAT16 if dtype == "float16" else onnx.TensorProto.FLOAT
        assert set(external.values()) == {expected_type}
        inline_bytes = sum(len(t.raw_data) for t in model.graph.initializer)
        assert inline_bytes < 1000  # only shapes and scalar constants live inside the graph


def test_the_graph_has_the_kv_cache_inputs_and_outputs(exported_tiny, tiny_model):
    model = onnx.load(str(exported_tiny["float32"] / "model.onnx"), load_external_data=False)
    n_layer = tiny_model.config.n_layer
    assert [i.name for i in model.graph.input] == ["input_ids"] + [
        f"past.{layer}.{kind}" for layer in range(n_layer) for kind in ("key", "value")]
    kv_names = [f"{layer}.{kind}" for layer in range(n_layer) for kind in ("key", "value")]
    assert [o.name for o in model.graph.output] == (["logits"] + [f"present.{name}" for name in kv_names]
                                                    + [f"new.{name}" for name in kv_names] + ["attention"])


def test_the_new_keys_and_values_are_the_tail_of_the_present_ones(onnx_tiny, tiny_model):
    """new.* is what the wasm bridge appends to the cache it keeps; it must be exactly present's last rows."""
    session = onnx_tiny["float32"].inference_session
    c, ids = tiny_model.config, tiny_model.encode(PROMPT)
    past = np.full((c.n_head, 3, c.d_head), 0.5, dtype=np.float32)  # some past, to see it kept in front
    pasts = {i.name: past for i in session.get_inputs() if i.name.startswith("past.")}
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, {"input_ids": np.asarray(ids[:4], dtype=np.int64), **pasts})))
    for name in pasts:
        present, new = outputs[name.replace("past.", "present.")], outputs[name.replace("past.", "new.")]
        assert new.shape == (c.n_head, 4, c.d_head)
        np.testing.assert_array_equal(present[:, 3:], new)
        np.testing.assert_array_equal(present[:, :3], past)


def test_onnxruntime_uses_one_thread_by_default(onnx_tiny):
    assert onnx_tiny["float32"].inference_session.get_session_options().intra_op_num_threads == 1
    assert onnx_tiny["float32"].provider == "cpu"


# -- logits ------------------------------------------------------------------------------------------------

SHAPES = [(1, 1, 16), (2, 4, 64), (3, 2, 32), (2, 3, 48)]  # (n_layer, n_head, n_embd)


@pytest.mark.parametrize("n_layer,n_head,n_embd", SHAPES)
def test_float32_logits_and_kv_decoding_equal_the_numpy_pass(tmp_path, n_layer, n_head, n_embd):
    checkpoint = write_random_checkpoint(tmp_path / "checkpoint", GPT2Config(
        n_vocab=460, n_ctx=64, n_embd=n_embd, n_head=n_head, n_layer=n_layer), seed=n_layer * 10 + n_head, std=0.2)
    model = load_model(checkpoint)
    runtime = OnnxGPT2.from_directory(export_onnx(model, tmp_path / "onnx", dtype="float32").parent)
    ids = model.encode(PROMPT)
    full = model.forward(ids)  # [pos, V]

    np.testing.assert_allclose(runtime.forward_last(ids), full[-1], atol=FLOAT32_TOLERANCE, rtol=0)
    n_prompt = len(ids) - 4
    for position, logits in enumerate(decode_logits(runtime, ids, n_prompt), start=n_prompt - 1):
        np.testing.assert_allclose(logits, full[position], atol=FLOAT32_TOLERANCE, rtol=0)


def test_float16_storage_equals_numpy_on_the_same_rounded_weights(exported_tiny, onnx_tiny, tiny_model):
    rounded = load_model_from_shards(exported_tiny["float16"])  # the NumPy model on the very same fp16 weights
    ids = tiny_model.encode(PROMPT)
    np.testing.assert_allclose(onnx_tiny["float16"].forward_last(ids), rounded.forward(ids)[-1],
                               atol=FLOAT32_TOLERANCE, rtol=0)


def test_float16_storage_stays_close_to_the_original_weights(onnx_tiny, tiny_model):
    ids = tiny_model.encode(PROMPT)
    for n_tokens in (1, 5, len(ids)):
        logits = onnx_tiny["float16"].forward_last(ids[:n_tokens])
        original = tiny_model.forward(ids[:n_tokens])[-1]
        assert np.abs(logits - original).max() <= FLOAT16_TOLERANCE
        assert top_tokens(logits) == top_tokens(original)
        assert np.abs(logits - original).max() > 0  # it really ran on rounded weights


def test_attention_output_equals_the_traced_pattern_of_the_last_token(onnx_tiny, tiny_model):
    ids = tiny_model.encode(PROMPT)
    session = onnx_tiny["float32"].start_session(len(ids))
    session.feed(ids[:-1])
    for n_tokens in (len(ids) - 1, len(ids)):
        trace = tiny_model.run_with_trace(ids[:n_tokens])
        expected = np.stack([trace[f"blocks.{layer}.attn.hook_pattern"][:, -1, :]
                             for layer in range(tiny_model.config.n_layer)])  # [n_layer, h, ctx]
        assert session.attention.shape == expected.shape
        np.testing.assert_allclose(session.attention, expected, atol=1e-5, rtol=0)
        if n_tokens < len(ids):
            session.feed([ids[-1]])


# -- generation --------------------------------------------------------------------------------------------

def test_greedy_generation_equals_the_numpy_model_token_for_token(onnx_tiny, tiny_model):
    ids = tiny_model.encode(PROMPT)
    theirs = [step.token_id for step in tiny_model.generate(ids, max_new_tokens=30, temperature=0)]
    ours = [step.token_id for step in onnx_tiny["float32"].generate(ids, max_new_tokens=30, temperature=0)]
    assert ours == theirs
    assert len(set(ours)) > 1  # not a degenerate repetition of one token


def test_seeded_sampling_gives_the_numpy_models_tokens(onnx_tiny, tiny_model):
    ids = tiny_model.encode(PROMPT)
    settings = dict(max_new_tokens=25, temperature=0.9, top_k=40, top_p=0.95)
    for seed in (1, 2):
        theirs = [s.token_id for s in tiny_model.generate(ids, seed=seed, **settings)]
        ours = [s.token_id for s in onnx_tiny["float32"].generate(ids, seed=seed, **settings)]
        assert ours == theirs
    other_seed = [s.token_id for s in onnx_tiny["float32"].generate(ids, seed=3, **settings)]
    assert other_seed != ours  # the seed matters: equality above is not an accident


def test_generation_stops_after_end_of_text_like_the_numpy_model(onnx_tiny, tiny_model):
    ids, end_of_text = tiny_model.encode("Hello"), tiny_model.tokenizer.end_of_text_id
    settings = dict(max_new_tokens=60, temperature=3.0, stop_at_end_of_text=True)
    # a seed whose hot sampling draws <|endoftext|> before the limit (found, not hard-coded)
    seed = next(seed for seed in range(500)
                if end_of_text in [s.token_id for s in tiny_model.generate(ids, seed=seed, **settings)])
    theirs = [s.token_id for s in tiny_model.generate(ids, seed=seed, **settings)]
    ours = [s.token_id for s in onnx_tiny["float32"].generate(ids, seed=seed, **settings)]
    assert ours == theirs and ours[-1] == end_of_text and len(ours) < 60


def test_generation_steps_carry_the_logits_they_were_drawn_from(onnx_tiny, tiny_model):
    ids = tiny_model.encode(PROMPT)
    steps = list(onnx_tiny["float32"].generate(ids, max_new_tokens=3, temperature=0))
    full = tiny_model.forward(ids + [step.token_id for step in steps[:-1]])
    for step in steps:
        np.testing.assert_allclose(step.logits, full[len(ids) - 1 + step.index], atol=FLOAT32_TOLERANCE, rtol=0)
        assert step.token_id == int(np.argmax(step.logits))


def test_async_generation_gives_the_same_tokens_as_sync(onnx_tiny, tiny_model):
    """agenerate is the API Pyodide uses; in CPython it runs the same loop over the same session."""
    ids = tiny_model.encode(PROMPT)
    settings = dict(max_new_tokens=12, temperature=0.8, top_k=20, seed=5)

    async def collect():
        return [step.token_id async for step in onnx_tiny["float32"].agenerate(ids, **settings)]

    assert run_async(collect()) == [step.token_id for step in tiny_model.generate(ids, **settings)]
    np.testing.assert_allclose(run_async(onnx_tiny["float32"].aforward_last(ids)), tiny_model.forward(ids)[-1],
                               atol=FLOAT32_TOLERANCE, rtol=0)


def test_text_prompts_are_tokenized_with_the_shipped_tokenizer(onnx_tiny, tiny_model):
    np.testing.assert_allclose(onnx_tiny["float32"].forward_last(PROMPT), tiny_model.forward(PROMPT)[-1],
                               atol=FLOAT32_TOLERANCE, rtol=0)


def test_bad_prompts_are_refused_as_by_the_numpy_model(onnx_tiny, tiny_model):
    runtime = onnx_tiny["float32"]
    n_ctx, n_vocab = tiny_model.config.n_ctx, tiny_model.config.n_vocab
    for bad in ([], [n_vocab], list(range(n_ctx + 1)), "", [1.5]):
        with pytest.raises(PromptError) as ours:
            runtime.forward_last(bad)
        with pytest.raises(PromptError) as theirs:
            tiny_model.forward(bad)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(PromptError, match="exceed the model's context"):
        runtime.generate([1] * (n_ctx - 2), max_new_tokens=5)
    session = runtime.start_session(3)
    session.feed([1, 2])
    with pytest.raises(PromptError, match="full"):
        session.feed([3, 4])
    with pytest.raises(PromptError, match="outside the vocabulary"):
        session.feed([n_vocab + 7])


def test_the_numpy_model_on_the_same_shards_gives_the_same_logits(onnx_tiny, tiny_model):
    numpy_model = onnx_tiny["float32"].numpy_model()
    ids = tiny_model.encode(PROMPT)
    np.testing.assert_array_equal(numpy_model.forward(ids), tiny_model.forward(ids))
    np.testing.assert_allclose(onnx_tiny["float32"].forward_last(ids), numpy_model.forward(ids)[-1],
                               atol=FLOAT32_TOLERANCE, rtol=0)


def test_the_command_line_export_opens_in_the_runtime(tiny_checkpoint, tiny_model, tmp_path):
    assert export_main([str(tiny_checkpoint), str(tmp_path), "--float32"]) == 0
    runtime = OnnxGPT2.from_directory(tmp_path)
    assert read_manifest(tmp_path)["dtype"] == "float32"
    ids = tiny_model.encode(PROMPT)
    np.testing.assert_allclose(runtime.forward_last(ids), tiny_model.forward(ids)[-1], atol=FLOAT32_TOLERANCE, rtol=0)


def test_a_directory_without_a_graph_says_how_to_export_one(exported_tiny, tmp_path):
    for path in exported_tiny["float16"].iterdir():
        if path.name != "model.onnx":
            (tmp_path / path.name).write_bytes(path.read_bytes())
    with pytest.raises(FileNotFoundError, match="gpt2_core.onnx_export"):
        OnnxGPT2.from_directory(tmp_path)


# -- GPT-2 small's shapes ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_shaped_model(tmp_path_factory):
    """GPT-2 small's shapes (124M parameters, 50,257 tokens) with the tiny tokenizer: needs nothing from ../shared."""
    return load_model(write_random_checkpoint(tmp_path_factory.mktemp("gpt2-small-shaped"), GPT2Config(), seed=0))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_gpt2_small_shaped_logits_and_decoding_equal_the_numpy_pass(small_shaped_model, tmp_path, dtype):
    runtime = OnnxGPT2.from_directory(export_onnx(small_shaped_model, tmp_path, dtype=dtype).parent)
    ids = np.random.default_rng(0).integers(0, small_shaped_model.config.n_vocab, 40).tolist()
    full = small_shaped_model.forward(ids)
    tolerance = FLOAT32_TOLERANCE if dtype == "float32" else FLOAT16_TOLERANCE
    for position, logits in enumerate(decode_logits(runtime, ids, len(ids) - 3), start=len(ids) - 4):
        assert np.abs(logits - full[position]).max() <= tolerance
        assert top_tokens(logits) == top_tokens(full[position])
