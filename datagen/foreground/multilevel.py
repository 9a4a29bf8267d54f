"""Germer et al.'s multi-level foreground/background estimation, in plain numpy.

"Fast Multi-Level Foreground Estimation" (Germer, Uelwer, Conrad, Harmeling, ICPR 2020) solves a
Levin-like energy (4 neighbours, smoothness weight ``eps + |grad alpha|``) approximately: start
at 1x1, then at every level double the resolution, upsample F and B, and run a few local
updates. Each update gives one pixel the exact minimiser of its 2x2 problem given its
neighbours. We sweep red-black (checkerboard) so a sweep is two vectorised half-steps instead of
a per-pixel loop: no compilation step (pymatting's numba kernels cost ~40 s cold), same algorithm.
It serves as the `multilevel` method and as the initial guess of the closed-form solver.
"""

from __future__ import annotations

import cv2
import numpy as np

_OFFSETS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def _resize(array: np.ndarray, h: int, w: int) -> np.ndarray:
    """Nearest-neighbour resize (keeps the matte's values; averaging would invent colours)."""
    return cv2.resize(array, (w, h), interpolation=cv2.INTER_NEAREST)


def _neighbours(array: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``array[y + dy, x + dx]`` with edge replication (weights of outside neighbours are zeroed)."""
    padded = np.pad(array, ((1, 1), (1, 1)) + ((0, 0),) * (array.ndim - 2), mode="edge")
    h, w = array.shape[:2]
    return padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]


def _sweep(f: np.ndarray, b: np.ndarray, image: np.ndarray, alpha: np.ndarray, weights: list, parity: list) -> None:
    """One red-black sweep of exact per-pixel updates, in place."""
    a = alpha[..., None]
    total = sum(weights)[..., None]
    d_f = a * a + total
    d_b = (1.0 - a) ** 2 + total
    c = a * (1.0 - a)
    det = d_f * d_b - c * c
    solvable = det[..., 0] > 0  # no neighbour and alpha in {0, 1}: keep the upsampled value
    det = np.where(det > 0, det, 1.0)
    parity = [mask & solvable for mask in parity]
    for mask in parity:
        sum_f = sum(wt[..., None] * _neighbours(f, dy, dx) for wt, (dy, dx) in zip(weights, _OFFSETS))
        sum_b = sum(wt[..., None] * _neighbours(b, dy, dx) for wt, (dy, dx) in zip(weights, _OFFSETS))
        r_f = a * image + sum_f
        r_b = (1.0 - a) * image + sum_b
        new_f = (d_b * r_f - c * r_b) / det
        new_b = (d_f * r_b - c * r_f) / det
        f[mask] = np.clip(new_f[mask], 0.0, 1.0)
        b[mask] = np.clip(new_b[mask], 0.0, 1.0)


def estimate_fb_multilevel(
    image: np.ndarray,
    alpha: np.ndarray,
    regularization: float = 1e-5,
    gradient_weight: float = 1.0,
    n_small_iterations: int = 10,
    n_big_iterations: int = 2,
    small_size: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """F and B (HxWx3 float64 in [0, 1]) for `image` HxWx3 and `alpha` HxW in [0, 1].

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
    for level in range(n_levels + 1):
        h = max(1, round(h0 ** (level / n_levels))) if n_levels else h0
        w = max(1, round(w0 ** (level / n_levels))) if n_levels else w0
        f = _resize(f, h, w).reshape(h, w, 3)
        b = _resize(b, h, w).reshape(h, w, 3)
        img = _resize(image, h, w).reshape(h, w, 3)
        alp = _resize(alpha, h, w).reshape(h, w)
        ys, xs = np.mgrid[0:h, 0:w]
        inside = [
            (ys + dy >= 0) & (ys + dy < h) & (xs + dx >= 0) & (xs + dx < w) for dy, dx in _OFFSETS
        ]
        weights = [
            np.where(ok, regularization + gradient_weight * np.abs(alp - _neighbours(alp, dy, dx)), 0.0)
            for ok, (dy, dx) in zip(inside, _OFFSETS)
        ]
        parity = [(ys + xs) % 2 == 0, (ys + xs) % 2 == 1]
        sweeps = n_small_iterations if max(h, w) <= small_size else n_big_iterations
        for _ in range(sweeps):
            _sweep(f, b, img, alp, weights, parity)
    return f, b
