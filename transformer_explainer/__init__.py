"""transformer_explainer: attention heatmaps and hidden states of any transformer, in a notebook or a report.

    from transformer_explainer import Explainer
    explainer = Explainer(model, tokenizer)          # gpt2_core, Hugging Face transformers, any torch.nn.Module
    explainer.show_attention(inputs["input_ids"])    # per-head heatmaps: layer, head and query-token selectors
    explainer.show_hidden_states(inputs["input_ids"])
    Explainer.from_arrays(tokens, attentions=[...], hidden_states=[...])   # JAX, TensorFlow, NumPy, ...

and on the command line: ``transformer-explainer generate --model NAME_OR_DIR --text "..." --output report.html``.

The package also holds the model (``transformer_explainer.gpt2_core``), the views (``.viz``) and the app
(``.app``), each from its own folder of the repository. Importing the package costs nothing: the classes below are
imported when first used, and PyTorch, transformers, Bokeh and Panel only when a model, a view or a widget needs
them.
"""

from importlib import import_module

# Imported when first used (PEP 562), so that ``import transformer_explainer.gpt2_core`` (the model, in Pyodide too)
# costs only NumPy: the library's classes are one attribute away.
_EXPORTS = {"Capture": ".capture", "make_capture": ".capture", "CaptureError": ".errors", "ExplainerError": ".errors",
            "InputError": ".errors", "ModelLoadError": ".errors", "Explainer": ".explainer"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])
