"""Write small random GPT-2 checkpoints in Hugging Face's format, without PyTorch.

For tests, benchmarks and demos on machines without the real weights: the files are what
``save_pretrained`` writes (config.json, model.safetensors with ``transformer.`` names and
Conv1D ``[in, out]`` weights) plus a small byte-level BPE tokenizer trained on a few sentences,
so every loading path runs on real files. Needs ``safetensors`` (imported when writing).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from .config import GPT2Config
from .tokenizer import END_OF_TEXT, WORD_PATTERN, bytes_to_unicode
from .weights import expected_hf_shapes

TRAINING_TEXT = """\
The quick brown fox jumps over the lazy dog. A transformer reads the tokens of a prompt and predicts
the next one. Attention lets each token look at the tokens before it; the MLP then transforms each
position on its own. The residual stream carries the sum of every layer's output. In the beginning
there was the word, and the word was split into tokens. Artificial intelligence is transforming the
world. The capital of France is Paris. Data visualization empowers users to see patterns in numbers.
def hello(name): return f"Hello, {name}!"  # code, numbers 12345 and 3.14159, and some punctuation...
"""


def train_tiny_bpe(n_merges: int = 200, text: str = TRAINING_TEXT) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary: the 256 bytes, ``n_merges`` merges learnt from ``text``, then <|endoftext|>."""
    byte_to_char = bytes_to_unicode()
    vocab = {byte_to_char[b]: b for b in range(256)}
    words = Counter(tuple(byte_to_char[b] for b in word.encode("utf-8")) for word in WORD_PATTERN.findall(text))
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = max(pairs, key=lambda pair: (pairs[pair], pair))  # ties broken deterministically
        merges.append(best)
        vocab[best[0] + best[1]] = len(vocab)
        words = Counter({_merge(word, best): count for word, count in words.items()})
    vocab[END_OF_TEXT] = len(vocab)
    return vocab, merges


def _merge(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    merged, i = [], 0
    while i < len(word):
        if i < len(word) - 1 and (word[i], word[i + 1]) == pair:
            merged.append(word[i] + word[i + 1])
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return tuple(merged)


def write_tokenizer_files(directory: str | Path, vocab: dict[str, int], merges: list[tuple[str, str]]) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2", *(f"{a} {b}" for a, b in merges)]
    (directory / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def hf_config_dict(config: GPT2Config) -> dict:
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
        "vocab_size": config.n_vocab, "n_positions": config.n_ctx, "n_embd": config.n_embd,
        "n_head": config.n_head, "n_layer": config.n_layer, "n_inner": config.n_inner,
        "layer_norm_epsilon": config.layer_norm_epsilon, "bos_token_id": config.n_vocab - 1,
        "eos_token_id": config.n_vocab - 1, "tie_word_embeddings": True,
    }


def random_hf_tensors(config: GPT2Config, seed: int = 0, std: float = 0.02) -> dict[str, np.ndarray]:
    """Random weights with Hugging Face names and layouts; LayerNorm gains near 1, biases small."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in expected_hf_shapes(config).items():
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            value = 1.0 + 0.1 * rng.standard_normal(shape)
        elif name.endswith(".bias"):
            value = std * rng.standard_normal(shape)
        else:
            value = std * rng.standard_normal(shape)
        tensors[f"transformer.{name}"] = value.astype(np.float32)
    return tensors


def write_random_checkpoint(directory: str | Path, config: GPT2Config | None = None, *, seed: int = 0,
                            std: float = 0.02, tokenizer_dir: str | Path | None = None) -> Path:
    """Write a random GPT-2 checkpoint to ``directory``. The tokenizer is a tiny trained BPE whose size
    sets ``n_vocab`` (when ``config`` is None or its n_vocab is 0), or the files in ``tokenizer_dir``."""
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if tokenizer_dir is not None:
        for name in ("vocab.json", "merges.txt"):
            (directory / name).write_bytes((Path(tokenizer_dir) / name).read_bytes())
        vocab_size = len(json.loads((directory / "vocab.json").read_text(encoding="utf-8")))
    else:
        vocab, merges = train_tiny_bpe()
        write_tokenizer_files(directory, vocab, merges)
        vocab_size = len(vocab)
    config = config or GPT2Config(n_vocab=vocab_size, n_ctx=128, n_embd=64, n_head=4, n_layer=2)
    if config.n_vocab < vocab_size:
        raise ValueError(f"the config's n_vocab ({config.n_vocab}) is smaller than the tokenizer's {vocab_size} tokens")
    (directory / "config.json").write_text(json.dumps(hf_config_dict(config), indent=2), encoding="utf-8")
    save_file(random_hf_tensors(config, seed, std), str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory
