"""Float32 layers at the training size: conversion with colour change, spill-free resizing, merging.

Layout: colours are CHW (3xHxW) and alphas HxW, float32 in [0, 1], the layout the tensors leave
in, so no float array is ever transposed (integer pixels are, at a quarter or half the bytes).
The loader composites *after* resizing, in float32, so the returned tensors satisfy
``composite = alpha * fg + (1 - alpha) * bg`` exactly (the clean composite the losses compare
against), whatever the crop scale was.

Spill: a shipped foreground is valid only where alpha > 0; resampling it mixes the invalid
colours at alpha = 0 into the edge (thesis Ch. 4.3.5, Fig. 4.4). A re-estimated ``fg_full`` is
valid everywhere and is resized directly. A shipped one is resized *premultiplied*:
``F' = resize(alpha * F) / resize(alpha)``, where the invalid colours carry zero weight, so no
spill reaches the result either; ``F'`` is then valid only where ``resize(alpha) > 0``.
"""

from __future__ import annotations

import numpy as np

from training.data.windows import resize_square

_FULL_SCALE = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


def _full_scale(dtype: np.dtype) -> int:
    try:
        return _FULL_SCALE[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"expected uint8 or uint16 pixels, got {dtype}") from None


def unit_float(array: np.ndarray) -> np.ndarray:
    """uint8 (/255) or uint16 (/65535) pixels as float32 in [0, 1]. A division, not a product
    with the reciprocal, so full scale maps to exactly 1.0 (the trimap's "opaque")."""
    return array.astype(np.float32) / np.float32(_full_scale(array.dtype))


def tone_table(dtype: np.dtype, gamma: float = 1.0, brightness: float = 1.0) -> np.ndarray:
    """float32 lookup table ``clip((v / full) ** gamma * brightness, 0, 1)`` for every integer
    value ``v`` of ``dtype``: conversion to [0, 1] and the gamma/brightness change in one gather
    (a 65536-entry table costs less than ``np.power`` on a 320 x 320 RGB image)."""
    full = _full_scale(dtype)
    x = np.arange(full + 1, dtype=np.float32) / np.float32(full)
    if gamma != 1.0:
        np.power(x, np.float32(gamma), out=x)
    if brightness != 1.0:
        x *= np.float32(brightness)
    return np.clip(x, 0.0, 1.0, out=x)


def to_chw(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 -> 3xHxW, contiguous."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def resize_colour(rgb: np.ndarray, size: int, gamma: float = 1.0, brightness: float = 1.0) -> np.ndarray:
    """An integer HxWx3 window resized to ``size``^2, as float32 CHW with the colour change."""
    pixels = to_chw(resize_square(rgb, size))
    return tone_table(pixels.dtype, gamma, brightness)[pixels]


def resize_layer(colour: np.ndarray, alpha: np.ndarray, size: int, valid_everywhere: bool,
                 gamma: float = 1.0, brightness: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A source window's (colour HxWx3, alpha HxW; uint8/uint16) as float32 (F 3xSxS, alpha SxS)
    at ``size`` = S, with the colour change applied to F.

    ``valid_everywhere``: the colour is a whole-image foreground (``fg_full``) and is resized as
    is; otherwise it is resized premultiplied (see the module notes) and is 0 where alpha is.
    """
    if valid_everywhere:
        return resize_colour(colour, size, gamma, brightness), unit_float(resize_square(alpha, size))
    a = unit_float(alpha)
    premultiplied = tone_table(colour.dtype, gamma, brightness)[colour] * a[..., None]
    premultiplied = to_chw(resize_square(premultiplied, size))
    a = resize_square(a, size)
    a[a < 1e-6] = 0.0  # resampling round-off; a weight this small carries no colour
    fg = np.divide(premultiplied, a, out=np.zeros_like(premultiplied), where=a > 0)
    return np.clip(fg, 0.0, 1.0, out=fg), np.clip(a, 0.0, 1.0, out=a)


def merge_over(fg_top: np.ndarray, a_top: np.ndarray, fg_under: np.ndarray, a_under: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One layer from two (top over under), float32 CHW colours: ``a = a_t + (1 - a_t) a_u`` and
    ``a F = a_t F_t + (1 - a_t) a_u F_u``, so compositing the result over any B equals compositing
    ``under`` then ``top``. Where ``a = 0`` the top colour is kept (meaningful for ``fg_full``).
    The float twin of ``datagen.compose.blend.merge_layers`` (uint8, rounded), which datagen
    stores; here nothing is rounded, so the composite equation stays exact."""
    weight_under = (1.0 - a_top) * a_under
    alpha = a_top + weight_under
    premultiplied = a_top * fg_top + weight_under * fg_under
    fg = np.divide(premultiplied, alpha, out=fg_top.copy(), where=alpha > 0)
    return np.clip(fg, 0.0, 1.0, out=fg), alpha


def composite(alpha: np.ndarray, fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """``alpha * fg + (1 - alpha) * bg`` (HxW, 3xHxW, 3xHxW float32), as ``bg + alpha (fg - bg)``:
    three passes and one temporary."""
    out = np.subtract(fg, bg)
    out *= alpha
    out += bg
    return out
