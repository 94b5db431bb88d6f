"""PyTorch modules of one's own (not from transformers): the attention they compute is found by shape, with
forward hooks or at their softmax calls, and the heatmaps equal what each module computed (kept by the
modules themselves in ``seen``, independently of the explainer)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs PyTorch (pip install torch==2.13.0; CI: WITH_PARITY=1)")
from torch import nn  # noqa: E402

from library_helpers import assert_explorer_shows  # noqa: E402
from transformer_explainer import CaptureError, Explainer  # noqa: E402

pytestmark = pytest.mark.torch
WIDTH, HEADS, LAYERS, VOCAB = 16, 2, 3, 50


class Attention(nn.Module):
    """Multi-head self-attention written out; ``returns`` decides what leaves ``forward``."""

    def __init__(self, returns: str, seen: list):
        super().__init__()
        self.qkv, self.out = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
        self.returns, self.seen = returns, seen

    def forward(self, x):  # [b, n, width]
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, HEADS, WIDTH // HEADS).permute(2, 0, 3, 1, 4)
        if self.returns == "fused":
            return self.out(nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, WIDTH))
        scores = q @ k.transpose(-1, -2) / (WIDTH // HEADS) ** 0.5
        if self.returns == "dict":  # a softmax written out: no softmax call to find
            scores = torch.exp(scores - scores.amax(-1, keepdim=True))
            weights = scores / scores.sum(-1, keepdim=True)
        else:
            weights = torch.softmax(scores, dim=-1)  # [b, heads, n, n]
        self.seen.append(weights.detach().clone())
        out = self.out((weights @ v).transpose(1, 2).reshape(b, n, WIDTH))
        if self.returns == "weights":
            return out, weights
        if self.returns == "dict":  # the probabilities without their batch dimension: the shape guess misses them
            return {"out": out, "probabilities": weights[0]}
        return out


class Block(nn.Module):
    def __init__(self, returns: str, seen: list):
        super().__init__()
        self.attn, self.norm = Attention(returns, seen), nn.LayerNorm(WIDTH)

    def forward(self, x):
        result = self.attn(self.norm(x))
        return x + (result["out"] if isinstance(result, dict) else result[0] if isinstance(result, tuple) else result)


class CustomTransformer(nn.Module):
    def __init__(self, returns: str = "weights", layers: int = LAYERS, config_layers: int | None = LAYERS):
        super().__init__()
        torch.manual_seed(0)
        self.seen, self.states = [], []
        self.config = SimpleNamespace(num_hidden_layers=config_layers, num_attention_heads=HEADS)
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.blocks = nn.ModuleList(Block(returns, self.seen) for _ in range(layers))
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.normal_(0, 0.8)  # far from uniform attention

    def forward(self, ids):
        x = self.embed(ids)
        self.states.append(x.detach().clone())
        for block in self.blocks:
            x = block(x)
            self.states.append(x.detach().clone())
        return x


IDS = [3, 14, 15, 9, 26, 5]


def computed(model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """What the model itself computed in its last forward pass: attention [heads, n, n], states [n, width]."""
    n_states = len(model.blocks) + 1
    return [w[0].numpy() for w in model.seen[-len(model.blocks):]], [s[0].numpy() for s in model.states[-n_states:]]


@pytest.mark.parametrize("returns, found_by", [("weights", "in the outputs of blocks.0.attn, blocks.1.attn"),
                                                ("inside", "at the 3 softmax calls")])
def test_a_custom_modules_attention_and_hidden_states_are_found_by_shape(returns, found_by):
    model = CustomTransformer(returns)
    explainer = Explainer(model, lambda text: torch.tensor([IDS]))
    capture = explainer.capture("any text")
    attentions, states = computed(model)
    assert capture.tokens == [str(i) for i in IDS]
    assert_explorer_shows(explainer.attention_view("any text"), attentions)
    for captured, expected in zip(capture.hidden_states, states, strict=True):
        np.testing.assert_array_equal(captured, expected)
    assert capture.hidden_state_labels == ["embeddings", "after layer 0", "after layer 1", "after layer 2"]
    assert found_by in capture.notes[0]
    assert model.training  # a new module trains by default: given back so


def test_the_documented_custom_model_line_works():
    model = CustomTransformer("inside")
    widget = Explainer(model, lambda text: torch.tensor([[1, 2, 3]])).show_attention("anything")
    np.testing.assert_array_equal(widget.view.heatmap.values, model.seen[-LAYERS][0, 0].numpy())
    assert widget.capture.tokens == ["1", "2", "3"]


def test_a_small_adapter_says_where_the_attention_is_when_the_guess_fails():
    model = CustomTransformer("dict")
    with pytest.raises(CaptureError, match=r"no attention probabilities found in CustomTransformer"):
        Explainer(model).capture(IDS)
    explainer = Explainer(model, attention_modules=[f"blocks.{i}.attn" for i in range(LAYERS)],
                          attention_output=lambda output: output["probabilities"][None],
                          hidden_state_modules=[f"blocks.{i}" for i in range(LAYERS)])
    capture = explainer.capture(IDS)
    attentions, states = computed(model)
    for captured, expected in zip(capture.attentions, attentions, strict=True):
        np.testing.assert_array_equal(captured, expected)
    assert capture.hidden_state_labels == ["blocks.0", "blocks.1", "blocks.2"]
    np.testing.assert_array_equal(capture.hidden_states[2], states[3])


def test_an_adapter_naming_a_module_that_does_not_exist_suggests_the_close_ones():
    with pytest.raises(CaptureError, match=r"no module named 'blocks.0.atn'; did you mean blocks.0.attn"):
        Explainer(CustomTransformer(), attention_modules=["blocks.0.atn"])


def test_a_count_that_disagrees_with_the_config_is_refused_naming_what_was_seen():
    model = CustomTransformer("weights", config_layers=4)
    with pytest.raises(CaptureError) as error:
        Explainer(model).capture(IDS)
    assert "found 3 attention-like tensors in blocks.0.attn, blocks.1.attn, blocks.2.attn" in str(error.value)
    assert "config says 4 layers" in str(error.value)


def test_a_fused_attention_kernel_cannot_be_read_and_the_error_says_what_to_do():
    with pytest.raises(CaptureError) as error:
        Explainer(CustomTransformer("fused")).capture(IDS)
    assert "F.scaled_dot_product_attention never do" in str(error.value)
    assert "attention_modules=[...], attention_output=..." in str(error.value)


def test_torch_transformer_encoder_layers_give_each_heads_weights():
    torch.manual_seed(1)
    layer = nn.TransformerEncoderLayer(d_model=WIDTH, nhead=4, dim_feedforward=32, dropout=0.1, batch_first=True)
    model = nn.Sequential(nn.Embedding(VOCAB, WIDTH), nn.TransformerEncoder(layer, num_layers=2,
                                                                            enable_nested_tensor=False))
    capture = Explainer(model).capture(IDS)
    x = model[0](torch.tensor([IDS]))
    model.eval()
    with torch.no_grad():  # each layer's weights, asked of PyTorch directly
        for i, encoder_layer in enumerate(model[1].layers):
            _, weights = encoder_layer.self_attn(x, x, x, need_weights=True, average_attn_weights=False)
            np.testing.assert_allclose(capture.attentions[i], weights[0].numpy(), atol=1e-6)
            np.testing.assert_allclose(capture.hidden_states[i], x[0].numpy(), atol=1e-6)
            x = encoder_layer(x)
    assert capture.n_heads == 4 and capture.n_layers == 2
