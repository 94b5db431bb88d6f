"""Adapter: any PyTorch ``nn.Module`` (a model of your own, not from ``transformers``), read with forward hooks.

How the attention is found, with no help:

1. A forward hook on every submodule looks at what it returns (a tensor, or tensors in a tuple, list or
   dict) for attention probabilities: a [1, heads, n, n] tensor (n = the input's tokens), no value below 0,
   every row summing to 1. A tensor met again (a dropout in eval mode hands the same one on, a parent
   returns its child's) counts once. ``nn.MultiheadAttention`` is asked for per-head weights
   (``need_weights=True, average_attn_weights=False``), so ``nn.TransformerEncoder`` models are read too.
2. If no module returns them, the softmax calls inside the forward pass (``torch.softmax``,
   ``F.softmax``, ``Tensor.softmax``) whose result has that shape, in the order they ran.
3. If the model has a ``config`` saying how many layers (``num_hidden_layers``, ``n_layer``, ...) or heads
   it has, the count found must agree, else a ``CaptureError`` lists where attention-like tensors were seen.

Hidden states: the blocks are the members of the ``nn.ModuleList``/``nn.Sequential`` that holds the
attention modules (or else the longest one whose members each return a [1, n, width] tensor); the states are
the first block's input and each block's output.

Where that guess fails, say where to look (the small adapter)::

    Explainer(model, tokenizer,
              attention_modules=[f"blocks.{i}.attn" for i in range(4)],   # names from model.named_modules()
              attention_output=lambda output: output[1],                  # the probabilities in their output
              hidden_state_modules=[f"blocks.{i}" for i in range(4)])     # each layer's output, in order

Limits: one sequence at a time; attention that never exists as a tensor (``F.scaled_dot_product_attention``
and other fused kernels compute the softmax inside) cannot be captured: compute it with a softmax, or return
the weights. The model runs in eval mode without gradients and is put back in the mode it had.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping
from typing import Callable, Sequence

from .capture import Capture, make_capture
from .errors import CaptureError, ExplainerError, InputError
from .inputs import Encoded, check_length, check_vocabulary, token_labels

ROW_SUM_TOLERANCE = 1e-3
LAYER_COUNT_NAMES = ("num_hidden_layers", "n_layer", "n_layers", "num_layers")
HEAD_COUNT_NAMES = ("num_attention_heads", "n_head", "n_heads", "num_heads")
LENGTH_NAMES = ("max_position_embeddings", "n_positions", "n_ctx", "max_seq_len", "max_len", "block_size")
VOCABULARY_NAMES = ("vocab_size", "n_vocab")


def is_torch_module(model) -> bool:
    import sys
    if "torch" not in sys.modules:
        return False
    import torch
    return isinstance(model, torch.nn.Module)


def config_value(config, names: Sequence[str]) -> int | None:
    for name in names:
        value = config.get(name) if isinstance(config, Mapping) else getattr(config, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def tensors_in(output, depth: int = 2):
    """The tensors in a module's output: itself, or inside tuples, lists, dicts (ModelOutput too)."""
    import torch

    if isinstance(output, torch.Tensor):
        yield output
    elif depth > 0 and isinstance(output, (tuple, list)):
        for item in output:
            yield from tensors_in(item, depth - 1)
    elif depth > 0 and isinstance(output, Mapping):
        for item in output.values():
            yield from tensors_in(item, depth - 1)


def looks_like_attention(tensor, n_tokens: int) -> bool:
    """[1, heads, n, n], non-negative, each row summing to 1."""
    import torch

    if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point() or tensor.ndim != 4:
        return False
    if tensor.shape[0] != 1 or tensor.shape[2] != n_tokens or tensor.shape[3] != n_tokens:
        return False
    values = tensor.detach().float()
    return bool(values.min() >= -1e-6) and bool((values.sum(-1) - 1).abs().max() <= ROW_SUM_TOLERANCE)


def as_sequence_state(tensor, n_tokens: int):
    """A hidden state [1, n, width] (or sequence-first [n, 1, width]) as [n, width]; None if it is neither."""
    import torch

    if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point() or tensor.ndim != 3:
        return None
    if tensor.shape[0] == 1 and tensor.shape[1] == n_tokens:
        return tensor[0]
    if tensor.shape[0] == n_tokens and tensor.shape[1] == 1:
        return tensor[:, 0]
    return None


def identity(tensor) -> tuple:
    """The same memory seen through the same view (valid while the tensor is alive)."""
    return tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride())


def resolve_modules(model, modules, what: str) -> list[tuple[str, object]] | None:
    """(name, module) for each name or module given, in order; None when none were given."""
    if modules is None:
        return None
    if isinstance(modules, str) or not isinstance(modules, Sequence) or not modules:
        raise CaptureError(f"{what} must be a non-empty list of module names (from model.named_modules()) or modules")
    named = dict(model.named_modules())
    names_of = {id(module): name for name, module in named.items()}
    resolved = []
    for item in modules:
        if isinstance(item, str):
            if item not in named:
                close = difflib.get_close_matches(item, list(named), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise CaptureError(f"{what}: {type(model).__name__} has no module named {item!r}{hint}")
            resolved.append((item, named[item]))
        elif id(item) in names_of:
            resolved.append((names_of[id(item)], item))
        else:
            raise CaptureError(f"{what}: {type(item).__name__} is not a module of {type(model).__name__}")
    return resolved


def block_of(name: str) -> tuple[str, str] | None:
    """("layers", "layers.3") for "layers.3.attn.softmax": the numbered container a module sits in."""
    parts = name.split(".")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].isdigit():
            return ".".join(parts[:i]), ".".join(parts[:i + 1])
    return None


class TorchHooksAdapter:
    def __init__(self, model, tokenizer=None, *, attention_modules=None,
                 attention_output: Callable | None = None, hidden_state_modules=None):
        import torch

        self.model, self.tokenizer = model, tokenizer
        self.name = type(model).__name__
        config = getattr(model, "config", None)
        self.expected_layers = config_value(config, LAYER_COUNT_NAMES) if config is not None else None
        self.expected_heads = config_value(config, HEAD_COUNT_NAMES) if config is not None else None
        self.max_tokens = config_value(config, LENGTH_NAMES) if config is not None else None
        self.vocab_size = config_value(config, VOCABULARY_NAMES) if config is not None else None
        if attention_output is not None and not callable(attention_output):
            raise CaptureError("attention_output must be a function from a module's output to its attention tensor")
        self.attention_modules = resolve_modules(model, attention_modules, "attention_modules")
        self.attention_output = attention_output
        self.hidden_state_modules = resolve_modules(model, hidden_state_modules, "hidden_state_modules")
        self.torch = torch

    # -- running ---------------------------------------------------------------------------------------------

    def call(self, encoded: Encoded):
        torch = self.torch
        parameter = next(self.model.parameters(), None)
        device = parameter.device if parameter is not None else "cpu"
        ids = torch.tensor([encoded.ids], dtype=torch.long, device=device)
        if not encoded.as_mapping:
            return self.model(ids)
        inputs = {"input_ids": ids}
        for name, value in encoded.extras.items():
            inputs[name] = torch.as_tensor(value[None]).to(device) if getattr(value, "ndim", None) == 1 else value
        return self.model(**inputs)

    def capture(self, encoded: Encoded) -> Capture:
        check_length(encoded, self.max_tokens, self.name)
        check_vocabulary(encoded, self.vocab_size)
        n = encoded.n_tokens
        recorder = Recorder(self, n)
        with recorder.installed(), self.torch.no_grad():
            try:
                self.call(encoded)
            except ExplainerError:
                raise
            except (IndexError, RuntimeError, TypeError, ValueError) as error:
                first = str(error).splitlines()[0] if str(error) else ""
                raise InputError(f"{self.name} could not run on this input of {n} tokens: "
                                 f"{type(error).__name__}: {first}") from None
        attentions, where, notes = recorder.attentions()
        hidden, labels, hidden_note = recorder.hidden_states(where)
        if hidden_note:
            notes.append(hidden_note)
        return make_capture(token_labels(self.tokenizer, encoded.ids), [a[0] for a in attentions],
                            hidden, labels, token_ids=encoded.ids, model_name=self.name, notes=notes)


class Recorder:
    """The hooks of one forward pass and what they saw."""

    def __init__(self, adapter: TorchHooksAdapter, n_tokens: int):
        self.adapter, self.n = adapter, n_tokens
        self.from_modules: list[tuple[str, object]] = []  # (module name, attention tensor), in the order seen
        self.from_softmax: list[object] = []
        self.seen: set = set()
        self.alive: list = []
        self.outputs: dict[str, object] = {}  # module name -> its [n, width] output, for the hidden states
        self.inputs: dict[str, object] = {}  # module name -> its [n, width] input

    @contextlib.contextmanager
    def installed(self):
        torch = self.adapter.torch
        model = self.adapter.model
        handles = []
        watched = self.adapter.attention_modules or list(model.named_modules())
        for name, module in watched:
            if isinstance(module, torch.nn.MultiheadAttention):
                handles.append(module.register_forward_pre_hook(ask_for_head_weights, with_kwargs=True))
            handles.append(module.register_forward_hook(self.attention_hook(name)))
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(self.input_hook(name), with_kwargs=True))
            handles.append(module.register_forward_hook(self.output_hook(name)))
        mode = SoftmaxRecorder(self) if self.adapter.attention_modules is None else contextlib.nullcontext()
        was_training = model.training
        model.eval()
        try:
            with mode:
                yield
        finally:
            for handle in handles:
                handle.remove()
            model.train(was_training)

    def attention_hook(self, name: str):
        def hook(module, args, output):
            if self.adapter.attention_output is not None:
                tensor = self.adapter.attention_output(output)
                if not looks_like_attention(tensor, self.n):
                    shape = tuple(tensor.shape) if hasattr(tensor, "shape") else type(tensor).__name__
                    raise CaptureError(f"attention_output gave {shape} for the output of {name!r}: expected "
                                       f"[1, heads, {self.n}, {self.n}] probabilities (rows summing to 1)")
                candidates = [tensor]
            else:
                candidates = [t for t in tensors_in(output) if looks_like_attention(t, self.n)]
            for tensor in candidates:
                key = identity(tensor)
                if key not in self.seen:
                    self.seen.add(key)
                    self.from_modules.append((name, tensor.detach().clone()))
                    # Held until the pass ends, so that its memory is not reused by a later tensor, which
                    # would then look like the same one.
                    self.alive.append(tensor)
        return hook

    def output_hook(self, name: str):
        def hook(module, args, output):
            state = next((s for s in (as_sequence_state(t, self.n) for t in tensors_in(output, 1)) if s is not None),
                         None)
            if state is not None:
                self.outputs[name] = state.detach().clone()
        return hook

    def input_hook(self, name: str):
        def hook(module, args, kwargs):
            values = list(args) + list(kwargs.values())
            state = next((s for s in (as_sequence_state(v, self.n) for v in values) if s is not None), None)
            if state is not None:
                self.inputs[name] = state.detach().clone()
        return hook

    def record_softmax(self, tensor) -> None:
        if looks_like_attention(tensor, self.n):
            self.from_softmax.append(tensor.detach().clone())

    # -- what was found ----------------------------------------------------------------------------------------

    def attentions(self) -> tuple[list, list[str], list[str]]:
        adapter = self.adapter
        notes = []
        if self.from_modules:
            found, where = [t for _, t in self.from_modules], [name for name, _ in self.from_modules]
            if adapter.attention_modules is not None:
                missing = [name for name, _ in adapter.attention_modules if name not in where]
                if missing:
                    raise CaptureError(f"attention_modules: {', '.join(missing)} gave no attention in this forward "
                                       f"pass (did they run?)")
            notes.append(f"attention found by shape in the outputs of {describe(where)}")
        elif self.from_softmax:
            found, where = self.from_softmax, []
            notes.append(f"attention found at the {len(found)} softmax calls of the forward pass whose result is "
                         f"[1, heads, {self.n}, {self.n}]")
        else:
            raise CaptureError(
                f"no attention probabilities found in {adapter.name}: no module returned a [1, heads, {self.n}, "
                f"{self.n}] tensor whose rows sum to 1, and no softmax call made one (fused kernels such as "
                f"F.scaled_dot_product_attention never do). Return the weights from your attention module, or say "
                f"where they are: Explainer(model, tokenizer, attention_modules=[...], attention_output=...)")
        if adapter.expected_layers is not None and len(found) != adapter.expected_layers:
            seen = f" in {describe(where)}" if where else ""
            raise CaptureError(f"found {len(found)} attention-like tensors{seen}, but {adapter.name}.config says "
                               f"{adapter.expected_layers} layers: name the modules that return the attention, "
                               f"Explainer(model, tokenizer, attention_modules=[...])")
        heads = found[0].shape[1]
        if adapter.expected_heads is not None and heads != adapter.expected_heads:
            raise CaptureError(f"the attention found has {heads} heads, but {adapter.name}.config says "
                               f"{adapter.expected_heads}: name the modules: attention_modules=[...]")
        return found, where, notes

    def hidden_states(self, attention_where: list[str]) -> tuple[list, list[str], str]:
        adapter = self.adapter
        if adapter.hidden_state_modules is not None:
            names = [name for name, _ in adapter.hidden_state_modules]
            missing = [name for name in names if name not in self.outputs]
            if missing:
                raise CaptureError(f"hidden_state_modules: {', '.join(missing)} returned no [1, n, width] tensor")
            return [self.outputs[name] for name in names], names, ""
        blocks = self.blocks(attention_where)
        if not blocks:
            return [], [], ""
        states = ([self.inputs[blocks[0]]] if blocks[0] in self.inputs else []) + [self.outputs[b] for b in blocks]
        labels = (["embeddings"] if blocks[0] in self.inputs else []) + [f"after layer {i}" for i in range(len(blocks))]
        widths = {tuple(state.shape) for state in states}
        if len(widths) != 1:
            return [], [], "hidden states not shown: the blocks' inputs and outputs differ in shape"
        return states, labels, (f"hidden states: the input of {blocks[0]} and the output of each of "
                                f"{describe(blocks)}")

    def blocks(self, attention_where: list[str]) -> list[str]:
        """The blocks' names: the numbered members of the container holding the attention modules, or else
        of the longest container whose members all return a hidden state."""
        containers = {block_of(name) for name in attention_where}
        if attention_where and None not in containers and len({c for c, _ in containers}) == 1:
            blocks = sorted({b for _, b in containers}, key=lambda b: int(b.rsplit(".", 1)[-1]))
            if all(b in self.outputs for b in blocks):
                return blocks
        torch = self.adapter.torch
        best: list[str] = []
        for name, module in self.adapter.model.named_modules():
            if isinstance(module, (torch.nn.ModuleList, torch.nn.Sequential)):
                members = [f"{name}.{child}" if name else child for child, _ in module.named_children()]
                if len(members) > len(best) and members and all(m in self.outputs for m in members):
                    best = members
        return best


def describe(names: list[str]) -> str:
    names = [name or "the model itself" for name in names]
    return ", ".join(names) if len(names) <= 4 else f"{', '.join(names[:3])}, ... ({len(names)} modules)"


def ask_for_head_weights(module, args, kwargs):
    """nn.MultiheadAttention returns averaged weights, or none when asked with need_weights=False (as
    nn.TransformerEncoderLayer asks): ask for each head's."""
    kwargs = dict(kwargs)
    kwargs["need_weights"] = True
    kwargs["average_attn_weights"] = False
    return args, kwargs


def softmax_functions():
    import torch
    return {torch.softmax, torch.nn.functional.softmax, torch.Tensor.softmax, torch.special.softmax}


class SoftmaxRecorder:
    """A TorchFunctionMode that hands every softmax result to the recorder (made lazily: torch is optional)."""

    def __new__(cls, recorder: Recorder):
        from torch.overrides import TorchFunctionMode

        functions = softmax_functions()

        class Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                result = func(*args, **(kwargs or {}))
                if func in functions:
                    recorder.record_softmax(result)
                return result

        return Mode()
