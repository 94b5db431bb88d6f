"""The words on the picture: the stage titles ("Embedding", "Multi-head self attention", "MLP", "Probabilities"),
a few small labels over the columns, the names of the three ribbons where they meet the matrix (Query, Key,
Value), the legend, the notes and the caption line (what the hovered stage is). Plain text in Text glyphs only
(token strings never appear here)."""

from __future__ import annotations

import numpy as np

from ..i18n import Translator, translator
from .layout import COLUMNS, DIMS_Y, HEIGHT, LABEL_Y, ROWS_TOP, TITLE_Y, Rows, centre
from .ribbons import QKV_COLOURS

LABEL_COLOUR, MUTED_COLOUR, TITLE_COLOUR = "#222222", "#6b6b6b", "#7a7f87"
CAPTION_X, CAPTION_Y = COLUMNS["tokens"][0] + 2.0, HEIGHT - 96.0
CAPTION_CHARACTERS = 30  # a caption line, in Latin characters (a Chinese one counts two)
LEGEND_X = COLUMNS["mlp_pre"][0] + 24.0
LEGEND_LINES_Y = tuple(HEIGHT - 94.0 + 16.0 * k for k in range(6))


def group_data(layer: int, head: int, n_head: int, n_layer: int, d_model: int, d_head: int, d_mlp: int,
               words: Translator | None = None) -> dict:
    """The stage titles over groups of columns."""
    words = words or translator()
    groups = [
        (words("picture.group.embedding"), COLUMNS["tokens"][0], COLUMNS["embedding"][1],
         words("picture.group.embedding_dims", d=d_model)),
        (words("picture.group.attention"), COLUMNS["ln1"][0], COLUMNS["attn_out"][1],
         words("picture.group.attention_dims", n_head=n_head, d_head=d_head)),
        (words("picture.group.mlp"), COLUMNS["ln2"][0], COLUMNS["mlp_out"][1],
         words("picture.group.mlp_dims", d=d_model, d_mlp=d_mlp)),
        (words("picture.group.probabilities"), COLUMNS["logit"][0], COLUMNS["percent"][1], ""),
    ]
    text, x, left, right, dims = zip(*[(t, (lo + hi) / 2, lo, hi, d) for t, lo, hi, d in groups])
    n = len(groups)
    return {"text": list(text), "x": np.array(x), "y": np.full(n, TITLE_Y), "left": np.array(left),
            "right": np.array(right), "dims": list(dims), "dims_y": np.full(n, DIMS_Y)}


# (column, label): over each column; a label is a catalogue key ("picture.label.…", translated) or drawn as it is.
COLUMN_LABELS = [("ln1", "LN"), ("z", "z"), ("attn_out", "picture.label.out"), ("ln2", "LN"),
                 ("ln_final", "LN")]


def column_label_data(words: Translator | None = None) -> dict:
    words = words or translator()
    rows = [(centre(name), words(text) if text.startswith("picture.") else text, LABEL_COLOUR)
            for name, text in COLUMN_LABELS]
    x, text, colour = zip(*rows)
    return {"x": np.array(x), "y": np.full(len(rows), LABEL_Y), "text": list(text), "colour": list(colour)}


def flow_label_data(rows: Rows, words: Translator | None = None, aligned: str = "query") -> dict:
    """"Attention" over the matrix, and "Query", "Key", "Value" where their ribbons come in."""
    words = words or translator()
    left, right = rows.matrix_left, rows.matrix_right
    around = "key" if aligned == "query" else "query"
    names = {"query": words("picture.label.query"), "key": words("picture.label.key")}
    straight_in = ((left - 3.0, ROWS_TOP + 1.0, "right") if aligned == "query"  # left of the matrix's top row
                   else (left - 3.0, rows.bottom + 3.0, "left"))  # turned: beside the matrix's top, on the right
    labels = [
        (left + 2.0, ROWS_TOP - 5.0, words("picture.label.weights"), LABEL_COLOUR, "left", "bottom"),
        (straight_in[0], straight_in[1], names[aligned], QKV_COLOURS[aligned[0]], straight_in[2],
         "bottom"),
        (left + 2.0, rows.kt_bottom + 2.0, names[around], QKV_COLOURS[around[0]], "left", "top"),
        (COLUMNS["z"][1] + 2.0, rows.value_lane + 2.0, words("picture.label.value"), QKV_COLOURS["v"], "left", "top"),
    ]
    x, y, text, colour, align, baseline = zip(*labels)
    return {"x": np.array(x), "y": np.array(y), "text": list(text), "colour": list(colour), "align": list(align),
            "baseline": list(baseline)}


def legend_data(head: int, words: Translator | None = None) -> dict:
    """What the colours and widths say: the ribbons (kind: colour; width: the norm), the weights, the vectors."""
    words = words or translator()
    x, y = LEGEND_X, LEGEND_LINES_Y
    rows = [(x, y[0], "■ " + words("picture.kind.query"), QKV_COLOURS["q"]),
            (x + 62.0, y[0], "■ " + words("picture.kind.key"), QKV_COLOURS["k"]),
            (x + 110.0, y[0], "■ " + words("picture.kind.value"), QKV_COLOURS["v"]),
            (x, y[1], words("picture.legend.width", head=head), MUTED_COLOUR),
            (x, y[2], words("picture.note.weights"), MUTED_COLOUR),
            (x, y[3], words("picture.note.strips"), MUTED_COLOUR)]
    x, y, text, colour = zip(*rows)
    return {"x": np.array(x), "y": np.array(y), "text": list(text), "colour": list(colour)}


def note_data(left_out: int, words: Translator | None = None) -> dict:
    words = words or translator()
    lines = [words("picture.note.left_out", n=left_out) if left_out else ""]
    return {"x": np.full(len(lines), LEGEND_X), "y": np.array(LEGEND_LINES_Y[4:5]), "text": lines}


def wrap(text: str, width: int = CAPTION_CHARACTERS) -> str:
    """``text`` in lines of at most ``width`` (a wide character counts two), broken at spaces where it has them."""
    lines, line, size = [], "", 0
    for word in text.replace("\n", " ").split(" ") if " " in text else list(text):
        glue = " " if " " in text and line else ""
        length = sum(2 if ord(c) > 0x2e80 else 1 for c in word)
        if line and size + len(glue) + length > width:
            lines.append(line)
            line, size, glue = "", 0, ""
        line += glue + word
        size += len(glue) + length
    if line:
        lines.append(line)
    return "\n".join(lines)


def caption_data(text: str | None = None, words: Translator | None = None) -> dict:
    """The caption: ``text``, or the hint (in the language of ``words``); ``shown``: as it is drawn, in lines."""
    text = (words or translator())("picture.hint") if text is None else text
    return {"x": [CAPTION_X], "y": [CAPTION_Y], "text": [text], "shown": [wrap(text)]}
