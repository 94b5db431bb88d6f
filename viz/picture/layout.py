"""Where every stage of the picture goes: one function of the number of token rows, in pixels.

The picture is drawn in pixel units (x right, y down from the top), so text sizes, strip widths and gaps can be
reasoned about directly. The columns never move: every prompt of any length puts each stage at the same x, only
the height of a token row changes (prompts of up to ``ROWS_FOR_MAX_HEIGHT`` tokens get taller rows). Long prompts
show their last ``MAX_TOKENS`` tokens, one row each, and say how many earlier ones are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..i18n import Translator, translator

MAX_TOKENS = 16  # rows drawn; a longer prompt shows its last 16 and says "+N earlier"
DIMS = 16  # dimensions of a d-wide (or d_head-wide) vector drawn as a strip: dims 0..15
MLP_DIMS = 32  # dimensions of the 4d-wide MLP hidden vector drawn: dims 0..31
STRIP_PX = 36.0  # width of a 16-dimension strip (2.25 px per dimension); the MLP strips are twice as wide
MATRIX_PX = 224.0  # the attention matrix's box (16 key columns of 14 px; fewer tokens get wider columns)
CARD_PX = 26.0  # the head cards beside the matrix

HEIGHT = 600
SLIDER_ROOM = 64  # above the output figure: room for the app's temperature slider (same height in the page)
OUTPUT_WIDTH = 220
ROWS_TOP = 100.0  # y of the first token row's top edge
ROWS_SPAN = 368.0  # the most the token rows take (16 rows of 23 px)
ROW_MAX_PX = 34.0  # short prompts: rows no taller than this
STRIP_FRACTION = 0.62  # a strip is this share of its row's height (the rest is the gap between rows)
WIDE_FRACTION = 0.86  # the MLP hidden strips: 4d, drawn taller (the ribbons widen into them)
QKV_FRACTION = 0.9  # the three q, k, v sub-rows together

# The columns, left to right: (name, width); names starting with "_" are gaps (some hold a marker).
COLUMN_PLAN = [
    ("_margin", 4), ("tokens", 76), ("_tokens_gap", 10), ("embedding", STRIP_PX), ("_branch_attn", 24),
    ("ln1", STRIP_PX), ("_split", 24), ("qkv", STRIP_PX), ("_into_matrix", 18), ("matrix", MATRIX_PX),
    ("_cards_gap", 6), ("heads", CARD_PX), ("_out_of_matrix", 22), ("z", STRIP_PX), ("_concat", 22),
    ("attn_out", STRIP_PX), ("_add_attn", 22), ("resid_mid", STRIP_PX), ("_branch_mlp", 18), ("ln2", STRIP_PX),
    ("_widen", 18), ("mlp_pre", 2 * STRIP_PX), ("_gelu", 20), ("mlp_post", 2 * STRIP_PX), ("_narrow", 18),
    ("mlp_out", STRIP_PX), ("_add_mlp", 22), ("resid_post", STRIP_PX), ("_into_blocks", 14), ("blocks", 40),
    ("_out_of_blocks", 14), ("ln_final", STRIP_PX), ("_to_output", 14),
]


def _columns() -> dict[str, tuple[float, float]]:
    columns, x = {}, 0.0
    for name, width in COLUMN_PLAN:
        columns[name] = (x, x + width)
        x += width
    return columns


COLUMNS = _columns()
MAIN_WIDTH = round(COLUMNS["_to_output"][1])
TOTAL_WIDTH = MAIN_WIDTH + OUTPUT_WIDTH


def centre(name: str) -> float:
    left, right = COLUMNS[name]
    return (left + right) / 2


# Where the residual stream branches off round the attention: right of the stack that stands for earlier blocks.
BRANCH_ATTN_X = COLUMNS["_branch_attn"][1] - 5.0
BEFORE_STACK = (COLUMNS["_branch_attn"][0] + 2.0, COLUMNS["_branch_attn"][0] + 13.0)


# Header zone, top to bottom.
GROUP_Y, BRACKET_Y, DIMS_Y, LABEL_Y = 10.0, 19.0, 29.0, 43.0
ARC_TOP = 58.0  # the residual arcs' highest point
NOTE_Y = HEIGHT - 30.0  # the two lines of notes at the bottom left

# The output figure: its own Plot, right of the main one, whose coordinates it continues (x from MAIN_WIDTH; y the
# same, starting below the slider room).
OUTPUT_LEFT = float(MAIN_WIDTH)
LOGIT_LEFT, LOGIT_RIGHT = OUTPUT_LEFT + 10.0, OUTPUT_LEFT + 24.0
CANDIDATE_LABEL_RIGHT = OUTPUT_LEFT + 100.0
BAR_LEFT, BAR_PX = OUTPUT_LEFT + 104.0, 70.0
CANDIDATE_TOP, CANDIDATE_PITCH = 104.0, 26.0
N_TOP = 10  # the most likely next tokens drawn as bars (+ the sampled one when not among them, + "others")


@dataclass(frozen=True)
class Rows:
    """The token rows of one prompt: which positions are drawn, each row's height and centre."""

    positions: tuple[int, ...]  # the prompt positions drawn, one per row (row = slot)
    left_out: int  # earlier positions not drawn

    @classmethod
    def for_prompt(cls, n_tokens: int) -> "Rows":
        first = max(0, n_tokens - MAX_TOKENS)
        return cls(tuple(range(first, n_tokens)), first)

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

    def qkv_sub_rows(self) -> tuple[np.ndarray, float]:
        """Centres [n, 3] of each token's q, k, v sub-rows, and their half height."""
        total = self.height * QKV_FRACTION
        gap = 1.5
        sub = (total - 2 * gap) / 3
        top = self.centres - total / 2
        offsets = np.array([sub / 2, sub * 1.5 + gap, sub * 2.5 + 2 * gap])
        return top[:, None] + offsets[None, :], sub / 2


def card_geometry(n_head: int) -> tuple[np.ndarray, float]:
    """Tops of the head cards (one per head, top to bottom) and their side length."""
    pitch = min(CARD_PX + 5, ROWS_SPAN / max(n_head, 1))
    side = min(CARD_PX, pitch - 3)
    return ROWS_TOP + np.arange(n_head) * pitch, float(side)


def candidate_centres(n_rows: int) -> np.ndarray:
    return CANDIDATE_TOP + (np.arange(n_rows) + 0.5) * CANDIDATE_PITCH


def dims_label(shown: int, total: int, words: Translator | None = None) -> str:
    words = words or translator()
    return (words("picture.dims_some", last=shown - 1, total=total) if shown < total
            else words("picture.dims_all", total=total))
