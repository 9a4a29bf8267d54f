"""Clicks and scribbles painted into the arrays models take: disks, single pixels, sparse trimaps.

A disk (:func:`paint_disks`, :func:`click_trimap`) is what the interactive matting network and
the click baselines see: the decoder reads the masks directly as a guide, and a one-pixel seed
is easily lost when a test image is resized or padded; radius 3 (:data:`CLICK_RADIUS_PX`) is
what both use, so the learned and classic methods get the same seeds. Later clicks paint over
earlier ones, so a correction on the same spot wins, as a user expects. The interactive
segmentation network instead reads single pixels (:func:`click_masks`) and smooths them itself
into Gaussian click maps.

Scribbles are either a sparse trimap (:func:`scribble_trimap`, for matting networks) or, for a
network trained on point clicks, one click per stroke (:func:`scribble_clicks`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from scipy import ndimage

from datagen.compose.trimap import BG, FG, UNKNOWN
from training.clicks import Click, check_clicks
from training.clicks.robots import padded_edt

CLICK_RADIUS_PX = 3


def paint_disks(shape: tuple[int, int], clicks: Sequence[Click], scale: float, radius: int,
                pos_value: int, neg_value: int, out: np.ndarray) -> np.ndarray:
    """Paint each click, its coordinates times ``scale``, as a disk of ``radius`` pixels of ``out``
    (``shape``: its H, W); later clicks paint over earlier ones."""
    h, w = shape
    for y, x, positive in clicks:
        cy = min(h - 1, int(y * scale))
        cx = min(w - 1, int(x * scale))
        cv2.circle(out, (cx, cy), radius, int(pos_value if positive else neg_value), -1)
    return out


def click_trimap(shape: tuple[int, int], clicks: Sequence[Click], radius: int = CLICK_RADIUS_PX) -> np.ndarray:
    """HxW uint8 sparse trimap: a disk of ``radius`` px per click (255 positive, 0 negative), 128 elsewhere."""
    if radius < 0:
        raise ValueError(f"click radius must be >= 0 px, got {radius}")
    h, w = shape
    check_clicks(clicks, (h, w))
    trimap = np.full((h, w), UNKNOWN, np.uint8)
    return paint_disks((h, w), clicks, 1.0, radius, FG, BG, trimap)


def click_masks(shape: tuple[int, int], clicks: Sequence[Click]) -> np.ndarray:
    """2xHxW float32: 1 at each positive click (channel 0) and each negative click (channel 1)."""
    masks = np.zeros((2, *shape), np.float32)
    for y, x, positive in clicks:
        masks[0 if positive else 1, y, x] = 1.0
    return masks


def scribble_masks(fg_scribble: np.ndarray, bg_scribble: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two scribble images (any non-zero pixel is scribbled) as bool masks. A pixel in both is a
    contradiction no network can resolve (an iseg network would take whichever label is forced
    last): a ``ValueError`` counting them, for matting and segmentation alike."""
    fg, bg = np.asarray(fg_scribble) != 0, np.asarray(bg_scribble) != 0
    if fg.shape != bg.shape or fg.ndim != 2:
        raise ValueError(f"the FG and BG scribbles must be two HxW masks of one size, got {fg.shape} and {bg.shape}")
    both = int((fg & bg).sum())
    if both:
        raise ValueError(f"the FG and BG scribbles overlap on {both} pixels")
    return fg, bg


def scribble_trimap(fg_scribble: np.ndarray, bg_scribble: np.ndarray) -> np.ndarray:
    """HxW uint8 sparse trimap from two scribble masks (any non-zero pixel is scribbled).

    A pixel in both is refused (:func:`scribble_masks`).
    """
    fg, bg = scribble_masks(fg_scribble, bg_scribble)
    trimap = np.full(fg.shape, UNKNOWN, np.uint8)
    trimap[fg] = FG
    trimap[bg] = BG
    return trimap


def scribble_clicks(fg: np.ndarray, bg: np.ndarray) -> list[Click]:
    """One click per 8-connected stroke of the FG (positive) and BG (negative) scribble masks, at
    the stroke's interior point (the pixel farthest from its border, the robots' rule); the
    largest FG stroke first (a session's first click is positive), then the rest by decreasing
    size (ties: FG first, then row-major order of the stroke's first pixel). Overlapping FG and
    BG scribbles are refused (:func:`scribble_masks`)."""
    strokes = []
    for positive, mask in zip((True, False), scribble_masks(fg, bg), strict=True):
        labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
        for label, box in enumerate(ndimage.find_objects(labels), start=1):
            stroke = labels[box] == label
            y, x = np.unravel_index(int(np.argmax(padded_edt(stroke))), stroke.shape)
            strokes.append((int(stroke.sum()), positive, (int(y) + box[0].start, int(x) + box[1].start, positive)))
    if not strokes:
        raise ValueError("the FG and BG scribbles are both empty")
    ordered = sorted(strokes, key=lambda s: (-s[0], not s[1]))        # stable: row-major order within ties
    first = next((s for s in ordered if s[1]), ordered[0])
    return [first[2]] + [s[2] for s in ordered if s is not first]
