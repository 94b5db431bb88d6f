"""The detail sections' views, one module a section, under the picture: ``embedding``, ``layer_norm`` and
``residual`` (the block), ``attention`` (one head, concat and c_proj, every head), ``mlp``, ``output``,
``logit_lens``, and ``overview`` (the Sankey flow from the prompt to the next token)."""
