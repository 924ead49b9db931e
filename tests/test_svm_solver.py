"""The phases of `svm_solver.SquaredHingeOvR` against references.

tests/test_classifier.py checks the whole fit against liblinear; these check
each phase on its own: the exact line search against scipy's scalar
minimiser, and the finite Newton phase against L-BFGS alone (the same unique
minimum, both to the gradient tolerance).
"""
import numpy as np
import pytest
import scipy.optimize

from divafn_tf import svm_solver


def _objective_along(ws, ss, a, b, two_c, t):
    """f_c(w + t s) − f_c(w) for one column, from the line search's terms."""
    return (ws * t + 0.5 * ss * t * t
            + 0.5 * two_c * (np.sum(np.maximum(0.0, a - t * b) ** 2)
                             - np.sum(np.maximum(0.0, a) ** 2)))


@pytest.mark.parametrize("seed", range(5))
def test_line_search_is_the_exact_minimiser(seed):
    rng = np.random.default_rng(seed)
    n, columns, two_c = 300, 4, 2.0
    a = rng.normal(size=(n, columns))
    b = rng.normal(size=(n, columns))
    ss = rng.uniform(0.5, 5.0, size=columns)
    # A descent direction: a negative slope at t = 0.
    slope0 = -two_c * np.sum(np.where(a > 0, a * b, 0.0), axis=0)
    ws = -np.abs(slope0) - rng.uniform(1.0, 50.0, size=columns) - slope0
    t = svm_solver._line_search(ws, ss, a, b, two_c)
    for c in range(columns):
        reference = scipy.optimize.minimize_scalar(
            lambda x: _objective_along(ws[c], ss[c], a[:, c], b[:, c],
                                       two_c, x),
            bounds=(0.0, 1e3), method="bounded",
            options=dict(xatol=1e-12))
        assert t[c] == pytest.approx(reference.x, rel=1e-6, abs=1e-9)


def test_two_loop_without_pairs_is_steepest_descent():
    grad = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(svm_solver._two_loop(grad, []), -grad)


def _problem(seed, n=600, num_features=20, num_classes=5):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % num_classes
    means = rng.normal(scale=1.5, size=(num_classes, num_features))
    return means[labels] + rng.normal(size=(n, num_features)), labels


def test_newton_phase_reaches_the_lbfgs_minimum(monkeypatch):
    """With and without phase 2 the fit ends within the tolerance of the
    same minimum: weights within 2·tol (each is within tol of it)."""
    x, y = _problem(0)
    tol = 1e-6
    newton = svm_solver.SquaredHingeOvR(tol=tol).fit(x, y)
    assert newton.converged_ and newton.newton_steps_ > 0
    monkeypatch.setattr(svm_solver, "GRAM_MAX_BYTES", 0)
    lbfgs = svm_solver.SquaredHingeOvR(tol=tol).fit(x, y)
    assert lbfgs.converged_ and lbfgs.newton_steps_ == 0
    np.testing.assert_allclose(newton.coef_, lbfgs.coef_, rtol=0,
                               atol=2 * tol)
    np.testing.assert_allclose(newton.intercept_, lbfgs.intercept_, rtol=0,
                               atol=2 * tol)


def test_newton_phase_is_skipped_when_it_costs_too_much(monkeypatch):
    x, y = _problem(1)
    monkeypatch.setattr(svm_solver, "NEWTON_COST_RATIO", 0)
    model = svm_solver.SquaredHingeOvR(tol=1e-6).fit(x, y)
    assert model.converged_ and model.newton_steps_ == 0


def test_newton_cost_rule():
    """Σ|A|³/3 against NEWTON_COST_RATIO × 4 n (F+1) P."""
    inside = np.zeros((1000, 2), dtype=bool)
    inside[:400, 0] = inside[:100, 1] = True
    newton = (400 ** 3 + 100 ** 3) / 3
    lbfgs = 4 * 1000 * 51 * 2
    assert newton / lbfgs > svm_solver.NEWTON_COST_RATIO   # 21.7e6 vs 408e3
    assert not svm_solver._newton_pays(inside, 51)
    assert svm_solver._newton_pays(inside, 51 * 100)


@pytest.mark.parametrize("refresh", [3, 10_000])
def test_last_phase_stops_on_the_float64_gradient(monkeypatch, refresh):
    """Phase 3's steps' outputs are float32 products; whether the outputs
    are refreshed often or only before stopping, the gradient recomputed
    here in float64 from the final weights is within the tolerance."""
    x, y = _problem(2)
    tol = 1e-7
    monkeypatch.setattr(svm_solver, "GRAM_MAX_BYTES", 0)
    monkeypatch.setattr(svm_solver, "OUTPUT_REFRESH", refresh)
    model = svm_solver.SquaredHingeOvR(tol=tol).fit(x, y)
    assert model.converged_
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.vstack([model.coef_.T, model.intercept_[None, :]])
    signs = np.where(y[:, None] == model.classes_[None, :], 1.0, -1.0)
    slack = np.maximum(0.0, 1.0 - signs * (xb @ w)) * signs
    gradient = w - 2.0 * model.C * (xb.T @ slack)
    assert np.linalg.norm(gradient, axis=0).max() <= tol
