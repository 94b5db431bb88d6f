"""The errors gpt2_core raises: each one says what went wrong and what to do about it."""


class GPT2CoreError(Exception):
    """Base class: every error raised on purpose by gpt2_core."""


class PromptError(GPT2CoreError, ValueError):
    """The input ids or text cannot be run (empty, too long, wrong type, out of vocabulary)."""


class WeightsError(GPT2CoreError, ValueError):
    """A checkpoint is incomplete or wrong: a missing tensor, a wrong shape, a non-finite value."""


class ModelNotAvailableError(GPT2CoreError, FileNotFoundError):
    """A model could not be found locally or fetched from the Hugging Face Hub."""


class HookError(GPT2CoreError, ValueError):
    """A hook was registered at an unknown point or returned a value of the wrong shape."""
