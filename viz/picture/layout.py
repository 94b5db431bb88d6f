"""Where every stage of the picture goes: the design, in "design pixels", and one function of the token rows.

The picture is drawn in two directions: the **flow** (x: tokens → embedding → the block → the probabilities) and
the **token rows** (y: one row per token, top to bottom). The picture is ``WIDTH`` × ``HEIGHT`` design pixels; the
fit script (viz/picture/fit.py) scales the whole of it to the window, text with it. On a phone the same design is
drawn turned a quarter (the flow top to bottom, see canvas.py): every position here stays what it is.

The columns never move: a prompt of any length puts each stage at the same x, only the height of a token row
changes (short prompts get taller rows). Long prompts show ``MAX_TOKENS`` rows, the last ones unless the student
scrolled the token column (``Rows.window``), and say how many earlier (and later) ones are not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..i18n import Translator, translator

MAX_TOKENS = 16  # rows drawn; a longer prompt shows 16 of its tokens and says "+N earlier"
DIMS = 16  # dimensions of a d-wide (or d_head-wide) vector kept in its strip's source: dims 0..15
MLP_DIMS = 32  # dimensions of the 4d-wide MLP hidden vector kept: dims 0..31
N_TOP = 10  # the most likely next tokens drawn as bars (+ the sampled one when not among them, + "others")

WIDTH, HEIGHT = 1100, 560  # the design, in design pixels (flow × token rows)
TOTAL_WIDTH = WIDTH  # (kept for the app: the picture's width at scale 1)

# Text sizes at scale 1 (the fit script scales them with the picture, never below its minimum).
TITLE_PX, TOKEN_PX, NUMBER_PX, LABEL_PX, SMALL_PX = 15, 13, 12, 12, 11

# The token rows (y).
TITLE_Y = 11.0  # the stage titles: Embedding, Multi-head self attention, MLP, Probabilities
DIMS_Y = 26.0  # under each title, its sizes (d = 768, 12 heads × 64, 768 → 3072 → 768)
FRAME_TOP = 38.0  # the block's dashed frame (its picker sits on it)
ROWS_TOP = 66.0  # y of the first token row's top edge
LABEL_Y = ROWS_TOP - 7.0  # the small labels over the columns (LN, z, Out)
ROWS_SPAN = 384.0  # the most the token rows take (16 rows of 24)
ROW_MAX_PX = 50.0  # short prompts: rows no taller than this
STRIP_FRACTION = 0.5  # a vector's box is this share of its row's height (the rest is the gap between rows)
WIDE_FRACTION = 0.96  # the MLP's hidden boxes: 4d, as tall as the row (they touch: one wide block)
QKV_FRACTION = 0.84  # the three q, k, v sub-rows together
KT_GAP, KT_PX = 3.0, 12.0  # under the matrix: each key column's kᵀ, where the K ribbons come in
HEAD_PICKER_Y = 520.0  # "Head 2 (0–11) ‹ ›" and the head cards, under the attention
CARD_PX = 16.0  # the head cards (each head's real pattern)
FRAME_BOTTOM = HEIGHT - 4.0
NOTE_Y = HEIGHT - 10.0  # the legend line at the bottom left

# The columns, left to right: (name, width); names starting with "_" are gaps (some hold a marker).
STRIP_PX = 18.0  # a d-wide vector's box
COLUMN_PLAN = [
    ("_margin", 4), ("tokens", 84), ("_tokens_gap", 6), ("embedding", STRIP_PX), ("_branch_attn", 22),
    ("ln1", STRIP_PX), ("_split", 16), ("qkv", STRIP_PX), ("_into_matrix", 38), ("matrix", 240),
    ("_out_of_matrix", 14), ("z", STRIP_PX), ("_concat", 18), ("attn_out", STRIP_PX), ("_add_attn", 20),
    ("resid_mid", STRIP_PX), ("_branch_mlp", 18), ("ln2", STRIP_PX), ("_widen", 22), ("mlp_pre", 40),
    ("_gelu", 8), ("mlp_post", 40), ("_narrow", 22), ("mlp_out", STRIP_PX), ("_add_mlp", 20),
    ("resid_post", STRIP_PX), ("_into_blocks", 14), ("blocks", 34), ("_out_of_blocks", 10), ("ln_final", STRIP_PX),
    ("_to_output", 26), ("logit", 10), ("candidate", 84), ("bar", 56), ("percent", 50),
]


def _columns() -> dict[str, tuple[float, float]]:
    columns, x = {}, 0.0
    for name, width in COLUMN_PLAN:
        columns[name] = (x, x + width)
        x += width
    return columns


COLUMNS = _columns()
assert COLUMNS["percent"][1] <= WIDTH, COLUMNS["percent"]
MATRIX_PX = COLUMNS["matrix"][1] - COLUMNS["matrix"][0]


def centre(name: str) -> float:
    left, right = COLUMNS[name]
    return (left + right) / 2


# The block's frame (dashed): from the residual's branch before LayerNorm 1 to the sum after the MLP.
FRAME_LEFT, FRAME_RIGHT = COLUMNS["_branch_attn"][0] + 4.0, COLUMNS["_into_blocks"][0] + 6.0
# Where the residual stream branches off round the attention: right of the stack that stands for earlier blocks.
BRANCH_ATTN_X = COLUMNS["_branch_attn"][1] - 6.0
BEFORE_STACK = (COLUMNS["_branch_attn"][0] + 1.0, COLUMNS["_branch_attn"][0] + 10.0)
ARC_TOP = 41.0  # the residual arcs' highest point

# The output: one row per candidate next token, right of the final LayerNorm.
OUTPUT_LEFT = COLUMNS["_to_output"][0]
LOGIT_LEFT, LOGIT_RIGHT = COLUMNS["logit"]
CANDIDATE_LABEL_RIGHT = COLUMNS["candidate"][1] - 4.0
BAR_LEFT, BAR_PX = COLUMNS["bar"][0], COLUMNS["bar"][1] - COLUMNS["bar"][0]
CANDIDATE_TOP, CANDIDATE_PITCH = ROWS_TOP, 31.0


@dataclass(frozen=True)
class Rows:
    """The token rows drawn: which prompt positions (one per row, row = slot), each row's height and centre.
    ``left_out`` earlier positions and ``right_out`` later ones are not drawn."""

    positions: tuple[int, ...]
    left_out: int
    right_out: int = 0

    @classmethod
    def for_prompt(cls, n_tokens: int) -> "Rows":
        """The last ``MAX_TOKENS`` tokens."""
        return cls.window(n_tokens, n_tokens)

    @classmethod
    def window(cls, n_tokens: int, end: int | None) -> "Rows":
        """At most ``MAX_TOKENS`` rows ending before position ``end`` (None: the last token), kept inside the
        prompt: the token column scrolled."""
        end = n_tokens if end is None else int(min(max(end, min(MAX_TOKENS, n_tokens)), n_tokens))
        first = max(0, end - MAX_TOKENS)
        return cls(tuple(range(first, end)), first, n_tokens - end)

    @property
    def n(self) -> int:
        return len(self.positions)

    @property
    def height(self) -> float:
        return float(min(ROW_MAX_PX, ROWS_SPAN / max(self.n, 1)))

    @property
    def bottom(self) -> float:
        return ROWS_TOP + self.n * self.height

    @property
    def slots(self) -> np.ndarray:
        return np.arange(self.n)

    def y(self, slot) -> np.ndarray:
        return ROWS_TOP + (np.asarray(slot, dtype=float) + 0.5) * self.height

    @property
    def centres(self) -> np.ndarray:
        return self.y(self.slots)

    def half(self, fraction: float = STRIP_FRACTION) -> float:
        return self.height * fraction / 2

    @property
    def matrix_cell(self) -> float:
        """Width of one key column of the attention matrix."""
        return float(min(MATRIX_PX / max(self.n, 1), self.height))

    @property
    def matrix_left(self) -> float:
        return COLUMNS["matrix"][0]

    @property
    def matrix_right(self) -> float:
        return self.matrix_left + self.n * self.matrix_cell

    def column_x(self, slot) -> np.ndarray:
        """The centre of key column ``slot`` of the attention matrix."""
        return self.matrix_left + (np.asarray(slot, dtype=float) + 0.5) * self.matrix_cell

    @property
    def kt_top(self) -> float:
        return self.bottom + KT_GAP

    @property
    def kt_bottom(self) -> float:
        return self.kt_top + KT_PX

    @property
    def value_lane(self) -> float:
        """The depth at which the V ribbons run under the attention matrix to z."""
        return min(self.kt_bottom + 34.0, HEAD_PICKER_Y - 22.0)

    def qkv_sub_rows(self) -> tuple[np.ndarray, float]:
        """Centres [n, 3] of each token's q, k, v sub-rows, and their half height."""
        total = self.height * QKV_FRACTION
        gap = 1.0
        sub = (total - 2 * gap) / 3
        top = self.centres - total / 2
        offsets = np.array([sub / 2, sub * 1.5 + gap, sub * 2.5 + 2 * gap])
        return top[:, None] + offsets[None, :], sub / 2


def card_geometry(n_head: int) -> tuple[np.ndarray, float, float]:
    """Lefts of the head cards (one per head, left to right, under the matrix), their top and side."""
    pitch = min(CARD_PX + 4.0, (MATRIX_PX + 40.0) / max(n_head, 1))
    side = min(CARD_PX, pitch - 2.0)
    left = COLUMNS["matrix"][0] + 180.0
    return left + np.arange(n_head) * pitch, HEAD_PICKER_Y + 10.0 - side / 2, float(side)


def candidate_centres(n_rows: int) -> np.ndarray:
    return CANDIDATE_TOP + (np.arange(n_rows) + 0.5) * CANDIDATE_PITCH


def dims_label(shown: int, total: int, words: Translator | None = None) -> str:
    words = words or translator()
    return (words("picture.dims_some", last=shown - 1, total=total) if shown < total
            else words("picture.dims_all", total=total))
