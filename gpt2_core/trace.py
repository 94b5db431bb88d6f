"""``Trace``: the one object between the model and the pictures.

It holds every hook point's value by name (see HOOKS.md), the token ids and their display
strings, and the config; it saves to and loads from one compact ``.npz`` file.

Each point also has a short name, as in TransformerLens's ``ActivationCache`` (``cache["pattern", 3]``):
``trace.get("pattern", 3)`` and ``trace["pattern", 3]`` are ``trace["blocks.3.attn.hook_pattern"]``. The short
name is the point's own name with its scope in front where one block holds two of it (``ln1_scale``,
``mlp_pre``) or it lies outside the blocks (``ln_final_out``); see ``SHORT_NAMES``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import GPT2Config
from .hooks import block_hook_names, hook_names

FORMAT_VERSION = 1


def short_name(hook_name: str) -> str:
    """blocks.3.attn.hook_pattern -> pattern, blocks.3.ln1.hook_scale -> ln1_scale, blocks.3.mlp.hook_pre -> mlp_pre,
    blocks.3.hook_resid_pre -> resid_pre, ln_final.hook_out -> ln_final_out, unembed.hook_logits -> logits."""
    scope, _, point = hook_name.rpartition("hook_")
    scopes = [part for part in scope.split(".") if part and not part.isdigit()]
    return "_".join([*(part for part in scopes if part not in ("blocks", "attn", "unembed")), point])


# short name -> full name: inside a block ({layer} to fill in), and outside the blocks (no layer).
BLOCK_SHORT_NAMES = {short_name(name): name.replace("blocks.0.", "blocks.{layer}.", 1) for name in block_hook_names(0)}
MODEL_SHORT_NAMES = {short_name(name): name for name in hook_names(0)}  # a 0-layer model has only these
SHORT_NAMES = {**BLOCK_SHORT_NAMES, **MODEL_SHORT_NAMES}


class Trace:
    def __init__(self, arrays: dict[str, np.ndarray], token_ids, tokens: list[str] | None, config: GPT2Config,
                 model_name: str = "", all_logits: bool = False):
        self.arrays = arrays
        self.token_ids = [int(i) for i in token_ids]
        self.tokens = list(tokens) if tokens is not None else [str(i) for i in self.token_ids]
        self.config = config
        self.model_name = model_name
        self.all_logits = all_logits  # False: unembed.hook_logits holds the last position only

    def __getitem__(self, name: str | tuple) -> np.ndarray:
        """A hook point's value by its full name (``trace["blocks.3.attn.hook_pattern"]``), or by its short name
        and layer as a tuple (``trace["pattern", 3]``, ``trace["logits",]``); see ``get``."""
        if isinstance(name, tuple):
            return self.get(*name)
        try:
            return self.arrays[name]
        except KeyError:
            raise KeyError(f"this trace has no hook point {name!r}; it has {len(self.arrays)} "
                           f"(e.g. {', '.join(list(self.arrays)[:3])})") from None

    def get(self, name: str, layer: int | None = None) -> np.ndarray:
        """A hook point's value by its short name: ``get("pattern", 3)`` [h, pos, pos], ``get("resid_post", -1)``
        (the last block's), ``get("embed")``, ``get("logits")``. A full name (``blocks.3.attn.hook_pattern``)
        works too. A name that is neither, or a layer that is missing, wrong or not wanted, is a KeyError that
        lists the valid ones."""
        return self[self.hook_name(name, layer)]

    def hook_name(self, name: str, layer: int | None = None) -> str:
        """The full hook name of a short name (and layer): ``hook_name("pattern", 3)`` -> blocks.3.attn.hook_pattern."""
        if name.startswith("hook_") or "." in name:  # a full name, as the model names its points
            if layer is not None:
                raise KeyError(f"{name!r} is a full hook name, which holds its layer if it has one: trace[{name!r}]")
            return name
        n_layer = self.config.n_layer
        if name in MODEL_SHORT_NAMES:
            if layer is not None:
                raise KeyError(f"{name!r} is not inside a block, so it takes no layer: trace.get({name!r})")
            return MODEL_SHORT_NAMES[name]
        if name not in BLOCK_SHORT_NAMES:
            raise KeyError(f"no hook point is called {name!r}: with a layer, one of {', '.join(BLOCK_SHORT_NAMES)}; "
                           f"without, one of {', '.join(MODEL_SHORT_NAMES)}; or a full name such as "
                           f"blocks.0.attn.hook_pattern")
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -n_layer <= layer < n_layer:
            raise KeyError(f"{name!r} is inside a block: give its layer, a whole number from 0 to {n_layer - 1} "
                           f"(or -1 for the last), as in trace.get({name!r}, 0); got {layer!r}")
        return BLOCK_SHORT_NAMES[name].format(layer=int(layer) % n_layer)

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
