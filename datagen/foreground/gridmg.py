"""Geometric multigrid for two coupled fields (F, B) on a pixel grid, three right-hand sides at once.

Why a dedicated solver: the solveFB system is a 5- (or 9-) point stencil per field plus a 2x2
coupling per pixel, with weights spanning 1e-5 .. 1e4. Algebraic multigrid (pyamg) spends more
time building its hierarchy than solving, and its strength-of-connection heuristics misjudge the
tiny smoothness weights. Here the structure is kept explicit instead:

* a level is a `Stencil`: per cell the 2x2 "self" block (data term and priors: ``self_f``,
  ``self_b``, ``cross``) and per forward direction the edge weights of each field;
* coarsening aggregates 2x2 cells with piecewise-constant interpolation and the Galerkin product,
  which for this stencil is again a stencil of the same form (sums of self blocks and of the edges
  that cross aggregate borders), so every level costs O(pixels) to build and apply;
* the smoother is symmetric block Gauss-Seidel: each cell's 2x2 system (F, B) is solved exactly,
  which handles the strong per-pixel data term whatever the weights; the coarse grids handle the
  smooth error of the weak diffusion;
* the V-cycle is symmetric (forward sweeps down, backward sweeps up), so it is a valid
  preconditioner for conjugate gradients, which `solve` runs on all three channels together.

Kernels are numba-compiled with an on-disk cache (compiled once per machine, not per process).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

# Forward edge directions (dy, dx); the first two make the 4-neighbour stencil.
DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))
_COARSEST_CELLS = 256


@dataclass
class Stencil:
    """One level's operator. Arrays are HxW; `edges_*` are (directions, H, W): weight of p -> p + d."""

    self_f: np.ndarray
    self_b: np.ndarray
    cross: np.ndarray
    edges_f: np.ndarray
    edges_b: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.self_f.shape


@numba.njit(cache=True)
def _diagonals(self_f, self_b, edges_f, edges_b, dirs):
    """Diagonal entries: self block plus every incident edge (forward and backward)."""
    h, w = self_f.shape
    diag_f = self_f.copy()
    diag_b = self_b.copy()
    for k in range(edges_f.shape[0]):
        dy, dx = dirs[k, 0], dirs[k, 1]
        for y in range(h):
            for x in range(w):
                ny, nx = y + dy, x + dx
                if 0 <= ny < h and 0 <= nx < w:
                    diag_f[y, x] += edges_f[k, y, x]
                    diag_f[ny, nx] += edges_f[k, y, x]
                    diag_b[y, x] += edges_b[k, y, x]
                    diag_b[ny, nx] += edges_b[k, y, x]
    return diag_f, diag_b


@numba.njit(cache=True)
def _coarsen(self_f, self_b, cross, edges_f, edges_b, dirs):
    """Galerkin coarse stencil for 2x2 aggregates with piecewise-constant interpolation."""
    h, w = self_f.shape
    hc, wc = (h + 1) // 2, (w + 1) // 2
    nd = edges_f.shape[0]
    c_self_f = np.zeros((hc, wc))
    c_self_b = np.zeros((hc, wc))
    c_cross = np.zeros((hc, wc))
    c_edges_f = np.zeros((nd, hc, wc))
    c_edges_b = np.zeros((nd, hc, wc))
    for y in range(h):
        for x in range(w):
            c_self_f[y // 2, x // 2] += self_f[y, x]
            c_self_b[y // 2, x // 2] += self_b[y, x]
            c_cross[y // 2, x // 2] += cross[y, x]
    for k in range(nd):
        dy, dx = dirs[k, 0], dirs[k, 1]
        for y in range(h):
            for x in range(w):
                ny, nx = y + dy, x + dx
                if not (0 <= ny < h and 0 <= nx < w):
                    continue
                py, px, qy, qx = y // 2, x // 2, ny // 2, nx // 2
                if py == qy and px == qx:
                    continue  # inside one aggregate: constant there, the edge contributes nothing
                ey, ex = qy - py, qx - px
                if ey < 0 or (ey == 0 and ex < 0):  # store every edge at its first cell
                    py, px, ey, ex = qy, qx, -ey, -ex
                for j in range(nd):
                    if dirs[j, 0] == ey and dirs[j, 1] == ex:
                        c_edges_f[j, py, px] += edges_f[k, y, x]
                        c_edges_b[j, py, px] += edges_b[k, y, x]
                        break
    return c_self_f, c_self_b, c_cross, c_edges_f, c_edges_b


@numba.njit(cache=True)
def _apply(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, out):
    """out = A x for x of shape (H, W, 2, C)."""
    h, w = diag_f.shape
    nc = x.shape[3]
    for y in range(h):
        for xx in range(w):
            for c in range(nc):
                out[y, xx, 0, c] = diag_f[y, xx] * x[y, xx, 0, c] + cross[y, xx] * x[y, xx, 1, c]
                out[y, xx, 1, c] = diag_b[y, xx] * x[y, xx, 1, c] + cross[y, xx] * x[y, xx, 0, c]
    for k in range(edges_f.shape[0]):
        dy, dx = dirs[k, 0], dirs[k, 1]
        for y in range(h):
            ny = y + dy
            if ny < 0 or ny >= h:
                continue
            for xx in range(w):
                nx = xx + dx
                if nx < 0 or nx >= w:
                    continue
                ef, eb = edges_f[k, y, xx], edges_b[k, y, xx]
                for c in range(nc):
                    out[y, xx, 0, c] -= ef * x[ny, nx, 0, c]
                    out[ny, nx, 0, c] -= ef * x[y, xx, 0, c]
                    out[y, xx, 1, c] -= eb * x[ny, nx, 1, c]
                    out[ny, nx, 1, c] -= eb * x[y, xx, 1, c]


@numba.njit(cache=True)
def _relax_cell(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, b, y, xx, acc):
    """Exact 2x2 solve of cell (y, xx) given its neighbours' current values (all channels)."""
    h, w = diag_f.shape
    nc = x.shape[3]
    df, db, cr = diag_f[y, xx], diag_b[y, xx], cross[y, xx]
    det = df * db - cr * cr
    if det <= 0.0:
        return
    for c in range(nc):
        acc[0, c] = b[y, xx, 0, c]
        acc[1, c] = b[y, xx, 1, c]
    for k in range(edges_f.shape[0]):
        dy, dx = dirs[k, 0], dirs[k, 1]
        ny, nx = y + dy, xx + dx
        if 0 <= ny < h and 0 <= nx < w:
            ef, eb = edges_f[k, y, xx], edges_b[k, y, xx]
            for c in range(nc):
                acc[0, c] += ef * x[ny, nx, 0, c]
                acc[1, c] += eb * x[ny, nx, 1, c]
        py, px = y - dy, xx - dx
        if 0 <= py < h and 0 <= px < w:
            ef, eb = edges_f[k, py, px], edges_b[k, py, px]
            for c in range(nc):
                acc[0, c] += ef * x[py, px, 0, c]
                acc[1, c] += eb * x[py, px, 1, c]
    inv = 1.0 / det
    for c in range(nc):
        x[y, xx, 0, c] = (db * acc[0, c] - cr * acc[1, c]) * inv
        x[y, xx, 1, c] = (df * acc[1, c] - cr * acc[0, c]) * inv


@numba.njit(cache=True)
def _gauss_seidel(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, b, backward):
    """One lexicographic block Gauss-Seidel sweep (reversed when `backward`: the pair is symmetric)."""
    h, w = diag_f.shape
    acc = np.empty((2, x.shape[3]))
    if backward:
        for y in range(h - 1, -1, -1):
            for xx in range(w - 1, -1, -1):
                _relax_cell(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, b, y, xx, acc)
    else:
        for y in range(h):
            for xx in range(w):
                _relax_cell(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, b, y, xx, acc)


@numba.njit(cache=True)
def _restrict(r, out):
    """Sum of each 2x2 aggregate (the transpose of `_prolong_add`)."""
    out[:] = 0.0
    h, w, nf, nc = r.shape
    for y in range(h):
        for x in range(w):
            for f in range(nf):
                for c in range(nc):
                    out[y // 2, x // 2, f, c] += r[y, x, f, c]


@numba.njit(cache=True)
def _prolong_add(e, x):
    """x += the coarse correction, constant over each 2x2 aggregate."""
    h, w, nf, nc = x.shape
    for y in range(h):
        for xx in range(w):
            for f in range(nf):
                for c in range(nc):
                    x[y, xx, f, c] += e[y // 2, xx // 2, f, c]


class _Level:
    def __init__(self, stencil: Stencil, dirs: np.ndarray):
        self.stencil = stencil
        self.dirs = dirs
        self.diag_f, self.diag_b = _diagonals(stencil.self_f, stencil.self_b, stencil.edges_f, stencil.edges_b, dirs)
        self.args = (self.diag_f, self.diag_b, stencil.cross, stencil.edges_f, stencil.edges_b, dirs)

    def apply(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        _apply(*self.args, x, out)
        return out

    def dense(self) -> np.ndarray:
        """The level's matrix, unknowns ordered (cell, field): for the coarsest direct solve."""
        h, w = self.stencil.shape
        n = h * w * 2
        eye = np.eye(n).reshape(n, h, w, 2).transpose(1, 2, 3, 0).copy()
        out = np.empty_like(eye)
        _apply(*self.args, eye, out)
        return out.reshape(n, n)


class Multigrid:
    """Symmetric V-cycle for the stencil operator, usable as a CG preconditioner on (H, W, 2, C) blocks."""

    def __init__(self, stencil: Stencil, sweeps: int = 1, correction: float = 1.0):
        dirs = np.array(DIRECTIONS[: stencil.edges_f.shape[0]], dtype=np.int64)
        self.levels = [_Level(stencil, dirs)]
        while self.levels[-1].stencil.shape[0] * self.levels[-1].stencil.shape[1] > _COARSEST_CELLS:
            s = self.levels[-1].stencil
            self.levels.append(_Level(Stencil(*_coarsen(s.self_f, s.self_b, s.cross, s.edges_f, s.edges_b, dirs)), dirs))
        self.coarse_inverse = np.linalg.pinv(self.levels[-1].dense(), hermitian=True)
        self.sweeps = sweeps
        self.correction = correction

    def __call__(self, rhs: np.ndarray, level: int = 0) -> np.ndarray:
        lv = self.levels[level]
        if level == len(self.levels) - 1:
            return (self.coarse_inverse @ rhs.reshape(-1, rhs.shape[3])).reshape(rhs.shape)
        x = np.zeros_like(rhs)
        for _ in range(self.sweeps):
            _gauss_seidel(*lv.args, x, rhs, False)
        residual = rhs - lv.apply(x, np.empty_like(x))
        h, w = self.levels[level + 1].stencil.shape
        coarse_rhs = np.empty((h, w) + rhs.shape[2:])
        _restrict(residual, coarse_rhs)
        del residual
        correction = self(coarse_rhs, level + 1)
        if self.correction != 1.0:
            correction *= self.correction
        _prolong_add(correction, x)
        for _ in range(self.sweeps):
            _gauss_seidel(*lv.args, x, rhs, True)
        return x
