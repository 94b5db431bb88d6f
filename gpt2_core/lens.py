"""The logit lens: what each block's residual stream would predict if the model stopped there.

Take the residual stream after block L, apply the final LayerNorm and the unembedding, exactly as
the model does after its last block. The last row equals the model's real logits.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .hooks import NO_HOOKS
from .model import layer_norm
from .trace import Trace


def logit_lens(params: dict, config, trace: Trace, position: int = -1) -> np.ndarray:  # -> [n_layer, V]
    resid = np.stack([trace[f"blocks.{layer}.hook_resid_post"][position] for layer in range(config.n_layer)])
    normalized = layer_norm(resid, **params["ln_f"], eps=np.float32(config.layer_norm_epsilon), hook=NO_HOOKS)
    return kernels.matmul(normalized, params["lm_head"])
