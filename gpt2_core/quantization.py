"""Int8 weights: each row of a matrix as 8-bit integers times one float32 scale, and what that costs.

Symmetric quantization per row: the row's largest magnitude maps to 127,

    scale = max|w_row| / 127                     one float32 per row
    q     = round(w / scale), clipped to [-127, 127]    int8
    w'    = q * scale                            what the runtimes compute once, at load

so every weight comes back within half a step: ``|w - w'| <= scale / 2``. A row's zero stays exactly
zero (no zero point), and -128 is never used, so the range is the same on both sides. An all-zero row
gets scale 1: its ``q`` is 0 whatever the scale, and 1 keeps ``w / scale`` free of 0/0.

One scale per row rather than per matrix: GPT-2's rows differ in size (a token embedding, a neuron's
input weights), and a row with small values keeps its own fine steps. Rows are the stored ``[out, in]``
rows of a linear weight (one scale per output), and the rows of ``wte`` (one per token) and ``wpe`` (one per
position).

``quantization_cost`` measures what the rounding changes in the model's predictions, for a build to print.

Only numpy: shards.py uses these functions inside Pyodide.
"""

from __future__ import annotations

import numpy as np

INT8_LIMIT = 127  # q in [-127, 127]: symmetric, so -w quantizes to -q
ZERO_ROW_SCALE = np.float32(1.0)

# A few prompts of different kinds, for a build's report of what int8 storage costs.
REPORT_PROMPTS = [
    "The capital of France is Paris, and the capital of Germany is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "In 1969, Neil Armstrong became the first person to walk on the",
    "Data visualization empowers users to see patterns in numbers, and",
]


def row_scales(w: np.ndarray) -> np.ndarray:  # [rows, cols] -> [rows] float32, each > 0
    scale = (np.abs(w).max(axis=1) / np.float32(INT8_LIMIT)).astype(np.float32)
    scale[scale == 0] = ZERO_ROW_SCALE  # an all-zero row: q is 0 whatever the scale
    return scale


def quantize_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # [rows, cols] -> [rows, cols] int8, [rows]
    """Symmetric int8 with one scale per row (see the module docstring)."""
    w = np.asarray(w, dtype=np.float32)
    if w.ndim != 2:
        raise ValueError(f"quantize_rows takes a matrix [rows, cols], got shape {w.shape}")
    scale = row_scales(w)
    q = np.clip(np.rint(w / scale[:, None]), -INT8_LIMIT, INT8_LIMIT).astype(np.int8)
    return q, scale


def dequantize_rows(q: np.ndarray, scale: np.ndarray) -> np.ndarray:  # [rows, cols] int8, [rows] -> [rows, cols]
    """``q * scale[:, None]`` in float32: the same product the ONNX graph folds at load (Cast, then Mul)."""
    return np.multiply(q, scale.astype(np.float32, copy=False)[:, None], dtype=np.float32)


# -- what it costs -----------------------------------------------------------------------------------------

def probabilities(logits: np.ndarray) -> np.ndarray:  # [pos, V] -> [pos, V] float64, each row sums to 1
    shifted = np.asarray(logits, dtype=np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def quantization_cost(reference, quantized, prompts: list) -> dict:
    """How far ``quantized`` (e.g. loaded from int8 shards) predicts from ``reference`` (the float32 model),
    over every position of every prompt (text, tokenized by the reference, or token ids):

    - ``top1_agreement``: the fraction of positions where both models' most likely next token is the same;
    - ``max_logit_error``: the largest ``|logit - reference logit|`` anywhere;
    - ``max_probability_error``: the largest difference of a next-token probability (softmax at temperature 1);
    - ``positions``: how many positions were compared."""
    if not prompts:
        raise ValueError("quantization_cost needs at least one prompt")
    agree, positions, logit_error, probability_error = 0, 0, 0.0, 0.0
    for prompt in prompts:
        ids = reference.encode(prompt) if isinstance(prompt, str) else list(prompt)
        expected, actual = reference.forward(ids), quantized.forward(ids)  # [pos, V] each
        agree += int((expected.argmax(axis=-1) == actual.argmax(axis=-1)).sum())
        positions += len(ids)
        logit_error = max(logit_error, float(np.abs(actual.astype(np.float64) - expected).max()))
        probability_error = max(probability_error, float(np.abs(probabilities(actual) - probabilities(expected)).max()))
    return {"top1_agreement": agree / positions, "max_logit_error": logit_error,
            "max_probability_error": probability_error, "positions": positions}
