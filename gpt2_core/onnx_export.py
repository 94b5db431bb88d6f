"""GPT-2 as an ONNX graph with a KV cache, built by hand from the weight shards (build time only).

One graph serves the prompt and every decode step:

    inputs   input_ids [n_new] int64
             past.{i}.key, past.{i}.value [n_head, n_past, d_head] float32, one pair per layer
             (n_past = 0 for the prompt)
    outputs  logits [n_vocab]: the prediction after the last new token
             present.{i}.key, present.{i}.value [n_head, n_past + n_new, d_head]: the next step's past
             new.{i}.key, new.{i}.value [n_head, n_new, d_head]: this call's keys and values alone, for a
             caller that keeps the cache itself (the wasm bridge: see assets/ort_bridge.mjs)
             attention [n_layer, n_head, n_past + n_new] (optional): the last token's attention pattern

The weights are not copied into the graph: each initializer is ONNX external data pointing into the
shard files of ``shards.py`` (file, offset, length), so a browser downloads the shards once for the
NumPy runtime and the ONNX runtime. Stored as float16, each weight passes through a ``Cast`` to
float32, which onnxruntime folds once when the session starts. Stored as int8, each matrix is
``Mul(Cast(q), scale)`` with its scales read as a column ``[rows, 1]``: ``q * scale[:, None]``, the
product NumPy computes (quantization.py), folded once in the same way. ``DequantizeLinear(q, scale,
axis=0)`` says the same, but onnxruntime keeps it out of constant folding (a DequantizeLinear marks a
quantized operand for its int8 kernels), so it would dequantize every weight again at every step:
measured on GPT-2 small's shapes, one thread, 320 ms a decode step against 15 ms.

Each function below builds one part of the model, named as in ``model.py``, with its shapes in a
comment. Imports ``onnx`` only (no PyTorch).

    python -m transformer_explainer.gpt2_core.onnx_export MODEL_DIR_OR_ID OUT_DIR [--float32 | --int8] [--attention]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .config import GPT2Config
from .quantization import REPORT_PROMPTS, quantization_cost
from .shards import DEFAULT_SHARD_BYTES, load_model_from_shards, read_manifest, total_shard_bytes, write_shards

GRAPH_FILE = "model.onnx"
# onnx 1.23 writes IR version 14 by default; onnxruntime 1.31 and onnxruntime-web 1.30 read up to 10.
IR_VERSION = 10
OPSET = 17  # LayerNormalization arrived in opset 17; every op here runs on onnxruntime-web's wasm and WebGPU
ONNX_DTYPES = {"float16": TensorProto.FLOAT16, "float32": TensorProto.FLOAT, "int8": TensorProto.INT8}
MASKED = np.finfo(np.float32).min  # not -inf: GPU backends may not honour infinities; exp() of it is 0 all the same


class GraphBuilder:
    """Collects nodes and initializers; every ``op`` returns its output's (unique, readable) name."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.used_names: Counter = Counter()
        self.constants: dict[str, np.ndarray] = {}

    def fresh(self, name: str) -> str:
        self.used_names[name] += 1
        count = self.used_names[name]
        return name if count == 1 else f"{name}_{count}"

    def op(self, op_type: str, *inputs: str, name: str, **attributes) -> str:
        return self.ops(op_type, *inputs, names=[name], **attributes)[0]

    def ops(self, op_type: str, *inputs: str, names: list[str], **attributes) -> list[str]:
        outputs = [self.fresh(name) for name in names]
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs, name=outputs[0], **attributes))
        return outputs

    def constant(self, name: str, value) -> str:
        """A small constant stored inside the graph (shapes, scales), defined once however often it is used."""
        value = np.asarray(value)
        if name in self.constants:
            if not np.array_equal(self.constants[name], value):
                raise ValueError(f"constant {name!r} is defined twice with different values")
            return name
        self.constants[name] = value
        self.initializers.append(numpy_helper.from_array(value, self.fresh(name)))
        return name


class ShardWeights:
    """Each stored tensor as a float32 graph value, read from the shards as external data."""

    def __init__(self, graph: GraphBuilder, manifest: dict):
        self.graph = graph
        self.entries = {entry["name"]: entry for entry in manifest["tensors"]}
        self.values: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self.values:
            self.values[name] = self.load(self.entries[name])
        return self.values[name]

    def load(self, entry: dict) -> str:
        name, dtype = entry["name"], entry["dtype"]
        value = self.stored(entry)
        if dtype == "float32":
            return value
        as_float = self.graph.op("Cast", value, name=f"{name}.float32", to=TensorProto.FLOAT)
        if dtype == "int8":  # [rows, cols] * [rows, 1]: each row times its scale
            scale = self.stored(self.entries[entry["scale"]], as_column=True)
            return self.graph.op("Mul", as_float, scale, name=f"{name}.dequantized")
        return as_float

    def stored(self, entry: dict, as_column: bool = False) -> str:
        """A tensor as the shards hold it (its pieces joined along the rows); a vector ``[rows]`` read
        ``as_column`` is ``[rows, 1]`` (the same bytes)."""
        name, shape, pieces = entry["name"], entry["shape"], entry["pieces"]
        row_shape = [1] if as_column else shape[1:]
        parts = [self.external_initializer(name if len(pieces) == 1 else f"{name}.piece{k}",
                                           [piece["rows"], *row_shape], entry["dtype"], piece)
                 for k, piece in enumerate(pieces)]
        return parts[0] if len(parts) == 1 else self.graph.op("Concat", *parts, name=f"{name}.joined", axis=0)

    def external_initializer(self, name: str, shape: list[int], dtype: str, piece: dict) -> str:
        tensor = TensorProto(name=name, data_type=ONNX_DTYPES[dtype], dims=shape,
                             data_location=TensorProto.EXTERNAL)
        for key, value in (("location", piece["file"]), ("offset", piece["offset"]), ("length", piece["length"])):
            tensor.external_data.add(key=key, value=str(value))
        self.graph.initializers.append(tensor)
        return name


# -- the model, one part per function -------------------------------------------------------------------

def linear(g: GraphBuilder, w: ShardWeights, x: str, prefix: str) -> str:  # [pos, in] -> [pos, out]
    return g.op("Gemm", x, w[f"{prefix}.w"], w[f"{prefix}.b"], name=f"{prefix}.out", transB=1)  # w is [out, in]


def layer_norm(g: GraphBuilder, w: ShardWeights, x: str, prefix: str, eps: float) -> str:  # [pos, d] -> [pos, d]
    return g.op("LayerNormalization", x, w[f"{prefix}.g"], w[f"{prefix}.b"], name=f"{prefix}.out", axis=-1,
                epsilon=eps)


def gelu(g: GraphBuilder, x: str, prefix: str) -> str:  # [pos, dm] -> [pos, dm]
    """GPT-2's tanh approximation, as in model.py: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))."""
    cube = g.op("Mul", g.op("Mul", x, x, name=f"{prefix}.x2"), x, name=f"{prefix}.x3")
    inner = g.op("Add", x, g.op("Mul", cube, g.constant("gelu_cubic", np.float32(0.044715)), name=f"{prefix}.cubic"),
                 name=f"{prefix}.inner")
    tanh = g.op("Tanh", g.op("Mul", inner, g.constant("sqrt_2_over_pi", np.float32(np.sqrt(2 / np.pi))),
                             name=f"{prefix}.scaled"), name=f"{prefix}.tanh")
    half_x = g.op("Mul", x, g.constant("half", np.float32(0.5)), name=f"{prefix}.half_x")
    return g.op("Mul", half_x, g.op("Add", tanh, g.constant("one", np.float32(1.0)), name=f"{prefix}.one_plus_tanh"),
                name=f"{prefix}.out")


def split_heads(g: GraphBuilder, x: str, config: GPT2Config, name: str) -> str:  # [pos, d] -> [h, pos, dh]
    per_head = g.op("Reshape", x, g.constant("heads_shape", np.array([-1, config.n_head, config.d_head])),
                    name=f"{name}.per_head")
    return g.op("Transpose", per_head, name=name, perm=[1, 0, 2])


def merge_heads(g: GraphBuilder, x: str, config: GPT2Config, name: str) -> str:  # [h, pos, dh] -> [pos, d]
    by_position = g.op("Transpose", x, name=f"{name}.by_position", perm=[1, 0, 2])
    return g.op("Reshape", by_position, g.constant("merged_shape", np.array([-1, config.n_embd])), name=name)


def attention(g: GraphBuilder, w: ShardWeights, x: str, prefix: str, config: GPT2Config, future: str,
              layer: int) -> tuple[str, str]:  # [pos, d] -> [pos, d] and the pattern [h, pos, ctx]
    """Causal self-attention over the cached keys/values and this call's; writes present.{layer}.key/value."""
    d = config.n_embd
    qkv = linear(g, w, x, f"{prefix}.c_attn")  # [pos, 3d]
    q, k, v = g.ops("Split", qkv, g.constant("qkv_sizes", np.array([d, d, d])),
                    names=[f"{prefix}.q_flat", f"{prefix}.k_flat", f"{prefix}.v_flat"], axis=1)
    q = split_heads(g, q, config, f"{prefix}.q")  # [h, pos, dh]
    k = split_heads(g, k, config, f"new.{layer}.key")  # [h, pos, dh], also a graph output
    v = split_heads(g, v, config, f"new.{layer}.value")
    keys = g.op("Concat", f"past.{layer}.key", k, name=f"present.{layer}.key", axis=1)  # [h, ctx, dh]
    values = g.op("Concat", f"past.{layer}.value", v, name=f"present.{layer}.value", axis=1)  # [h, ctx, dh]

    keys_t = g.op("Transpose", keys, name=f"{prefix}.keys_t", perm=[0, 2, 1])  # [h, dh, ctx]
    raw = g.op("MatMul", q, keys_t, name=f"{prefix}.attn_raw")  # [h, pos, ctx]
    scale = g.constant("attn_scale", np.float32(1.0 / np.sqrt(config.d_head)))
    scaled = g.op("Mul", raw, scale, name=f"{prefix}.attn_scaled")
    scores = g.op("Where", future, g.constant("masked", MASKED), scaled, name=f"{prefix}.attn_scores")
    pattern = g.op("Softmax", scores, name=f"{prefix}.pattern", axis=-1)  # [h, pos, ctx]
    z = g.op("MatMul", pattern, values, name=f"{prefix}.z")  # [h, pos, dh]
    out = linear(g, w, merge_heads(g, z, config, f"{prefix}.z_merged"), f"{prefix}.c_proj")
    return out, pattern


def mlp(g: GraphBuilder, w: ShardWeights, x: str, prefix: str) -> str:  # [pos, d] -> [pos, d]
    return linear(g, w, gelu(g, linear(g, w, x, f"{prefix}.c_fc"), f"{prefix}.gelu"), f"{prefix}.c_proj")


def transformer_block(g: GraphBuilder, w: ShardWeights, x: str, layer: int, config: GPT2Config,
                      future: str) -> tuple[str, str]:  # [pos, d] -> [pos, d] and the pattern
    prefix, eps = f"blocks.{layer}", config.layer_norm_epsilon
    attn_out, pattern = attention(g, w, layer_norm(g, w, x, f"{prefix}.ln_1", eps), f"{prefix}.attn", config,
                                  future, layer)
    resid_mid = g.op("Add", x, attn_out, name=f"{prefix}.resid_mid")
    mlp_out = mlp(g, w, layer_norm(g, w, resid_mid, f"{prefix}.ln_2", eps), f"{prefix}.mlp")
    return g.op("Add", resid_mid, mlp_out, name=f"{prefix}.resid_post"), pattern


def positions_and_mask(g: GraphBuilder) -> tuple[str, str]:
    """The new tokens' positions [pos] (they follow the cached ones) and the causal mask [pos, ctx]
    (True where a query would look at a later token)."""
    zero, one = g.constant("zero_i64", np.int64(0)), g.constant("one_i64", np.int64(1))
    n_past = g.op("Gather", g.op("Shape", "past.0.key", name="past_shape"), one, name="n_past", axis=0)
    n_new = g.op("Gather", g.op("Shape", "input_ids", name="new_shape"), zero, name="n_new", axis=0)
    n_total = g.op("Add", n_past, n_new, name="n_total")
    positions = g.op("Range", n_past, n_total, one, name="positions")  # [pos]
    key_positions = g.op("Range", zero, n_total, one, name="key_positions")  # [ctx]
    query_positions = g.op("Unsqueeze", positions, g.constant("axis_1", np.array([1])), name="query_positions")
    return positions, g.op("Greater", key_positions, query_positions, name="future")  # [pos, ctx]


def last_attention(g: GraphBuilder, patterns: list[str]) -> str:  # n_layer x [h, pos, ctx] -> [n_layer, h, ctx]
    last = g.constant("last_index", np.array([-1]))
    rows = [g.op("Gather", pattern, last, name=f"blocks.{layer}.attn.last_pattern", axis=1)  # [h, 1, ctx]
            for layer, pattern in enumerate(patterns)]
    stacked = g.op("Concat", *rows, name="attention_stacked", axis=1)  # [h, n_layer, ctx]
    return g.op("Transpose", stacked, name="attention", perm=[1, 0, 2])


def gpt2(g: GraphBuilder, w: ShardWeights, config: GPT2Config, attention_patterns: bool) -> None:
    """The whole model: embeddings, the blocks, the final norm, the unembedding of the last position."""
    positions, future = positions_and_mask(g)
    token_embed = g.op("Gather", w["wte"], "input_ids", name="embed", axis=0)  # [pos, d]
    x = g.op("Add", token_embed, g.op("Gather", w["wpe"], positions, name="pos_embed", axis=0), name="resid_0")
    patterns = []
    for layer in range(config.n_layer):
        x, pattern = transformer_block(g, w, x, layer, config, future)
        patterns.append(pattern)
    last = g.op("Slice", x, g.constant("last_start", np.array([-1])), g.constant("last_end", np.array([2**62])),
                g.constant("axis_0", np.array([0])), name="last_position")  # [1, d]: only the next token is needed
    normalized = layer_norm(g, w, last, "ln_f", config.layer_norm_epsilon)
    unembed = w["lm_head"] if "lm_head" in w.entries else w["wte"]  # tied: the token embeddings, [V, d]
    logits = g.op("Gemm", normalized, unembed, name="logits_row", transB=1)  # [1, V]
    g.op("Reshape", logits, g.constant("flat", np.array([-1])), name="logits")
    if attention_patterns:
        last_attention(g, patterns)


def graph_inputs_outputs(config: GPT2Config, attention_patterns: bool):
    def kv(name: str, length: str):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [config.n_head, length, config.d_head])

    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["n_new"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [config.n_vocab])]
    for layer in range(config.n_layer):
        inputs += [kv(f"past.{layer}.key", "n_past"), kv(f"past.{layer}.value", "n_past")]
        outputs += [kv(f"present.{layer}.key", "n_total"), kv(f"present.{layer}.value", "n_total")]
    for layer in range(config.n_layer):
        outputs += [kv(f"new.{layer}.key", "n_new"), kv(f"new.{layer}.value", "n_new")]
    if attention_patterns:
        outputs.append(helper.make_tensor_value_info("attention", TensorProto.FLOAT,
                                                     [config.n_layer, config.n_head, "n_total"]))
    return inputs, outputs


def build_graph(manifest: dict, attention_patterns: bool = False) -> onnx.ModelProto:
    """The ONNX model for the weights a shard manifest describes (the weights stay in the shards)."""
    config = GPT2Config.from_hf_dict(manifest["config"])
    g = GraphBuilder()
    gpt2(g, ShardWeights(g, manifest), config, attention_patterns)
    inputs, outputs = graph_inputs_outputs(config, attention_patterns)
    graph = helper.make_graph(g.nodes, f"gpt2-kv-cache ({manifest.get('name', 'gpt2')})", inputs, outputs,
                              initializer=g.initializers)
    model = helper.make_model(graph, producer_name="gpt2_core.onnx_export", ir_version=IR_VERSION,
                              opset_imports=[helper.make_opsetid("", OPSET)])
    helper.set_model_props(model, {"n_layer": str(config.n_layer), "n_head": str(config.n_head),
                                   "d_head": str(config.d_head), "n_vocab": str(config.n_vocab),
                                   "n_ctx": str(config.n_ctx), "weights_dtype": manifest["dtype"]})
    return model


def write_graph(shard_directory: str | Path, attention_patterns: bool = False) -> Path:
    """Write ``model.onnx`` next to existing shards, and check it (external data included)."""
    shard_directory = Path(shard_directory)
    model = build_graph(read_manifest(shard_directory), attention_patterns)
    path = shard_directory / GRAPH_FILE
    onnx.save_model(model, str(path))
    onnx.checker.check_model(str(path), full_check=True)
    return path


def export_onnx(model, out_directory: str | Path, dtype: str = "float16", attention_patterns: bool = False,
                max_shard_bytes: int = DEFAULT_SHARD_BYTES) -> Path:
    """Shards (+ manifest, tokenizer) and the ONNX graph of a loaded ``GPT2`` in one directory; returns the graph."""
    write_shards(model, out_directory, dtype=dtype, max_shard_bytes=max_shard_bytes)
    return write_graph(out_directory, attention_patterns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transformer_explainer.gpt2_core.onnx_export",
                                     description="Write GPT-2 weight shards and a KV-cache ONNX graph for the browser.")
    parser.add_argument("model", help="a Hugging Face id (openai-community/gpt2) or a local checkpoint directory")
    parser.add_argument("out_dir", help="where to write manifest.json, weights-*.bin, the tokenizer and model.onnx")
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument("--float32", action="store_true", help="store float32 weights (exact; twice the download)")
    storage.add_argument("--int8", action="store_true",
                         help="store the matrices as int8 with a scale per row (half the float16 download)")
    parser.add_argument("--attention", action="store_true", help="add the last token's attention patterns as an output")
    parser.add_argument("--shard-mb", type=float, default=DEFAULT_SHARD_BYTES / 2**20, help="largest shard, in MiB")
    args = parser.parse_args(argv)

    from .loading import load_model

    model = load_model(args.model)
    dtype = "float32" if args.float32 else "int8" if args.int8 else "float16"
    graph = export_onnx(model, args.out_dir, dtype, args.attention, int(args.shard_mb * 2**20))
    manifest = read_manifest(args.out_dir)
    weight_bytes = total_shard_bytes(manifest)
    print(f"wrote {graph} ({graph.stat().st_size / 1e3:.0f} kB) and {len(manifest['shards'])} weight shards "
          f"({weight_bytes / 1e6:.1f} MB, {manifest['dtype']})")
    if dtype == "int8":
        print(quantization_report(model, load_model_from_shards(args.out_dir)))
    return 0


def quantization_report(reference, quantized, prompts: list[str] = REPORT_PROMPTS) -> str:
    """One line: what int8 storage changes in the predictions (quantization.quantization_cost)."""
    cost = quantization_cost(reference, quantized, prompts)
    return (f"int8 against float32 over {cost['positions']} positions: top-1 agreement "
            f"{cost['top1_agreement']:.1%}, largest logit error {cost['max_logit_error']:.3f}, "
            f"largest probability error {cost['max_probability_error']:.4f}")


if __name__ == "__main__":
    sys.exit(main())
