"""Grid multigrid solver of solveFB: exact against a direct sparse solve of the same energy.

The truth is assembled independently of the stencil code: the energy written as a least-squares
problem ``|M x - t|^2`` (one row per data term, edge and prior), normal equations ``M^T M``,
solved by SuperLU.
"""

import numba
import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from datagen.demo.objects import make_object
from datagen.foreground import gridmg
from datagen.foreground.levin import _stencil, estimate_fb_levin
from datagen.refit.threads import thread_limit


def _normal_equations(image, alpha, margin, neighbours, soft_priors=False):
    """The solveFB normal equations, unknowns (pixel, F/B), as a sparse matrix and 3 right-hand
    sides, written pixel by pixel from the energy in `levin`'s docstring (not from its kernel)."""
    h, w = alpha.shape
    n = h * w
    rows, cols, vals, targets = [], [], [], []

    def add_row(entries, target):
        r = len(targets)
        for col, val in entries:
            rows.append(r), cols.append(col), vals.append(val)
        targets.append(target)

    def in_band(a):
        return margin <= a <= 1 - margin

    for y in range(h):
        for x in range(w):
            p, a, colour = y * w + x, alpha[y, x], image[y, x]
            add_row([(2 * p, a), (2 * p + 1, 1 - a)], colour)
            soft = 0.03 if soft_priors else 0.0
            prior_f = 100.0 * (a > 1 - margin) + soft * a * (a > 0.7) + 0.01 * (a < margin)
            prior_b = 100.0 * (a < margin) + soft * (1 - a) * (a < 0.3) + 0.01 * (a > 1 - margin)
            add_row([(2 * p, prior_f)], prior_f * colour * (a > margin))
            add_row([(2 * p + 1, prior_b)], prior_b * colour * (a < 1 - margin))
            for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1))[: 2 if neighbours == 4 else 4]:
                qy, qx = y + dy, x + dx
                if qy < h and 0 <= qx < w and (in_band(a) or in_band(alpha[qy, qx])):
                    q, a_j = qy * w + qx, alpha[qy, qx]
                    root = np.sqrt(abs(a_j - a))
                    for field, weight in ((0, root + 0.003 * (1 - a_j)), (1, root + 0.003 * a_j)):
                        add_row([(2 * p + field, -weight), (2 * q + field, weight)], np.zeros(3))
    m = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(len(targets), 2 * n))
    return (m.T @ m).tocsc(), np.asarray(m.T @ np.array(targets))


def _direct_solution(image, alpha, margin, neighbours, soft_priors=False):
    """Minimiser of the solveFB energy, unknowns (pixel, F/B) per channel, by a direct solve."""
    normal, rhs = _normal_equations(image, alpha, margin, neighbours, soft_priors)
    return scipy.sparse.linalg.splu(normal).solve(rhs).reshape(alpha.shape + (2, 3))


@pytest.mark.parametrize("margin,neighbours,soft_priors,shape", [
    (0.0, 4, False, (23, 30)), (0.02, 8, True, (19, 26)), (0.0, 8, False, (9, 41)), (0.0, 4, True, (66, 21))])
def test_cg_multigrid_matches_direct_solve(margin, neighbours, soft_priors, shape):
    obj = make_object(5, shape, kind="glass")
    image, alpha = obj.image / 255.0, obj.alpha / 255.0
    stencil, rhs, _ = _stencil(image, alpha, margin, neighbours, soft_priors)
    multigrid = gridmg.Multigrid(stencil)
    assert len(multigrid.levels) >= 3  # the test exercises real coarsening
    ours, iterations, residual = gridmg.conjugate_gradients(multigrid, rhs, np.zeros_like(rhs), 1e-12, 300)
    assert residual <= 1e-12 and iterations < 300
    np.testing.assert_allclose(ours, _direct_solution(image, alpha, margin, neighbours, soft_priors), atol=1e-7)


@pytest.mark.parametrize("neighbours", [4, 8])
def test_coarse_level_is_galerkin_product(neighbours):
    """Coarse operator == P^T A P with P piecewise constant on 2x2 aggregates (odd sizes too)."""
    obj = make_object(2, (13, 11), kind="fur")
    stencil, *_ = _stencil(obj.image / 255.0, obj.alpha / 255.0, 0.0, neighbours)
    multigrid = gridmg.Multigrid(stencil)
    fine, coarse = multigrid.levels[0], multigrid.levels[1]
    (h, w), (hc, wc) = fine.stencil.shape, coarse.stencil.shape
    aggregate = (np.arange(h)[:, None] // 2 * wc + np.arange(w)[None, :] // 2).reshape(-1)
    p = np.zeros((h * w * 2, hc * wc * 2))
    for cell, agg in enumerate(aggregate):
        p[2 * cell, 2 * agg] = p[2 * cell + 1, 2 * agg + 1] = 1.0
    np.testing.assert_allclose(coarse.dense(), p.T @ fine.dense() @ p, atol=1e-12)


def test_preconditioner_is_symmetric():
    """CG needs a symmetric preconditioner: <M^-1 u, v> == <u, M^-1 v> (with two halves and a
    separator on the fine level, so the up step must undo the order of the down step)."""
    obj = make_object(3, (70, 37), kind="motion")
    stencil, *_ = _stencil(obj.image / 255.0, obj.alpha / 255.0, 0.0, 4)
    multigrid = gridmg.Multigrid(stencil)
    assert len(multigrid.levels[0].strips) - 1 == 3
    rng = np.random.default_rng(0)
    u, v = rng.standard_normal((2, 70, 37, 2, 3))
    mu = multigrid(u).copy()
    mv = multigrid(v).copy()
    np.testing.assert_allclose(np.einsum("ijkc,ijkc->c", mu, v), np.einsum("ijkc,ijkc->c", u, mv), rtol=1e-9)


@pytest.mark.parametrize("neighbours,backward", [(4, False), (8, False), (8, True)])
def test_fused_sweeps_equal_separate_sweeps(neighbours, backward):
    """The wavefront smoother (3 sweeps + residual in one pass) is bit-for-bit 3 single sweeps
    followed by the residual summed over 2x2 aggregates: any row read before its previous sweep
    finished would show."""
    obj = make_object(4, (21, 17), kind="glass")
    stencil, rhs, _ = _stencil(obj.image / 255.0, obj.alpha / 255.0, 0.0, neighbours)
    level = gridmg.Multigrid(stencil).levels[0]
    rng = np.random.default_rng(1)
    start = rng.standard_normal(rhs.shape)
    fused, fused_restricted = start.copy(), np.zeros((11, 9, 2, 3))
    gridmg._gauss_seidel(*level.args, fused, rhs, 3, backward, fused_restricted, 0, 21, 0, 21, False)
    separate = start.copy()
    for _ in range(3):
        gridmg._gauss_seidel(*level.args, separate, rhs, 1, backward, gridmg._NO_BLOCK, 0, 21, 0, 0, False)
    assert not np.array_equal(separate, start)
    np.testing.assert_array_equal(fused, separate)
    residual = np.zeros((22, 18, 2, 3))
    residual[:21, :17] = level.residual(separate, rhs)
    restricted = np.zeros((11, 9, 2, 3))
    order = ((0, 0), (0, 1), (1, 0), (1, 1))  # the kernel's order of additions: its rows' order
    for dy, dx in order[2:] + order[:2] if backward else order:
        restricted += residual[dy::2, dx::2]
    np.testing.assert_array_equal(fused_restricted, restricted)


@pytest.mark.parametrize("neighbours", [4, 8])
def test_strip_smoother_is_red_black_block_gauss_seidel(neighbours):
    """`_smooth` is its definition: going down, from x = 0, 3 sweeps on every even strip (the two
    halves), then on every odd one (the separator); going up, the odd strips first, each swept
    backwards; the coarse right-hand side is the final residual summed over 2x2 aggregates. A
    strip reading a row of the other colour before that colour's phase, or a residual row added
    too early, would show."""
    obj = make_object(8, (70, 23), kind="glass")
    stencil, rhs, _ = _stencil(obj.image / 255.0, obj.alpha / 255.0, 0.0, neighbours)
    level = gridmg.Multigrid(stencil).levels[0]
    strips = level.strips
    assert len(strips) - 1 == 3
    start = np.random.default_rng(3).standard_normal(rhs.shape)

    def by_strips(x, colours, backward):
        for colour in colours:
            for t in range(colour, len(strips) - 1, 2):
                for _ in range(3):
                    gridmg._gauss_seidel(*level.args, x, rhs, 1, backward, gridmg._NO_BLOCK,
                                         strips[t], strips[t + 1], 0, 0, False)
        return x

    down, restricted = start.copy(), np.full((35, 12, 2, 3), np.nan)
    gridmg._smooth(*level.args, down, rhs, 3, False, restricted, strips)
    np.testing.assert_array_equal(down, by_strips(np.zeros_like(start), (0, 1), False))
    residual = np.zeros((70, 24, 2, 3))
    residual[:, :23] = level.residual(down, rhs)
    aggregated = sum(residual[dy::2, dx::2] for dy in (0, 1) for dx in (0, 1))
    np.testing.assert_allclose(restricted, aggregated, rtol=1e-12, atol=1e-12 * np.abs(aggregated).max())

    up = start.copy()
    gridmg._smooth(*level.args, up, rhs, 3, True, gridmg._NO_BLOCK, strips)
    np.testing.assert_array_equal(up, by_strips(start.copy(), (1, 0), True))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two cores")
def test_solution_does_not_depend_on_thread_count():
    """The strips are fixed by each level's height and the CG sums by fixed chunks, so one thread
    and two give the same bits (and `thread_limit` puts the thread count back)."""
    obj = make_object(6, (150, 97), kind="fur")
    image, alpha = obj.image / 255.0, obj.alpha / 255.0
    before = numba.get_num_threads()
    with thread_limit(1):
        one = estimate_fb_levin(image, alpha)
    with thread_limit(2):
        two = estimate_fb_levin(image, alpha)
    assert numba.get_num_threads() == before
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert one[2]["iterations"] == two[2]["iterations"] > 0
    with pytest.raises(ValueError, match="threads"):
        with thread_limit(0):
            pass


def test_solution_does_not_depend_on_blas_threads(tmp_path):
    """Dask workers run with OMP_NUM_THREADS=1, which also puts OpenBLAS on one thread: the
    coarsest level's pseudo-inverse must come out the same bits as in a process with all of
    them (it did not, and refit's shards differed in their last bits with `--workers 2`)."""
    import os
    import subprocess
    import sys

    script = (
        "import sys, numpy as np\n"
        "from datagen.demo.objects import make_object\n"
        "from datagen.foreground.levin import estimate_fb_levin\n"
        "obj = make_object(0, (72, 56))\n"
        "f, b, info = estimate_fb_levin(obj.image / 255.0, obj.alpha / 255.0)\n"
        "np.savez(sys.argv[1], f=f, b=b, residual=info['residual'])\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "one.npz")], env=env, check=True)
    obj = make_object(0, (72, 56))
    f, b, info = estimate_fb_levin(obj.image / 255.0, obj.alpha / 255.0)
    other = np.load(tmp_path / "one.npz")
    np.testing.assert_array_equal(other["f"], f)
    np.testing.assert_array_equal(other["b"], b)
    assert float(other["residual"]) == info["residual"]


def _opaque_and_clear_regions(shape, seed):
    """Alpha exactly 0 on the left, exactly 1 on the right, a noisy ramp between, an opaque blob
    in the clear part and a clear hole in the opaque part; a random image."""
    rng = np.random.default_rng(seed)
    h, w = shape
    alpha = np.clip(np.linspace(-0.6, 1.6, w)[None, :] + 0.15 * rng.standard_normal((h, w)), 0.0, 1.0)
    alpha[:, : w // 4] = 0.0
    alpha[:, -w // 4 :] = 1.0
    alpha[2:6, 2:5] = 1.0
    alpha[h - 7 : h - 3, w - 5 : w - 2] = 0.0
    return rng.random((h, w, 3)), alpha


def _cell_kinds(level):
    """Per cell, the coupling kind of the run that holds it."""
    runs, row_runs = level.args[-2:]
    kinds = np.empty(level.stencil.shape, dtype=np.int64)
    for y in range(kinds.shape[0]):
        for first, end, kind in runs[row_runs[y] : row_runs[y + 1]]:
            kinds[y, first:end] = kind
    return kinds


def _random_stencil(shape, neighbours, seed):
    """A stencil with random weights and every coupling kind: F decided (no F edges) in the
    right third, B in the left third, the cross term only in the middle. Random weights, not
    solveFB's (which are uniform inside the decided regions), so that a kernel taking a wrong
    neighbour's weight shows."""
    rng = np.random.default_rng(seed)
    h, w = shape
    nd = 2 if neighbours == 4 else 4
    column = np.arange(w)[None, :].repeat(h, axis=0)
    decided_f, decided_b = column >= 2 * w // 3, column < w // 3
    edges_f, edges_b = rng.random((2, nd, h, w))
    for k, (dy, dx) in enumerate(gridmg.DIRECTIONS[:nd]):
        for y, x in np.ndindex(h, w):
            ny, nx = y + dy, x + dx
            inside = ny < h and 0 <= nx < w
            edges_f[k, y, x] *= inside and not (decided_f[y, x] or decided_f[ny, nx])
            edges_b[k, y, x] *= inside and not (decided_b[y, x] or decided_b[ny, nx])
    self_f, self_b = 0.1 + rng.random((2, h, w))
    cross = np.where(decided_f | decided_b, 0.0, 0.9 * np.sqrt(self_f * self_b) * rng.random((h, w)))
    return gridmg.Stencil(self_f, self_b, cross, edges_f, edges_b)


def _stencil_matrix(stencil):
    """The stencil's matrix, unknowns (cell, field), written from the `Stencil` definition: per
    cell the self block and cross term, per edge p -> p + d a graph-Laplacian term of its field."""
    h, w = stencil.shape
    index = lambda y, x, field: 2 * (y * w + x) + field  # noqa: E731
    matrix = np.zeros((2 * h * w, 2 * h * w))
    for y, x in np.ndindex(h, w):
        matrix[index(y, x, 0), index(y, x, 0)] += stencil.self_f[y, x]
        matrix[index(y, x, 1), index(y, x, 1)] += stencil.self_b[y, x]
        matrix[index(y, x, 0), index(y, x, 1)] = matrix[index(y, x, 1), index(y, x, 0)] = stencil.cross[y, x]
        for k, (dy, dx) in enumerate(gridmg.DIRECTIONS[: stencil.edges_f.shape[0]]):
            if y + dy < h and 0 <= x + dx < w:
                for field, edges in enumerate((stencil.edges_f, stencil.edges_b)):
                    p, q = index(y, x, field), index(y + dy, x + dx, field)
                    matrix[[p, q, p, q], [p, q, q, p]] += edges[k, y, x] * np.array([1, 1, -1, -1])
    return matrix


@pytest.mark.parametrize("neighbours,backward", [(4, False), (4, True), (8, False), (8, True)])
def test_sweep_is_block_gauss_seidel(neighbours, backward):
    """One sweep of the smoother is block Gauss-Seidel: cell after cell in raster order
    (reversed going up), each cell's (F, B) pair solved given the latest values of all the
    others, on a matrix written independently from the stencil's definition. Every coupling
    kind is present, so the border cells, the interior 4-neighbour kernels and the general one
    are all checked; the residual and product kernels against the same matrix."""
    stencil = _random_stencil((23, 30), neighbours, seed=4)
    level = gridmg.Multigrid(stencil).levels[0]
    assert set(np.unique(_cell_kinds(level))) == {1, 2, 3}
    rng = np.random.default_rng(5)
    start, rhs = rng.standard_normal((2, 23, 30, 2, 3))
    ours = start.copy()
    gridmg._gauss_seidel(*level.args, ours, rhs, 1, backward, gridmg._NO_BLOCK, 0, 23, 0, 0, False)

    matrix = _stencil_matrix(stencil)
    x, b = start.reshape(-1, 3).copy(), rhs.reshape(-1, 3)
    np.testing.assert_allclose(level.residual(start, rhs).reshape(-1, 3), b - matrix @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(level.apply(start).reshape(-1, 3), matrix @ x, rtol=1e-12, atol=1e-12)
    cells = range(23 * 30)
    for cell in reversed(cells) if backward else cells:
        pair = slice(2 * cell, 2 * cell + 2)
        others = matrix[pair] @ x - matrix[pair, pair] @ x[pair]
        x[pair] = np.linalg.solve(matrix[pair, pair], b[pair] - others)
    np.testing.assert_allclose(ours.reshape(-1, 3), x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("margin,neighbours", [(0.0, 4), (0.0, 8), (0.02, 8)])
def test_decoupled_fields_are_exact(margin, neighbours):
    """Where alpha is exactly 0 or 1 the smoother skips the decided field's neighbours. Checked
    three ways: the fields it marks uncoupled have no off-diagonal entry in the independently
    assembled normal equations; a V-cycle equals (to rounding) the one that treats every cell
    as coupled (the unspecialised path); CG converges to the direct solution."""
    image, alpha = _opaque_and_clear_regions((24, 31), seed=6)
    stencil, rhs, _ = _stencil(image, alpha, margin, neighbours)
    multigrid = gridmg.Multigrid(stencil)
    kinds = _cell_kinds(multigrid.levels[0])
    # margin 0: one field decided inside the clear / opaque parts; with a margin nothing outside
    # the band has edges, so both fields are (kind 0)
    expected = {1: 100, 2: 100, 3: 200} if margin == 0 else {0: 250, 3: 200}
    assert set(np.unique(kinds)) == set(expected)
    assert all((kinds == kind).sum() > least for kind, least in expected.items())
    normal, _ = _normal_equations(image, alpha, margin, neighbours)
    off_diagonal = abs(normal - scipy.sparse.diags(normal.diagonal())).tocsr()
    coupled = np.asarray(off_diagonal.sum(axis=1)).reshape(alpha.shape + (2,)) > 0
    assert not coupled[..., 0][(kinds & 1) == 0].any() and not coupled[..., 1][(kinds & 2) == 0].any()

    u = np.random.default_rng(2).standard_normal(rhs.shape)
    specialised = multigrid(u).copy()
    for level in multigrid.levels:
        h, w = level.stencil.shape
        all_coupled = np.array([[0, w, 3]] * h, dtype=np.int64)
        level.args = level.args[:-2] + (all_coupled, np.arange(h + 1, dtype=np.int64))
    np.testing.assert_allclose(specialised, multigrid(u), rtol=1e-9, atol=1e-9 * np.abs(specialised).max())

    multigrid = gridmg.Multigrid(stencil)
    ours, iterations, residual = gridmg.conjugate_gradients(multigrid, rhs, np.zeros_like(rhs), 1e-12, 300)
    assert residual <= 1e-12 and iterations < 300
    np.testing.assert_allclose(ours, _direct_solution(image, alpha, margin, neighbours), atol=1e-7)
