"""The matrix products the model uses, and the weight layout and storage they read fastest, chosen per platform.

``linear(x, w, b) = matmul(x, w) + b`` maps ``[pos, in]`` to ``[pos, out]``; ``batched_matmul(a, b) = a @ b``
multiplies stacks of matrices (attention: one per head). How ``w`` is laid out in memory, and whether it stays in
the float16 it was stored in, is the kernel's choice, made once when the weights are loaded
(``to_kernel_layout``, ``kept_dtype``):

- CPython has a BLAS behind ``@``. Weights stored ``[in, out]`` (Hugging Face's Conv1D layout, so
  no copy at load) stream fastest, and a one-token step is a vector-matrix product (gemv).
  Measured here on GPT-2 small: all linears of a decode step 20 ms against 27 ms for ``[out, in]``.
- Pyodide's NumPy has no BLAS and no SIMD: ``@`` becomes a scalar loop. The static site gives it a small
  WebAssembly SIMD library (``assets/kernels/matmul.wat``, loaded with ctypes from the path in the environment
  variable ``TE_WASM_KERNELS``): rows of ``x`` against rows of ``w`` stored ``[out, in]``, four lanes at a time,
  about 20 GFLOP/s here against 7 for NumPy's best (``einsum``); it reads float16 weights as they are stored,
  widening them in registers, so the model holds half the bytes (GPT-2 small: 250 MB, not 500) and a decode
  step reads half as many.
- Pyodide without that library: ``einsum('ik,jk->ij')`` over weights stored ``[out, in]`` (~7 GFLOP/s against
  ~2 for ``@``); its iterator fails once M*N*K reaches 2**31, so large products are cut into chunks.
"""

from __future__ import annotations

import os
import sys

import numpy as np

EINSUM_ITERATOR_LIMIT = 2**31 - 1
IN_OUT, OUT_IN = "in_out", "out_in"


class BlasKernel:
    layout = IN_OUT
    keeps_float16 = False

    @staticmethod
    def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:  # [m, in] x [in, out] -> [m, out]
        if x.shape[0] == 1:  # one token: gemv reads the weights once, faster than a 1-row gemm
            return (x[0] @ w)[None, :]
        return x @ w

    @staticmethod
    def batched_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # [h, m, k] x [h, k, n] -> [h, m, n]
        return a @ b


class EinsumKernel:
    layout = OUT_IN
    keeps_float16 = False

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

    @staticmethod
    def batched_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # [h, m, k] x [h, k, n] -> [h, m, n]
        return a @ b


class WasmSimdKernel:
    """Pyodide with the site's SIMD library: every product is rows of A against rows of B, both contiguous."""

    layout = OUT_IN
    keeps_float16 = True
    CHUNK_ROWS = 32  # rows of a float16 weight widened at a time for a many-row product (32 x 3072 x 4 B in cache)

    def __init__(self, library_path: str):
        import ctypes

        library = ctypes.CDLL(library_path)
        address, count = ctypes.c_void_p, ctypes.c_int
        self.dot, self.dot_half = library.te_dot, library.te_dot_half
        self.dot.argtypes = [address] * 3 + [count] * 4  # A, B, C, m, n, k, C's row length
        self.dot_half.argtypes = [address] * 3 + [count] * 4 + [address, count]  # ..., scratch, its rows
        self.dot.restype = self.dot_half.restype = None
        self.scratch = np.empty(0, np.float32)

    def matmul(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:  # [m, in] x [out, in] -> [m, out]
        m, k = x.shape
        n = w.shape[0]
        if k % 8:  # the library reads eight values at a time; no GPT-2 has such a width, but a test model may
            return EinsumKernel.matmul(x, w.astype(np.float32, copy=False))
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty((m, n), np.float32)
        if w.dtype == np.float16:
            if self.scratch.size < self.CHUNK_ROWS * k:
                self.scratch = np.empty(self.CHUNK_ROWS * k, np.float32)
            self.dot_half(x.ctypes.data, w.ctypes.data, out.ctypes.data, m, n, k, n, self.scratch.ctypes.data,
                          self.CHUNK_ROWS)
        else:
            self.dot(x.ctypes.data, w.ctypes.data, out.ctypes.data, m, n, k, n)
        return out

    def batched_matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:  # [h, m, k] x [h, k, n] -> [h, m, n]
        h, m, k = a.shape
        n = b.shape[2]
        padded = -(-k // 4) * 4  # the library sums four at a time: zeros fill the rest of a row
        rows = np.zeros((h, m, padded), np.float32)
        rows[:, :, :k] = a
        columns = np.zeros((h, n, padded), np.float32)
        columns[:, :, :k] = b.transpose(0, 2, 1)
        out = np.empty((h, m, n), np.float32)
        for i in range(h):
            self.dot(rows[i].ctypes.data, columns[i].ctypes.data, out[i].ctypes.data, m, n, padded, n)
        return out


RUNS_IN_PYODIDE = sys.platform == "emscripten"


def platform_kernel():
    if not RUNS_IN_PYODIDE:
        return BlasKernel
    library = os.environ.get("TE_WASM_KERNELS")
    if library and os.path.isfile(library):
        return WasmSimdKernel(library)
    return EinsumKernel


kernel = platform_kernel()


def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return kernel.matmul(x, w)


def batched_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return kernel.batched_matmul(a, b)


def to_kernel_layout(w: np.ndarray, layout: str) -> np.ndarray:
    """A weight stored in ``layout`` (IN_OUT or OUT_IN), made contiguous in the current kernel's layout."""
    return np.ascontiguousarray(w if layout == kernel.layout else w.T)


def kept_dtype(name: str, stored_dtype: str) -> str:
    """The dtype a stored tensor is kept in once loaded: float32, but for a kernel that multiplies float16 weights
    as they are stored, the float16 matrices (the linear weights and the token embeddings, which are also the
    unembedding) stay float16: the numbers are the same, the memory half."""
    matrix = name.endswith(".w") or name in ("wte", "lm_head")
    return "float16" if kernel.keeps_float16 and matrix and stored_dtype == "float16" else "float32"


def rows(table: np.ndarray, ids) -> np.ndarray:
    """Rows of a weight table (the embeddings), as float32 whatever the table is kept in."""
    return table[ids].astype(np.float32, copy=False)


def in_out_shape(w: np.ndarray) -> tuple[int, int]:
    """A kernel-layout weight's shape as ``[in, out]``."""
    return w.shape if kernel.layout == IN_OUT else w.shape[::-1]


def as_in_out(w: np.ndarray) -> np.ndarray:
    """A kernel-layout weight as ``[in, out]`` float32, whatever the kernel (for views and head results)."""
    return (w if kernel.layout == IN_OUT else w.T).astype(np.float32, copy=False)


def use_kernel(new_kernel) -> None:
    """Switch kernels (tests run the Pyodide kernel in CPython). Load models after switching."""
    global kernel
    kernel = new_kernel
