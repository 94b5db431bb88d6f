"""The one matrix product the model uses, and the weight layout it reads fastest, chosen per platform.

``linear(x, w, b) = matmul(x, w) + b`` maps ``[pos, in]`` to ``[pos, out]``. How ``w`` is laid out
in memory is the kernel's choice, made once when the weights are loaded (``to_kernel_layout``):

- CPython has a BLAS behind ``@``. Weights stored ``[in, out]`` (Hugging Face's Conv1D layout, so
  no copy at load) stream fastest, and a one-token step is a vector-matrix product (gemv).
  Measured here on GPT-2 small: all linears of a decode step 20 ms against 27 ms for ``[out, in]``.
- Pyodide's NumPy has no BLAS: ``@`` becomes a scalar loop. There ``einsum('ik,jk->ij')`` over
  weights stored ``[out, in]`` is the fastest form (~7 GFLOP/s against ~2 for ``@``), but its
  iterator fails once M*N*K reaches 2**31, so large products are cut into chunks.
"""

from __future__ import annotations

import sys

import numpy as np

EINSUM_ITERATOR_LIMIT = 2**31 - 1
IN_OUT, OUT_IN = "in_out", "out_in"


class BlasKernel:
    layout = IN_OUT

    @staticmethod
    def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:  # [m, in] x [in, out] -> [m, out]
        if x.shape[0] == 1:  # one token: gemv reads the weights once, faster than a 1-row gemm
            return (x[0] @ w)[None, :]
        return x @ w


class EinsumKernel:
    layout = OUT_IN

    @staticmethod
    def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:  # [m, in] x [out, in] -> [m, out]
        m, k = x.shape
        n = w.shape[0]
        if m * n * k < EINSUM_ITERATOR_LIMIT:
            return np.einsum("ik,jk->ij", x, w)
        out = np.empty((m, n), dtype=np.result_type(x, w))
        rows_per_chunk = max(1, EINSUM_ITERATOR_LIMIT // (m * k) - 1)
        for start in range(0, n, rows_per_chunk):
            stop = min(n, start + rows_per_chunk)
            out[:, start:stop] = np.einsum("ik,jk->ij", x, w[start:stop])
        return out


RUNS_IN_PYODIDE = sys.platform == "emscripten"
kernel = EinsumKernel if RUNS_IN_PYODIDE else BlasKernel


def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return kernel.matmul(x, w)


def to_kernel_layout(w: np.ndarray, layout: str) -> np.ndarray:
    """A weight stored in ``layout`` (IN_OUT or OUT_IN), made contiguous in the current kernel's layout."""
    return np.ascontiguousarray(w if layout == kernel.layout else w.T)


def as_in_out(w: np.ndarray) -> np.ndarray:
    """A view of a kernel-layout weight as ``[in, out]``, whatever the kernel (for views and head results)."""
    return w if kernel.layout == IN_OUT else w.T


def use_kernel(new_kernel) -> None:
    """Switch kernels (tests run the Pyodide kernel in CPython). Load models after switching."""
    global kernel
    kernel = new_kernel
