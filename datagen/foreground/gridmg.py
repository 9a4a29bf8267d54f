"""Geometric multigrid for two coupled fields (F, B) on a pixel grid, three right-hand sides at once.

Why a dedicated solver: the solveFB system is a 5- (or 9-) point stencil per field plus a 2x2
coupling per pixel, with weights spanning 1e-5 .. 1e4. Algebraic multigrid (pyamg) spent as long
building its hierarchy as this whole solve takes, and needed 2-10x more CG iterations (see
docs/foreground.md). Here the structure is kept explicit instead:

* a level is a `Stencil`: per cell the 2x2 "self" block (data term and priors: ``self_f``,
  ``self_b``, ``cross``) and per forward direction the edge weights of each field;
* coarsening aggregates 2x2 cells with piecewise-constant interpolation and the Galerkin product,
  which for this stencil is again a stencil of the same form (sums of self blocks and of the edges
  that cross aggregate borders), so every level costs O(pixels) to build and apply;
* the smoother is symmetric block Gauss-Seidel: each cell's 2x2 system (F, B) is solved exactly,
  which handles the strong per-pixel data term whatever the weights; the coarse grids handle the
  smooth error of the weak diffusion; coarse corrections are over-relaxed (x1.8), because
  piecewise-constant interpolation under-corrects; the sweeps of one smoothing step run fused,
  as a wavefront over the rows, with the restriction of the residual (see `_gauss_seidel`);
* each level's rows are cut into two halves of equal work and a two-row separator: the halves
  are smoothed at the same time on two threads, then the separator (see `_smooth`, `_strips`);
  products, prolongation and CG's vector passes run in parallel too, with sums over fixed
  chunks, so the result is the same bits whatever the thread count;
* every kernel that applies the stencil walks each row as runs of cells of one coupling kind
  (see `_runs`): where alpha is exactly 0 or 1 one field's row is only its diagonal, and its
  neighbours are not gathered at all; away from the border a 4-neighbour stencil takes kernels
  with its neighbours spelled out and no bounds tests, and the sweeps carry the cell just
  relaxed in registers (`_fast_*`: V-cycle 63 -> 42 ms at 1 MP against `_cell` alone);
* the V-cycle is symmetric (forward sweeps down, backward sweeps up), so it is a valid
  preconditioner for conjugate gradients, which `conjugate_gradients` runs on all three colour
  channels together (blocks of shape (H, W, 2 fields, 3 channels)).

Kernels are numba-compiled with an on-disk cache (compiled once per machine, not per process).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from threadpoolctl import threadpool_limits

# Forward edge directions (dy, dx); the first two make the 4-neighbour stencil.
DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))
_COARSEST_CELLS = 64
_NO_BLOCK = np.empty((0, 0, 2, 3))  # an absent optional block argument of the kernels


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
def _runs(cross, edges_f, edges_b, dirs):
    """Each row cut into runs of cells with the same coupling kind: bit 0 set when F is coupled
    to a neighbour, bit 1 when B is. Returns (runs, row_runs): runs[i] = (first, last + 1, kind),
    the runs of row y are runs[row_runs[y]:row_runs[y + 1]].

    Why: with margin 0 most of the image has one field decoupled. Inside a region of alpha = 1
    (alpha = 0), F's (B's) incident edge weights and the cross term are exactly 0, so its row of
    the system is only its diagonal (F = I there) and it needs none of its neighbours: the terms
    skipped are exact zeros (only rounding changes: two divisions replace the 2x2 solve, and
    the iteration counts stay the same). A cross term couples the cell's
    fields, so such a cell is kind 3 (both). Runs, not a per-cell test, because a test of the
    kind inside the cell loop made numba's code 2x slower, while within a run the kind is fixed."""
    h, w = cross.shape
    kinds = np.zeros((h, w), dtype=np.uint8)
    for k in range(edges_f.shape[0]):
        dy, dx = dirs[k, 0], dirs[k, 1]
        for y in range(h):
            for x in range(w):
                ny, nx = y + dy, x + dx
                if 0 <= ny < h and 0 <= nx < w:
                    bits = (1 if edges_f[k, y, x] != 0.0 else 0) | (2 if edges_b[k, y, x] != 0.0 else 0)
                    kinds[y, x] |= bits
                    kinds[ny, nx] |= bits
    n = 0
    for y in range(h):
        for x in range(w):
            if cross[y, x] != 0.0:
                kinds[y, x] = 3
            n += x == 0 or kinds[y, x] != kinds[y, x - 1]
    runs = np.empty((n, 3), dtype=np.int64)
    row_runs = np.zeros(h + 1, dtype=np.int64)
    n = 0
    for y in range(h):
        for x in range(w):
            if x > 0 and kinds[y, x] == kinds[y, x - 1]:
                runs[n - 1, 1] = x + 1
            else:
                runs[n, 0], runs[n, 1], runs[n, 2] = x, x + 1, kinds[y, x]
                n += 1
        row_runs[y + 1] = n
    return runs, row_runs


# What `_cell` does (constants at every call site: numba compiles one variant per use).
_RELAX = 0  # one Gauss-Seidel step: x at the cell <- solution of its 2x2 system
_RESIDUAL = 1  # out <- b - A x
_PRODUCT = 2  # out <- -A x (b unused)
_RESTRICTED_RESIDUAL = 3  # out[y // 2, x // 2] += b - A x: the residual summed over 2x2 aggregates


@numba.njit(cache=True, inline="always")
def _cell(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, b, out, y, xx, mode, use_f, use_b):
    """At cell (y, xx), for the three channels, what `mode` says: a relaxation solves the cell's
    2x2 system exactly given the neighbours (written into x), a residual or product goes into
    out. One kernel for all modes and stencils keeps the general logic in one place (the interior
    of a 4-neighbour level takes the `_fast_*` kernels instead); channels are unrolled because
    that is 4x faster than a channel loop. `use_f` / `use_b` say which fields are coupled to
    neighbours (and, both, to each other); an uncoupled field is just b / diagonal."""
    h, w = diag_f.shape
    uy, ux = np.uint64(y), np.uint64(xx)  # unsigned: numba then skips negative-index wraparound
    df, db, cr = diag_f[uy, ux], diag_b[uy, ux], cross[uy, ux]
    f0 = f1 = f2 = b0 = b1 = b2 = 0.0
    if mode != _PRODUCT:
        f0, f1, f2 = b[uy, ux, 0, 0], b[uy, ux, 0, 1], b[uy, ux, 0, 2]
        b0, b1, b2 = b[uy, ux, 1, 0], b[uy, ux, 1, 1], b[uy, ux, 1, 2]
    for k in range(edges_f.shape[0] if use_f or use_b else 0):
        dy, dx = dirs[k, 0], dirs[k, 1]  # dy >= 0 for every forward direction: p + d comes later
        ny, nx = y + dy, xx + dx
        if ny < h and 0 <= nx < w:
            qy, qx = np.uint64(ny), np.uint64(nx)
            if use_f:
                ef = edges_f[k, uy, ux]
                f0 += ef * x[qy, qx, 0, 0]
                f1 += ef * x[qy, qx, 0, 1]
                f2 += ef * x[qy, qx, 0, 2]
            if use_b:
                eb = edges_b[k, uy, ux]
                b0 += eb * x[qy, qx, 1, 0]
                b1 += eb * x[qy, qx, 1, 1]
                b2 += eb * x[qy, qx, 1, 2]
        py, px = y - dy, xx - dx
        if py >= 0 and 0 <= px < w:
            qy, qx = np.uint64(py), np.uint64(px)
            if use_f:
                ef = edges_f[k, qy, qx]
                f0 += ef * x[qy, qx, 0, 0]
                f1 += ef * x[qy, qx, 0, 1]
                f2 += ef * x[qy, qx, 0, 2]
            if use_b:
                eb = edges_b[k, qy, qx]
                b0 += eb * x[qy, qx, 1, 0]
                b1 += eb * x[qy, qx, 1, 1]
                b2 += eb * x[qy, qx, 1, 2]
    if mode == _RESIDUAL or mode == _PRODUCT:
        out[uy, ux, 0, 0] = f0 - df * x[uy, ux, 0, 0] - cr * x[uy, ux, 1, 0]
        out[uy, ux, 0, 1] = f1 - df * x[uy, ux, 0, 1] - cr * x[uy, ux, 1, 1]
        out[uy, ux, 0, 2] = f2 - df * x[uy, ux, 0, 2] - cr * x[uy, ux, 1, 2]
        out[uy, ux, 1, 0] = b0 - db * x[uy, ux, 1, 0] - cr * x[uy, ux, 0, 0]
        out[uy, ux, 1, 1] = b1 - db * x[uy, ux, 1, 1] - cr * x[uy, ux, 0, 1]
        out[uy, ux, 1, 2] = b2 - db * x[uy, ux, 1, 2] - cr * x[uy, ux, 0, 2]
        return
    if mode == _RESTRICTED_RESIDUAL:
        cy, cx = uy >> np.uint64(1), ux >> np.uint64(1)
        out[cy, cx, 0, 0] += f0 - df * x[uy, ux, 0, 0] - cr * x[uy, ux, 1, 0]
        out[cy, cx, 0, 1] += f1 - df * x[uy, ux, 0, 1] - cr * x[uy, ux, 1, 1]
        out[cy, cx, 0, 2] += f2 - df * x[uy, ux, 0, 2] - cr * x[uy, ux, 1, 2]
        out[cy, cx, 1, 0] += b0 - db * x[uy, ux, 1, 0] - cr * x[uy, ux, 0, 0]
        out[cy, cx, 1, 1] += b1 - db * x[uy, ux, 1, 1] - cr * x[uy, ux, 0, 1]
        out[cy, cx, 1, 2] += b2 - db * x[uy, ux, 1, 2] - cr * x[uy, ux, 0, 2]
        return
    if use_f and use_b:
        det = df * db - cr * cr
        if det > 0.0:
            inv = 1.0 / det
            x[uy, ux, 0, 0] = (db * f0 - cr * b0) * inv
            x[uy, ux, 0, 1] = (db * f1 - cr * b1) * inv
            x[uy, ux, 0, 2] = (db * f2 - cr * b2) * inv
            x[uy, ux, 1, 0] = (df * b0 - cr * f0) * inv
            x[uy, ux, 1, 1] = (df * b1 - cr * f1) * inv
            x[uy, ux, 1, 2] = (df * b2 - cr * f2) * inv
        return
    # no cross term: the fields are solved apart
    if df > 0.0:
        inv = 1.0 / df
        x[uy, ux, 0, 0] = f0 * inv
        x[uy, ux, 0, 1] = f1 * inv
        x[uy, ux, 0, 2] = f2 * inv
    if db > 0.0:
        inv = 1.0 / db
        x[uy, ux, 1, 0] = b0 * inv
        x[uy, ux, 1, 1] = b1 * inv
        x[uy, ux, 1, 2] = b2 * inv


@numba.njit(cache=True, inline="always")
def _span(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, b, out, y, first, end, backward, mode, use_f, use_b):
    """`_cell` over columns first .. end - 1 of row y (right to left when `backward`)."""
    for j in range(end - first):
        xx = end - 1 - j if backward else first + j
        _cell(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, b, out, y, xx, mode, use_f, use_b)


@numba.njit(cache=True, inline="always")
def _parts(first, end, w, interior):
    """A run's columns as [first, a) [a, c) [c, end), the middle away from the left and right
    border (empty unless `interior`): the middle takes the 4-neighbour kernels without bounds
    tests (`_fast_*`), the rest `_span`."""
    a = min(max(first, 1), end) if interior else end
    return first, a, max(min(end, w - 1), a), end


@numba.njit(cache=True, inline="always")
def _row(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, out, y, mode):
    """`_cell` over row y, run by run, each run's kind passed at run time (see `_runs`): for the
    residual and product, which have no chain of dependent cells."""
    h, w = diag_f.shape
    interior = edges_f.shape[0] == 2 and 0 < y < h - 1
    for i in range(row_runs[y], row_runs[y + 1]):
        kind = runs[i, 2]
        bounds = _parts(runs[i, 0], runs[i, 1], w, interior)
        for part in range(3):
            start, stop = bounds[part], bounds[part + 1]
            if stop <= start:
                continue
            if part == 1:
                _fast_residual(diag_f, diag_b, cross, edges_f, edges_b, x, b, out, y, start, stop, mode,
                               (kind & 1) != 0, (kind & 2) != 0)
            else:
                _span(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, b, out, y, start, stop, False, mode,
                      (kind & 1) != 0, (kind & 2) != 0)


@numba.njit(cache=True, inline="always")
def _fast_residual(diag_f, diag_b, cross, edges_f, edges_b, x, b, out, y, first, end, mode, use_f, use_b):
    """`_span` of a residual, product or restricted residual over columns first .. end - 1 of
    row y, for a 4-neighbour stencil away from the border (no bounds tests, neighbours spelled
    out)."""
    uy, up, dn = np.uint64(y), np.uint64(y - 1), np.uint64(y + 1)
    for xx in range(first, end):
        ux, ul, ur = np.uint64(xx), np.uint64(xx - 1), np.uint64(xx + 1)
        df, db, cr = diag_f[uy, ux], diag_b[uy, ux], cross[uy, ux]
        f0 = f1 = f2 = g0 = g1 = g2 = 0.0
        if mode != _PRODUCT:
            f0, f1, f2 = b[uy, ux, 0, 0], b[uy, ux, 0, 1], b[uy, ux, 0, 2]
            g0, g1, g2 = b[uy, ux, 1, 0], b[uy, ux, 1, 1], b[uy, ux, 1, 2]
        if use_f:
            ee, ew, es, en = edges_f[0, uy, ux], edges_f[0, uy, ul], edges_f[1, uy, ux], edges_f[1, up, ux]
            f0 += ee * x[uy, ur, 0, 0] + ew * x[uy, ul, 0, 0] + es * x[dn, ux, 0, 0] + en * x[up, ux, 0, 0]
            f1 += ee * x[uy, ur, 0, 1] + ew * x[uy, ul, 0, 1] + es * x[dn, ux, 0, 1] + en * x[up, ux, 0, 1]
            f2 += ee * x[uy, ur, 0, 2] + ew * x[uy, ul, 0, 2] + es * x[dn, ux, 0, 2] + en * x[up, ux, 0, 2]
        if use_b:
            ee, ew, es, en = edges_b[0, uy, ux], edges_b[0, uy, ul], edges_b[1, uy, ux], edges_b[1, up, ux]
            g0 += ee * x[uy, ur, 1, 0] + ew * x[uy, ul, 1, 0] + es * x[dn, ux, 1, 0] + en * x[up, ux, 1, 0]
            g1 += ee * x[uy, ur, 1, 1] + ew * x[uy, ul, 1, 1] + es * x[dn, ux, 1, 1] + en * x[up, ux, 1, 1]
            g2 += ee * x[uy, ur, 1, 2] + ew * x[uy, ul, 1, 2] + es * x[dn, ux, 1, 2] + en * x[up, ux, 1, 2]
        f0 -= df * x[uy, ux, 0, 0] + cr * x[uy, ux, 1, 0]
        f1 -= df * x[uy, ux, 0, 1] + cr * x[uy, ux, 1, 1]
        f2 -= df * x[uy, ux, 0, 2] + cr * x[uy, ux, 1, 2]
        g0 -= db * x[uy, ux, 1, 0] + cr * x[uy, ux, 0, 0]
        g1 -= db * x[uy, ux, 1, 1] + cr * x[uy, ux, 0, 1]
        g2 -= db * x[uy, ux, 1, 2] + cr * x[uy, ux, 0, 2]
        if mode == _RESTRICTED_RESIDUAL:
            cy, cx = uy >> np.uint64(1), ux >> np.uint64(1)
            out[cy, cx, 0, 0] += f0
            out[cy, cx, 0, 1] += f1
            out[cy, cx, 0, 2] += f2
            out[cy, cx, 1, 0] += g0
            out[cy, cx, 1, 1] += g1
            out[cy, cx, 1, 2] += g2
        else:
            out[uy, ux, 0, 0], out[uy, ux, 0, 1], out[uy, ux, 0, 2] = f0, f1, f2
            out[uy, ux, 1, 0], out[uy, ux, 1, 1], out[uy, ux, 1, 2] = g0, g1, g2


@numba.njit(cache=True, inline="always")
def _relax_row(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, y, backward):
    """One Gauss-Seidel sweep over row y. Away from the image border a 4-neighbour stencil (the
    default, and every coarse level of it) takes `_fast_coupled` / `_fast_single`, written for
    the sweep's chain of dependent cells: 1.5x faster sweeps than `_cell`, which takes the
    border cells and 8-neighbour stencils with the fields chosen at run time (one copy: numba
    compiles every inlined copy of a cell kernel anew, seconds each)."""
    h, w = diag_f.shape
    interior = edges_f.shape[0] == 2 and 0 < y < h - 1
    lo, hi = row_runs[y], row_runs[y + 1]
    for n in range(hi - lo):
        i = hi - 1 - n if backward else lo + n
        first, end, kind = runs[i, 0], runs[i, 1], runs[i, 2]
        bounds = _parts(first, end, w, interior)
        for m in range(3):
            part = 2 - m if backward else m
            start, stop = bounds[part], bounds[part + 1]
            if stop <= start:
                continue
            if part == 1 and kind == 3:
                _fast_coupled(diag_f, diag_b, cross, edges_f, edges_b, x, b, y, start, stop, backward)
            elif part == 1:
                _fast_single(diag_f, diag_b, edges_f, edges_b, x, b, y, start, stop, backward, kind == 1, kind == 2)
            else:
                _span(diag_f, diag_b, cross, edges_f, edges_b, dirs, x, b, b, y, start, stop, backward, _RELAX,
                      (kind & 1) != 0, (kind & 2) != 0)


@numba.njit(cache=True, inline="always")
def _fast_single(diag_f, diag_b, edges_f, edges_b, x, b, y, first, end, backward, use_f, use_b):
    """`_span` relaxing columns first .. end - 1 of row y of a run where at most one field is
    coupled, for a 4-neighbour stencil away from the border (no bounds tests). The neighbour
    relaxed just before (west going forward, east going back) is carried in registers and added
    last, so the chain from one cell to the next is one multiply-add per channel."""
    fi = 0 if use_f else 1  # the coupled field (if any)
    oi = 1 - fi
    coupled = use_f or use_b
    diag = diag_f if use_f else diag_b
    other = diag_b if use_f else diag_f
    edges = edges_f if use_f else edges_b
    bw = 1 if backward else 0
    d = 1 - 2 * bw
    start = end - 1 if backward else first
    uy, up, dn = np.uint64(y), np.uint64(y - 1), np.uint64(y + 1)
    prev = np.uint64(start - d)
    c0, c1, c2 = x[uy, prev, fi, 0], x[uy, prev, fi, 1], x[uy, prev, fi, 2]
    for j in range(end - first):
        xx = start + d * j
        ux, uo = np.uint64(xx), np.uint64(xx + d)
        dd = diag[uy, ux]
        if coupled and dd > 0.0:
            inv = 1.0 / dd
            eo = edges[0, uy, np.uint64(xx - bw)]  # edge to the neighbour not yet relaxed
            ec = edges[0, uy, np.uint64(xx - 1 + bw)] * inv  # edge to the one just relaxed
            es, en = edges[1, uy, ux], edges[1, up, ux]
            s0 = b[uy, ux, fi, 0] + eo * x[uy, uo, fi, 0] + es * x[dn, ux, fi, 0] + en * x[up, ux, fi, 0]
            s1 = b[uy, ux, fi, 1] + eo * x[uy, uo, fi, 1] + es * x[dn, ux, fi, 1] + en * x[up, ux, fi, 1]
            s2 = b[uy, ux, fi, 2] + eo * x[uy, uo, fi, 2] + es * x[dn, ux, fi, 2] + en * x[up, ux, fi, 2]
            c0, c1, c2 = s0 * inv + ec * c0, s1 * inv + ec * c1, s2 * inv + ec * c2
            x[uy, ux, fi, 0], x[uy, ux, fi, 1], x[uy, ux, fi, 2] = c0, c1, c2
        elif dd > 0.0:
            inv = 1.0 / dd
            x[uy, ux, fi, 0], x[uy, ux, fi, 1], x[uy, ux, fi, 2] = (
                b[uy, ux, fi, 0] * inv, b[uy, ux, fi, 1] * inv, b[uy, ux, fi, 2] * inv)
        else:
            c0, c1, c2 = x[uy, ux, fi, 0], x[uy, ux, fi, 1], x[uy, ux, fi, 2]
        od = other[uy, ux]
        if od > 0.0:
            inv = 1.0 / od
            x[uy, ux, oi, 0], x[uy, ux, oi, 1], x[uy, ux, oi, 2] = (
                b[uy, ux, oi, 0] * inv, b[uy, ux, oi, 1] * inv, b[uy, ux, oi, 2] * inv)


@numba.njit(cache=True, inline="always")
def _fast_coupled(diag_f, diag_b, cross, edges_f, edges_b, x, b, y, first, end, backward):
    """`_fast_single` for a run of coupled cells: each cell's 2x2 system solved exactly, the
    just-relaxed neighbour's F and B carried in registers and added last."""
    bw = 1 if backward else 0
    d = 1 - 2 * bw
    start = end - 1 if backward else first
    uy, up, dn = np.uint64(y), np.uint64(y - 1), np.uint64(y + 1)
    prev = np.uint64(start - d)
    f0, f1, f2 = x[uy, prev, 0, 0], x[uy, prev, 0, 1], x[uy, prev, 0, 2]
    g0, g1, g2 = x[uy, prev, 1, 0], x[uy, prev, 1, 1], x[uy, prev, 1, 2]
    for j in range(end - first):
        xx = start + d * j
        ux, uo = np.uint64(xx), np.uint64(xx + d)
        df, db, cr = diag_f[uy, ux], diag_b[uy, ux], cross[uy, ux]
        det = df * db - cr * cr
        if det > 0.0:
            inv = 1.0 / det
            mff, mbb, mfb = db * inv, df * inv, -cr * inv
            ko, kc = np.uint64(xx - bw), np.uint64(xx - 1 + bw)
            eo, es, en = edges_f[0, uy, ko], edges_f[1, uy, ux], edges_f[1, up, ux]
            p0 = b[uy, ux, 0, 0] + eo * x[uy, uo, 0, 0] + es * x[dn, ux, 0, 0] + en * x[up, ux, 0, 0]
            p1 = b[uy, ux, 0, 1] + eo * x[uy, uo, 0, 1] + es * x[dn, ux, 0, 1] + en * x[up, ux, 0, 1]
            p2 = b[uy, ux, 0, 2] + eo * x[uy, uo, 0, 2] + es * x[dn, ux, 0, 2] + en * x[up, ux, 0, 2]
            eo, es, en = edges_b[0, uy, ko], edges_b[1, uy, ux], edges_b[1, up, ux]
            q0 = b[uy, ux, 1, 0] + eo * x[uy, uo, 1, 0] + es * x[dn, ux, 1, 0] + en * x[up, ux, 1, 0]
            q1 = b[uy, ux, 1, 1] + eo * x[uy, uo, 1, 1] + es * x[dn, ux, 1, 1] + en * x[up, ux, 1, 1]
            q2 = b[uy, ux, 1, 2] + eo * x[uy, uo, 1, 2] + es * x[dn, ux, 1, 2] + en * x[up, ux, 1, 2]
            cf, cb = edges_f[0, uy, kc], edges_b[0, uy, kc]
            tff, tfb, tbf, tbb = mff * cf, mfb * cb, mfb * cf, mbb * cb
            f0, g0 = mff * p0 + mfb * q0 + tff * f0 + tfb * g0, mfb * p0 + mbb * q0 + tbf * f0 + tbb * g0
            f1, g1 = mff * p1 + mfb * q1 + tff * f1 + tfb * g1, mfb * p1 + mbb * q1 + tbf * f1 + tbb * g1
            f2, g2 = mff * p2 + mfb * q2 + tff * f2 + tfb * g2, mfb * p2 + mbb * q2 + tbf * f2 + tbb * g2
            x[uy, ux, 0, 0], x[uy, ux, 0, 1], x[uy, ux, 0, 2] = f0, f1, f2
            x[uy, ux, 1, 0], x[uy, ux, 1, 1], x[uy, ux, 1, 2] = g0, g1, g2
        else:
            f0, f1, f2 = x[uy, ux, 0, 0], x[uy, ux, 0, 1], x[uy, ux, 0, 2]
            g0, g1, g2 = x[uy, ux, 1, 0], x[uy, ux, 1, 1], x[uy, ux, 1, 2]


@numba.njit(cache=True)
def _restricted_row(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, restricted, y):
    """restricted[y // 2, x // 2] += (b - A x)[y, x] over row y: compiled once for its two
    callers (every inlined copy of the cell kernels costs seconds of compilation)."""
    _row(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, restricted, y, _RESTRICTED_RESIDUAL)


@numba.njit(cache=True, parallel=True)
def _residual(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, out):
    """out <- b - A x for (H, W, 2, 3) blocks, or out <- -A x if `b` has no rows (CG's product:
    no block of zeros to allocate and read). Rows are independent: they run in parallel."""
    for y in numba.prange(diag_f.shape[0]):
        if b.shape[0] > 0:
            _row(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, out, y, _RESIDUAL)
        else:
            _row(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, out, y, _PRODUCT)


@numba.njit(cache=True)
def _gauss_seidel(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, sweeps, backward, restricted,
                  lo, hi, residual_lo, residual_hi, from_zero):
    """`sweeps` lexicographic block Gauss-Seidel sweeps over rows lo .. hi - 1 (reversed when
    `backward`: the pair is symmetric), then, if `restricted` has rows, the residual b - A x of
    rows residual_lo .. residual_hi - 1 summed over each 2x2 aggregate (the coarse right-hand
    side) into it. Rows outside lo .. hi - 1 are read, never written. With `from_zero` the rows
    start from x = 0: each is zeroed just before the first sweep reads it, while it is in cache,
    instead of in a pass of its own.

    Why fused: sweep s of a row needs only sweep s of the previous row and sweep s - 1 of the
    next one (every edge joins adjacent rows), so the sweeps run as a wavefront, sweep s a row
    behind sweep s - 1, and the residual a row behind the last sweep. The arithmetic, and so
    every bit of the result, is that of separate sweeps, but each row is fetched from memory
    once rather than once per sweep (6-19% faster solves at 1-4 MP: the sweep is mostly bound
    by its chain of dependent cells, not by memory). The residual is added straight into its
    aggregate, so no fine residual block is written, read back or kept."""
    with_residual = restricted.shape[0] > 0
    if from_zero:
        x[hi - 1 if backward else lo] = 0.0
    for i in range(hi - lo + sweeps):
        for s in range(sweeps + 1):
            k = i - s
            if k < 0 or k >= hi - lo:
                continue
            y = hi - 1 - k if backward else lo + k
            if from_zero and s == 0:
                after = y - 1 if backward else y + 1  # the row the first sweep reads before it runs there
                if lo <= after < hi:
                    x[after] = 0.0
            if s < sweeps:
                _relax_row(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, y, backward)
            elif with_residual and residual_lo <= y < residual_hi:
                _restricted_row(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, restricted, y)


@numba.njit(cache=True, parallel=True)
def _smooth(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, sweeps, backward, restricted, strips):
    """One smoothing step of the V-cycle over horizontal strips (rows strips[t] .. strips[t+1] - 1)
    in block red-black order: the even strips, each by `_gauss_seidel` and all at once, then the
    odd ones (odd first when `backward`, so the up step is the adjoint of the down step and the
    cycle stays symmetric). Going down (`restricted` has rows) x starts from 0 and the residual
    is summed into `restricted`.

    Why: strips of one colour touch only strips of the other (every edge joins adjacent rows),
    so they can run on separate threads, and the result does not depend on the thread count
    (the strips are fixed by the level, see `_strips`). An even strip's residual is fused into
    its sweeps except on its rows next to an odd strip, which the odd phase still changes:
    those rows are added last."""
    n = strips.shape[0] - 1
    down = restricted.shape[0] > 0
    for y in numba.prange(restricted.shape[0]):
        restricted[y] = 0.0
    for t in range(1, n if down else 1, 2):  # the odd strips' rows, read by the even ones first
        x[strips[t] : strips[t + 1]] = 0.0
    for phase in range(2):
        colour = 1 - phase if backward else phase
        for j in numba.prange((n - colour + 1) // 2):
            t = colour + 2 * j
            lo, hi = strips[t], strips[t + 1]
            residual_lo = lo + 1 if colour == 0 and t > 0 else lo
            residual_hi = hi - 1 if colour == 0 and t < n - 1 else hi
            _gauss_seidel(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, sweeps, backward,
                          restricted, lo, hi, residual_lo, residual_hi, down and colour == 0)
    for t in numba.prange(1, n if down else 1):
        y = strips[t] - 1 if t % 2 == 1 else strips[t]  # the even strip's row at boundary t
        _restricted_row(diag_f, diag_b, cross, edges_f, edges_b, dirs, runs, row_runs, x, b, restricted, y)


def _strips(runs: np.ndarray, row_runs: np.ndarray) -> np.ndarray:
    """Strip boundaries for `_smooth`: two halves of equal work (one per core of these machines)
    and a two-row separator between them, or one strip on levels under 64 rows.

    Why this shape: any order other than lexicographic costs CG iterations, but two halves cost
    none (fur 14, glass 17, motion 25 at 1 MP, as one strip), while four or eight red-black
    strips cost one or two more, thin separators or not. Work, not rows, decides the split (a
    coupled cell costs about twice a single-field one, a decided cell little), so an object
    whose soft edge lies in one half still keeps both threads busy. The split depends only on
    the level, so the result does not depend on the thread count. Boundaries are even rows, so
    no 2x2 aggregate straddles two strips."""
    height = row_runs.shape[0] - 1
    if height < 64:
        return np.array([0, height], dtype=np.int64)
    lengths = runs[:, 1] - runs[:, 0]
    cost = np.array([0.3, 1.0, 1.0, 2.0])[runs[:, 2]]
    work = np.add.reduceat(lengths * cost, row_runs[:-1])  # every row holds at least one run
    half = np.searchsorted(np.cumsum(work), work.sum() / 2)
    split = 2 * (int(np.clip(half, 16, height - 18)) // 2)
    return np.array([0, split, split + 2, height], dtype=np.int64)


@numba.njit(cache=True, parallel=True)
def _prolong_add(e, x, scale):
    """x += scale * the coarse correction, constant over each 2x2 aggregate (the transpose of the
    restriction in `_gauss_seidel`); blocks viewed as (H, W, 6)."""
    h, w, n = x.shape
    for y in numba.prange(h):
        for xx in range(w):
            for i in range(n):
                x[y, xx, i] += scale * e[y >> 1, xx >> 1, i]


@numba.njit(cache=True)
def _coarse_solve(inverse, rhs):
    """The coarsest level's solution: its (pseudo-)inverse times the (H, W, 2, C) block, in a
    fixed order (a BLAS product's rounding would depend on its thread count)."""
    flat = rhs.reshape(inverse.shape[0], rhs.shape[3])
    out = np.zeros_like(flat)
    for i in range(inverse.shape[0]):
        for j in range(inverse.shape[1]):
            for c in range(flat.shape[1]):
                out[i, c] += inverse[i, j] * flat[j, c]
    return out.reshape(rhs.shape)


class _Level:
    """A stencil with its diagonals, and its products on (H, W, 2, 3) blocks."""

    def __init__(self, stencil: Stencil, dirs: np.ndarray):
        self.stencil = stencil
        self.dirs = dirs
        self.diag_f, self.diag_b = _diagonals(stencil.self_f, stencil.self_b, stencil.edges_f, stencil.edges_b, dirs)
        runs, row_runs = _runs(stencil.cross, stencil.edges_f, stencil.edges_b, dirs)
        self.strips = _strips(runs, row_runs)
        self.args = (self.diag_f, self.diag_b, stencil.cross, stencil.edges_f, stencil.edges_b, dirs, runs, row_runs)

    def residual(self, x: np.ndarray, rhs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """rhs - A x, for (H, W, 2, 3) blocks (into `out` if given)."""
        out = np.empty_like(x) if out is None else out
        _residual(*self.args, x, rhs, out)
        return out

    def negative_product(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out <- -A x for (H, W, 2, 3) blocks."""
        _residual(*self.args, x, _NO_BLOCK, out)
        return out

    def apply(self, x: np.ndarray) -> np.ndarray:
        """A x, for (H, W, 2, 3) blocks."""
        out = np.empty_like(x)
        self.negative_product(x, out)
        return -out

    def dense(self) -> np.ndarray:
        """The level's matrix, unknowns ordered (cell, field): for the coarsest direct solve."""
        h, w = self.stencil.shape
        n = h * w * 2
        columns = np.eye(n).reshape(h, w, 2, n)
        padded = np.zeros((h, w, 2, n + (-n) % 3))
        padded[..., :n] = columns
        blocks = [self.apply(np.ascontiguousarray(padded[..., i : i + 3])) for i in range(0, padded.shape[3], 3)]
        return np.concatenate(blocks, axis=3)[..., :n].reshape(n, n)


class Multigrid:
    """Symmetric V-cycle for the stencil operator, usable as a CG preconditioner on (H, W, 2, C) blocks."""

    def __init__(self, stencil: Stencil, sweeps: int = 3, correction: float = 1.8):
        dirs = np.array(DIRECTIONS[: stencil.edges_f.shape[0]], dtype=np.int64)
        self.levels = [_Level(stencil, dirs)]
        while self.levels[-1].stencil.shape[0] * self.levels[-1].stencil.shape[1] > _COARSEST_CELLS:
            s = self.levels[-1].stencil
            coarse = Stencil(*_coarsen(s.self_f, s.self_b, s.cross, s.edges_f, s.edges_b, dirs))
            self.levels.append(_Level(coarse, dirs))
        # The coarsest matrix is SPD unless F or B is undetermined somewhere (an isolated aggregate
        # with alpha 0 or 1 throughout and no edges): the pseudo-inverse then leaves that part at 0.
        # On one BLAS thread: OpenBLAS splits its products by thread count, and the last bits of
        # the result must not depend on it (dask workers run with OMP_NUM_THREADS=1).
        with threadpool_limits(limits=1, user_api="blas"):
            self.coarse_inverse = np.linalg.pinv(self.levels[-1].dense(), hermitian=True)
        self.sweeps = sweeps
        self.correction = correction
        # Work blocks allocated once and reused by every cycle (fresh 48 MB/MP arrays per call
        # cost more in page faults than the smoothing itself). Level l's solution block is what
        # a call returns: valid until the next call.
        self.solutions = [np.empty(lv.stencil.shape + (2, 3)) for lv in self.levels]
        self.coarse_rhs = [None] + [np.empty(lv.stencil.shape + (2, 3)) for lv in self.levels[1:]]

    def __call__(self, rhs: np.ndarray, level: int = 0) -> np.ndarray:
        lv = self.levels[level]
        if level == len(self.levels) - 1:
            return _coarse_solve(self.coarse_inverse, rhs)
        x = self.solutions[level]
        coarse_rhs = self.coarse_rhs[level + 1]
        assert coarse_rhs is not None  # only level 0 has none
        _smooth(*lv.args, x, rhs, self.sweeps, False, coarse_rhs, lv.strips)
        correction = self(coarse_rhs, level + 1)
        h, w = coarse_rhs.shape[:2]
        _prolong_add(correction.reshape(h, w, -1), x.reshape(x.shape[0], x.shape[1], -1), self.correction)
        _smooth(*lv.args, x, rhs, self.sweeps, True, _NO_BLOCK, lv.strips)
        return x


_CHUNKS = 64  # fixed partial sums: the same bits whatever the thread count


@numba.njit(cache=True, parallel=True)
def _dots(a, b):
    """Per-channel dot products of two (N, 2, 3) blocks."""
    n = a.shape[0]
    parts = np.zeros((_CHUNKS, 3))
    for k in numba.prange(_CHUNKS):
        for i in range(n * k // _CHUNKS, n * (k + 1) // _CHUNKS):
            for f in range(2):
                for c in range(3):
                    parts[k, c] += a[i, f, c] * b[i, f, c]
    return _total(parts)


@numba.njit(cache=True, parallel=True)
def _step(x, r, p, minus_q, step, diag_f, diag_b):
    """x += step p, r += step minus_q (per channel; minus_q = -A p); returns the per-channel
    squared rescaled residual (r^2 / diagonal, summed)."""
    n = x.shape[0]
    parts = np.zeros((_CHUNKS, 3))
    for k in numba.prange(_CHUNKS):
        for i in range(n * k // _CHUNKS, n * (k + 1) // _CHUNKS):
            inverse_f, inverse_b = 1.0 / diag_f[i], 1.0 / diag_b[i]
            for c in range(3):
                x[i, 0, c] += step[c] * p[i, 0, c]
                x[i, 1, c] += step[c] * p[i, 1, c]
                r[i, 0, c] += step[c] * minus_q[i, 0, c]
                r[i, 1, c] += step[c] * minus_q[i, 1, c]
                parts[k, c] += r[i, 0, c] * r[i, 0, c] * inverse_f + r[i, 1, c] * r[i, 1, c] * inverse_b
    return _total(parts)


@numba.njit(cache=True)
def _total(parts):
    """Column sums of the partial sums, in chunk order."""
    out = np.zeros(3)
    for k in range(parts.shape[0]):
        for c in range(3):
            out[c] += parts[k, c]
    return out


@numba.njit(cache=True, parallel=True)
def _new_direction(p, z, beta):
    """p <- z + beta p, per channel."""
    for i in numba.prange(p.shape[0]):
        for f in range(2):
            for c in range(3):
                p[i, f, c] = z[i, f, c] + beta[c] * p[i, f, c]


def conjugate_gradients(
    multigrid: Multigrid, rhs: np.ndarray, x: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, int, float]:
    """Multigrid-preconditioned CG on (H, W, 2, 3) blocks, the three channels at once.

    Stops when every channel's *diagonally rescaled* relative residual ``|D^-1/2 r| / |D^-1/2 b|``
    is at most `tol` (the raw residual is meaningless with diagonals from 1e-5 to 1e4). `x` is
    the initial guess, updated in place; `rhs` is overwritten (it becomes the residual).
    Returns (x, iterations, largest relative residual).
    """
    fine = multigrid.levels[0]
    diagonal = fine.diag_f.reshape(-1), fine.diag_b.reshape(-1)
    flat = lambda block: block.reshape(-1, 2, 3)  # noqa: E731 - a view, for the kernels
    zero = np.zeros(3)  # a step of 0: `_step` then only measures its residual argument
    norms = np.maximum(np.sqrt(_step(flat(x), flat(rhs), flat(rhs), flat(rhs), zero, *diagonal)), 1e-300)
    r = fine.residual(x, rhs, out=rhs)  # in place: one (H, W, 2, 3) block less at 24 MP
    rel = np.sqrt(_step(flat(x), flat(r), flat(r), flat(r), zero, *diagonal)) / norms
    z = multigrid(r)
    p = z.copy()  # z is the multigrid's own block, overwritten by the next cycle
    rz = _dots(flat(r), flat(z))
    minus_q = np.empty_like(x)
    iterations = 0
    while rel.max() > tol and iterations < max_iter:
        fine.negative_product(p, minus_q)  # -A p
        step = rz / np.maximum(-_dots(flat(p), flat(minus_q)), 1e-300)
        step[rel <= tol] = 0.0  # finished channels stay put
        rel = np.sqrt(_step(flat(x), flat(r), flat(p), flat(minus_q), step, *diagonal)) / norms
        iterations += 1
        z = multigrid(r)
        rz_new = _dots(flat(r), flat(z))
        _new_direction(flat(p), flat(z), rz_new / np.maximum(rz, 1e-300))
        rz = rz_new
    return x, iterations, float(rel.max())
