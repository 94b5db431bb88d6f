"""The errors transformer_explainer raises on purpose: each says what went wrong and what to do."""


class ExplainerError(ValueError):
    """Base class: a model, an input or an array the explainer cannot use as given."""


class InputError(ExplainerError):
    """The text or token ids cannot be run: empty, a batch of several, too long for the model, not integers."""


class CaptureError(ExplainerError):
    """The model ran, but its attention weights (or hidden states) could not be captured."""


class ModelLoadError(ExplainerError):
    """A model named on the command line cannot be found, downloaded or read."""
