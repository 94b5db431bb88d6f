"""Tiny random Hugging Face checkpoints, written with no network: for examples, tests and offline demos.

``save_tiny_checkpoint(directory, "bert")`` writes what ``save_pretrained`` writes (config.json,
model.safetensors) and a small tokenizer (tokenizer.json, built with the ``tokenizers`` package), so
``AutoModel.from_pretrained(directory)`` and ``AutoTokenizer.from_pretrained(directory)`` load it like
any model from the Hub. The weights are random (drawn wider than the usual init, so that attention is far
from uniform): every number the explainer shows is a real computation of this model, not a trained one's.

Needs PyTorch, ``transformers`` and ``tokenizers`` (imported when called).
"""

from __future__ import annotations

from pathlib import Path

KINDS = ("bert", "distilbert", "roberta", "gpt2")
WIDTH, LAYERS, HEADS, POSITIONS = 32, 2, 4, 64

# Whole words and pieces for the WordPiece vocabulary, so the examples' sentences are not all [UNK].
WORDS = ("transform transformer model models are power powerful for language understand understanding what is "
         "the capital of france paris attention head heads token tokens layer layers hidden state states each "
         "other look at a an and in to it this that learn").split()
PIECES = ("er s ful ing ed ly tion".split())


def wordpiece_vocabulary() -> dict[str, int]:
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789")
    symbols = list(".,?!;:'\"()-")
    tokens = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + letters + symbols + [f"##{c}" for c in letters]
              + WORDS + [f"##{piece}" for piece in PIECES])
    return {token: i for i, token in enumerate(dict.fromkeys(tokens))}


def bert_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = wordpiece_vocabulary()
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tokenizer.decoder = decoders.WordPiece()
    specials = dict(unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]")
    return tokenizer, specials, len(vocab)


def byte_level_tokenizer(roberta: bool):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    from transformer_explainer.gpt2_core.checkpoints import train_tiny_bpe

    vocab, merges = train_tiny_bpe()
    if roberta:  # RoBERTa's own special tokens first, as in roberta-base
        specials = ["<s>", "<pad>", "</s>", "<unk>"]
        vocab = {**{token: i for i, token in enumerate(specials)},
                 **{token: i + len(specials) for token, i in vocab.items() if token != "<|endoftext|>"}}
        vocab["<mask>"] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab, merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    if roberta:
        tokenizer.post_processor = processors.RobertaProcessing(("</s>", vocab["</s>"]), ("<s>", vocab["<s>"]))
        named = dict(bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                     pad_token="<pad>", mask_token="<mask>")
    else:
        named = dict(bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    return tokenizer, named, len(vocab)


def tiny_config(kind: str, vocab_size: int, special_ids: dict):
    import transformers

    if kind == "bert":
        return transformers.BertConfig(vocab_size=vocab_size, hidden_size=WIDTH, num_hidden_layers=LAYERS,
                                       num_attention_heads=HEADS, intermediate_size=4 * WIDTH,
                                       max_position_embeddings=POSITIONS, pad_token_id=special_ids["pad"])
    if kind == "distilbert":
        return transformers.DistilBertConfig(vocab_size=vocab_size, dim=WIDTH, n_layers=LAYERS, n_heads=HEADS,
                                             hidden_dim=4 * WIDTH, max_position_embeddings=POSITIONS,
                                             pad_token_id=special_ids["pad"])
    if kind == "roberta":  # RoBERTa numbers positions from pad_token_id + 1: room for POSITIONS tokens
        return transformers.RobertaConfig(vocab_size=vocab_size, hidden_size=WIDTH, num_hidden_layers=LAYERS,
                                          num_attention_heads=HEADS, intermediate_size=4 * WIDTH,
                                          max_position_embeddings=POSITIONS + special_ids["pad"] + 1,
                                          pad_token_id=special_ids["pad"], bos_token_id=special_ids["bos"],
                                          eos_token_id=special_ids["eos"])
    return transformers.GPT2Config(vocab_size=vocab_size, n_embd=WIDTH, n_layer=LAYERS, n_head=HEADS,
                                   n_positions=POSITIONS, bos_token_id=special_ids["eos"],
                                   eos_token_id=special_ids["eos"])


def model_class(kind: str):
    import transformers

    return {"bert": transformers.BertModel, "distilbert": transformers.DistilBertModel,
            "roberta": transformers.RobertaModel, "gpt2": transformers.GPT2LMHeadModel}[kind]


def save_tiny_checkpoint(directory: str | Path, kind: str = "bert", *, seed: int = 0, std: float = 0.3) -> Path:
    """Write a tiny random ``kind`` model (one of KINDS: 2 layers, 4 heads, 32 wide, 64 positions) and its
    tokenizer to ``directory``; returns the directory."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    import torch
    from transformers import PreTrainedTokenizerFast
    from transformers.utils import logging as transformers_logging

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if kind in ("bert", "distilbert"):
        backend, named, vocab_size = bert_tokenizer()
    else:
        backend, named, vocab_size = byte_level_tokenizer(roberta=kind == "roberta")
    ids = {name.removesuffix("_token"): backend.token_to_id(token) for name, token in named.items()}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=POSITIONS, **named)
    tokenizer.save_pretrained(directory)

    torch.manual_seed(seed)
    model = model_class(kind)(tiny_config(kind, vocab_size, ids))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or name.split(".")[-2].startswith("ln"):
                parameter.copy_((1 + 0.2 * torch.randn_like(parameter)) if name.endswith("weight")
                                else 0.1 * torch.randn_like(parameter))
            else:
                parameter.normal_(0, std)
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # "Writing model shards" for a file of a few kB
    try:
        model.save_pretrained(directory)
    finally:
        if bars:
            transformers_logging.enable_progress_bar()
    return directory
