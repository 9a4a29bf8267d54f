"""Square crop windows in source pixels, their 2x zoom, and resizing a window to the training size.

A window is ``(y, x, side)``: the top-left corner and side of a square in the source image. The
2x sample of a unit uses the centre half of its 1x window (:func:`zoom_window`), resized to the
same output size: the same content at twice the scale, so its output equals the centre crop of
the 1x output upsampled 2x (cv2's half-pixel-centre convention makes the two grids line up exactly
when the side is a multiple of 4).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Window = tuple[int, int, int]


def centred_window(shape: tuple[int, ...], side: int, centre: tuple[int, int]) -> Window:
    """The ``side`` x ``side`` window (side clipped to the image's shorter side) whose centre is
    ``centre = (cy, cx)``, shifted as little as needed to stay inside the image."""
    h, w = shape[:2]
    side = max(1, min(side, h, w))
    y = min(max(centre[0] - side // 2, 0), h - side)
    x = min(max(centre[1] - side // 2, 0), w - side)
    return int(y), int(x), int(side)


def placed_window(shape: tuple[int, ...], side: int, fy: float, fx: float) -> Window:
    """The ``side`` x ``side`` window (clipped to the image) at fractions ``fy, fx`` in [0, 1) of
    the free range: uniform over every position when the fractions are."""
    h, w = shape[:2]
    side = max(1, min(side, h, w))
    return int(fy * (h - side + 1)), int(fx * (w - side + 1)), int(side)


def zoom_window(window: Window) -> Window:
    """The centre half of a window: what a 2x zoom about its centre shows."""
    y, x, side = window
    quarter = side // 4
    return y + quarter, x + quarter, side - 2 * quarter


def cover_side(side: int, object_shape: tuple[int, ...], bg_shape: tuple[int, ...]) -> int:
    """A crop side of ``side`` object pixels in background pixels, with the background scaled to
    cover the object image as the Deep Image Matting recipe does (enlarged when smaller, never
    shrunk): so a background keeps its scale relative to the object whatever the crop."""
    scale = max(1.0, object_shape[0] / bg_shape[0], object_shape[1] / bg_shape[1])
    return max(1, math.floor(side / scale + 0.5))


def window_slices(window: Window) -> tuple[int, int, int, int]:
    """``(y, x, h, w)``: a window as the crop argument of ``datagen.shards.Dataset.read``."""
    y, x, side = window
    return y, x, side, side


def resize_square(array: np.ndarray, size: int) -> np.ndarray:
    """Resize a square HxW[xC] array to ``size`` x ``size``: area filter when shrinking (no
    aliasing of thin hair), bilinear when enlarging; the same dtype comes back."""
    side = array.shape[0]
    if side == size:
        return array
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(array, (size, size), interpolation=interpolation)
