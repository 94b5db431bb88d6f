"""Short lookups on a Trace, as TransformerLens's ActivationCache takes them: trace.get("pattern", 3) and
trace["pattern", 3] are trace["blocks.3.attn.hook_pattern"], with a short name for every hook of HOOKS.md."""

import pytest

from transformer_explainer.gpt2_core.trace import SHORT_NAMES, Trace

# The short names, written out from HOOKS.md: each with the full name it stands for in layer 1 (or outside blocks).
EXPECTED = {
    "embed": "hook_embed", "pos_embed": "hook_pos_embed",
    "resid_pre": "blocks.1.hook_resid_pre", "resid_mid": "blocks.1.hook_resid_mid",
    "resid_post": "blocks.1.hook_resid_post",
    "ln1_scale": "blocks.1.ln1.hook_scale", "ln1_normalized": "blocks.1.ln1.hook_normalized",
    "ln1_out": "blocks.1.ln1.hook_out",
    "q": "blocks.1.attn.hook_q", "k": "blocks.1.attn.hook_k", "v": "blocks.1.attn.hook_v",
    "attn_raw": "blocks.1.attn.hook_attn_raw", "attn_scores": "blocks.1.attn.hook_attn_scores",
    "pattern": "blocks.1.attn.hook_pattern", "z": "blocks.1.attn.hook_z", "result": "blocks.1.attn.hook_result",
    "attn_out": "blocks.1.hook_attn_out",
    "ln2_scale": "blocks.1.ln2.hook_scale", "ln2_normalized": "blocks.1.ln2.hook_normalized",
    "ln2_out": "blocks.1.ln2.hook_out",
    "mlp_pre": "blocks.1.mlp.hook_pre", "mlp_post": "blocks.1.mlp.hook_post", "mlp_out": "blocks.1.hook_mlp_out",
    "ln_final_scale": "ln_final.hook_scale", "ln_final_normalized": "ln_final.hook_normalized",
    "ln_final_out": "ln_final.hook_out", "logits": "unembed.hook_logits",
}


@pytest.fixture(scope="module")
def trace(tiny_model) -> Trace:
    return tiny_model.run_with_trace("The quick brown fox", head_results=True)


def test_every_hook_point_has_the_short_name_hooks_md_gives_it(trace):
    assert set(SHORT_NAMES) == set(EXPECTED)
    for short, full in EXPECTED.items():
        layer = 1 if full.startswith("blocks.") else None
        assert trace.hook_name(short, layer) == full
        assert trace.get(short, layer) is trace[full]
    in_blocks = {short for short, full in EXPECTED.items() if full.startswith("blocks.")}
    reached = {trace.hook_name(short, layer) for short in SHORT_NAMES
               for layer in ((0, 1) if short in in_blocks else (None,))}
    assert reached == set(trace.names), "every point of a 2-layer trace, and nothing else"


def test_the_tuple_form_and_negative_layers_read_like_an_activation_cache(trace):
    assert trace["pattern", 0] is trace["blocks.0.attn.hook_pattern"]
    assert trace["logits",] is trace["unembed.hook_logits"]
    assert trace.get("resid_post", -1) is trace["blocks.1.hook_resid_post"]
    assert trace.get("q", -2) is trace["blocks.0.attn.hook_q"]
    assert trace["pattern", 1].shape == (trace.config.n_head, trace.n_tokens, trace.n_tokens)
    assert trace.get("blocks.0.hook_resid_pre") is trace["blocks.0.hook_resid_pre"]


def test_a_saved_and_loaded_trace_offers_the_same_lookups(trace, tmp_path):
    loaded = Trace.load(trace.save(tmp_path / "trace.npz"))
    assert (loaded.get("mlp_post", 1) == trace.get("mlp_post", 1)).all()


@pytest.mark.parametrize("name, layer, message", [
    ("patern", 0, "no hook point is called 'patern': with a layer, one of resid_pre, ln1_scale"),
    ("patern", 0, "without, one of embed, pos_embed, ln_final_scale, ln_final_normalized, ln_final_out, logits"),
    ("pattern", None, "'pattern' is inside a block: give its layer, a whole number from 0 to 1"),
    ("pattern", 2, "a whole number from 0 to 1 (or -1 for the last), as in trace.get('pattern', 0); got 2"),
    ("pattern", -3, "got -3"),
    ("pattern", True, "got True"),
    ("pattern", "0", "got '0'"),
    ("logits", 1, "'logits' is not inside a block, so it takes no layer: trace.get('logits')"),
    ("blocks.0.attn.hook_q", 0, "is a full hook name, which holds its layer if it has one"),
    ("blocks.7.attn.hook_q", None, "this trace has no hook point 'blocks.7.attn.hook_q'"),
])
def test_a_wrong_lookup_is_a_key_error_naming_what_is_valid(trace, name, layer, message):
    with pytest.raises(KeyError) as error:
        trace.get(name, layer)
    assert message in error.value.args[0]
