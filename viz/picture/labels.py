"""The words on the picture: group headings, a label over each column, what subset of dimensions is drawn, the
notes at the bottom. Plain text in Text glyphs only (token strings never appear here)."""

from __future__ import annotations

import numpy as np

from .layout import BRACKET_Y, COLUMNS, DIMS, DIMS_Y, GROUP_Y, HEIGHT, LABEL_Y, MLP_DIMS, centre, dims_label
from .ribbons import QKV_COLOURS

LABEL_COLOUR, MUTED_COLOUR = "#222222", "#6b6b6b"
NOTES_LEFT = COLUMNS["z"][0]
NOTE_LINES_Y = (HEIGHT - 92.0, HEIGHT - 76.0, HEIGHT - 62.0, HEIGHT - 48.0)


def group_data(layer: int, head: int, n_head: int, n_layer: int, d_model: int, d_head: int, d_mlp: int) -> dict:
    """Headings over groups of columns, each with a bracket under it and a line saying which dimensions are shown."""
    groups = [
        ("Embedding", COLUMNS["tokens"][0], COLUMNS["embedding"][1],
         f"strips: {dims_label(min(DIMS, d_model), d_model)}"),
        (f"Attention · block {layer} (of 0–{n_layer - 1}) · head {head} (of 0–{n_head - 1})", COLUMNS["ln1"][0],
         COLUMNS["attn_out"][1],
         f"q k v z: {dims_label(min(DIMS, d_head), d_head)} of head {head} · others: "
         f"{dims_label(min(DIMS, d_model), d_model)}"),
        ("MLP", COLUMNS["ln2"][0], COLUMNS["mlp_out"][1],
         f"hidden: {dims_label(min(MLP_DIMS, d_mlp), d_mlp)} · out: {dims_label(min(DIMS, d_model), d_model)}"),
        ("Final LN", COLUMNS["ln_final"][0] - 6, COLUMNS["ln_final"][1] + 6, ""),
    ]
    text, x, left, right, dims = zip(*[(t, (lo + hi) / 2, lo, hi, d) for t, lo, hi, d in groups])
    n = len(groups)
    return {"text": list(text), "x": np.array(x), "y": np.full(n, GROUP_Y), "left": np.array(left),
            "right": np.array(right), "bracket_y": np.full(n, BRACKET_Y), "dims": list(dims),
            "dims_y": np.full(n, DIMS_Y)}


# (column, label, colour): over each column; "_" columns are the operations between two stages
COLUMN_LABELS = [
    ("tokens", "tokens", LABEL_COLOUR), ("embedding", "tok+pos", LABEL_COLOUR), ("ln1", "LN 1", LABEL_COLOUR),
    ("matrix", "weights: query row × key column", LABEL_COLOUR), ("heads", "heads", LABEL_COLOUR),
    ("z", "z = w · V", LABEL_COLOUR), ("attn_out", "c_proj", LABEL_COLOUR), ("resid_mid", "x + attn", LABEL_COLOUR),
    ("ln2", "LN 2", LABEL_COLOUR), ("mlp_pre", "c_fc → 4d", LABEL_COLOUR), ("mlp_post", "GELU", LABEL_COLOUR),
    ("mlp_out", "c_proj", LABEL_COLOUR), ("resid_post", "x + mlp", LABEL_COLOUR), ("ln_final", "ln_f", LABEL_COLOUR),
]


def column_label_data() -> dict:
    rows = [(centre(name), text, colour) for name, text, colour in COLUMN_LABELS]
    left, right = COLUMNS["qkv"]
    step = (right - left) / 3
    rows += [(left + step * (k + 0.5), kind, QKV_COLOURS[kind]) for k, kind in enumerate("qkv")]
    x, text, colour = zip(*rows)
    return {"x": np.array(x), "y": np.full(len(rows), LABEL_Y), "text": list(text), "colour": list(colour)}


DEFAULT_HINT = ("Hover (or tap) a token to follow it through the block · hover any cell for its exact value · "
                "tap a stage to open it")


def note_data(left_out: int) -> dict:
    lines = ["Strips: blue < 0 < red, each stage on its own scale; the first dimensions of each vector, not averages.",
             "Attention weights: white 0 → blue 1; grey, hatched: masked (a token never looks at later ones)."]
    lines.append(f"The {left_out} earlier tokens are not drawn, nor their columns of weights (hover: exact values)."
                 if left_out else "")
    return {"x": np.full(len(lines), NOTES_LEFT), "y": np.array(NOTE_LINES_Y[1:]), "text": lines}


def caption_data(text: str = DEFAULT_HINT) -> dict:
    return {"x": [NOTES_LEFT], "y": [NOTE_LINES_Y[0]], "text": [text]}
