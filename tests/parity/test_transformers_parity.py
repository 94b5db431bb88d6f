"""Parity with Hugging Face transformers' GPT2LMHeadModel on random checkpoints saved with save_pretrained.

Each checkpoint is written by transformers itself (safetensors), then read by gpt2_core's own loader.
Weights are re-drawn with a larger spread than GPT-2's init so attention is far from uniform and a
wrong mask, scale or layout would show.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="parity tests need PyTorch (pip install torch==2.13.0)")
transformers = pytest.importorskip("transformers", reason="parity tests need transformers")

from transformer_explainer.gpt2_core import load_model  # noqa: E402
from transformer_explainer.gpt2_core.checkpoints import train_tiny_bpe, write_tokenizer_files  # noqa: E402
from transformer_explainer.gpt2_core.interventions import zero_ablate_heads  # noqa: E402

pytestmark = pytest.mark.parity
transformers.utils.logging.set_verbosity_error()

SHAPES = [  # n_layer, n_head, n_embd
    (1, 1, 16),
    (2, 4, 64),
    (3, 2, 32),
    (4, 12, 96),
    (2, 8, 128),
]


def save_random_hf_checkpoint(directory, n_layer, n_head, n_embd, seed, n_positions=64, std=0.15, vocab=None):
    """A GPT2LMHeadModel with random weights, saved by transformers, plus tokenizer files.
    No end-of-sequence id: generate() then neither stops early nor masks <|endoftext|>."""
    if vocab is None:
        vocab, merges = train_tiny_bpe()
        write_tokenizer_files(directory, vocab, merges)
    torch.manual_seed(seed)
    config = transformers.GPT2Config(n_layer=n_layer, n_head=n_head, n_embd=n_embd, vocab_size=len(vocab),
                                     n_positions=n_positions, bos_token_id=None, eos_token_id=None)
    model = transformers.GPT2LMHeadModel(config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                parameter.copy_(1 + 0.2 * torch.randn_like(parameter))
            else:
                parameter.normal_(0, std)
    model.save_pretrained(directory)
    return transformers.GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager").eval()


@pytest.fixture(scope="module", params=SHAPES, ids=lambda s: f"L{s[0]}-H{s[1]}-D{s[2]}")
def checkpoint_pair(request, tmp_path_factory):
    n_layer, n_head, n_embd = request.param
    directory = tmp_path_factory.mktemp(f"hf-{n_layer}-{n_head}-{n_embd}")
    theirs = save_random_hf_checkpoint(directory, n_layer, n_head, n_embd, seed=sum(request.param))
    return load_model(directory), theirs


def huggingface_outputs(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids]), output_hidden_states=True, output_attentions=True)


PROMPT = "Attention lets each token look at the tokens before it; the MLP transforms each position."


def test_logits_match_transformers(checkpoint_pair):
    ours, theirs = checkpoint_pair
    ids = ours.encode(PROMPT)
    difference = np.abs(ours.forward(ids) - huggingface_outputs(theirs, ids).logits[0].numpy()).max()
    assert difference <= 1e-4


def test_residual_stream_matches_hidden_states(checkpoint_pair):
    ours, theirs = checkpoint_pair
    ids = ours.encode(PROMPT)
    trace = ours.run_with_trace(ids)
    hidden = [h[0].numpy() for h in huggingface_outputs(theirs, ids).hidden_states]
    n_layer = ours.config.n_layer
    for layer in range(n_layer):
        np.testing.assert_allclose(trace[f"blocks.{layer}.hook_resid_pre"], hidden[layer], atol=1e-4, rtol=0)
        if layer < n_layer - 1:
            np.testing.assert_allclose(trace[f"blocks.{layer}.hook_resid_post"], hidden[layer + 1], atol=1e-4, rtol=0)
    # transformers' last hidden state has the final LayerNorm applied.
    np.testing.assert_allclose(trace["ln_final.hook_out"], hidden[n_layer], atol=1e-4, rtol=0)


def test_attention_patterns_match(checkpoint_pair):
    ours, theirs = checkpoint_pair
    ids = ours.encode(PROMPT)
    trace = ours.run_with_trace(ids)
    for layer, attentions in enumerate(huggingface_outputs(theirs, ids).attentions):
        np.testing.assert_allclose(trace[f"blocks.{layer}.attn.hook_pattern"], attentions[0].numpy(), atol=1e-5, rtol=0)


def test_kv_cache_decoding_matches_the_full_forward(checkpoint_pair):
    ours, theirs = checkpoint_pair
    ids = ours.encode(PROMPT)
    full = huggingface_outputs(theirs, ids).logits[0].numpy()
    session = ours.start_session(len(ids))
    session.feed(ids[:5])
    decoded = np.stack([session.feed([token]) for token in ids[5:]])
    assert np.abs(decoded - full[5:]).max() <= 1e-4


def test_greedy_generation_matches_transformers_token_for_token(checkpoint_pair):
    ours, theirs = checkpoint_pair
    ids = ours.encode("The capital of France is")
    new_tokens = 20
    ours_tokens = [step.token_id for step in ours.generate(ids, new_tokens, temperature=0)]
    with torch.no_grad():
        generated = theirs.generate(torch.tensor([ids]), max_new_tokens=new_tokens, do_sample=False,
                                    pad_token_id=0)
    assert ours_tokens == generated[0, len(ids):].tolist()


def test_zero_ablating_a_head_matches_the_same_ablation_in_transformers(checkpoint_pair):
    ours, theirs = checkpoint_pair
    ids = ours.encode(PROMPT)
    layer, head = ours.config.n_layer - 1, ours.config.n_head - 1
    d_head = ours.config.d_head

    def silence_head(module, inputs):  # the input of c_proj is the concatenation of the heads' z
        z = inputs[0].clone()
        z[..., head * d_head:(head + 1) * d_head] = 0
        return (z,)

    handle = theirs.transformer.h[layer].attn.c_proj.register_forward_pre_hook(silence_head)
    try:
        with torch.no_grad():
            expected = theirs(torch.tensor([ids])).logits[0].numpy()
    finally:
        handle.remove()
    ablated = ours.run_with_hooks(ids, zero_ablate_heads([(layer, head)]))
    assert np.abs(ablated - expected).max() <= 1e-4
    assert np.abs(ablated - ours.forward(ids)).max() > 1e-3  # the ablation did change something


@pytest.mark.slow
def test_gpt2_small_shaped_checkpoint_matches_transformers(tmp_path, gpt2_tokenizer_dir):
    import json
    vocab = json.loads((gpt2_tokenizer_dir / "vocab.json").read_text(encoding="utf-8"))
    for name in ("vocab.json", "merges.txt"):
        (tmp_path / name).write_bytes((gpt2_tokenizer_dir / name).read_bytes())
    theirs = save_random_hf_checkpoint(tmp_path, 12, 12, 768, seed=0, n_positions=1024, std=0.02, vocab=vocab)
    ours = load_model(tmp_path)
    ids = ours.encode("Artificial Intelligence is transforming the world, one token at a time.")
    outputs = huggingface_outputs(theirs, ids)
    assert np.abs(ours.forward(ids) - outputs.logits[0].numpy()).max() <= 1e-4
    trace = ours.run_with_trace(ids)
    for layer in (0, 5, 11):
        np.testing.assert_allclose(trace[f"blocks.{layer}.hook_resid_pre"], outputs.hidden_states[layer][0].numpy(),
                                   atol=1e-4, rtol=0)
        np.testing.assert_allclose(trace[f"blocks.{layer}.attn.hook_pattern"], outputs.attentions[layer][0].numpy(),
                                   atol=1e-5, rtol=0)
    ours_tokens = [step.token_id for step in ours.generate(ids, 8, temperature=0)]
    with torch.no_grad():
        generated = theirs.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False, pad_token_id=0)
    assert ours_tokens == generated[0, len(ids):].tolist()
