"""gpt2_core: GPT-2 in NumPy with a hook at every step; runs unchanged in CPython and Pyodide.

Imports only numpy, regex and the standard library at module level.
"""

from . import sampling
from .config import GPT2Config
from .errors import GPT2CoreError, HookError, ModelNotAvailableError, PromptError, WeightsError
from .generation import GenerationStep
from .gpt2 import GPT2
from .hooks import hook_names
from .loading import DEFAULT_MODEL, load_model
from .quantization import quantization_cost
from .shards import load_model_from_shards, write_shards
from .tokenizer import Tokenizer
from .trace import Trace

__all__ = [
    "DEFAULT_MODEL", "GPT2", "GPT2Config", "GPT2CoreError", "GenerationStep", "HookError", "ModelNotAvailableError",
    "PromptError", "Tokenizer", "Trace", "WeightsError", "hook_names", "load_model", "load_model_from_shards",
    "quantization_cost", "sampling", "write_shards",
]
