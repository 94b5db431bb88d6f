"""GPT-2's hyperparameters, read from a Hugging Face ``config.json``."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import WeightsError

# Our field names that config.json spells differently, for the messages.
HF_NAMES = {"n_vocab": "vocab_size", "n_ctx": "n_positions"}

# Activation names Hugging Face uses for GPT-2's tanh approximation of GELU.
TANH_GELU_NAMES = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")


@dataclass(frozen=True)
class GPT2Config:
    n_vocab: int = 50257
    n_ctx: int = 1024
    n_embd: int = 768
    n_head: int = 12
    n_layer: int = 12
    n_inner: int | None = None  # width of the MLP's hidden layer; None means 4 * n_embd
    layer_norm_epsilon: float = 1e-5

    def __post_init__(self):
        """Refuse numbers no GPT-2 can have, naming the field: a wrong config must fail here, not as NaN logits."""
        sizes = ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer") + (("n_inner",) if self.n_inner is not None else ())
        for name in sizes:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                spelled = f" ({HF_NAMES[name]} in config.json)" if name in HF_NAMES else ""
                raise WeightsError(f"config {name}{spelled} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))  # a NumPy integer becomes a plain int
        if self.n_embd % self.n_head:
            raise WeightsError(f"config n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}): "
                               f"each head gets n_embd / n_head dimensions")
        eps = self.layer_norm_epsilon
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)) \
                or not math.isfinite(eps) or not 0 < eps < 1 or np.float32(eps) == 0:
            raise WeightsError(f"config layer_norm_epsilon must be a number between 0 and 1, exclusive and "
                               f"representable in float32 (GPT-2 uses 1e-05), got {eps!r}")
        object.__setattr__(self, "layer_norm_epsilon", float(eps))

    @property
    def d_head(self) -> int:
        return self.n_embd // self.n_head

    @property
    def d_mlp(self) -> int:
        return self.n_inner or 4 * self.n_embd

    @classmethod
    def from_hf_dict(cls, hf: dict) -> "GPT2Config":
        """Map a Hugging Face GPT-2 config.json to ours, refusing options GPT-2 itself never uses."""
        if not isinstance(hf, dict):
            raise WeightsError(f"config.json must hold a JSON object of settings, got a {type(hf).__name__}")
        model_type = hf.get("model_type", "gpt2")
        if model_type != "gpt2":
            raise WeightsError(f"expected a GPT-2 checkpoint (model_type 'gpt2'), got model_type {model_type!r}")
        activation = hf.get("activation_function", "gelu_new")
        if activation not in TANH_GELU_NAMES:
            raise WeightsError(f"unsupported activation_function {activation!r}; GPT-2 uses 'gelu_new'")
        for flag, expected in (("scale_attn_weights", True), ("scale_attn_by_inverse_layer_idx", False),
                               ("reorder_and_upcast_attn", False), ("add_cross_attention", False)):
            if hf.get(flag, expected) != expected:
                raise WeightsError(f"unsupported config option {flag}={hf[flag]!r} (GPT-2 uses {expected})")
        def number(key: str, kind=int, default=None):
            value = hf.get(key, default)
            if value is None:
                raise WeightsError(f"config.json has no {key!r} entry")
            try:
                converted = kind(value)
            except (TypeError, ValueError, OverflowError):
                converted = None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or converted is None \
                    or (kind is int and converted != value):
                raise WeightsError(f"config.json's {key!r} must be {'an integer' if kind is int else 'a number'}, "
                                   f"got {value!r}")
            return converted

        return cls(
            n_vocab=number("vocab_size"),
            n_ctx=number("n_positions", default=hf.get("n_ctx", 1024)),
            n_embd=number("n_embd"),
            n_head=number("n_head"),
            n_layer=number("n_layer"),
            n_inner=number("n_inner") if hf.get("n_inner") is not None else None,
            layer_norm_epsilon=number("layer_norm_epsilon", float, 1e-5),
        )

    @classmethod
    def from_json_file(cls, path: str | Path) -> "GPT2Config":
        try:
            hf = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:  # ValueError: not JSON, or not UTF-8
            raise WeightsError(f"cannot read config {path}: {error}") from None
        try:
            return cls.from_hf_dict(hf)
        except WeightsError as error:  # say which file is wrong
            raise WeightsError(f"{path}: {error}") from None

    def to_dict(self) -> dict:
        return asdict(self)
