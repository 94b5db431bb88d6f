"""The picture: one screen showing a transformer block at work on the student's own tokens, every number real.

``PictureView`` (figure.py) puts the stages together; each stage has its own module (embedding, layer_norm, qkv,
attention, residual, mlp, blocks, output, pickers), ``layout`` says where everything goes, ``canvas`` draws it in
either direction, ``fit`` scales it to the window, and ``strips``/``ribbons`` are what the stages are drawn with.
"""

from .figure import PictureView
from .layout import DIMS, HEIGHT, MAX_TOKENS, MLP_DIMS, N_TOP, TOTAL_WIDTH, WIDTH

__all__ = ["PictureView", "DIMS", "HEIGHT", "MAX_TOKENS", "MLP_DIMS", "N_TOP", "TOTAL_WIDTH", "WIDTH"]
