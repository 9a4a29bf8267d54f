"""Germer et al.'s multi-level foreground/background estimation.

"Fast Multi-Level Foreground Estimation" (Germer, Uelwer, Conrad, Harmeling, ICPR 2020) solves a
Levin-like energy (4 neighbours, smoothness weight ``eps + |grad alpha|``) approximately: start
at 1x1, then at every level double the resolution, upsample F and B, and run a few local
updates. Each update gives one pixel the exact minimiser of its 2x2 problem given its
neighbours. We sweep red-black (checkerboard): the pixels of one colour depend only on the
other colour, so rows run in parallel and the result does not depend on the thread count.
This is the `multilevel` method (the fast, approximate option of `refit-foregrounds`).
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

_OFFSETS = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)], dtype=np.int64)


def _resize(array: np.ndarray, h: int, w: int) -> np.ndarray:
    """Nearest-neighbour resize (keeps the matte's values; averaging would invent colours)."""
    return cv2.resize(array, (w, h), interpolation=cv2.INTER_NEAREST)


@numba.njit(cache=True, parallel=True)
def _sweeps(f, b, image, alpha, regularization, gradient_weight, sweeps):
    """`sweeps` red-black sweeps of exact per-pixel updates of F and B (clipped to [0, 1]), in
    place; a pixel with no neighbour (the 1x1 level) keeps its upsampled value."""
    h, w = alpha.shape
    for _ in range(sweeps):
        for parity in range(2):
            for y in numba.prange(h):
                for x in range((y + parity) % 2, w, 2):
                    a = alpha[y, x]
                    total = 0.0
                    f0 = f1 = f2 = b0 = b1 = b2 = 0.0
                    for k in range(4):
                        ny, nx = y + _OFFSETS[k, 0], x + _OFFSETS[k, 1]
                        if 0 <= ny < h and 0 <= nx < w:
                            weight = regularization + gradient_weight * abs(a - alpha[ny, nx])
                            total += weight
                            f0 += weight * f[ny, nx, 0]
                            f1 += weight * f[ny, nx, 1]
                            f2 += weight * f[ny, nx, 2]
                            b0 += weight * b[ny, nx, 0]
                            b1 += weight * b[ny, nx, 1]
                            b2 += weight * b[ny, nx, 2]
                    d_f = a * a + total
                    d_b = (1.0 - a) ** 2 + total
                    c = a * (1.0 - a)
                    # d_f d_b - c^2 in factored form: as a difference it cancels to rounding noise
                    # where `total` is 0 (a lone pixel) and then divides by it
                    det = total * (a * a + (1.0 - a) ** 2 + total)
                    if det <= 0.0:
                        continue
                    inv = 1.0 / det
                    for ch, s_f, s_b in ((0, f0, b0), (1, f1, b1), (2, f2, b2)):
                        r_f = a * image[y, x, ch] + s_f
                        r_b = (1.0 - a) * image[y, x, ch] + s_b
                        f[y, x, ch] = min(max((d_b * r_f - c * r_b) * inv, 0.0), 1.0)
                        b[y, x, ch] = min(max((d_f * r_b - c * r_f) * inv, 0.0), 1.0)


def estimate_fb_multilevel(
    image: np.ndarray,
    alpha: np.ndarray,
    regularization: float = 1e-5,
    gradient_weight: float = 1.0,
    n_small_iterations: int = 10,
    n_big_iterations: int = 2,
    small_size: int = 32,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """F and B (HxWx3 float64 in [0, 1]) for `image` HxWx3 and `alpha` HxW in [0, 1], and the
    solve's facts: ``levels`` (resolutions visited) and ``sweeps`` (red-black sweeps in all).

    Defaults follow the paper (and pymatting): levels whose larger side is at most `small_size`
    get `n_small_iterations` sweeps, larger ones `n_big_iterations`.
    """
    image = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    alpha = np.clip(np.asarray(alpha, dtype=np.float64), 0.0, 1.0)
    h0, w0 = alpha.shape
    n_levels = int(np.ceil(np.log2(max(h0, w0, 1))))
    mean = image.reshape(-1, 3).mean(axis=0)
    f = np.broadcast_to(mean, (1, 1, 3)).copy()
    b = f.copy()
    total_sweeps = 0
    for level in range(n_levels + 1):
        h = max(1, round(h0 ** (level / n_levels))) if n_levels else h0
        w = max(1, round(w0 ** (level / n_levels))) if n_levels else w0
        f = _resize(f, h, w).reshape(h, w, 3)
        b = _resize(b, h, w).reshape(h, w, 3)
        img = _resize(image, h, w).reshape(h, w, 3)
        alp = _resize(alpha, h, w).reshape(h, w)
        sweeps = n_small_iterations if max(h, w) <= small_size else n_big_iterations
        _sweeps(f, b, img, alp, regularization, gradient_weight, sweeps)
        total_sweeps += sweeps
    return f, b, {"levels": n_levels + 1, "sweeps": total_sweeps}
