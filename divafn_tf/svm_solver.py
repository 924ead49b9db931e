"""One-vs-rest L2-regularised squared-hinge linear SVMs, solved all at once.

The objective is liblinear's L2-loss SVM (scikit-learn's
``LinearSVC(penalty="l2", loss="squared_hinge")``) with its intercept
handling (``intercept_scaling=1``: an extra feature of value 1 whose weight
is regularised too): for each problem c, with y_ic = +1 if sample i is of
class c else −1 and x̃_i = [x_i; 1],

    f_c(w̃) = ½‖w̃‖² + C Σ_i max(0, 1 − y_ic w̃·x̃_i)².

Each f_c is 1-strongly convex, so its minimum w̃*_c is unique and
‖w̃_c − w̃*_c‖ ≤ ‖∇f_c(w̃_c)‖: the solver stops when every class's gradient
has 2-norm ≤ ``tol``, so each decision value is within ``tol · ‖x̃‖`` of the
exact one, whichever phase got there. The phases (issue 13: at B→U size,
9,537 × 4,096 and 101 classes, L-BFGS alone needed ~1,000 iterations):

1. **L-BFGS** (one per class, run side by side: `SquaredHingeOvR._lbfgs`)
   on the objectives, all classes stacked in one weight matrix W̃ [F+1, P],
   in coordinates preconditioned by the eigendecomposition of X̃ᵀX̃
   (`_preconditioned_features`), with float32 products. Each iteration is
   two matrix products (BLAS, every core) and an exact line search that
   revisits only the samples crossing their margin (`_line_search`).
   L-BFGS is fast far from the minimum but slow near it, where the set of
   samples inside their margin barely changes; it runs until every class's
   gradient is below
   `NEWTON_START` times its value at w̃ = 0 (or ``tol``).
2. **Finite Newton** (Keerthi & DeCoste, JMLR 2005): with A_c the samples
   inside class c's margin, the minimiser of f_c's quadratic piece on A_c,
   the ridge regression (I + 2C X̃_Aᵀ X̃_A) w̄ = 2C X̃_Aᵀ y_A, is solved
   exactly in its dual form w̄ = X̃_Aᵀ β, (X̃_A X̃_Aᵀ + I/2C) β = y_A (one
   Cholesky of |A_c| × |A_c| from the Gram matrix X̃X̃ᵀ, computed once),
   followed by an exact line search on the segment w̃ → w̄ (f_c is a convex
   piecewise quadratic along it). Once A_c is right the step is 1 and lands
   on the minimum. Used when the Gram matrix fits `GRAM_MAX_BYTES` and a
   step's factorisations cost at most `NEWTON_COST_RATIO` L-BFGS iterations
   (`_newton_pays`); otherwise, or if `NEWTON_MAX_STEPS` steps do not reach
   ``tol``, L-BFGS goes on to ``tol`` (3.), still with float32 products,
   the gradient updated by the change of the residuals and everything
   recomputed in float64 every `OUTPUT_REFRESH` iterations and before
   stopping.

P is the number of classes, or 1 for binary labels (positive =
``classes_[1]``, as LinearSVC does), so that ``decision_function`` is 1-D and
``predict`` thresholds it at 0. The fit is deterministic.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import sklearn.base
import sklearn.linear_model._base
import threadpoolctl
from absl import logging

# Phase 1 → 2 switch: every class's gradient ≤ NEWTON_START × its norm at 0
# (measured on benchmarks/bench_svm.py's 9,537 × 900 problem, see
# docs/results.md: 1e-4 after ~100 of the ~700 L-BFGS iterations).
NEWTON_START = 1e-5
NEWTON_MAX_STEPS = 60
# Phase 3 recomputes the outputs X̃W̃ and the gradient with float64 products
# this often (in between they are updated by float32 products, whose
# rounding would otherwise add up).
OUTPUT_REFRESH = 20
# The line search stops where |φ'(t)| ≤ LINE_SEARCH_TOL · |φ'(0)|.
LINE_SEARCH_TOL = 1e-9
# The Gram matrix X̃X̃ᵀ (float64) of phase 2 at most this big (9,537
# samples: 0.73 GB).
GRAM_MAX_BYTES = 2 << 30
# A Newton step is taken while its Cholesky factorisations cost at most this
# many L-BFGS iterations' products (on bench_svm's 9,537 × 900 problem one
# step did the work of ~25 iterations at ~7 iterations' cost).
NEWTON_COST_RATIO = 25
# Fits whose products X̃ W̃ have fewer multiply-adds than this run BLAS in one
# thread (B→U size, 9,537 × 901 × 101 ≈ 9e8, uses every core).
SINGLE_THREAD_MAX_FLOPS = 50_000_000


def _with_bias(x: np.ndarray) -> np.ndarray:
    """X̃ = [x, 1] in float64, [n, F+1]."""
    n, num_features = x.shape
    xb = np.empty((n, num_features + 1))
    xb[:, :num_features] = x
    xb[:, num_features] = 1.0
    return xb


def _preconditioned_features(xb: np.ndarray, two_c: float):
    """(Z, P, d): X̃ in preconditioned coordinates, Z = X̃ P [n, F+1].

    With the eigendecomposition X̃ᵀX̃ = Q Λ Qᵀ and D = diag(d),
    d = (1 + 2C λ)^(−½), the change of variables W̃ = P U, P = Q D, makes
    the Hessian of the objective D (I + 2C Qᵀ X̃_Aᵀ X̃_A Q) D, with A the
    samples inside their margin: the identity when every sample is, and
    without the spread of X̃ᵀX̃'s eigenvalues (of order n) otherwise, so
    L-BFGS needs tens of iterations instead of thousands to get near the
    minimum. The minimiser does not change: the same strictly convex
    objective in other coordinates.
    """
    eigenvalues, p = np.linalg.eigh(xb.T @ xb)
    d = 1.0 / np.sqrt(1.0 + two_c * np.maximum(eigenvalues, 0.0))
    p *= d
    return xb @ p, p, d


def _slope_sums(t, a, b):
    """(Σ_i max(0, a_i − t b_i) b_i per column, the mask a − t b > 0)."""
    r = a - t * b
    inside = r > 0
    np.maximum(r, 0.0, out=r)
    return np.einsum("ij,ij->j", r, b), inside


def _line_search(ws: np.ndarray, ss: np.ndarray, a: np.ndarray,
                 b: np.ndarray, two_c: float) -> np.ndarray:
    """Minimiser t ≥ 0 of f_c along a descent step, for every column c.

    Along a step s from w, with the margins' slack a = 1 − y⊙(X̃w) and
    b = y⊙(X̃s), f_c is the convex piecewise quadratic with derivative
    φ'(t) = ws + t·ss − 2C Σ_i max(0, a_i − t b_i) b_i (ws = ⟨w, s⟩ and
    ss = ⟨s, s⟩ in the regulariser's metric), increasing in t. A bracket
    [low, high] with φ'(low) < 0 ≤ φ'(high) is found from t = 1 by
    doubling; inside it, a sample whose term is on (or off) at both ends is
    on (off) throughout, so those samples are summed once into a linear
    function of t and only the few that cross their margin inside the
    bracket are revisited. The root is then found by Newton's method on φ',
    kept inside the bracket and replaced by bisection when it leaves it,
    until |φ'(t)| ≤ `LINE_SEARCH_TOL` · |φ'(0)| (t = 1 is taken at once when
    it is the root, as at the last Newton step). Issue 13: at B→U size this
    makes a line search three passes over the [n, P] margins instead of
    about twelve.
    """
    num_columns = ws.size
    sums0, inside_low = _slope_sums(0.0, a, b)
    target = LINE_SEARCH_TOL * np.abs(ws - two_c * sums0)
    low, high = np.zeros(num_columns), np.ones(num_columns)
    sums, inside_high = _slope_sums(high, a, b)
    slope = ws + high * ss - two_c * sums
    for _ in range(60):
        below = slope < -target
        if not below.any():
            break
        low = np.where(below, high, low)
        high = np.where(below, 2 * high, high)
        inside_low = np.where(below, inside_high, inside_low)
        sums, inside_high = _slope_sums(high, a, b)
        slope = ws + high * ss - two_c * sums
    t = high.copy()
    undone = np.abs(slope) > target
    if not undone.any():
        return t
    # On the bracket, the samples on at both ends add −2C Σ (a_i − t b_i) b_i
    # to φ': φ'(t) = constant + t·gradient − 2C Σ_crossing max(0, ·) b_i.
    on = inside_low & inside_high
    constant = ws - two_c * np.einsum("ij,ij,ij->j", on, a, b)
    gradient = ss + two_c * np.einsum("ij,ij,ij->j", on, b, b)
    rows, columns = np.nonzero(inside_low != inside_high)
    a_crossing, b_crossing = a[rows, columns], b[rows, columns]
    for _ in range(100):
        r = a_crossing - t[columns] * b_crossing
        crossing_on = r > 0
        np.maximum(r, 0.0, out=r)
        slope = (constant + t * gradient - two_c * np.bincount(
            columns, r * b_crossing, minlength=num_columns))
        curvature = gradient + two_c * np.bincount(
            columns, crossing_on * b_crossing * b_crossing,
            minlength=num_columns)
        undone &= np.abs(slope) > target
        if not undone.any():
            break
        low = np.where(undone & (slope < 0), t, low)
        high = np.where(undone & (slope > 0), t, high)
        proposal = t - slope / np.maximum(curvature, np.finfo(float).tiny)
        outside = (proposal <= low) | (proposal >= high)
        proposal = np.where(outside, 0.5 * (low + high), proposal)
        t = np.where(undone, proposal, t)
    return t


def _newton_pays(inside: np.ndarray, num_weights: int) -> bool:
    """Whether a Newton step costs at most `NEWTON_COST_RATIO` L-BFGS
    iterations: Σ_c |A_c|³/3 (Cholesky) against 4 n (F+1) P (two products),
    with ``inside`` [n, P] the samples inside each class's margin."""
    active = inside.sum(axis=0).astype(float)
    newton = np.sum(active ** 3) / 3.0
    lbfgs = 4.0 * inside.shape[0] * num_weights * inside.shape[1]
    return newton <= NEWTON_COST_RATIO * lbfgs


def _two_loop(grad: np.ndarray, pairs) -> np.ndarray:
    """−H grad per column: L-BFGS's two-loop recursion (Nocedal & Wright,
    Algorithm 7.4) with each column's own pairs (s, Δgrad, 1/sᵀΔgrad); a
    pair of zero curvature (a class that did not move) is skipped, and the
    initial Hessian is the identity scaled by the newest pair's sᵀy/yᵀy."""
    q = grad.copy()
    alphas = []
    for s, g, rho in reversed(pairs):
        alpha = rho * np.sum(s * q, axis=0)
        q -= alpha * g
        alphas.append(alpha)
    if pairs:
        s, g, rho = pairs[-1]
        gg = np.sum(g * g, axis=0)
        q *= np.where(rho > 0, np.sum(s * g, axis=0)
                      / np.where(gg > 0, gg, 1.0), 1.0)
    for (s, g, rho), alpha in zip(pairs, reversed(alphas)):
        q += s * (alpha - rho * np.sum(g * q, axis=0))
    return -q


class SquaredHingeOvR(sklearn.base.BaseEstimator,
                      sklearn.linear_model._base.LinearClassifierMixin):
    """The one-vs-rest squared-hinge SVMs of the module docstring.

    Attributes after `fit`: ``classes_``, ``coef_`` [P, F], ``intercept_``
    [P], ``n_iter_`` (L-BFGS iterations), ``newton_steps_`` (finite Newton
    steps), ``converged_`` (the gradient tolerance was reached).
    """

    def __init__(self, C: float = 1.0, tol: float = 1e-3,
                 max_iter: int = 15_000, memory: int = 20):
        self.C = C
        self.tol = tol
        self.max_iter = max_iter
        self.memory = memory

    def fit(self, X, y):
        """Fits on features X [n, F] and labels y [n]; returns self."""
        X, y = np.asarray(X), np.asarray(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError("SquaredHingeOvR needs at least 2 classes, got "
                             f"{self.classes_.tolist()}")
        n, num_features = X.shape
        if self.classes_.size == 2:
            y_sign = np.where(y_index == 1, 1.0, -1.0)[:, None]
        else:
            y_sign = np.full((n, self.classes_.size), -1.0)
            y_sign[np.arange(n), y_index] = 1.0
        problem = _Problem(_with_bias(X), y_sign, 2.0 * float(self.C))
        # Small products in one BLAS thread: on a busy machine a second
        # thread makes them many times slower (the demo's 150 × 900 fit:
        # 23-42 s against 2-4 s), and they gain nothing from it.
        flops = n * (num_features + 1) * y_sign.shape[1]
        threads = 1 if flops < SINGLE_THREAD_MAX_FLOPS else None
        with threadpoolctl.threadpool_limits(threads, user_api="blas"):
            w = self._solve(problem)
        self.n_features_in_ = num_features
        self.coef_ = np.ascontiguousarray(w[:num_features].T)
        self.intercept_ = w[num_features].copy()
        return self

    def _solve(self, problem: "_Problem") -> np.ndarray:
        """W̃ [F+1, P] by the phases of the module docstring."""
        self.n_iter_, self.newton_steps_ = 0, 0
        start = np.maximum(NEWTON_START * problem.gradient_norms(
            np.zeros(problem.shape)), self.tol)
        w, message = self._lbfgs(problem, np.zeros(problem.shape), start,
                                 precise=False)
        norms = problem.gradient_norms(w)
        if (problem.newton_applicable() and np.any(norms > self.tol)
                and self.n_iter_ < self.max_iter):
            w, norms = self._newton(problem, w, norms)
        if np.any(norms > self.tol):
            w, message = self._lbfgs(problem, w, self.tol, precise=True)
            norms = problem.gradient_norms(w)
        self.converged_ = bool(np.all(norms <= self.tol))
        if not self.converged_:
            logging.warning(
                "linear SVM: L-BFGS stopped after %d iterations before the "
                "gradient tolerance %g (largest per-class gradient norm "
                "%.3g; %s); the model is used as it is", self.n_iter_,
                self.tol, np.max(norms), message)
        return w

    def _lbfgs(self, problem: "_Problem", w0: np.ndarray,
               tol: np.ndarray | float, precise: bool
               ) -> tuple[np.ndarray, str]:
        """L-BFGS from w0 until every class's gradient ≤ tol.

        One L-BFGS per class (its own curvature pairs, as the problems are
        independent), run side by side, with the exact line search of
        `_line_search`: per iteration two float32 products (1.6-3× faster
        than float64 at B→U size), restricted to the classes not yet
        converged, the rest in float64: Z S, the step's outputs, and Zᵀ R
        for the gradient, R the residuals Y ⊙ max(0, 1 − Y ⊙ ZU). In phase
        1 the gradient is computed from R (its float32 rounding, ~1e-7 of
        the gradient, is far below phase 1's stopping point). With
        ``precise`` (the last phase, to the absolute ``tol``) it is updated
        by the change Zᵀ ΔR, whose rounding is relative to that small
        change, and outputs, residuals and gradient are recomputed with
        float64 products every `OUTPUT_REFRESH` iterations and before the
        tolerance is declared reached. In the variables U = P⁻¹W̃:
        ½‖W̃‖² = ½‖D U‖², X̃W̃ = Z U.
        """
        z, p, d = problem.preconditioned(np.float64 if precise else np.float32)
        z32 = z.astype(np.float32) if precise else z
        y_sign, two_c = problem.y_sign, problem.two_c

        def forward(m):
            return (z32 @ m.astype(np.float32)).astype(np.float64)

        def backward(r, matrix):
            return (matrix.T @ r.astype(matrix.dtype)).astype(np.float64)

        def exact_state(u):
            """(outputs, residuals, gradient) from u, products in z's dtype."""
            outputs = z @ u.astype(z.dtype) if precise else forward(u)
            residuals = np.maximum(0.0, 1.0 - y_sign * outputs) * y_sign
            return outputs, residuals, metric * u - two_c * backward(
                residuals, z)

        metric = (d * d)[:, None]                   # ‖D u‖² = Σ d² u²
        u = (p.T @ w0) / metric                     # P⁻¹ = D⁻¹Qᵀ = D⁻² Pᵀ
        outputs, residuals, grad = exact_state(u)
        pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        message = "gradient tolerance reached"
        since_refresh = 0
        while True:
            live = np.flatnonzero(np.linalg.norm(grad / d[:, None], axis=0)
                                  > tol)
            if live.size == 0 and precise and since_refresh:
                outputs, residuals, grad = exact_state(u)
                since_refresh = 0
                continue
            if live.size == 0:
                break
            if live.size == grad.shape[1]:
                live = slice(None)                  # Views, not copies.
            if self.n_iter_ >= self.max_iter:
                message = f"the iteration cap {self.max_iter} was reached"
                break
            self.n_iter_ += 1
            step = _two_loop(grad[:, live], [(s[:, live], g[:, live],
                                              r[live]) for s, g, r in pairs])
            step_outputs = forward(step)
            t = _line_search(np.sum(metric * u[:, live] * step, 0),
                             np.sum(metric * step * step, 0),
                             1.0 - y_sign[:, live] * outputs[:, live],
                             y_sign[:, live] * step_outputs, two_c)
            if not np.any(t > 0):
                message = "no class's objective decreases along its step"
                break
            step *= t
            u[:, live] += step
            outputs[:, live] += t * step_outputs
            new_residuals = (np.maximum(0.0, 1.0 - y_sign[:, live]
                                        * outputs[:, live]) * y_sign[:, live])
            if precise:     # The change, small near the minimum, in float32.
                new_grad = grad[:, live] + metric * step - two_c * backward(
                    new_residuals - residuals[:, live], z32)
            else:
                new_grad = metric * u[:, live] - two_c * backward(
                    new_residuals, z32)
            residuals[:, live] = new_residuals
            s_pair = np.zeros_like(u)
            g_pair = np.zeros_like(u)
            s_pair[:, live] = step
            g_pair[:, live] = new_grad - grad[:, live]
            grad[:, live] = new_grad
            curvature = np.sum(s_pair * g_pair, axis=0)
            rho = np.divide(1.0, curvature, out=np.zeros_like(curvature),
                            where=curvature > 0)
            pairs = (pairs + [(s_pair, g_pair, rho)])[-self.memory:]
            since_refresh += 1
            if precise and since_refresh == OUTPUT_REFRESH:
                outputs, residuals, grad = exact_state(u)
                since_refresh = 0
        return p @ u, message

    def _newton(self, problem: "_Problem", w: np.ndarray,
                norms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Phase 2: finite Newton steps on the classes above ``tol``."""
        xb, y_sign, two_c = problem.xb, problem.y_sign, problem.two_c
        gram = None     # Computed at the first step that pays.
        outputs = xb @ w
        for _ in range(NEWTON_MAX_STEPS):
            live = np.flatnonzero(norms > self.tol)
            inside = y_sign[:, live] * outputs[:, live] < 1.0
            if live.size == 0 or not _newton_pays(inside, xb.shape[1]):
                break
            if gram is None:
                gram = problem.gram()
            self.newton_steps_ += 1
            beta = np.zeros((xb.shape[0], live.size))
            for j, c in enumerate(live):
                rows = np.flatnonzero(inside[:, j])
                if rows.size:
                    system = gram[np.ix_(rows, rows)]
                    system[np.diag_indices_from(system)] += 1.0 / two_c
                    beta[rows, j] = scipy.linalg.cho_solve(
                        scipy.linalg.cho_factor(system, overwrite_a=True),
                        y_sign[rows, c])
            step = xb.T @ beta - w[:, live]
            step_outputs = xb @ step
            t = _line_search(np.sum(w[:, live] * step, 0),
                             np.sum(step * step, 0),
                             1.0 - y_sign[:, live] * outputs[:, live],
                             y_sign[:, live] * step_outputs, two_c)
            w[:, live] += t * step
            outputs[:, live] += t * step_outputs
            norms[live] = problem.gradient_norms(w[:, live], outputs[:, live],
                                                 live)
        return w, norms


class _Problem:
    """The data of one fit: X̃ [n, F+1], the signs Y [n, P] and 2C."""

    def __init__(self, xb: np.ndarray, y_sign: np.ndarray, two_c: float):
        self.xb, self.y_sign, self.two_c = xb, y_sign, two_c
        self.shape = (xb.shape[1], y_sign.shape[1])
        self._preconditioned = None

    def preconditioned(self, dtype=np.float64):
        """(Z in ``dtype``, P, d) of `_preconditioned_features`, cached."""
        if self._preconditioned is None:
            self._preconditioned = _preconditioned_features(self.xb,
                                                            self.two_c)
        z, p, d = self._preconditioned
        if z.dtype != dtype:
            z = z.astype(dtype)
        return z, p, d

    def newton_applicable(self) -> bool:
        return self.xb.shape[0] ** 2 * 8 <= GRAM_MAX_BYTES

    def gram(self) -> np.ndarray:
        """X̃X̃ᵀ; frees phase 1's preconditioned copy of X̃ (phase 3, if
        needed, computes it again)."""
        self._preconditioned = None
        return self.xb @ self.xb.T

    def gradient_norms(self, w: np.ndarray, outputs: np.ndarray | None = None,
                       columns: np.ndarray | None = None) -> np.ndarray:
        """‖∇f_c(w_c)‖ per column: ∇ = w − 2C X̃ᵀ (Y ⊙ max(0, 1 − Y ⊙ X̃w))."""
        y_sign = self.y_sign if columns is None else self.y_sign[:, columns]
        if outputs is None:
            outputs = self.xb @ w
        r = np.maximum(0.0, 1.0 - y_sign * outputs) * y_sign
        return np.linalg.norm(w - self.two_c * (self.xb.T @ r), axis=0)
