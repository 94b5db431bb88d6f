"""Tiny random Hugging Face checkpoints, written with no network: for examples, tests and offline demos.

``save_tiny_checkpoint(directory, "bert")`` writes what ``save_pretrained`` writes (config.json,
model.safetensors) and a small tokenizer (tokenizer.json, built with the ``tokenizers`` package), so
``AutoModel.from_pretrained(directory)`` and ``AutoTokenizer.from_pretrained(directory)`` load it like
any model from the Hub. The weights are random (drawn wider than the usual init, so that attention is far
from uniform): every number the explainer shows is a real computation of this model, not a trained one's.

Image models (``IMAGE_KINDS``) come with their processor, saved beside them (``AutoProcessor.from_pretrained``):
"vit" and "deit" read 32×48-pixel images in 8×8 patches (a 4 × 6 grid, so that rows and columns cannot be
confused), DeiT through a resize to 40×56 and a centre crop; "clip" reads 32×32 images and the BERT tokenizer's
text; "vision-encoder-decoder" is the tiny ViT as encoder and a tiny GPT-2 with cross-attention as decoder.

Needs PyTorch, ``transformers`` and ``tokenizers`` (imported when called), and Pillow for the image processors.
"""

from __future__ import annotations

from pathlib import Path

KINDS = ("bert", "distilbert", "roberta", "gpt2")
IMAGE_KINDS = ("vit", "deit", "clip", "vision-encoder-decoder")
WIDTH, LAYERS, HEADS, POSITIONS = 32, 2, 4, 64
IMAGE_SIZE, PATCH = (32, 48), 8  # height, width in pixels; pixels per patch side

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
    """Write a tiny random ``kind`` model (one of KINDS: 2 layers, 4 heads, 32 wide, 64 positions; or one of
    IMAGE_KINDS) and its tokenizer (or processor) to ``directory``; returns the directory."""
    if kind in IMAGE_KINDS:
        return save_tiny_image_checkpoint(directory, kind, seed=seed, std=std)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS + IMAGE_KINDS)}, got {kind!r}")
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


# -- image models ------------------------------------------------------------------------------------------------

def vit_config(kind: str, image_size):
    import transformers

    config_class = transformers.DeiTConfig if kind == "deit" else transformers.ViTConfig
    return config_class(image_size=image_size, patch_size=PATCH, num_channels=3, hidden_size=WIDTH,
                        num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=4 * WIDTH)


def clip_config(vocab_size: int, special_ids: dict):
    import transformers

    text = dict(vocab_size=vocab_size, hidden_size=WIDTH, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                intermediate_size=4 * WIDTH, max_position_embeddings=POSITIONS, pad_token_id=special_ids["pad"],
                bos_token_id=special_ids["cls"], eos_token_id=special_ids["sep"])
    vision = dict(image_size=IMAGE_SIZE[0], patch_size=PATCH, hidden_size=WIDTH, num_hidden_layers=LAYERS,
                  num_attention_heads=HEADS, intermediate_size=4 * WIDTH)
    return transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)


def image_processor(kind: str):
    import transformers

    height, width = IMAGE_SIZE
    if kind == "deit":
        return transformers.DeiTImageProcessor(size={"height": height + 8, "width": width + 8},
                                               crop_size={"height": height, "width": width})
    if kind == "clip":
        return transformers.CLIPImageProcessor(size={"shortest_edge": height},
                                               crop_size={"height": height, "width": height})
    return transformers.ViTImageProcessor(size={"height": height, "width": width})


def image_model_and_processor(kind: str):
    """(a random model of ``kind``, its processor), built from the configs above."""
    import transformers

    if kind in ("vit", "deit"):
        model_class = transformers.DeiTModel if kind == "deit" else transformers.ViTModel
        return model_class(vit_config(kind, IMAGE_SIZE), add_pooling_layer=False), image_processor(kind)
    if kind == "clip":
        backend, named, vocab_size = bert_tokenizer()
        ids = {name.removesuffix("_token"): backend.token_to_id(token) for name, token in named.items()}
        tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=POSITIONS, **named)
        processor = transformers.CLIPProcessor(image_processor=image_processor(kind), tokenizer=tokenizer)
        return transformers.CLIPModel(clip_config(vocab_size, ids)), processor
    backend, named, vocab_size = byte_level_tokenizer(roberta=False)
    end = backend.token_to_id(named["eos_token"])
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=POSITIONS, **named)
    decoder = tiny_config("gpt2", vocab_size, {"eos": end})
    config = transformers.VisionEncoderDecoderConfig.from_encoder_decoder_configs(vit_config("vit", IMAGE_SIZE),
                                                                                  decoder)
    config.update(dict(decoder_start_token_id=end, pad_token_id=end, eos_token_id=end))
    processor = transformers.TrOCRProcessor(image_processor=image_processor(kind), tokenizer=tokenizer)
    return transformers.VisionEncoderDecoderModel(config=config), processor


def is_norm(name: str) -> bool:
    return "norm" in name.lower() or name.split(".")[-2].startswith("ln")


def save_tiny_image_checkpoint(directory: str | Path, kind: str = "vit", *, seed: int = 0,
                               std: float = 0.3) -> Path:
    """Write a tiny random image model (one of IMAGE_KINDS) and its processor to ``directory``."""
    if kind not in IMAGE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(IMAGE_KINDS)}, got {kind!r}")
    import torch
    from transformers.utils import logging as transformers_logging

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # the configs' notes on tiny vocabularies are not the user's concern
    try:
        model, processor = image_model_and_processor(kind)
    finally:
        transformers_logging.set_verbosity(verbosity)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("logit_scale"):
                continue  # CLIP's temperature keeps its own initial value (ln 1/0.07)
            if is_norm(name):
                parameter.copy_((1 + 0.2 * torch.randn_like(parameter)) if name.endswith("weight")
                                else 0.1 * torch.randn_like(parameter))
            else:
                parameter.normal_(0, std)
    processor.save_pretrained(directory)
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        model.save_pretrained(directory)
    finally:
        if bars:
            transformers_logging.enable_progress_bar()
    return directory
