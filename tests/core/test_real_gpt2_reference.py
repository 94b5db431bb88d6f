"""Real GPT-2 small (124M) against the five reference outputs in ../shared/reference.

The tokenization and sampling checks run wherever ../shared exists. The logits check needs the
real weights: in the Hugging Face cache (openai-community/gpt2) or in a directory named by the
environment variable TE_GPT2_DIR; it skips, saying so, where they are absent.
"""

import json
import os

import numpy as np
import pytest

from transformer_explainer.gpt2_core import GPT2CoreError, Tokenizer, load_model, sampling

from environment import REFERENCE_LOGITS_DIR, require_shared


def reference_examples():
    require_shared(REFERENCE_LOGITS_DIR)
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(REFERENCE_LOGITS_DIR.glob("ex*.json"))]


@pytest.fixture(scope="module")
def examples():
    found = reference_examples()
    assert len(found) == 5
    return found


@pytest.fixture(scope="module")
def real_gpt2():
    directory = os.environ.get("TE_GPT2_DIR")
    try:
        return load_model(directory) if directory else load_model("openai-community/gpt2", local_files_only=True,
                                                                  progress=False)
    except GPT2CoreError as error:
        pytest.skip(f"needs the real GPT-2 weights (Hugging Face cache or TE_GPT2_DIR): {error}")


def test_the_reference_prompts_tokenize_to_the_reference_ids(examples, gpt2_tokenizer_dir):
    tokenizer = Tokenizer.from_files(gpt2_tokenizer_dir / "vocab.json", gpt2_tokenizer_dir / "merges.txt")
    for example in examples:
        assert tokenizer.encode(example["prompt"]) == example["tokenIds"], example["prompt"]


def test_the_reference_probabilities_match_the_documented_facts(examples, gpt2_tokenizer_dir):
    tokenizer = Tokenizer.from_files(gpt2_tokenizer_dir / "vocab.json", gpt2_tokenizer_dir / "merges.txt")
    example = next(e for e in examples if e["prompt"] == "Artificial Intelligence is transforming the")
    probs = sampling.probabilities(np.array(example["logits"], dtype=np.float32), temperature=1.0)
    way, world = tokenizer.encode(" way")[0], tokenizer.encode(" world")[0]
    assert probs[way] == pytest.approx(0.246, abs=5e-4)
    assert probs[world] == pytest.approx(0.207, abs=5e-4)
    assert list(np.argsort(-probs)[:2]) == [way, world]


def test_real_gpt2_reproduces_the_reference_logits(examples, real_gpt2):
    for example in examples:
        trace = real_gpt2.run_with_trace(example["prompt"])
        assert trace.token_ids == example["tokenIds"]
        reference = np.array(example["logits"], dtype=np.float32)
        assert np.abs(trace.logits - reference).max() <= 1e-2, example["prompt"]
        assert list(np.argsort(-trace.logits)[:10]) == list(np.argsort(-reference)[:10])
