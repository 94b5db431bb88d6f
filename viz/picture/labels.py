"""The words on the picture: group headings, a label over each column, what subset of dimensions is drawn, the
notes at the bottom. Plain text in Text glyphs only (token strings never appear here)."""

from __future__ import annotations

import numpy as np

from .layout import BRACKET_Y, COLUMNS, DIMS, DIMS_Y, GROUP_Y, HEIGHT, LABEL_Y, MLP_DIMS, centre, dims_label
from ..i18n import Translator, translator
from .ribbons import QKV_COLOURS

LABEL_COLOUR, MUTED_COLOUR = "#222222", "#6b6b6b"
NOTES_LEFT = COLUMNS["z"][0]
NOTE_LINES_Y = (HEIGHT - 92.0, HEIGHT - 76.0, HEIGHT - 62.0, HEIGHT - 48.0)


def group_data(layer: int, head: int, n_head: int, n_layer: int, d_model: int, d_head: int, d_mlp: int,
               words: Translator | None = None) -> dict:
    """Headings over groups of columns, each with a bracket under it and a line saying which dimensions are shown."""
    words = words or translator()
    model_dims = dims_label(min(DIMS, d_model), d_model, words)
    groups = [
        (words("picture.group.embedding"), COLUMNS["tokens"][0], COLUMNS["embedding"][1],
         words("picture.group.embedding_dims", dims=model_dims)),
        (words("picture.group.attention", layer=layer, last_layer=n_layer - 1, head=head, last_head=n_head - 1),
         COLUMNS["ln1"][0], COLUMNS["attn_out"][1],
         words("picture.group.attention_dims", head_dims=dims_label(min(DIMS, d_head), d_head, words), head=head,
               dims=model_dims)),
        ("MLP", COLUMNS["ln2"][0], COLUMNS["mlp_out"][1],
         words("picture.group.mlp_dims", hidden=dims_label(min(MLP_DIMS, d_mlp), d_mlp, words), dims=model_dims)),
        (words("picture.group.final_ln"), COLUMNS["ln_final"][0] - 6, COLUMNS["ln_final"][1] + 6, ""),
    ]
    text, x, left, right, dims = zip(*[(t, (lo + hi) / 2, lo, hi, d) for t, lo, hi, d in groups])
    n = len(groups)
    return {"text": list(text), "x": np.array(x), "y": np.full(n, GROUP_Y), "left": np.array(left),
            "right": np.array(right), "bracket_y": np.full(n, BRACKET_Y), "dims": list(dims),
            "dims_y": np.full(n, DIMS_Y)}


# (column, label, colour): over each column; "_" columns are the operations between two stages. A label is a
# catalogue key ("picture.label.…", translated) or a symbol drawn as it is.
COLUMN_LABELS = [
    ("tokens", "picture.label.tokens", LABEL_COLOUR), ("embedding", "tok+pos", LABEL_COLOUR),
    ("ln1", "LN 1", LABEL_COLOUR), ("matrix", "picture.label.weights", LABEL_COLOUR),
    ("heads", "picture.label.heads", LABEL_COLOUR),
    ("z", "z = w · V", LABEL_COLOUR), ("attn_out", "c_proj", LABEL_COLOUR), ("resid_mid", "x + attn", LABEL_COLOUR),
    ("ln2", "LN 2", LABEL_COLOUR), ("mlp_pre", "c_fc → 4d", LABEL_COLOUR), ("mlp_post", "GELU", LABEL_COLOUR),
    ("mlp_out", "c_proj", LABEL_COLOUR), ("resid_post", "x + mlp", LABEL_COLOUR), ("ln_final", "ln_f", LABEL_COLOUR),
]


def column_label_data(words: Translator | None = None) -> dict:
    words = words or translator()
    rows = [(centre(name), words(text) if text.startswith("picture.") else text, colour)
            for name, text, colour in COLUMN_LABELS]
    left, right = COLUMNS["qkv"]
    step = (right - left) / 3
    rows += [(left + step * (k + 0.5), kind, QKV_COLOURS[kind]) for k, kind in enumerate("qkv")]
    x, text, colour = zip(*rows)
    return {"x": np.array(x), "y": np.full(len(rows), LABEL_Y), "text": list(text), "colour": list(colour)}


def note_data(left_out: int, words: Translator | None = None) -> dict:
    words = words or translator()
    lines = [words("picture.note.strips"), words("picture.note.weights")]
    lines.append(words("picture.note.left_out", n=left_out) if left_out else "")
    return {"x": np.full(len(lines), NOTES_LEFT), "y": np.array(NOTE_LINES_Y[1:]), "text": lines}


def caption_data(text: str | None = None, words: Translator | None = None) -> dict:
    """The caption line: ``text``, or the hint (in the language of ``words``)."""
    text = (words or translator())("picture.hint") if text is None else text
    return {"x": [NOTES_LEFT], "y": [NOTE_LINES_Y[0]], "text": [text]}
