"""The ribbons: each token's vector flowing from one stage to the next (one polygon per token and hop).

- ``ribbon_data``: the hops along each token's row (tokens → embedding → LayerNorm → the split into q, k, v; the
  matrix's row → z → c_proj → ⊕ → LayerNorm → the MLP, widening to 4d and narrowing back → ⊕ → the other blocks →
  the final LayerNorm; the last token's on to the output). Their geometry depends only on the rows drawn.
- ``qkv_ribbon_data``: the attention's flow, with real magnitudes. Token i's **query** runs straight into row i of
  the matrix (rows are queries, as ``hook_pattern[head][q, k]``); token j's **key** runs down beside the matrix,
  under it, and up into column j (through its kᵀ); token j's **value** runs on under the matrix to z, where each
  row of weights mixes the values. Each ribbon is as wide as its vector's norm (``magnitude``: ‖q‖, ‖k‖ or ‖v‖ of
  that token for the head drawn, relative to the largest of its kind drawn). The keys' (and the values') lanes
  are nested so that no two keys (or values) cross.

Each source keeps a constant number of rows (padding: NaN, slot -1).
"""

from __future__ import annotations

import numpy as np

from transformer_explainer.gpt2_core import Trace

from .layout import COLUMNS, MAX_TOKENS, STRIP_FRACTION, WIDE_FRACTION, Rows

RIBBON_COLOUR = "#a9bdd6"
QKV_COLOURS = {"q": "#0072b2", "k": "#e69f00", "v": "#009e73"}  # Okabe–Ito blue, orange, bluish green
MIX_COLOUR = "#cc79a7"  # Okabe–Ito reddish purple: the weighted sum of values, out of the attention
RIBBON_ALPHA, QKV_ALPHA = 0.38, 0.55
SAMPLES = 14
CORNER_SAMPLES = 7

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
HOPS_PER_TOKEN = len(STRAIGHT_HOPS) + 3 + 1  # + the split into q, k, v + the matrix's row out to z
N_ROWS = MAX_TOKENS * HOPS_PER_TOKEN + 1  # + the last token's ribbon on to the output
N_QKV_ROWS = 3 * MAX_TOKENS


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


def rounded_path(points: list[tuple[float, float]], radius: float) -> np.ndarray:
    """The polyline through ``points`` [k, 2] with each corner rounded (a quadratic curve of ``radius``)."""
    points = np.asarray(points, dtype=float)
    out = [points[0]]
    for before, corner, after in zip(points[:-2], points[1:-1], points[2:]):
        into, out_of = corner - before, after - corner
        r = min(radius, np.linalg.norm(into) / 2, np.linalg.norm(out_of) / 2)
        start = corner - into / max(np.linalg.norm(into), 1e-9) * r
        end = corner + out_of / max(np.linalg.norm(out_of), 1e-9) * r
        t = np.linspace(0.0, 1.0, CORNER_SAMPLES)[:, None]
        out.extend((1 - t) ** 2 * start + 2 * (1 - t) * t * corner + t ** 2 * end)
    out.append(points[-1])
    return np.asarray(out)


def path_band(points: list[tuple[float, float]], half: float, radius: float) -> tuple[list, list]:
    """A ribbon ``half`` thick on each side along the rounded path through ``points``."""
    line = rounded_path(points, radius)
    keep = np.concatenate([[True], np.linalg.norm(np.diff(line, axis=0), axis=1) > 1e-6])
    line = line[keep]
    tangent = np.gradient(line, axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    left, right = line + normal * half, line - normal * half
    outline = np.concatenate([left, right[::-1]])
    return outline[:, 0].tolist(), outline[:, 1].tolist()


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
        # the row's weights mix the values into z
        add(slot, band(matrix_right, COLUMNS["z"][0], y, y, height * STRIP_FRACTION / 2, height * STRIP_FRACTION / 2),
            MIX_COLOUR)
    last = last_slot(rows)
    if last is not None:  # only the last token's vector is read by the unembedding (the next-token prediction)
        y = rows.y(last)
        half = height * STRIP_FRACTION / 2
        add(last, band(COLUMNS["ln_final"][1], COLUMNS["_to_output"][1] + 1, y, y, half, half), RIBBON_COLOUR)
    missing = N_ROWS - len(xs)
    xs += [[np.nan]] * missing
    ys += [[np.nan]] * missing
    slots += [-1] * missing
    colours += [RIBBON_COLOUR] * missing
    alpha = np.where(np.array(slots) >= 0, RIBBON_ALPHA, 0.0)
    return {"xs": xs, "ys": ys, "slot": np.array(slots), "colour": colours, "alpha": alpha, "base_alpha": alpha.copy()}


def last_slot(rows: Rows) -> int | None:
    """The row of the prompt's last token, None when the rows drawn were scrolled away from it."""
    return rows.n - 1 if rows.n and rows.right_out == 0 else None


# -- the attention's flow ------------------------------------------------------------------------------------

def qkv_norms(trace: Trace, rows: Rows, layer: int, head: int) -> dict[str, np.ndarray]:
    """‖q‖, ‖k‖, ‖v‖ of each token drawn, for the head drawn (float32, from hook_q/k/v)."""
    positions = list(rows.positions)
    return {kind: np.linalg.norm(trace[f"blocks.{layer}.attn.hook_{kind}"][positions, head, :], axis=-1)
            .astype(np.float32) for kind in "qkv"}


def widths(norms: np.ndarray, widest: float) -> np.ndarray:
    """Ribbon widths: the largest norm of the kind drawn gets ``widest``, zero gets a quarter of it."""
    top = float(norms.max()) if norms.size and norms.max() > 0 else 1.0
    return widest * (0.25 + 0.75 * norms.astype(np.float64) / top)


def qkv_ribbon_data(trace: Trace, rows: Rows, layer: int, head: int, aligned: str = "query") -> dict:
    """The query, key and value ribbons of every token drawn (see the module's docstring), with their ``kind``,
    ``slot``, ``position``, ``magnitude`` (the norm), ``width``, and where they end: ``end_x``, ``end_y`` (a
    query: its row of the matrix; a key: its column, through its kᵀ; a value: the bottom of z) and ``target``
    (the matrix row, the matrix column, or -1 for z). ``aligned``: which index of the matrix sits on the token's
    own row ("query" when the picture is horizontal, "key" when it is turned): that kind runs straight in, the
    other comes round under the matrix."""
    norms = qkv_norms(trace, rows, layer, head)
    n, cell = rows.n, rows.matrix_cell
    sub_centres, sub_half = rows.qkv_sub_rows()
    x0 = COLUMNS["qkv"][1]
    left = rows.matrix_left
    channel = left - x0
    z_left, z_right = COLUMNS["z"]
    straight, around = ("q", "k") if aligned == "query" else ("k", "q")
    sub = {"q": 0, "k": 1, "v": 2}
    lanes = channel / max(n, 1)  # each ribbon round the matrix has its own lane: no wider than it
    width = {around: widths(norms[around], min(cell * 0.4, lanes * 0.7, 4.5)),
             straight: widths(norms[straight], min(rows.height * 0.5, 12.0)),
             "v": widths(norms["v"], min((z_right - z_left) / max(n, 1) * 0.9, lanes * 0.4, 3.5))}
    entry_y = rows.kt_bottom if aligned == "query" else rows.bottom
    depth0 = rows.kt_bottom + 4.0
    span = max(rows.value_lane - 8.0 - depth0, 4.0)
    rows_out = []  # (kind, slot, xs, ys, width, end_x, end_y, target)
    for slot in range(n):
        y = float(rows.y(slot))
        half = width[straight][slot] / 2
        xs, ys = band(x0, left, float(sub_centres[slot, sub[straight]]), y, half, half)
        rows_out.append((straight, slot, xs, ys, width[straight][slot], left, y, slot))
        # round the matrix: the first token's lane is the nearest the matrix and the shallowest (none cross)
        order = (slot + 0.5) / n
        lane = left - 4.0 - (channel * 0.6) * order
        depth = depth0 + span * order
        column = float(rows.column_x(slot))
        start = float(sub_centres[slot, sub[around]])
        xs, ys = path_band([(x0, start), (lane, start), (lane, depth), (column, depth), (column, entry_y)],
                           width[around][slot] / 2, 6.0)
        rows_out.append((around, slot, xs, ys, width[around][slot], column, entry_y, slot))
        # values: nearer the qkv column than the keys, deeper under the matrix, up into z
        lane = x0 + channel * 0.4 - channel * 0.35 * order
        depth = rows.value_lane + 10.0 * order
        entry = z_left + (z_right - z_left) * order
        start = float(sub_centres[slot, 2])
        xs, ys = path_band([(x0, start), (lane, start), (lane, depth), (entry, depth), (entry, rows.bottom)],
                           width["v"][slot] / 2, 6.0)
        rows_out.append(("v", slot, xs, ys, width["v"][slot], entry, rows.bottom, -1))
    rows_out.sort(key=lambda row: "kvq".index(row[0]))  # keys under values under queries
    missing = N_QKV_ROWS - len(rows_out)
    kind, slot, xs, ys, width, end_x, end_y, target = (list(c) for c in zip(*rows_out)) if rows_out else \
        ([], [], [], [], [], [], [], [])
    magnitude = [float(norms[k][s]) for k, s in zip(kind, slot)]
    positions = [rows.positions[s] for s in slot]
    kind += [""] * missing
    slot += [-1] * missing
    xs += [[np.nan]] * missing
    ys += [[np.nan]] * missing
    width += [np.nan] * missing
    end_x += [np.nan] * missing
    end_y += [np.nan] * missing
    target += [-1] * missing
    magnitude += [np.nan] * missing
    positions += [-1] * missing
    real = np.array(slot) >= 0
    alpha = np.where(real, QKV_ALPHA, 0.0)
    return {"xs": xs, "ys": ys, "kind": kind, "slot": np.array(slot), "position": np.array(positions),
            "magnitude": np.array(magnitude, dtype=np.float32), "width": np.array(width, dtype=float),
            "end_x": np.array(end_x, dtype=float), "end_y": np.array(end_y, dtype=float),
            "target": np.array(target), "colour": [QKV_COLOURS.get(k, RIBBON_COLOUR) for k in kind],
            "alpha": alpha, "base_alpha": alpha.copy()}
