"""From a checkpoint's tensors to the model's parameters: an explicit rename, every shape checked.

Parameters are nested dicts named like the checkpoint (``blocks[i]["attn"]["c_attn"]["w"]``).
Hugging Face's GPT-2 stores linear weights as ``Conv1D``, ``[in, out]``; each is put once, here,
in the layout the platform's kernel reads fastest (see kernels.py). ``lm_head`` is the
unembedding ``d -> V``: the token embeddings themselves, in the kernel's layout.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .config import GPT2Config
from .errors import WeightsError
from .kernels import IN_OUT, OUT_IN, in_out_shape, kept_dtype, to_kernel_layout

# Buffers some checkpoints carry that are not parameters (the causal mask of old exports).
IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")


def hf_name(name: str) -> str:
    """Our parameter name -> the tensor's name in a Hugging Face checkpoint (without 'transformer.'):
    ``blocks.3.attn.c_attn.w`` -> ``h.3.attn.c_attn.weight``, ``ln_f.g`` -> ``ln_f.weight``, ``wte`` -> ``wte.weight``."""
    if name.startswith("blocks."):
        name = "h." + name.removeprefix("blocks.")
    module, _, leaf = name.rpartition(".")
    if not module:
        return f"{name}.weight"
    return f"{module}.{'bias' if leaf == 'b' else 'weight'}"


def expected_hf_shapes(config: GPT2Config) -> dict[str, tuple[int, ...]]:
    """Every tensor a Hugging Face GPT-2 checkpoint must hold, with its shape (Conv1D weights are ``[in, out]``
    as ours are in ``param_shapes``; ``lm_head`` is optional: GPT-2 ties it to ``wte``)."""
    return {hf_name(name): shape for name, shape in param_shapes(config).items() if name != "lm_head"}


def params_from_hf_tensors(tensors: Mapping[str, np.ndarray], config: GPT2Config, source: str = "checkpoint") -> dict:
    """Check and rename a Hugging Face GPT-2 state dict into our parameters (float32, linear weights [out, in])."""
    tensors = {name.removeprefix("transformer."): value for name, value in tensors.items()}
    expected = expected_hf_shapes(config)
    for name, shape in expected.items():
        if name not in tensors:
            raise WeightsError(f"{source} has no tensor {name!r} (expected shape {shape})")
        actual = tuple(tensors[name].shape)
        if actual != shape:
            raise WeightsError(f"tensor {name!r} in {source} has shape {actual}, but the config says {shape}")
    extra_layers = sorted({int(name.split(".")[1]) for name in tensors
                           if name.startswith("h.") and name.split(".")[1].isdigit()} - set(range(config.n_layer)))
    if extra_layers:
        raise WeightsError(f"{source} holds weights for layer {extra_layers[0]} (tensors 'h.{extra_layers[0]}.*'), "
                           f"but config.json says n_layer={config.n_layer}: the config does not belong to these "
                           f"weights")

    flat = {}
    for name in param_shapes(config):
        if name == "lm_head":
            continue
        value = as_float32(tensors[hf_name(name)], hf_name(name), source)
        flat[name] = to_kernel_layout(value, IN_OUT) if is_linear_weight(name) else value
    flat["lm_head"] = untied_lm_head(tensors, flat["wte"], source)
    return nest(flat)


def untied_lm_head(tensors: Mapping[str, np.ndarray], wte: np.ndarray, source: str) -> np.ndarray:
    """The unembedding in the kernel's layout. GPT-2 ties it to the token embeddings ``[V, d]``
    (``[out, in]``); a checkpoint may still store its own ``lm_head.weight``."""
    lm_head = tensors.get("lm_head.weight")
    if lm_head is not None:
        if tuple(lm_head.shape) != wte.shape:
            raise WeightsError(f"tensor 'lm_head.weight' in {source} has shape {tuple(lm_head.shape)}, "
                               f"expected {wte.shape}")
        wte = as_float32(lm_head, "lm_head.weight", source)
    return to_kernel_layout(wte, OUT_IN)


def as_float32(value, name: str, source: str) -> np.ndarray:
    value = np.asarray(value)
    if value.dtype.name == "bfloat16":  # a NumPy dtype only once ml_dtypes is imported (onnx imports it)
        value = value.astype(np.float32)
    if value.dtype.kind != "f":
        raise WeightsError(f"tensor {name!r} in {source} has dtype {value.dtype}, expected a float type")
    value = value.astype(np.float32, copy=False)
    if not np.isfinite(value).all():
        raise WeightsError(f"tensor {name!r} in {source} holds NaN or infinite values: the file is corrupt")
    return value


def iter_params(params: dict, prefix: str = ""):
    """(dotted name, array) for every parameter, e.g. ('blocks.0.attn.c_attn.w', array)."""
    if isinstance(params, np.ndarray):
        yield prefix, params
    elif isinstance(params, dict):
        for key, value in params.items():
            yield from iter_params(value, f"{prefix}.{key}" if prefix else key)
    else:
        for index, value in enumerate(params):
            yield from iter_params(value, f"{prefix}.{index}")


def param_shapes(config: GPT2Config) -> dict[str, tuple[int, ...]]:
    """Every parameter's dotted name and shape; linear weights (``.w``, ``lm_head``) as ``[in, out]``."""
    d, dm = config.n_embd, config.d_mlp
    shapes = {"wte": (config.n_vocab, d), "wpe": (config.n_ctx, d)}
    for i in range(config.n_layer):
        shapes.update({
            f"blocks.{i}.ln_1.g": (d,), f"blocks.{i}.ln_1.b": (d,),
            f"blocks.{i}.attn.c_attn.w": (d, 3 * d), f"blocks.{i}.attn.c_attn.b": (3 * d,),
            f"blocks.{i}.attn.c_proj.w": (d, d), f"blocks.{i}.attn.c_proj.b": (d,),
            f"blocks.{i}.ln_2.g": (d,), f"blocks.{i}.ln_2.b": (d,),
            f"blocks.{i}.mlp.c_fc.w": (d, dm), f"blocks.{i}.mlp.c_fc.b": (dm,),
            f"blocks.{i}.mlp.c_proj.w": (dm, d), f"blocks.{i}.mlp.c_proj.b": (d,),
        })
    shapes.update({"ln_f.g": (d,), "ln_f.b": (d,), "lm_head": (d, config.n_vocab)})
    return shapes


def is_linear_weight(name: str) -> bool:
    return name.endswith(".w") or name == "lm_head"


def nest(flat: dict[str, np.ndarray]) -> dict:
    """Dotted names -> the nested parameters the model reads (the inverse of ``iter_params``):
    ``{"blocks.0.ln_1.g": a}`` -> ``{"blocks": [{"ln_1": {"g": a}}]}``."""
    params: dict = {}
    for name, value in flat.items():
        *path, leaf = name.split(".")
        node = params
        for key in path:
            node = node.setdefault(key, {})
        node[leaf] = value
    params["blocks"] = [params["blocks"][str(layer)] for layer in range(len(params.get("blocks", {})))]
    return params


def check_params(params: dict, config: GPT2Config) -> None:
    """Names, shapes and dtypes of converted parameters (e.g. built by hand or read from browser shards)."""
    actual = dict(iter_params(params))
    for name, shape in param_shapes(config).items():
        if name not in actual:
            raise WeightsError(f"parameter {name!r} is missing (expected shape {shape})")
        seen = in_out_shape(actual[name]) if is_linear_weight(name) else actual[name].shape
        if seen != shape:
            raise WeightsError(f"parameter {name!r} has shape {seen} (as [in, out]), expected {shape}")
        if actual[name].dtype != np.float32 and actual[name].dtype.name != kept_dtype(name, actual[name].dtype.name):
            raise WeightsError(f"parameter {name!r} has dtype {actual[name].dtype}, expected float32")
