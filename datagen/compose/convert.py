"""Conversions between stored pixel values and the float ranges models and metrics work in.

Stored alphas keep their source precision (uint8 or uint16), models emit floats or uint8, and
the matting metrics are defined on 8-bit mattes (metrics spec §0.1). These few rules live in one
place so that datagen's recipes, training's loaders and the evaluation agree to the last bit.
"""

from __future__ import annotations

import numpy as np


def to_unit_float(array: np.ndarray) -> np.ndarray:
    """uint8 (/255) or uint16 (/65535) pixels, or floats (clipped), to float64 in [0, 1]."""
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float64) / 65535.0
    return np.clip(array.astype(np.float64), 0.0, 1.0)


def to_uint8(array: np.ndarray) -> np.ndarray:
    """uint8 passes through; uint16 (0..65535) becomes uint8 rounded to nearest, ``round(x / 257)``
    (65535 -> 255, 128 -> 0, 129 -> 1): the one 16-bit to 8-bit rule of both packages, for images
    and alphas alike. Anything else is a TypeError.

    ``x / 257`` is never within float32 error of a half (257 is odd), so OpenCV's rounding of
    ``x * (1 / 257)`` is exact, and about 10x faster than integer numpy on an image.
    """
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    if array.dtype != np.uint16:
        raise TypeError(f"expected uint8 or uint16 pixels, got {array.dtype}")
    if array.ndim in (2, 3) and array.shape[-1 if array.ndim == 3 else 0] and (array.ndim == 2 or array.shape[2] <= 4):
        import cv2

        return cv2.convertScaleAbs(np.ascontiguousarray(array), alpha=1.0 / 257.0).reshape(array.shape)
    return ((array.astype(np.uint32) * 2 + 257) // 514).astype(np.uint8)


def to_probability(out: np.ndarray) -> np.ndarray:
    """A model's map as float32: uint8 is read as 0..255 -> [0, 1]; floats pass through unclipped.

    Floats are not clipped on purpose: a protocol thresholds them, and clipping would hide a
    model that emits values outside [0, 1].
    """
    out = np.asarray(out)
    return out.astype(np.float32) / 255.0 if out.dtype == np.uint8 else out.astype(np.float32)


def quantize_alpha(alpha: np.ndarray) -> np.ndarray:
    """Float alpha in [0, 1] -> uint8 by round-to-nearest and clip (metrics spec §0.1).

    uint8 passes through; other integer types must already hold 0..255 values.
    """
    alpha = np.asarray(alpha)
    if alpha.dtype == np.uint8:
        return alpha
    if np.issubdtype(alpha.dtype, np.integer):
        if alpha.size and (alpha.min() < 0 or alpha.max() > 255):
            raise TypeError(f"alpha of dtype {alpha.dtype} has values outside 0..255; quantise floats in [0, 1] instead")
        return alpha.astype(np.uint8)
    return np.clip(np.rint(alpha.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """A stored alpha at source precision -> the 8-bit matte the metrics are defined on.

    uint16 by :func:`to_uint8`; floats and uint8 as in :func:`quantize_alpha`.
    """
    alpha = np.asarray(alpha)
    if alpha.dtype == np.uint16:
        return to_uint8(alpha)
    return quantize_alpha(alpha)
