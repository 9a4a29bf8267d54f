"""User input for interactive matting: clicks and scribbles as a sparse trimap (thesis Ch. 5.2.1).

"Trimap, clicks or scribbles are all represented as two sparse definite foreground and
background binary masks": here all three become one trimap (255 definite FG, 0 definite BG,
128 everything else), because the FBA network, its predictor and its loss already consume that
form. The trimap's two masks are then encoded exactly as an FBA trimap is: six Gaussians of the
distance to each mask (:func:`training.data.encodings.distance_maps`, sigmas 6.4 / 25.6 /
51.2 px; that module says why 25.6 and not the 25.2 the text once gives).

A click is the evaluation's ``(y, x, is_positive)`` (:mod:`training.evaluation.robots`) and is
painted as a filled disk of ``radius`` pixels. A disk rather than one pixel: the decoder sees the
masks directly as a guide, and a one-pixel seed is easily lost when a test image is resized or
padded; radius 3 is also what the click baselines paint (``baseline:scribble_cf``), so the
learned and classic methods get the same seeds. Later clicks paint over earlier ones, so a
correction on the same spot wins, as a user expects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from datagen.compose.trimap import BG, FG, UNKNOWN, trimap_masks
from training.data.encodings import FBA_SIGMAS_PX, distance_maps
from training.evaluation.baselines import seed_map
from training.evaluation.robots import Click

CLICK_RADIUS_PX = 3


def click_trimap(shape: tuple[int, int], clicks: Sequence[Click], radius: int = CLICK_RADIUS_PX) -> np.ndarray:
    """HxW uint8 sparse trimap: a disk of ``radius`` px per click (255 positive, 0 negative), 128 elsewhere."""
    if radius < 0:
        raise ValueError(f"click radius must be >= 0 px, got {radius}")
    h, w = shape
    check_clicks(clicks, (h, w))
    trimap = np.full((h, w), UNKNOWN, np.uint8)
    return seed_map((h, w), clicks, 1.0, radius, FG, BG, trimap)


def check_clicks(clicks: Sequence[Click], shape: tuple[int, int]) -> None:
    """A ValueError naming the first click outside an image of ``shape`` (H, W), if any."""
    h, w = shape
    for y, x, _ in clicks:
        if not (0 <= y < h and 0 <= x < w):
            raise ValueError(f"click ({y}, {x}) lies outside the {w}x{h} image")


def scribble_trimap(fg_scribble: np.ndarray, bg_scribble: np.ndarray) -> np.ndarray:
    """HxW uint8 sparse trimap from two scribble masks (any non-zero pixel is scribbled).

    A pixel in both is a contradiction the network cannot resolve: a ``ValueError`` counting them.
    """
    fg, bg = np.asarray(fg_scribble) != 0, np.asarray(bg_scribble) != 0
    if fg.shape != bg.shape or fg.ndim != 2:
        raise ValueError(f"the FG and BG scribbles must be two HxW masks of one size, got {fg.shape} and {bg.shape}")
    both = int((fg & bg).sum())
    if both:
        raise ValueError(f"the FG and BG scribbles overlap on {both} pixels")
    trimap = np.full(fg.shape, UNKNOWN, np.uint8)
    trimap[fg] = FG
    trimap[bg] = BG
    return trimap


def user_input(trimap: np.ndarray, sigmas_px: Sequence[float] = FBA_SIGMAS_PX) -> tuple[np.ndarray, np.ndarray]:
    """The network's user-input tensors for a (sparse) trimap: ``trimap2`` 2xHxW float32 {0, 1}
    (FG, BG masks) and the 6xHxW distance-Gaussian maps."""
    is_fg, is_bg = trimap_masks(trimap)
    return np.stack([is_fg, is_bg]).astype(np.float32), distance_maps(is_fg, is_bg, sigmas_px)
