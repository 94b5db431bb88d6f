"""viz: Bokeh figure builders. A ``Trace`` in, Bokeh models out; no Panel, no model code.

Each view builds its ColumnDataSource(s) and figure(s) once, exposes ``.layout`` (a Bokeh LayoutDOM) and its
sources, and changes its data in place with ``.update(...)``. Modules:

- ``picture``: ``PictureView``, the first screen: one transformer block at work on the prompt's own tokens, stage
  by stage (tokens, embedding, LayerNorm, Q/K/V, the head's attention matrix with the other heads as cards, z and
  c_proj, residual adds, MLP, the other blocks, final LayerNorm, logits, probability bars), every cell a real value.
- ``heatmap``: ``Heatmap``, the reusable matrix view every other view is made of.
- ``overview``: ``OverviewView``, the Sankey-style flow from tokens to the next token.
- ``embedding``: ``EmbeddingView``; ``layer_norm``: ``LayerNormView``; ``mlp``: ``MlpView``;
  ``residual``: ``ResidualView``.
- ``attention``: ``AttentionHeadView``, ``ConcatProjectionView``, ``HeadGridView``.
- ``output``: ``OutputView`` (temperature, top-k, top-p, the sampled token); ``logit_lens``: ``LogitLensView``.
- ``derivation``: ``AttentionDerivationView``, one head's attention computed step by step and animated (q·kᵀ, ÷√d,
  mask, softmax, × V); ``popover``: ``WeightPopoverView``, a token's vector × a real weight matrix, animated (Q/K/V,
  MLP up and down, the output logits). Both are played in the page by ``player.Player`` (frames as data, one
  CustomJS, the frame in the Slider ``<prefix>-player``).

What runs in the page (hovers, highlights, the player, the keyboard cursor) is JavaScript in ``viz/js`` (real files,
linted and tested with node): ``js_code`` hands a file to Bokeh as the code of a CustomJS or CustomJSHover, and the
words and ids it needs go in as that callback's arguments (see viz/js/README.md).

For any model's arrays (no ``Trace``: plain [heads, n, n] attention and [n, width] hidden states, as
``transformer_explainer`` captures them), with selectors that run in the page (standalone files, notebooks):

- ``attention_explorer``: ``AttentionExplorer`` (layer, head and query-token selectors) and ``AttentionOverview``.
- ``hidden_states``: ``HiddenStatesView`` (norms per token, per-dimension heat strips, cosine similarity; for an image
  model, each patch's norm drawn on the picture).
- ``image_attention``: ``ImageAttentionView`` (the explorer beside the picture with a query's attention, or the
  attention rollout, over its patches), ``CrossAttentionView`` (a vision-to-text model's text tokens over the
  picture), ``attention_rollout``; ``patch_overlay``: ``PatchOverlay``, one value per patch over the picture;
  ``image_text_similarity``: ``SimilarityView``, CLIP's logit per prompt.
"""

from functools import cache
from importlib.resources import files


@cache
def _page_file(name: str) -> str:
    return files(__package__).joinpath("js", name).read_text(encoding="utf-8")


def js_code(body: str, *functions: str) -> str:
    """The code of a Bokeh JS function (a ``CustomJS`` or ``CustomJSHover``): the function files it calls
    (``viz/js/<name>.functions.js``, for each of ``functions``), then its body (``viz/js/<body>.js``), one after the
    other; each file read once. The one place where viz/js's files are put together: see viz/js/README.md."""
    return "\n".join(_page_file(name) for name in [*(f"{f}.functions.js" for f in functions), f"{body}.js"])


def stylesheet(name: str) -> str:
    """The text of the stylesheet ``viz/js/<name>.css``."""
    return _page_file(f"{name}.css")
