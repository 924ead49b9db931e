"""Tests for the W updates of eqs. (18)-(24) (divafn_tf/sylvester.py)."""
import numpy as np
import pytest
import scipy.linalg

from divafn_tf import sylvester

BETA, LAM = 0.1, 0.01  # the paper's best β, λ


def _spd(rng, size):
    m = rng.normal(size=(size, size))
    return m @ m.T + size * np.eye(size)


def _class_problem(rng, k, dim, n, classes):
    """S with one column per sample, repeated per class (singular A)."""
    prototypes = rng.normal(size=(k, classes))
    labels = np.concatenate([np.arange(classes),
                             rng.integers(0, classes, n - classes)])
    return prototypes[:, labels], rng.normal(size=(dim, n))


def _objective(s, x, w, beta, lam):
    """Eq. (19): β‖Xᵀ − SᵀW‖² + λ‖WX − S‖²."""
    return (beta * np.sum((x.T - s.T @ w) ** 2)
            + lam * np.sum((w @ x - s) ** 2))


def _sylvester_matrices(s, x, beta, lam):
    return beta * s @ s.T, lam * x @ x.T, (beta + lam) * s @ x.T


def _kronecker_min_norm(a, b, c):
    """Minimum-norm least squares of (I ⊗ A + Bᵀ ⊗ I) vec(W) = vec(C)."""
    k, m = c.shape
    op = np.kron(np.eye(m), a) + np.kron(b.T, np.eye(k))
    vec_w = np.linalg.pinv(op, rcond=1e-10) @ c.ravel(order="F")
    return vec_w.reshape((k, m), order="F")


def _eigen_min_norm(a, b, c):
    """The minimum-norm solution of A W + W B = C in the eigenbases of A and
    B (the module docstring's definition): W̃_ij = C̃_ij / (α_i + γ_j), 0
    where α_i + γ_j ≤ max(k, m) · ε · (α_max + γ_max)."""
    alpha, u = np.linalg.eigh(a)
    gamma, v = np.linalg.eigh(b)
    alpha, gamma = np.maximum(alpha, 0.0), np.maximum(gamma, 0.0)
    denom = alpha[:, None] + gamma[None, :]
    limit = max(c.shape) * np.finfo(np.float64).eps * (alpha.max() + gamma.max())
    c_tilde = u.T @ c @ v
    return u @ np.divide(c_tilde, denom, out=np.zeros_like(c_tilde),
                         where=denom > limit) @ v.T


def test_solvers_agree_on_unique_problems():
    rng = np.random.default_rng(0)
    for k, m in [(5, 5), (7, 12), (20, 9)]:
        a, b = _spd(rng, k), _spd(rng, m)
        c = rng.normal(size=(k, m))
        w_min = _eigen_min_norm(a, b, c)
        w_bs = sylvester.solve_sylvester_bartels_stewart(a, b, c)
        assert (np.linalg.norm(w_min - w_bs)
                <= 1e-8 * np.linalg.norm(w_bs))
        assert sylvester.relative_residual(a, b, c, w_min) <= 1e-12


def test_autoencoder_solvers_agree_on_unique_problem():
    rng = np.random.default_rng(1)
    # n >= dim and k distinct classes: A and B positive definite.
    s, x = _class_problem(rng, k=6, dim=10, n=40, classes=6)
    by_method = {m: sylvester.solve_autoencoder_w(s, x, BETA, LAM, m)
                 for m in sylvester.SOLVERS}
    w_bs = by_method["bartels_stewart"].w
    assert (np.linalg.norm(by_method["min_norm"].w - w_bs)
            <= 1e-8 * np.linalg.norm(w_bs))
    for method, solution in by_method.items():
        assert solution.method == method
        assert solution.w.shape == (6, 10)
        assert solution.relative_residual <= 1e-10
        assert solution.seconds >= 0


@pytest.mark.parametrize("dim,n", [(12, 8), (10, 30)])
def test_min_norm_on_singular_problem(dim, n):
    rng = np.random.default_rng(2)
    s, x = _class_problem(rng, k=6, dim=dim, n=n, classes=3)
    if n >= dim:  # make X X^T singular on the eigh path too
        x = rng.normal(size=(dim, 4)) @ rng.normal(size=(4, n))
    a, b, c = _sylvester_matrices(s, x, BETA, LAM)
    solution = sylvester.solve_autoencoder_w(s, x, BETA, LAM)
    w = solution.w
    assert np.isfinite(w).all()
    assert solution.relative_residual <= 1e-8
    assert sylvester.relative_residual(a, b, c, w) <= 1e-8
    reference = _kronecker_min_norm(a, b, c)
    assert np.linalg.norm(w) == pytest.approx(np.linalg.norm(reference),
                                              rel=1e-8)
    np.testing.assert_allclose(w, reference, atol=1e-10)
    w_scipy = scipy.linalg.solve_sylvester(a, b, c)
    assert np.linalg.norm(w) <= np.linalg.norm(w_scipy) * (1 + 1e-10)


@pytest.mark.parametrize("dim,n,classes", [(80, 25, 5), (25, 80, 5),
                                             (200, 150, 7), (150, 200, 30)])
def test_hessenberg_schur_equals_eigen_solution(dim, n, classes):
    """The default path (range(A) + tridiagonal G) against eigenvectors of
    the explicit A and B; sizes over 64 take LAPACK's blocked code."""
    rng = np.random.default_rng(3)
    s, x = _class_problem(rng, k=30, dim=dim, n=n, classes=classes)
    w = sylvester.solve_autoencoder_w(s, x, BETA, LAM).w
    w_eigh = _eigen_min_norm(*_sylvester_matrices(s, x, BETA, LAM))
    np.testing.assert_allclose(w, w_eigh, rtol=0,
                               atol=1e-9 * np.abs(w_eigh).max())


@pytest.mark.parametrize("dim,n", [(40, 15), (15, 40)])
def test_eigenvector_fallback_gives_the_same_w(monkeypatch, dim, n):
    """If a tridiagonal system is not positive definite in floating point,
    the solver falls back to eigenvectors of X's Gram matrix / thin SVD."""
    rng = np.random.default_rng(8)
    s, x = _class_problem(rng, k=10, dim=dim, n=n, classes=4)
    w = sylvester.solve_autoencoder_w(s, x, BETA, LAM).w

    def not_positive_definite(*args):
        raise sylvester._NotPositiveDefinite(1)

    monkeypatch.setattr(sylvester, "_min_norm_hessenberg_schur",
                        not_positive_definite)
    w_fallback = sylvester.solve_autoencoder_w(s, x, BETA, LAM).w
    np.testing.assert_allclose(w_fallback, w, rtol=0,
                               atol=1e-9 * np.abs(w).max())


@pytest.mark.parametrize("dim,n", [(40, 15), (15, 40)])
def test_solution_minimises_objective(dim, n):
    rng = np.random.default_rng(4)
    s, x = _class_problem(rng, k=10, dim=dim, n=n, classes=5)
    w = sylvester.solve_autoencoder_w(s, x, BETA, LAM).w
    # Derivative of eq. (19) (the left side of eq. 20, times 2) vanishes.
    grad = (2 * BETA * s @ (s.T @ w - x.T)
            + 2 * LAM * (w @ x - s) @ x.T)
    assert np.linalg.norm(grad) <= 1e-9 * (BETA + LAM) * np.linalg.norm(
        s @ x.T)
    best = _objective(s, x, w, BETA, LAM)
    for scale in (1e-3, 1e-1, 1.0):
        for _ in range(5):
            perturbed = w + scale * rng.normal(size=w.shape)
            assert best <= _objective(s, x, perturbed, BETA, LAM)


def test_transposed_row_major_bank_and_float32():
    rng = np.random.default_rng(5)
    s, x = _class_problem(rng, k=8, dim=20, n=12, classes=4)
    bank = np.ascontiguousarray(x.T)  # [n, dim] row-major, as a model keeps
    w_view = sylvester.solve_autoencoder_w(s, bank.T, BETA, LAM).w
    w_copy = sylvester.solve_autoencoder_w(s, x, BETA, LAM).w
    np.testing.assert_allclose(w_view, w_copy, atol=1e-12)
    w_32 = sylvester.solve_autoencoder_w(
        s.astype(np.float32), bank.T.astype(np.float32), BETA, LAM).w
    assert w_32.dtype == np.float64
    np.testing.assert_allclose(w_32, w_copy, atol=1e-5)


@pytest.mark.parametrize("method", sylvester.SOLVERS)
def test_degenerate_weights(method):
    rng = np.random.default_rng(6)
    s, x = _class_problem(rng, k=5, dim=7, n=9, classes=5)
    zero = sylvester.solve_autoencoder_w(s, x, 0.0, 0.0, method)
    assert zero.w.shape == (5, 7) and not zero.w.any()
    assert zero.relative_residual == 0.0
    zero_x = sylvester.solve_autoencoder_w(s, np.zeros((7, 9)), BETA, LAM,
                                           method)
    assert not zero_x.w.any() and zero_x.relative_residual == 0.0


@pytest.mark.parametrize("dim,n", [(7, 4), (4, 9)])
def test_one_sided_weights(dim, n):
    rng = np.random.default_rng(7)
    s, x = _class_problem(rng, k=5, dim=dim, n=n, classes=3)
    # β = 0: min ‖WX − S‖², minimum norm W = S X⁺.
    w = sylvester.solve_autoencoder_w(s, x, 0.0, LAM).w
    np.testing.assert_allclose(w, s @ np.linalg.pinv(x), atol=1e-10)
    # λ = 0: min ‖X − WᵀS‖², minimum norm W = (Sᵀ)⁺ Xᵀ.
    w = sylvester.solve_autoencoder_w(s, x, BETA, 0.0).w
    np.testing.assert_allclose(w, np.linalg.pinv(s.T) @ x.T, atol=1e-10)


def test_shape_and_value_errors():
    s, x = np.ones((4, 6)), np.ones((9, 6))
    with pytest.raises(ValueError, match="same number of columns"):
        sylvester.solve_autoencoder_w(s, np.ones((9, 5)), BETA, LAM)
    with pytest.raises(ValueError, match="x must be a 2-D"):
        sylvester.solve_autoencoder_w(s, np.ones(6), BETA, LAM)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        sylvester.solve_autoencoder_w(s, bad, BETA, LAM)
    with pytest.raises(ValueError, match="lam must be"):
        sylvester.solve_autoencoder_w(s, x, BETA, -1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        sylvester.solve_autoencoder_w(s, x, BETA, LAM, "lstsq")
    a, b = np.eye(3), np.eye(4)
    with pytest.raises(ValueError, match="c must have shape"):
        sylvester.solve_sylvester_bartels_stewart(a, b, np.ones((4, 3)))


def test_range_of_a_from_distinct_columns_equals_eigen_decomposition():
    """A = β S Sᵀ from S's distinct (class) columns: the same non-zero
    eigenvalues and the same range projector as eigh of A."""
    rng = np.random.default_rng(9)
    s, _ = _class_problem(rng, k=40, dim=5, n=300, classes=6)
    a = BETA * s @ s.T
    rtol = 1e-12
    alpha, u = sylvester._range_of_a(s, a, BETA, rtol)
    assert alpha.shape == (6,) and u.shape == (40, 6)
    values, vectors = np.linalg.eigh(a)
    top = vectors[:, -6:]
    np.testing.assert_allclose(np.sort(alpha), values[-6:], rtol=1e-10)
    np.testing.assert_allclose(u @ u.T, top @ top.T, atol=1e-10)
    # Too few repeats for the shortcut: A's own eigen-decomposition.
    s_unique = rng.normal(size=(10, 8))
    alpha, u = sylvester._range_of_a(s_unique, s_unique @ s_unique.T, 1.0,
                                     rtol)
    assert u.shape == (10, 10)
