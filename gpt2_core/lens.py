"""The logit lens: what each block's residual stream would predict if the model stopped there.

Take the residual stream after block L, apply the final LayerNorm and the unembedding, exactly as
the model does after its last block. The last row equals the model's real logits.
``position`` counts from 0, or from the end when negative (-1, the default, is the last token).
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .errors import PromptError
from .hooks import NO_HOOKS
from .model import layer_norm
from .trace import Trace


def logit_lens(params: dict, config, trace: Trace, position: int = -1) -> np.ndarray:  # -> [n_layer, V]
    position = check_lens_input(config, trace, position)
    resid = np.stack([trace[f"blocks.{layer}.hook_resid_post"][position] for layer in range(config.n_layer)])
    normalized = layer_norm(resid, **params["ln_f"], eps=np.float32(config.layer_norm_epsilon), hook=NO_HOOKS)
    return kernels.matmul(normalized, params["lm_head"])


def check_lens_input(config, trace: Trace, position) -> int:
    """``position`` as an index into the trace's tokens (negative counts from the end), for a trace of a
    model shaped like ``config``; else a PromptError saying what is wrong."""
    if (trace.config.n_layer, trace.config.n_embd) != (config.n_layer, config.n_embd):
        raise PromptError(f"the trace is of a model with {trace.config.n_layer} layers of width {trace.config.n_embd}, "
                          f"this one has {config.n_layer} of width {config.n_embd}: trace the prompt with this model")
    n_tokens = trace.n_tokens
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)) \
            or not -n_tokens <= position < n_tokens:
        raise PromptError(f"position must be a whole number in 0..{n_tokens - 1} (or -{n_tokens}..-1 from the end) "
                          f"for this {n_tokens}-token prompt, got {position!r}")
    return int(position)
