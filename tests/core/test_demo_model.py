"""The demo model (gpt2_core/demo.py): a small random GPT-2 with its own 457-token tokenizer, the same whether it is
loaded in memory or written as a checkpoint folder."""

import numpy as np

from transformer_explainer.gpt2_core import load_model
from transformer_explainer.gpt2_core.demo import DEMO_CONFIG, DEMO_MODEL, demo_model, write_demo_checkpoint


def test_the_demo_model_is_small_random_and_named_so():
    model = demo_model()
    assert model.name == DEMO_MODEL == "demo"
    assert model.config == DEMO_CONFIG and model.tokenizer.vocab_size == DEMO_CONFIG.n_vocab == 457


def test_its_tokens_are_not_gpt2s():
    """What the banner says of it: GPT-2 reads "Data" as one token, the demo's own BPE as three."""
    tokenizer = demo_model().tokenizer
    assert tokenizer.display_tokens(tokenizer.encode("Data")) == ["D", "at", "a"]
    assert tokenizer.display_tokens(tokenizer.encode("é")) == ["<0xC3>", "<0xA9>"]


def test_the_folder_written_holds_the_same_model(tmp_path):
    written = load_model(write_demo_checkpoint(tmp_path / "demo", seed=3))
    in_memory, other_seed = demo_model(seed=3), demo_model(seed=4)
    ids = in_memory.encode("The quick brown fox")
    np.testing.assert_array_equal(written.forward(ids), in_memory.forward(ids))
    assert not np.allclose(other_seed.forward(ids), in_memory.forward(ids))
