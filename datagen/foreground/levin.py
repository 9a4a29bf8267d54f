"""Levin et al.'s closed-form foreground/background reconstruction (`solveFB` of Closed-Form Matting).

Energy (per colour channel, F and B unknown at every pixel), as in the authors' `solveFB.m`:

* composite term ``(a F + (1 - a) B - I)^2`` at every pixel;
* smoothness ``w_e^2 (F_j - F_i)^2`` (and the same for B) on the 8-neighbour edges that touch
  the band ``margin <= a <= 1 - margin``, with ``w_e = sqrt|a_j - a_i| + 0.003 (1 - a_j)``
  for F and ``+ 0.003 a_j`` for B, so colours diffuse along the matte and barely across it;
* colour priors, squared weights of ``100 [a > 1 - margin] + 0.01 [a < margin]`` pulling F
  towards ``I [a > margin]`` (mirror image for B), plus, with `soft_priors`, ``0.03 a [a > 0.7]``
  in the weight of F's (``0.03 (1 - a) [a < 0.3]`` in B's).

With the original settings (``margin = 0.02``, 8 neighbours, soft priors) F is pinned to I
where a > 0.98 and pulled to black where a < 0.02. With ``margin = 0`` every edge exists and the
pins vanish, so F is the smooth (harmonic) extension of the object colours over the whole image:
this is what re-fitting a foreground needs. The soft priors are off by default: they act per
pixel, so their pull grows with the pixel count while the smoothness of a smooth F does not, and
the larger the image the more they drag F towards the image colour in semi-opaque pixels, where
I is not F (demo objects' mean F error is lower without them at every size measured, 128 px to
4 MP; 1 MP fur 0.95 against 1.20, pymatting cf 1.00; docs/foreground.md).

Solving. The normal equations are a regular grid stencil (per pixel a 2x2 F/B block from the
composite term and priors, per edge one weight per field), so they are never stored as a sparse
matrix: `gridmg` builds a geometric multigrid hierarchy on the stencil (2x2 aggregates, Galerkin
coarse stencils, block Gauss-Seidel smoothing that solves each pixel's F/B pair exactly) and runs
conjugate gradients preconditioned by one V-cycle, the three channels together, from F = B = I.
The stopping rule is on the diagonally rescaled residual (diagonals span 1e-5 .. 1e4, so a raw
residual is meaningless). The default 1e-5 is set by accuracy, measured (docs/foreground.md):
on the 20 alphamatting.com objects (real alphas over other photographs, F known) it moves the
F error in 0 < alpha < 1 by at most 0.03/255 from the exact minimiser's, which is below
pymatting cf's on every object (by 0.4-1.1/255), and leaves F within 0.07/255 (mean; 0.19 at
most) of the exact minimiser, a fifth of the 8-bit input's quantisation step; 1e-6 costs 2.2x
the iterations for none of it. The original settings' pins (weight 1e4) need 1e-6 to match
the MATLAB outputs, so `ORIGINAL_SETTINGS` carries that tolerance.
"""

from __future__ import annotations

import numba
import numpy as np

from datagen.foreground.gridmg import DIRECTIONS, Multigrid, Stencil, conjugate_gradients

# solveFB.m as published (a direct solve there: 1e-5 leaves B 0.011 from MATLAB's, 1e-6 0.003)
ORIGINAL_SETTINGS = {"margin": 0.02, "neighbours": 8, "soft_priors": True, "tol": 1e-6}
_SOFT_PRIOR = 0.03  # solveFB.m's weight of the soft colour priors


def _validate(image: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image, dtype=np.float64)
    alpha = np.asarray(alpha, dtype=np.float64)
    if alpha.ndim != 2 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected image HxWx3 and alpha HxW, got {image.shape} and {alpha.shape}")
    if image.shape[:2] != alpha.shape:
        raise ValueError(f"image is {image.shape[:2]} but alpha is {alpha.shape}")
    if not (np.isfinite(image).all() and np.isfinite(alpha).all()):
        raise ValueError("image or alpha holds NaN or infinite values")
    return np.clip(image, 0.0, 1.0), np.clip(alpha, 0.0, 1.0)


def estimate_fb_levin(
    image: np.ndarray,
    alpha: np.ndarray,
    margin: float = 0.0,
    neighbours: int = 4,
    soft_priors: bool = False,
    tol: float = 1e-5,
    max_iter: int = 200,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Foreground and background (HxWx3 float64 in [0, 1]) minimising Levin's solveFB energy, and
    the solve's facts: ``iterations``, ``residual`` (largest relative rescaled residual over the
    channels), ``unknowns`` (size of the linear system per channel: F and B at every pixel).

    `image` HxWx3 and `alpha` HxW are floats in [0, 1]. `margin` is the alpha band near 0 and 1
    whose pixels are pinned as in the original code (0.02 there; 0 here by default, so F is
    extended smoothly over the whole image). `neighbours` = 8 is the original code's stencil
    (horizontal, vertical and both diagonals); 4 is the paper's Eq. 19 (x and y derivatives
    only), the default: on demo objects with exact F it is 10-30% more accurate than 8 (which
    over-smooths), and its system is sparser. `soft_priors` adds solveFB's 0.03-weighted pulls
    towards the image colour (see the module docstring; `ORIGINAL_SETTINGS` has them).
    After the solve F = I where alpha = 1 and B = I
    where alpha = 0 exactly, and both are clipped to [0, 1]. An alpha with no pixel above 0
    (or below 1) leaves F (or B) undetermined: both are set to the image (0 iterations).
    The kernels run on numba's current thread count; the result does not depend on it.
    """
    image, alpha = _validate(image, alpha)
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin}")
    if neighbours not in (4, 8):
        raise ValueError(f"neighbours must be 4 or 8, got {neighbours}")
    if not (alpha > 0).any() or not (alpha < 1).any():
        return image.copy(), image.copy(), {"iterations": 0, "residual": 0.0, "unknowns": 0}

    stencil, rhs, guess = _stencil(image, alpha, margin, neighbours, soft_priors)
    solution, iterations, residual = conjugate_gradients(Multigrid(stencil), rhs, guess, tol, max_iter)
    del stencil, rhs, guess  # the operator and the hierarchy are the bulk of the memory: free them before F, B
    foreground, background = np.empty_like(image), np.empty_like(image)
    _finish(solution, image, alpha, foreground, background)
    return foreground, background, {"iterations": iterations, "residual": residual, "unknowns": 2 * alpha.size}


def _stencil(image: np.ndarray, alpha: np.ndarray, margin: float, neighbours: int,
             soft_priors: bool = False) -> tuple[Stencil, np.ndarray, np.ndarray]:
    """The normal equations as a grid stencil, their right-hand side (H, W, 2 fields, 3 channels)
    and the initial guess F = B = I (the composite term is already met)."""
    h, w = alpha.shape
    dirs = np.array(DIRECTIONS[: 2 if neighbours == 4 else 4], dtype=np.int64)
    stencil = Stencil(*(np.empty((h, w)) for _ in range(3)), *(np.empty((len(dirs), h, w)) for _ in range(2)))
    rhs, guess = np.empty((h, w, 2, 3)), np.empty((h, w, 2, 3))
    soft = _SOFT_PRIOR if soft_priors else 0.0
    _assemble(image, alpha, margin, soft, dirs, stencil.self_f, stencil.self_b, stencil.cross, stencil.edges_f,
              stencil.edges_b, rhs, guess)
    return stencil, rhs, guess


@numba.njit(cache=True, parallel=True)
def _assemble(image, alpha, margin, soft, dirs, self_f, self_b, cross, edges_f, edges_b, rhs, guess):
    """The energy's terms at every pixel (see the module docstring), and F = B = I into `guess`,
    rows in parallel: one pass instead of a dozen whole-image numpy temporaries (~0.07 s less at
    1 MP)."""
    h, w = alpha.shape
    for y in numba.prange(h):
        for x in range(w):
            a = alpha[y, x]
            in_band = margin <= a <= 1.0 - margin
            for k in range(dirs.shape[0]):  # edge p -> p + d, stored at p
                ny, nx = y + dirs[k, 0], x + dirs[k, 1]
                weight_f = weight_b = 0.0
                if ny < h and 0 <= nx < w:
                    a_j = alpha[ny, nx]
                    if in_band or margin <= a_j <= 1.0 - margin:
                        root = np.sqrt(abs(a_j - a))
                        weight_f = (root + 0.003 * (1.0 - a_j)) ** 2
                        weight_b = (root + 0.003 * a_j) ** 2
                edges_f[k, y, x] = weight_f
                edges_b[k, y, x] = weight_b
            prior_f = (100.0 * (a > 1.0 - margin) + soft * a * (a > 0.7) + 0.01 * (a < margin)) ** 2
            prior_b = (100.0 * (a < margin) + soft * (1.0 - a) * (a < 0.3) + 0.01 * (a > 1.0 - margin)) ** 2
            self_f[y, x] = a**2 + prior_f
            self_b[y, x] = (1.0 - a) ** 2 + prior_b
            cross[y, x] = a * (1.0 - a)
            pull_f = a + prior_f * (a > margin)
            pull_b = 1.0 - a + prior_b * (a < 1.0 - margin)
            for c in range(3):
                rhs[y, x, 0, c] = pull_f * image[y, x, c]
                rhs[y, x, 1, c] = pull_b * image[y, x, c]
                guess[y, x, 0, c] = guess[y, x, 1, c] = image[y, x, c]


@numba.njit(cache=True, parallel=True)
def _finish(solution, image, alpha, foreground, background):
    """F and B from the (H, W, 2, 3) solution: the image where the field is decided (F where
    alpha = 1, B where alpha = 0), clipped to [0, 1], rows in parallel."""
    for y in numba.prange(alpha.shape[0]):
        for x in range(alpha.shape[1]):
            for c in range(3):
                f = image[y, x, c] if alpha[y, x] >= 1.0 else solution[y, x, 0, c]
                b = image[y, x, c] if alpha[y, x] <= 0.0 else solution[y, x, 1, c]
                foreground[y, x, c] = min(max(f, 0.0), 1.0)
                background[y, x, c] = min(max(b, 0.0), 1.0)
