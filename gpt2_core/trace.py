"""``Trace``: the one object between the model and the pictures.

It holds every hook point's value by name (see HOOKS.md), the token ids and their display
strings, and the config; it saves to and loads from one compact ``.npz`` file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import GPT2Config

FORMAT_VERSION = 1


class Trace:
    def __init__(self, arrays: dict[str, np.ndarray], token_ids, tokens: list[str] | None, config: GPT2Config,
                 model_name: str = "", all_logits: bool = False):
        self.arrays = arrays
        self.token_ids = [int(i) for i in token_ids]
        self.tokens = list(tokens) if tokens is not None else [str(i) for i in self.token_ids]
        self.config = config
        self.model_name = model_name
        self.all_logits = all_logits  # False: unembed.hook_logits holds the last position only

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.arrays[name]
        except KeyError:
            raise KeyError(f"this trace has no hook point {name!r}; it has {len(self.arrays)} "
                           f"(e.g. {', '.join(list(self.arrays)[:3])})") from None

    def __contains__(self, name: str) -> bool:
        return name in self.arrays

    @property
    def names(self) -> list[str]:
        return list(self.arrays)

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def logits(self) -> np.ndarray:  # [V]: the prediction for the token after the last one
        return self.arrays["unembed.hook_logits"][-1]

    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.arrays.values())

    def save(self, path: str | Path, float16: bool = False) -> Path:
        """Write the trace to one compressed ``.npz`` (``float16=True`` halves it, at ~3 significant digits)."""
        path = Path(path)
        meta = {"format": FORMAT_VERSION, "token_ids": self.token_ids, "tokens": self.tokens,
                "config": self.config.to_dict(), "model_name": self.model_name, "all_logits": self.all_logits}
        dtype = np.float16 if float16 else np.float32
        arrays = {name: _storable(array, dtype) for name, array in self.arrays.items()}
        np.savez_compressed(path, __meta__=np.array(json.dumps(meta)), **arrays)
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> "Trace":
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["__meta__"]))
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError(f"{path} is a trace of format {meta.get('format')!r}; this version reads {FORMAT_VERSION}")
            arrays = {name: archive[name].astype(np.float32) for name in archive.files if name != "__meta__"}
        return cls(arrays, meta["token_ids"], meta["tokens"], GPT2Config(**meta["config"]),
                   meta["model_name"], meta["all_logits"])


def _storable(array: np.ndarray, dtype) -> np.ndarray:
    if dtype == np.float16:  # -inf in the masked scores survives; large finite values are clipped to fp16's range
        finite = np.isfinite(array)
        limit = np.finfo(np.float16).max
        array = np.where(finite, np.clip(array, -limit, limit), array)
    return array.astype(dtype)
