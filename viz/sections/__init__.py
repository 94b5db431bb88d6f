"""The detail sections' views, one module a section, under the picture: ``embedding``, ``layer_norm`` and
``residual`` (the block), ``attention`` (one head, concat and c_proj, every head and its measured role), ``mlp``,
``output``, ``logit_lens`` (with the commitment strip), ``compare`` (two prompts side by side), and ``overview``
(the Sankey flow from the prompt to the next token)."""
