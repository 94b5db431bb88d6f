"""GPT-2's forward pass in NumPy, one small function per operation of the paper.

Shapes: ``pos`` tokens in this call, ``ctx`` tokens attended to (the cached past plus these),
``d`` = n_embd, ``h`` = n_head, ``dh`` = d / h, ``dm`` = MLP width (4d), ``V`` = vocabulary.
Everything stays float32: every constant below is a float32, so NumPy never promotes to float64.

Each step hands its result to ``hook(name, value)`` and continues with what comes back; see
``hooks.py``. With no hooks that call returns the value unchanged.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .hooks import NO_HOOKS, Hooks

SQRT_2_OVER_PI = np.float32(np.sqrt(2.0 / np.pi))
GELU_CUBIC = np.float32(0.044715)
HALF = np.float32(0.5)
ONE = np.float32(1.0)


def gelu(x):  # [pos, dm] -> [pos, dm]; GPT-2's tanh approximation
    return HALF * x * (ONE + np.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)))


def softmax(x):  # [..., n] -> [..., n], each row sums to 1
    exp_x = np.exp(x - x.max(axis=-1, keepdims=True))
    return exp_x / exp_x.sum(axis=-1, keepdims=True)


def linear(x, w, b):  # [pos, in] -> [pos, out]; w maps in -> out, in the kernel's layout (kernels.py)
    return kernels.matmul(x, w) + b


def layer_norm(x, g, b, eps, hook):  # [pos, d] -> [pos, d]
    centered = x - x.mean(axis=-1, keepdims=True)
    variance = (centered * centered).mean(axis=-1, keepdims=True)
    scale = hook("hook_scale", np.sqrt(variance + eps))  # [pos, 1]
    normalized = hook("hook_normalized", centered / scale)
    return hook("hook_out", normalized * g + b)


def causal_mask(n_queries, n_keys):  # -> [pos, ctx] bool, True where a query may not look
    first_query_position = n_keys - n_queries  # the queries are the last tokens of the context
    query_positions = np.arange(first_query_position, n_keys)[:, None]
    return np.arange(n_keys)[None, :] > query_positions


def attention_pattern(q, keys, hook):  # [pos, h, dh], [ctx, h, dh] -> [h, pos, ctx]: how much each query looks at each key
    q_per_head, keys_t = q.transpose(1, 0, 2), keys.transpose(1, 2, 0)  # [h, pos, dh], [h, dh, ctx]
    raw = hook("hook_attn_raw", kernels.batched_matmul(q_per_head, keys_t))  # [h, pos, ctx]
    scaled = raw * np.float32(1.0 / np.sqrt(q.shape[-1]))
    scores = hook("hook_attn_scores", np.where(causal_mask(len(q), len(keys)), -np.inf, scaled).astype(np.float32))
    return hook("hook_pattern", softmax(scores))


def attention(x, c_attn, c_proj, n_head, hook, past=None):  # [pos, d] -> [pos, d]
    pos, d = x.shape
    qkv = linear(x, **c_attn)  # [pos, 3d]
    q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(pos, n_head, d // n_head) for i in range(3))
    q, k, v = hook("hook_q", q), hook("hook_k", k), hook("hook_v", v)  # [pos, h, dh] each
    keys, values = (k, v) if past is None else past.extend(k, v)  # [ctx, h, dh] each
    pattern = attention_pattern(q, keys, hook)  # [h, pos, ctx]
    z = hook("hook_z", kernels.batched_matmul(pattern, values.transpose(1, 0, 2)).transpose(1, 0, 2))  # [pos, h, dh]

    if hook.wants("hook_result"):  # each head's share of the output: c_proj applied head by head
        w_per_head = kernels.as_in_out(c_proj["w"]).reshape(n_head, d // n_head, d)  # [h, dh, d]
        per_head = kernels.batched_matmul(z.transpose(1, 0, 2), w_per_head)  # [h, pos, d]
        result = hook("hook_result", per_head.transpose(1, 0, 2))  # [pos, h, d]
        return result.sum(axis=1) + c_proj["b"]
    return linear(z.reshape(pos, d), **c_proj)


def mlp(x, c_fc, c_proj, hook):  # [pos, d] -> [pos, d]
    pre = hook("hook_pre", linear(x, **c_fc))  # [pos, dm]
    post = hook("hook_post", gelu(pre))
    return linear(post, **c_proj)


def transformer_block(x, block, n_head, eps, hook, past=None):  # [pos, d] -> [pos, d]
    resid_pre = hook("hook_resid_pre", x)
    attn_in = layer_norm(resid_pre, **block["ln_1"], eps=eps, hook=hook.at("ln1"))
    attn_out = hook("hook_attn_out", attention(attn_in, **block["attn"], n_head=n_head, hook=hook.at("attn"), past=past))
    resid_mid = hook("hook_resid_mid", resid_pre + attn_out)
    mlp_in = layer_norm(resid_mid, **block["ln_2"], eps=eps, hook=hook.at("ln2"))
    mlp_out = hook("hook_mlp_out", mlp(mlp_in, **block["mlp"], hook=hook.at("mlp")))
    return hook("hook_resid_post", resid_mid + mlp_out)


def gpt2(ids, params, config, hook: Hooks = NO_HOOKS, cache=None, all_logits=True):  # [pos] -> [pos or 1, V]
    """Run GPT-2 on ``ids``. With a KV cache, ``ids`` continue the cached tokens."""
    *_, logits = gpt2_in_steps(ids, params, config, hook, cache, all_logits)
    return logits


def gpt2_in_steps(ids, params, config, hook: Hooks = NO_HOOKS, cache=None, all_logits=True):
    """``gpt2`` one block at a time: yields how many blocks are done after each one (so that a caller can say
    so, let other work run, or stop), then the logits [pos or 1, V]."""
    start = 0 if cache is None else cache.length
    positions = np.arange(start, start + len(ids))
    token_embed = hook("hook_embed", kernels.rows(params["wte"], ids))  # [pos, d]
    x = token_embed + hook("hook_pos_embed", kernels.rows(params["wpe"], positions))  # [pos, d]
    for layer, block in enumerate(params["blocks"]):
        past = None if cache is None else cache.layer(layer)
        x = transformer_block(x, block, config.n_head, np.float32(config.layer_norm_epsilon),
                              hook.at(f"blocks.{layer}"), past)
        yield layer + 1
    if cache is not None:
        cache.advance(len(ids))
    x = layer_norm(x, **params["ln_f"], eps=np.float32(config.layer_norm_epsilon), hook=hook.at("ln_final"))
    if not all_logits:
        x = x[-1:]  # the next-token prediction needs only the last position: 1/pos of the unembedding cost
    yield hook("unembed.hook_logits", kernels.matmul(x, params["lm_head"]))  # [pos or 1, V]
