"""The NumPy forward pass: hook points, float32 throughout, KV cache, kernels, interventions, bad input.

Runs on tiny random checkpoints the project writes itself (no PyTorch). Parity with Hugging Face
transformers is in tests/parity.
"""

import numpy as np
import pytest

from transformer_explainer.gpt2_core import GPT2Config, HookError, PromptError, hook_names, kernels, load_model
from transformer_explainer.gpt2_core.interventions import patch_residual, zero_ablate_heads
from transformer_explainer.gpt2_core.model import causal_mask, gelu, softmax

PROMPT = "The capital of France is"


def expected_shape(name: str, config: GPT2Config, pos: int) -> tuple:
    d, h, dh, dm = config.n_embd, config.n_head, config.d_head, config.d_mlp
    point = name.rsplit(".", 1)[-1]
    return {
        "hook_embed": (pos, d), "hook_pos_embed": (pos, d), "hook_resid_pre": (pos, d), "hook_resid_mid": (pos, d),
        "hook_resid_post": (pos, d), "hook_attn_out": (pos, d), "hook_mlp_out": (pos, d),
        "hook_scale": (pos, 1), "hook_normalized": (pos, d), "hook_out": (pos, d),
        "hook_q": (pos, h, dh), "hook_k": (pos, h, dh), "hook_v": (pos, h, dh), "hook_z": (pos, h, dh),
        "hook_attn_raw": (h, pos, pos), "hook_attn_scores": (h, pos, pos), "hook_pattern": (h, pos, pos),
        "hook_result": (pos, h, d), "hook_pre": (pos, dm), "hook_post": (pos, dm), "hook_logits": (1, config.n_vocab),
    }[point]


def test_trace_holds_every_hook_point_with_the_documented_shape(tiny_model):
    trace = tiny_model.run_with_trace(PROMPT, head_results=True)
    config, pos = tiny_model.config, len(tiny_model.encode(PROMPT))
    assert trace.names == hook_names(config.n_layer)
    for name in trace.names:
        assert trace[name].shape == expected_shape(name, config, pos), name


def test_every_traced_value_is_float32(small_random_model):
    trace = small_random_model.run_with_trace(list(range(12)), head_results=True, all_logits=True)
    assert {name for name in trace.names if trace[name].dtype != np.float32} == set()
    assert small_random_model.forward([1, 2, 3]).dtype == np.float32


def test_trace_values_follow_the_formulas(tiny_model):
    trace = tiny_model.run_with_trace(PROMPT, head_results=True)
    block, params = "blocks.1", tiny_model.params["blocks"][1]
    resid_pre = trace[f"{block}.hook_resid_pre"]
    # LayerNorm: scale is sqrt(var + eps); normalized has mean 0, variance ~1; out = normalized * g + b.
    variance = resid_pre.var(axis=-1, keepdims=True)
    np.testing.assert_allclose(trace[f"{block}.ln1.hook_scale"], np.sqrt(variance + 1e-5), rtol=1e-5)
    np.testing.assert_allclose(trace[f"{block}.ln1.hook_normalized"].mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(trace[f"{block}.ln1.hook_out"],
                               trace[f"{block}.ln1.hook_normalized"] * params["ln_1"]["g"] + params["ln_1"]["b"], rtol=1e-6)
    # Attention: scores are raw / sqrt(dh) below the diagonal and -inf above; pattern rows sum to 1.
    dh = tiny_model.config.d_head
    raw, scores, pattern = (trace[f"{block}.attn.{p}"] for p in ("hook_attn_raw", "hook_attn_scores", "hook_pattern"))
    above = np.triu(np.ones(raw.shape[1:], dtype=bool), k=1)
    np.testing.assert_allclose(scores[:, ~above], raw[:, ~above] / np.sqrt(dh), rtol=1e-5)
    assert np.all(scores[:, above] == -np.inf) and np.all(pattern[:, above] == 0)
    np.testing.assert_allclose(pattern.sum(-1), 1, rtol=1e-5)
    q, k = trace[f"{block}.attn.hook_q"], trace[f"{block}.attn.hook_k"]
    np.testing.assert_allclose(raw[2], q[:, 2] @ k[:, 2].T, rtol=1e-4, atol=1e-5)
    # z is the pattern-weighted sum of values; the heads' results add up to attn_out.
    v, z = trace[f"{block}.attn.hook_v"], trace[f"{block}.attn.hook_z"]
    np.testing.assert_allclose(z[:, 1], pattern[1] @ v[:, 1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(trace[f"{block}.attn.hook_result"].sum(1) + params["attn"]["c_proj"]["b"],
                               trace[f"{block}.hook_attn_out"], rtol=1e-4, atol=1e-5)
    # Residual adds and the MLP.
    np.testing.assert_allclose(trace[f"{block}.hook_resid_mid"], resid_pre + trace[f"{block}.hook_attn_out"], rtol=1e-6)
    np.testing.assert_allclose(trace[f"{block}.mlp.hook_post"], gelu(trace[f"{block}.mlp.hook_pre"]), rtol=1e-6)
    np.testing.assert_allclose(trace[f"{block}.hook_resid_post"],
                               trace[f"{block}.hook_resid_mid"] + trace[f"{block}.hook_mlp_out"], rtol=1e-6)
    # Embeddings are rows of wte and wpe; the final logits are the last position's.
    np.testing.assert_array_equal(trace["hook_embed"], tiny_model.params["wte"][trace.token_ids])
    np.testing.assert_array_equal(trace["blocks.0.hook_resid_pre"], trace["hook_embed"] + trace["hook_pos_embed"])
    np.testing.assert_allclose(trace.logits, tiny_model.forward(trace.token_ids)[-1], rtol=1e-5, atol=1e-5)


def test_gelu_is_the_tanh_approximation():
    x = np.linspace(-6, 6, 101, dtype=np.float32)
    reference = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x.astype(np.float64) ** 3)))
    np.testing.assert_allclose(gelu(x), reference, rtol=1e-5, atol=1e-6)
    assert gelu(x).dtype == np.float32 and softmax(x[None]).dtype == np.float32


def test_causal_mask_lets_each_query_see_itself_and_the_past():
    np.testing.assert_array_equal(causal_mask(3, 3), np.triu(np.ones((3, 3), bool), k=1))
    # Two new queries at positions 3 and 4 of a 5-token context (three cached).
    np.testing.assert_array_equal(causal_mask(2, 5), [[0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])


def test_a_token_never_depends_on_later_tokens(tiny_model):
    ids = tiny_model.encode(PROMPT)
    full = tiny_model.forward(ids)
    prefix = tiny_model.forward(ids[:3])
    np.testing.assert_allclose(full[:3], prefix, rtol=1e-5, atol=1e-5)


def test_kv_cache_decoding_equals_the_full_forward(tiny_model):
    ids = tiny_model.encode("In the beginning there was the word")
    full = tiny_model.forward(ids)
    session = tiny_model.start_session(len(ids))
    prefill = session.feed(ids[:4])
    np.testing.assert_allclose(prefill, full[3], rtol=1e-5, atol=1e-5)
    for position in range(4, len(ids)):
        np.testing.assert_allclose(session.feed([ids[position]]), full[position], rtol=1e-4, atol=1e-5)
    with pytest.raises(PromptError, match="full"):
        session.feed([1])


def test_kv_cache_decoding_equals_the_full_forward_at_gpt2_small_width(small_random_model):
    ids = list(range(3, 40))
    full = small_random_model.forward(ids)
    session = small_random_model.start_session(len(ids))
    session.feed(ids[:30])
    decoded = [session.feed([token]) for token in ids[30:]]
    np.testing.assert_allclose(np.stack(decoded), full[30:], atol=1e-4)


def test_the_pyodide_einsum_kernel_gives_the_same_logits(tiny_checkpoint, monkeypatch):
    ids = list(range(1, 20))
    blas_logits = load_model(tiny_checkpoint).forward(ids)
    monkeypatch.setattr(kernels, "kernel", kernels.EinsumKernel)
    model = load_model(tiny_checkpoint)
    assert model.params["blocks"][0]["mlp"]["c_fc"]["w"].shape == (4 * 64, 64)  # stored [out, in]
    np.testing.assert_allclose(model.forward(ids), blas_logits, rtol=1e-5, atol=1e-5)
    trace = model.run_with_trace(ids, head_results=True)
    np.testing.assert_allclose(trace["blocks.1.attn.hook_result"].sum(1) + model.params["blocks"][1]["attn"]["c_proj"]["b"],
                               trace["blocks.1.hook_attn_out"], rtol=1e-4, atol=1e-5)


def test_the_einsum_kernel_chunks_products_past_its_iterator_limit(monkeypatch):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((5, 16), dtype=np.float32), rng.standard_normal((103, 16), dtype=np.float32)
    monkeypatch.setattr(kernels, "EINSUM_ITERATOR_LIMIT", 5 * 16 * 10)  # forces chunks of 9 output rows
    np.testing.assert_allclose(kernels.EinsumKernel.matmul(x, w), x @ w.T, rtol=1e-5, atol=1e-5)


def test_run_with_hooks_reads_every_point_in_forward_order(tiny_model):
    seen = []
    hooks = {name: (lambda value, name=name: seen.append(name)) for name in tiny_model.hook_names}
    logits = tiny_model.run_with_hooks(PROMPT, hooks)
    assert seen == tiny_model.hook_names  # hook_result is computed because a hook asked for it
    np.testing.assert_allclose(logits, tiny_model.forward(PROMPT), rtol=1e-5, atol=1e-5)


def test_a_hook_replacement_changes_the_rest_of_the_pass(tiny_model):
    baseline = tiny_model.run_with_trace(PROMPT)
    ablated = tiny_model.run_with_trace(PROMPT, hooks=zero_ablate_heads([(0, 1)]))
    assert np.all(ablated["blocks.0.attn.hook_z"][:, 1] == 0)
    np.testing.assert_array_equal(ablated["blocks.0.attn.hook_z"][:, 0], baseline["blocks.0.attn.hook_z"][:, 0])
    assert not np.allclose(ablated["blocks.0.hook_attn_out"], baseline["blocks.0.hook_attn_out"])
    assert not np.allclose(ablated.logits, baseline.logits)
    # The same change done by hand through c_proj gives the same attention output.
    params, d = tiny_model.params["blocks"][0]["attn"]["c_proj"], tiny_model.config.n_embd
    z = baseline["blocks.0.attn.hook_z"].copy()
    z[:, 1] = 0
    np.testing.assert_allclose(ablated["blocks.0.hook_attn_out"], z.reshape(-1, d) @ params["w"] + params["b"],
                               rtol=1e-5, atol=1e-5)


def test_patching_a_residual_with_its_own_value_changes_nothing(tiny_model):
    trace = tiny_model.run_with_trace(PROMPT)
    same = tiny_model.run_with_hooks(PROMPT, patch_residual(1, 2, trace["blocks.1.hook_resid_pre"][2]))
    np.testing.assert_allclose(same[-1], trace.logits, rtol=1e-5, atol=1e-5)
    changed = tiny_model.run_with_hooks(PROMPT, patch_residual(1, 2, np.zeros(tiny_model.config.n_embd, np.float32)))
    assert not np.allclose(changed[-1], trace.logits)


def test_a_head_result_hook_can_ablate_one_heads_output(tiny_model):
    def silence_head_2(result):
        result = result.copy()
        result[:, 2] = 0
        return result

    by_result = tiny_model.run_with_hooks(PROMPT, {"blocks.1.attn.hook_result": silence_head_2})
    by_z = tiny_model.run_with_hooks(PROMPT, zero_ablate_heads([(1, 2)]))
    np.testing.assert_allclose(by_result, by_z, rtol=1e-4, atol=1e-5)


def test_hooks_at_unknown_points_or_returning_wrong_shapes_are_clear_errors(tiny_model):
    with pytest.raises(HookError, match=r"blocks\.0\.attn\.hook_pattern"):
        tiny_model.run_with_hooks(PROMPT, {"blocks.0.attn.hook_patern": lambda v: v})
    with pytest.raises(HookError, match="unknown hook point 'blocks.7.hook_resid_pre'"):
        tiny_model.run_with_hooks(PROMPT, {"blocks.7.hook_resid_pre": lambda v: v})
    with pytest.raises(HookError, match=r"returned shape \(3,\), expected"):
        tiny_model.run_with_hooks(PROMPT, {"hook_embed": lambda v: np.zeros(3)})


def test_the_logit_lens_ends_at_the_models_own_logits(tiny_model):
    trace = tiny_model.run_with_trace(PROMPT)
    lens = tiny_model.logit_lens(trace)
    assert lens.shape == (tiny_model.config.n_layer, tiny_model.config.n_vocab) and lens.dtype == np.float32
    np.testing.assert_allclose(lens[-1], trace.logits, rtol=1e-5, atol=1e-5)
    assert not np.allclose(lens[0], lens[-1])


@pytest.mark.parametrize("bad_input, message", [
    ("", "empty"),
    ([], "empty"),
    (None, "expected text or a list of token ids"),
    ([1, 2.5], "must be integers"),
    ([True, 1], "must be integers"),
    ([1, 10_000], "outside the vocabulary"),
    ([-1], "outside the vocabulary"),
    (np.zeros((2, 2), dtype=np.int64), "1-D array"),
    (np.array([1.0, 2.0]), "1-D array of integers"),
    (b"bytes", "expected text"),
])
def test_bad_input_is_a_clear_error(tiny_model, bad_input, message):
    for run in (tiny_model.forward, tiny_model.run_with_trace):
        with pytest.raises(PromptError, match=message):
            run(bad_input)


def test_a_prompt_longer_than_the_context_is_refused_with_both_lengths(tiny_model):
    n_ctx = tiny_model.config.n_ctx
    with pytest.raises(PromptError, match=rf"{n_ctx + 1} tokens long; this model reads at most {n_ctx}"):
        tiny_model.forward([1] * (n_ctx + 1))
    assert tiny_model.forward([1] * n_ctx).shape == (n_ctx, tiny_model.config.n_vocab)


def test_numpy_integer_arrays_and_text_are_accepted(tiny_model):
    ids = tiny_model.encode(PROMPT)
    np.testing.assert_array_equal(tiny_model.forward(np.array(ids, dtype=np.int32)), tiny_model.forward(PROMPT))


def test_odd_unicode_runs_and_tokenizes(tiny_model):
    text = "naïve café 🤗👩‍👩‍👧 مرحبا 東京\u0301\t\n  "
    trace = tiny_model.run_with_trace(text)
    assert tiny_model.tokenizer.decode(trace.token_ids) == text
    assert np.all(np.isfinite(trace.logits))
