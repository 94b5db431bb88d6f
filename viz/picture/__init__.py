"""The picture: one screen showing a transformer block at work on the student's own tokens, every cell a real value.

``PictureView`` (figure.py) puts the stages together; each stage has its own module (embedding, layer_norm, qkv,
attention, residual, mlp, blocks, output), ``layout`` says where everything goes and ``strips``/``ribbons`` are
what the stages are drawn with.
"""

from .figure import PictureView
from .layout import DIMS, HEIGHT, MAX_TOKENS, MLP_DIMS, N_TOP, SLIDER_ROOM, TOTAL_WIDTH

__all__ = ["PictureView", "DIMS", "HEIGHT", "MAX_TOKENS", "MLP_DIMS", "N_TOP", "SLIDER_ROOM", "TOTAL_WIDTH"]
