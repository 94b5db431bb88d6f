"""The ribbons: each token's vector flowing from one stage to the next (one polygon per token and hop).

One source holds them all (``xs``, ``ys``, ``slot``, ``colour``, ``alpha``, ``base_alpha``), with a constant number
of rows. Their geometry depends only on the number of token rows, not on any value.
"""

from __future__ import annotations

import numpy as np

from .layout import COLUMNS, MAX_TOKENS, STRIP_FRACTION, WIDE_FRACTION, Rows

RIBBON_COLOUR = "#8fa9c9"
QKV_COLOURS = {"q": "#0072b2", "k": "#e69f00", "v": "#009e73"}  # Okabe–Ito blue, orange, bluish green
MIX_COLOUR = "#cc79a7"  # Okabe–Ito reddish purple: the weighted sum of values, out of the attention
RIBBON_ALPHA = 0.32
SAMPLES = 14

# (from column, to column, from fraction of row height, to fraction, colour): one straight or widening hop per token
STRAIGHT_HOPS = [
    ("tokens", "embedding", STRIP_FRACTION, STRIP_FRACTION, RIBBON_COLOUR),
    ("embedding", "ln1", STRIP_FRACTION, STRIP_FRACTION, RIBBON_COLOUR),
    ("z", "attn_out", STRIP_FRACTION, STRIP_FRACTION, MIX_COLOUR),
    ("attn_out", "resid_mid", STRIP_FRACTION, STRIP_FRACTION, MIX_COLOUR),
    ("resid_mid", "ln2", STRIP_FRACTION, STRIP_FRACTION, RIBBON_COLOUR),
    ("ln2", "mlp_pre", STRIP_FRACTION, WIDE_FRACTION, RIBBON_COLOUR),
    ("mlp_pre", "mlp_post", WIDE_FRACTION, WIDE_FRACTION, RIBBON_COLOUR),
    ("mlp_post", "mlp_out", WIDE_FRACTION, STRIP_FRACTION, RIBBON_COLOUR),
    ("mlp_out", "resid_post", STRIP_FRACTION, STRIP_FRACTION, RIBBON_COLOUR),
    ("resid_post", "blocks", STRIP_FRACTION, STRIP_FRACTION, RIBBON_COLOUR),
    ("blocks", "ln_final", STRIP_FRACTION, STRIP_FRACTION, RIBBON_COLOUR),
]
HOPS_PER_TOKEN = len(STRAIGHT_HOPS) + 3 + 2  # + the split into q, k, v + q into the matrix + the matrix out to z
N_ROWS = MAX_TOKENS * HOPS_PER_TOKEN + 1  # + the last token's ribbon on to the output


def band(x0: float, x1: float, y0: float, y1: float, half0: float, half1: float) -> tuple[list, list]:
    """A ribbon from (x0, y0) to (x1, y1), ``half0``/``half1`` thick on each side: a quadrilateral when straight,
    an S-curve (smoothstep) when it changes height."""
    if y0 == y1:
        return [x0, x1, x1, x0], [y0 - half0, y1 - half1, y1 + half1, y0 + half0]
    s = np.linspace(0.0, 1.0, SAMPLES)
    ease = s * s * (3 - 2 * s)
    x = x0 + (x1 - x0) * s
    middle = y0 + (y1 - y0) * ease
    half = half0 + (half1 - half0) * ease
    return np.concatenate([x, x[::-1]]).tolist(), np.concatenate([middle - half, (middle + half)[::-1]]).tolist()


def ribbon_data(rows: Rows, matrix_right: float) -> dict:
    xs, ys, slots, colours = [], [], [], []

    def add(slot, polygon, colour):
        xs.append(polygon[0]), ys.append(polygon[1]), slots.append(slot), colours.append(colour)

    height = rows.height
    sub_centres, sub_half = rows.qkv_sub_rows()
    for slot, y in zip(rows.slots, rows.centres):
        for start, end, f0, f1, colour in STRAIGHT_HOPS:
            add(slot, band(COLUMNS[start][1], COLUMNS[end][0], y, y, height * f0 / 2, height * f1 / 2), colour)
        # LayerNorm's output splits into three: x·W_q, x·W_k, x·W_v
        source_half = height * STRIP_FRACTION / 2
        third = 2 * source_half / 3
        for k, kind in enumerate("qkv"):
            y0 = y - source_half + third * (k + 0.5)
            add(slot, band(COLUMNS["ln1"][1], COLUMNS["qkv"][0], y0, sub_centres[slot, k], third / 2, sub_half),
                QKV_COLOURS[kind])
        # the query goes on into its row of the matrix; the row's weights mix the values into z
        add(slot, band(COLUMNS["qkv"][1], rows.matrix_left, sub_centres[slot, 0], y, sub_half,
                       height * STRIP_FRACTION / 2), QKV_COLOURS["q"])
        add(slot, band(matrix_right, COLUMNS["z"][0], y, y, height * STRIP_FRACTION / 2, height * STRIP_FRACTION / 2),
            MIX_COLOUR)
    if rows.n:  # only the last token's vector is read by the unembedding (the next-token prediction)
        y = rows.centres[-1]
        half = height * STRIP_FRACTION / 2
        add(rows.n - 1, band(COLUMNS["ln_final"][1], COLUMNS["_to_output"][1] + 1, y, y, half, half), RIBBON_COLOUR)
    missing = N_ROWS - len(xs)
    xs += [[np.nan]] * missing
    ys += [[np.nan]] * missing
    slots += [-1] * missing
    colours += [RIBBON_COLOUR] * missing
    alpha = np.where(np.array(slots) >= 0, RIBBON_ALPHA, 0.0)
    return {"xs": xs, "ys": ys, "slot": np.array(slots), "colour": colours, "alpha": alpha, "base_alpha": alpha.copy()}

