"""Exact integer alpha compositing: ``C = a*F + (1-a)*B`` on uint8 images.

Why integers: a composite stored as uint8 must be reproducible bit for bit and checkable
against a closed form. With ``a`` in 0..255 the blend ``a*F + (255-a)*B`` is an integer in
0..65025, and ``round(x / 255)`` of such an integer is ``(t + (t >> 8)) >> 8`` with
``t = x + 128`` (exact over the whole range; the test checks every value). Everything
stays in uint16, so there are no float temporaries and no rounding-mode ambiguity.

Why a compiled kernel: the numpy version of that formula makes five passes over uint16
temporaries; one fused loop that skips alpha = 0 and copies alpha = 255 is ~5-10x faster
(tests/bench/synth_seg.py), and the arithmetic is the same integers, so results are identical.
numba caches the compiled kernel on disk (first use in a fresh checkout compiles for ~1 s).
"""

from __future__ import annotations

import numba
import numpy as np


def div255_round(x: np.ndarray) -> np.ndarray:
    """``round(x / 255)`` (halves up) for uint16 ``x`` in 0..65025, returned as uint8."""
    t = x + np.uint16(128)
    t += t >> 8
    t >>= 8
    return t.astype(np.uint8)


def alpha_bbox(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """Tight ``(y0, y1, x0, x1)`` box (half-open) around alpha > 0, or None when empty."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(alpha.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def blend_rounded(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Return ``round((a*F + (255-a)*B) / 255)`` for uint8 HxWx3 ``fg``/``bg`` and HxW ``alpha``.

    Rounded to nearest (halves up), so it is the closed form our own sets are checked against;
    the Deep Image Matting recipe truncates instead (`datagen.benchmarks.dim_recipe.blend_truncated`).
    """
    return composite_over(bg.copy(), fg, alpha)


def composite_over(canvas: np.ndarray, fg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite ``fg`` with ``alpha`` over ``canvas`` in place; returns ``canvas``.

    ``canvas`` may be a window (view) of a larger image. Equal to ``blend_rounded(fg, canvas, alpha)``.
    """
    _check(fg, canvas, alpha)
    _over(canvas, fg, alpha)
    return canvas


@numba.njit(cache=True, nogil=True)
def _over(canvas, fg, alpha):  # pragma: no cover (compiled)
    height, width = alpha.shape
    for y in range(height):
        for x in range(width):
            a = np.uint32(alpha[y, x])
            if a == 0:
                continue
            if a == 255:
                for c in range(3):
                    canvas[y, x, c] = fg[y, x, c]
                continue
            b = np.uint32(255) - a
            for c in range(3):
                t = a * np.uint32(fg[y, x, c]) + b * np.uint32(canvas[y, x, c]) + np.uint32(128)
                canvas[y, x, c] = (t + (t >> np.uint32(8))) >> np.uint32(8)


def _check(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> None:
    if fg.dtype != np.uint8 or bg.dtype != np.uint8 or alpha.dtype != np.uint8:
        raise TypeError(f"blend needs uint8 inputs, got fg {fg.dtype}, bg {bg.dtype}, alpha {alpha.dtype}")
    if fg.shape != bg.shape or fg.shape[:2] != alpha.shape or fg.ndim != 3:
        raise ValueError(f"shape mismatch: fg {fg.shape}, bg {bg.shape}, alpha {alpha.shape}")


def merge_layers(
    fg_top: np.ndarray, a_top: np.ndarray, fg_under: np.ndarray, a_under: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One foreground layer from two: ``top`` over ``under``, as a (colour, alpha) pair.

    ``a = a_t + (1 - a_t) a_u`` and ``F = (a_t F_t + (1 - a_t) a_u F_u) / a``, so that
    ``a F + (1 - a) B`` equals compositing ``under`` then ``top`` over any B (up to the
    final rounding to uint8). Where ``a = 0`` the top colour is kept, which stays
    meaningful when the inputs are whole-image foregrounds (``fg_full``).
    This is the "second foreground" augmentation of FBA training (thesis Ch. 4.3.6).
    """
    at = a_top.astype(np.float32)[..., None] / 255
    au = a_under.astype(np.float32)[..., None] / 255
    cover = at + (1 - at) * au
    premult = at * fg_top + (1 - at) * au * fg_under
    safe = np.where(cover > 0, cover, 1)
    colour = np.where(cover > 0, premult / safe, fg_top)
    alpha = np.uint8(255) - div255_round((np.uint16(255) - a_top) * (np.uint16(255) - a_under.astype(np.uint16)))
    return np.clip(np.rint(colour), 0, 255).astype(np.uint8), alpha
