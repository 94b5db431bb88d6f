"""GPT-2's hyperparameters, read from a Hugging Face ``config.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import WeightsError

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
        for name in ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer"):
            if int(getattr(self, name)) <= 0:
                raise WeightsError(f"config {name} must be a positive integer, got {getattr(self, name)!r}")
        if self.n_embd % self.n_head:
            raise WeightsError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")

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
            if isinstance(value, bool) or not isinstance(value, (int, float)) or converted != value:
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
        return cls.from_hf_dict(hf)

    def to_dict(self) -> dict:
        return asdict(self)
