"""Grid multigrid solver of solveFB: exact against a direct sparse solve of the same energy.

The truth is assembled independently of the stencil code: the energy written as a least-squares
problem ``|M x - t|^2`` (one row per data term, edge and prior), normal equations ``M^T M``,
solved by SuperLU.
"""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from datagen.demo.objects import make_object
from datagen.foreground import gridmg
from datagen.foreground.levin import _AFTER, _edge_weights, _prior_weights, _stencil


def _direct_solution(image, alpha, margin, neighbours):
    """Minimiser of the solveFB energy, unknowns (pixel, F/B) per channel, by a direct solve."""
    h, w = alpha.shape
    n = h * w
    index = np.arange(n).reshape(h, w)
    a = alpha.reshape(-1)
    weights_f, weights_b = _edge_weights(alpha, margin, neighbours)
    prior_f, target_f, prior_b, target_b = _prior_weights(alpha, margin)
    rows, cols, vals, targets = [], [], [], []

    def add_row(entries, target):
        r = len(targets)
        for col, val in entries:
            rows.append(r), cols.append(col), vals.append(val)
        targets.append(target)

    pixels = image.reshape(n, 3)
    for p in range(n):
        add_row([(2 * p, a[p]), (2 * p + 1, 1 - a[p])], pixels[p])
        pf, pb = prior_f.reshape(-1)[p], prior_b.reshape(-1)[p]
        add_row([(2 * p, np.sqrt(pf))], np.sqrt(pf) * pixels[p] * target_f.reshape(-1)[p])
        add_row([(2 * p + 1, np.sqrt(pb))], np.sqrt(pb) * pixels[p] * target_b.reshape(-1)[p])
    for (dy, dx), wf, wb in zip(_AFTER, weights_f, weights_b):
        for y in range(h):
            for x in range(w):
                if 0 <= y + dy < h and 0 <= x + dx < w:
                    p, q = index[y, x], index[y + dy, x + dx]
                    for field, weight in ((0, wf[y, x]), (1, wb[y, x])):
                        if weight > 0:
                            root = np.sqrt(weight)
                            add_row([(2 * p + field, -root), (2 * q + field, root)], np.zeros(3))
    m = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(len(targets), 2 * n))
    normal = (m.T @ m).tocsc()
    solution = scipy.sparse.linalg.splu(normal).solve(np.asarray(m.T @ np.array(targets)))
    return solution.reshape(h, w, 2, 3)


@pytest.mark.parametrize("margin,neighbours,shape", [(0.0, 4, (23, 30)), (0.02, 8, (19, 26)), (0.0, 8, (9, 41))])
def test_cg_multigrid_matches_direct_solve(margin, neighbours, shape):
    obj = make_object(5, shape, kind="glass")
    image, alpha = obj.image / 255.0, obj.alpha / 255.0
    stencil, rhs = _stencil(image, alpha, margin, neighbours)
    multigrid = gridmg.Multigrid(stencil)
    assert len(multigrid.levels) >= 3  # the test exercises real coarsening
    ours, iterations, residual = gridmg.conjugate_gradients(multigrid, rhs, np.zeros_like(rhs), 1e-12, 300)
    assert residual <= 1e-12 and iterations < 300
    np.testing.assert_allclose(ours, _direct_solution(image, alpha, margin, neighbours), atol=1e-7)


@pytest.mark.parametrize("neighbours", [4, 8])
def test_coarse_level_is_galerkin_product(neighbours):
    """Coarse operator == P^T A P with P piecewise constant on 2x2 aggregates (odd sizes too)."""
    obj = make_object(2, (13, 11), kind="fur")
    stencil, _ = _stencil(obj.image / 255.0, obj.alpha / 255.0, 0.0, neighbours)
    multigrid = gridmg.Multigrid(stencil)
    fine, coarse = multigrid.levels[0], multigrid.levels[1]
    (h, w), (hc, wc) = fine.stencil.shape, coarse.stencil.shape
    aggregate = (np.arange(h)[:, None] // 2 * wc + np.arange(w)[None, :] // 2).reshape(-1)
    p = np.zeros((h * w * 2, hc * wc * 2))
    for cell, agg in enumerate(aggregate):
        p[2 * cell, 2 * agg] = p[2 * cell + 1, 2 * agg + 1] = 1.0
    np.testing.assert_allclose(coarse.dense(), p.T @ fine.dense() @ p, atol=1e-12)


def test_preconditioner_is_symmetric():
    """CG needs a symmetric preconditioner: <M^-1 u, v> == <u, M^-1 v>."""
    obj = make_object(3, (40, 37), kind="motion")
    stencil, _ = _stencil(obj.image / 255.0, obj.alpha / 255.0, 0.0, 4)
    multigrid = gridmg.Multigrid(stencil)
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((2, 40, 37, 2, 3))
    mu = multigrid(u).copy()
    mv = multigrid(v).copy()
    np.testing.assert_allclose(np.einsum("ijkc,ijkc->c", mu, v), np.einsum("ijkc,ijkc->c", u, mv), rtol=1e-9)


@pytest.mark.parametrize("neighbours,backward", [(4, False), (8, False), (8, True)])
def test_fused_sweeps_equal_separate_sweeps(neighbours, backward):
    """The wavefront smoother (3 sweeps + residual in one pass) is bit-for-bit 3 single sweeps
    followed by the residual: any row read before its previous sweep finished would show."""
    obj = make_object(4, (21, 17), kind="glass")
    stencil, rhs = _stencil(obj.image / 255.0, obj.alpha / 255.0, 0.0, neighbours)
    level = gridmg.Multigrid(stencil).levels[0]
    rng = np.random.default_rng(1)
    start = rng.standard_normal(rhs.shape)
    fused, fused_residual = start.copy(), np.empty_like(rhs)
    gridmg._gauss_seidel(*level.args, fused, rhs, 3, backward, fused_residual)
    separate = start.copy()
    for _ in range(3):
        gridmg._gauss_seidel(*level.args, separate, rhs, 1, backward, np.empty((0, 0, 2, 3)))
    assert not np.array_equal(separate, start)
    np.testing.assert_array_equal(fused, separate)
    np.testing.assert_array_equal(fused_residual, level.residual(separate, rhs))
