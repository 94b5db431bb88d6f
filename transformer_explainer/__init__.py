"""transformer_explainer: attention heatmaps and hidden states of any transformer, in a notebook or a report.

    from transformer_explainer import Explainer
    explainer = Explainer(model, tokenizer)          # gpt2_core, Hugging Face transformers, any torch.nn.Module
    explainer.show_attention(inputs["input_ids"])    # per-head heatmaps: layer, head and query-token selectors
    explainer.show_hidden_states(inputs["input_ids"])
    Explainer.from_arrays(tokens, attentions=[...], hidden_states=[...])   # JAX, TensorFlow, NumPy, ...

and on the command line: ``transformer-explainer generate --model NAME_OR_DIR --text "..." --output report.html``.

The views are ``viz``'s Bokeh figures (the app's own). Imports only NumPy and gpt2_core here; PyTorch,
transformers, Bokeh and Panel are imported when a model, a view or a widget needs them.
"""

from .capture import Capture, make_capture
from .errors import CaptureError, ExplainerError, InputError, ModelLoadError
from .explainer import Explainer

__all__ = ["Capture", "CaptureError", "Explainer", "ExplainerError", "InputError", "ModelLoadError", "make_capture"]
