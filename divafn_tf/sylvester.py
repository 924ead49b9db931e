"""Closed-form updates of the autoencoder weights W_F, W_H, W_G, W_E.

With the networks fixed, each autoencoder term of the objective (eq. 14) is a
convex quadratic in its weight matrix (eqs. 18, 22, 23, 24):

    min_W  β ‖X − Wᵀ S‖²_F + λ ‖W X − S‖²_F            W ∈ R^{k×dim}

where X ∈ R^{dim×n} is F, H, G or E = [H; G] (one column per training sample)
and S ∈ R^{k×n} holds the semantic vector of each sample's class. Rewriting
the first term with trace identities (eq. 19) and setting its derivative to
zero (eq. 20) gives the Sylvester equation (eq. 21)

    A W + W B = C,   A = β S Sᵀ (k×k),  B = λ X Xᵀ (dim×dim),  C = (β+λ) S Xᵀ.

The paper solves eq. (21) with the Bartels-Stewart algorithm
(`scipy.linalg.solve_sylvester`). Here that solver is kept as the selectable
reference ``"bartels_stewart"``, and the default is ``"min_norm"``:

* A and B are symmetric positive semi-definite and usually singular. S has
  only as many distinct columns as there are classes (10-101), so A has rank
  ≤ #classes < k = 300; X Xᵀ has rank ≤ n, which is below dim whenever there
  are fewer training samples than feature dimensions. The equation then has
  infinitely many solutions (all minimisers of the convex objective), and
  Bartels-Stewart, which divides by the near-zero sums of eigenvalues of A and
  B, returns one of very large norm (measured up to 1e4, and 1e15 when C is
  slightly outside the range) without any warning. The minimum-Frobenius-norm
  solution is the natural one, and it is what the eigen-decomposition below
  gives: with A = U diag(α) Uᵀ and B = V diag(γ) Vᵀ, the equation decouples
  into (α_i + γ_j) W̃_ij = C̃_ij with W̃ = Uᵀ W V and C̃ = Uᵀ C V; W̃_ij is set
  to C̃_ij / (α_i + γ_j), or to 0 where α_i + γ_j is numerically zero, which
  is the minimum-norm least-squares solution (the pseudo-inverse of the
  Kronecker-sum operator I ⊗ A + B ⊗ I, whose eigenvalues are α_i + γ_j).
* It is faster, because it never needs the eigenvectors of B:
  - C = (β+λ) S Xᵀ lies in range(S) = range(A), which has rank r ≤ #classes.
    In A's eigenbasis the rows of W outside range(A) have a zero right-hand
    side and α_i = 0, so in the minimum-norm solution they are 0; only the
    r rows W_r = U_rᵀ W with α_i > 0 are solved for:
        diag(α_r) W_r + λ W_r X Xᵀ = (β+λ) S_r Xᵀ,   S_r = U_rᵀ S.
  - These r systems are solved by the Hessenberg-Schur method (Golub, Nash
    and Van Loan, 1979) on the Gram matrix of X's smaller side: if n ≥ dim,
    G = X Xᵀ (dim×dim) and W_r (diag(α_r) + λG) = (β+λ) S_r Xᵀ row by row;
    if n < dim, W_r = Z Xᵀ with Z (diag(α_r) + λG) = (β+λ) S_r and
    G = XᵀX (n×n), which is the minimum-norm solution as it lies in the
    row space of Xᵀ. G is reduced once to tridiagonal form G = Q T Qᵀ
    (LAPACK ``sytrd``, no eigenvectors: about a third of a symmetric
    eigen-decomposition with vectors), Q is applied to the r right-hand
    sides with ``ormqr``, and each row is one symmetric positive definite
    tridiagonal solve (α_i + λT, ``ptsv``, O(m)).
  - A's range and eigenvalues come from S's c distinct (class) columns, a
    k × c SVD, instead of the k × k eigen-decomposition of A.
  The cost is O(m² · max(n, dim) + m³) with m = min(n, dim) and the r ≤ 101
  right-hand sides almost free, against O(dim³) for Bartels-Stewart. If
  rounding makes a shifted tridiagonal system indefinite, the eigenvector
  route below is taken instead (same solution, slower). When
  β = 0 (A = 0, nothing to restrict to) or λ = 0 (B = 0), W is obtained
  from the eigen-decomposition of A and a thin SVD of X (n < dim) or the
  eigen-decomposition of X Xᵀ (n ≥ dim), with the same zeroing rule.

"Numerically zero" uses a relative tolerance: a denominator α_i + γ_j is
treated as zero when it is ≤ rtol · (α_max + γ_max), where α_max + γ_max is
the norm of the Kronecker-sum operator and, by default,
rtol = max(k, dim) · ε (ε = float64 machine epsilon), the convention of
`numpy.linalg.matrix_rank` applied to the two eigen-problems (their
eigenvalues carry absolute errors of a few ε times the largest one).

All computations are in float64; W is returned as float64 of shape k × dim.
"""
import dataclasses
import time

import numpy as np
import scipy.linalg
import threadpoolctl
from scipy.linalg import blas, lapack

SOLVERS = ("min_norm", "bartels_stewart")


# Below this many flops (dim · n · min(dim, n)) a W solve runs on one BLAS
# thread: inside a TensorFlow process, OpenBLAS's threads contend with TF's
# pools and a 300 × 300 solve measured 0.04 s single-threaded but 0.6-7 s
# multi-threaded on 2 cores. Large solves (B→U size) keep every thread.
SINGLE_THREAD_SOLVE_FLOPS = 2e9


def blas_threads_for(dim: int, n: int) -> int | None:
    """BLAS threads for a W solve on a dim × n bank (None = library default).

    `solve_autoencoder_w` applies it around each solve (`threadpoolctl`).
    """
    return 1 if dim * n * min(dim, n) < SINGLE_THREAD_SOLVE_FLOPS else None


@dataclasses.dataclass
class SylvesterSolution:
    """A solution W of A W + W B = C (eq. 21) and how it was obtained.

    Attributes:
      w: k × dim weight matrix (float64).
      relative_residual: ‖A W + W B − C‖_F / ‖C‖_F (0 if C == 0).
      seconds: wall-clock seconds of the solve (building the decompositions
        or matrices and solving; the residual check is not included).
      method: the solver used, one of `SOLVERS`.
    """

    w: np.ndarray
    relative_residual: float
    seconds: float
    method: str


def _as_finite_matrix(array: np.ndarray, name: str) -> np.ndarray:
    """`array` as a float64 2-D array (no copy if it already is one)."""
    out = np.asarray(array, dtype=np.float64)
    if out.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return out


def _default_rtol(k: int, dim: int) -> float:
    return max(k, dim, 1) * np.finfo(np.float64).eps


def _psd_eigh(m: np.ndarray, name: str, rtol: float,
              overwrite: bool = False, lower: bool = True):
    """Eigen-decomposition of a symmetric PSD matrix with the ``evd`` driver.

    Eigenvalues within rtol · (largest eigenvalue) below zero are rounding
    and are clipped to 0; more negative ones raise ValueError.
    """
    vals, vecs = scipy.linalg.eigh(m, lower=lower, driver="evd",
                                   overwrite_a=overwrite, check_finite=False)
    largest = max(vals[-1], 0.0) if vals.size else 0.0
    if vals.size and vals[0] < -rtol * largest:
        raise ValueError(f"{name} is not positive semi-definite "
                         f"(eigenvalue {vals[0]:.3g}, largest {largest:.3g})")
    return np.maximum(vals, 0.0), vecs


def _divide_spectrum(c_tilde: np.ndarray, alpha: np.ndarray,
                     gamma: np.ndarray, rtol: float) -> np.ndarray:
    """W̃_ij = C̃_ij / (α_i + γ_j), or 0 where the denominator is ≤ tolerance."""
    denom = alpha[:, None] + gamma[None, :]
    limit = rtol * (alpha.max(initial=0.0) + gamma.max(initial=0.0))
    return np.divide(c_tilde, denom, out=np.zeros_like(c_tilde),
                     where=denom > limit)


def solve_sylvester_bartels_stewart(a: np.ndarray, b: np.ndarray,
                                    c: np.ndarray) -> np.ndarray:
    """The paper's solver for eq. (21): `scipy.linalg.solve_sylvester`.

    Kept as a reference. It assumes a unique solution: on the singular
    problems of eqs. (18)-(24) it returns a W of very large norm, silently.

    Raises:
      ValueError: on wrong shapes or non-finite entries.
    """
    a = _as_finite_matrix(a, "a")
    b = _as_finite_matrix(b, "b")
    c = _as_finite_matrix(c, "c")
    if a.shape[0] != a.shape[1] or b.shape[0] != b.shape[1]:
        raise ValueError(f"a and b must be square, got {a.shape}, {b.shape}")
    if c.shape != (a.shape[0], b.shape[0]):
        raise ValueError(f"c must have shape (a.rows, b.rows) = "
                         f"{(a.shape[0], b.shape[0])}, got {c.shape}")
    return scipy.linalg.solve_sylvester(a, b, c)


def relative_residual(a: np.ndarray, b: np.ndarray, c: np.ndarray,
                      w: np.ndarray) -> float:
    """‖A W + W B − C‖_F / ‖C‖_F; the absolute residual if C == 0."""
    residual = np.linalg.norm(a @ w + w @ b - c)
    c_norm = np.linalg.norm(c)
    return float(residual / c_norm if c_norm > 0 else residual)


def _gram(x: np.ndarray, of_columns: bool = False,
          lower: bool = False) -> np.ndarray:
    """X Xᵀ (or XᵀX if ``of_columns``) with BLAS syrk, one triangle only
    (upper, or lower if ``lower``), without copying X.

    X is used as is when Fortran-ordered (a transposed row-major bank),
    otherwise its transpose is.
    """
    if x.flags.f_contiguous:
        return blas.dsyrk(1.0, x, trans=int(of_columns), lower=int(lower))
    return blas.dsyrk(1.0, np.ascontiguousarray(x).T,
                      trans=int(not of_columns), lower=int(lower))


class _NotPositiveDefinite(ArithmeticError):
    """A tridiagonal system α_i I + λT lost positive definiteness to rounding."""


def _apply_tridiagonal_q(reflectors: np.ndarray, tau: np.ndarray,
                         rows: np.ndarray, transpose: bool) -> np.ndarray:
    """Q rows or Qᵀ rows for G = Q T Qᵀ from ``dsytrd(lower=1)``.

    Q = H_1 … H_{m−1} acts on rows 2..m only, and its reflectors are those of
    a QR factorisation stored below the diagonal of reflectors[1:, :m−1]:
    what LAPACK's ``dormtr`` does, through ``dormqr`` (scipy has no ormtr).
    """
    m = reflectors.shape[0]
    if m < 2:
        return rows
    trans = "T" if transpose else "N"
    qr_part = reflectors[1:, :m - 1]
    lwork = max(1, rows.shape[1]) * 64
    out, _, info = lapack.dormqr("L", trans, qr_part, tau[:m - 1], rows[1:],
                                 lwork, overwrite_c=1)
    if info:
        raise RuntimeError(f"LAPACK dormqr failed (info={info})")
    rows[1:] = out
    return rows


def _range_of_a(s: np.ndarray, a: np.ndarray, beta: float, rtol: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues α and eigenvectors U of A = β S Sᵀ spanning its range.

    S repeats its class's semantic vector in every sample's column, so with
    S_u its c distinct columns and their counts, A = β S_u diag(counts) S_uᵀ:
    the k × c thin SVD of S_u diag(√counts) gives the non-zero eigenpairs
    (α = β σ²) in O(k c²) instead of the O(k³) eigen-decomposition of A.
    Columns are grouped by a random projection and the grouping is then
    checked exactly; without at least k/2 repeats, A's eigen-decomposition is
    used.
    """
    k, n = s.shape
    keys = np.random.default_rng(0).standard_normal(k) @ s
    _, first, inverse, counts = np.unique(keys, return_index=True,
                                          return_inverse=True,
                                          return_counts=True)
    distinct = s[:, first]
    if 2 * distinct.shape[1] > k or not np.array_equal(distinct[:, inverse], s):
        return _psd_eigh(a, "beta * s @ s.T", rtol)
    u, sigma, _ = scipy.linalg.svd(distinct * np.sqrt(counts),
                                   full_matrices=False, check_finite=False)
    return beta * sigma**2, u


def _min_norm_hessenberg_schur(s: np.ndarray, x: np.ndarray, alpha: np.ndarray,
                               u: np.ndarray, beta: float, lam: float,
                               rtol: float) -> np.ndarray:
    """Minimum-norm W of eq. (21) for β, λ > 0 (see the module docstring).

    Raises:
      _NotPositiveDefinite: if a shifted tridiagonal system is not positive
        definite in floating point (the caller falls back to eigenvectors).
    """
    dim, n = x.shape
    small_n = n < dim
    gram = _gram(x, of_columns=small_n, lower=True)  # XᵀX (n×n) or X Xᵀ
    m = gram.shape[0]
    lwork, _ = lapack.dsytrd_lwork(m, lower=1)
    reflectors, diag, offdiag, tau, info = lapack.dsytrd(
        gram, lower=1, lwork=max(int(lwork), 1), overwrite_a=1)
    if info:
        raise RuntimeError(f"LAPACK dsytrd failed (info={info})")
    largest_gamma = lam * max(float(scipy.linalg.eigvalsh_tridiagonal(
        diag, offdiag, select="i", select_range=(m - 1, m - 1))[0]), 0.0)
    keep = alpha > rtol * (alpha.max(initial=0.0) + largest_gamma)
    u_r, alpha_r = u[:, keep], alpha[keep]
    rhs = (beta + lam) * (u_r.T @ s)                    # r × n
    if not small_n:
        rhs = rhs @ x.T                                 # r × dim
    columns = np.asfortranarray(rhs.T)                  # m × r
    _apply_tridiagonal_q(reflectors, tau, columns, transpose=True)
    for i, alpha_i in enumerate(alpha_r):               # (α_i + λT) y = Qᵀ c_i
        _, _, columns[:, i], info = lapack.dptsv(alpha_i + lam * diag,
                                                 lam * offdiag, columns[:, i])
        if info:
            raise _NotPositiveDefinite(info)
    _apply_tridiagonal_q(reflectors, tau, columns, transpose=False)
    w_r = columns.T @ x.T if small_n else columns.T     # r × dim
    return u_r @ w_r


def _min_norm_autoencoder(s: np.ndarray, x: np.ndarray, a: np.ndarray,
                          beta: float, lam: float) -> np.ndarray:
    """Minimum-norm W of eq. (21) from S and X, never forming a dim×dim B
    when n < dim."""
    k, (dim, n) = s.shape[0], x.shape
    rtol = _default_rtol(k, dim)
    if beta > 0.0 and lam > 0.0:
        alpha_r, u_r = _range_of_a(s, a, beta, rtol)
        try:
            return _min_norm_hessenberg_schur(s, x, alpha_r, u_r, beta, lam,
                                              rtol)
        except _NotPositiveDefinite:
            pass  # rounding made α_i + λT indefinite: use eigenvectors below
    alpha, u = _psd_eigh(a, "beta * s @ s.T", rtol)
    if lam == 0.0:
        # B = 0 (γ = 0): W = A⁺ C, any eigenbasis of B will do.
        c_tilde = (beta * (u.T @ s)) @ x.T
        return u @ _divide_spectrum(c_tilde, alpha, np.zeros(1), rtol)
    if n < dim:
        # X = P Σ Qᵀ: B = P (λ Σ²) Pᵀ and C P = (β+λ) S Q Σ, C P⊥ = 0.
        p, sigma, qt = scipy.linalg.svd(x, full_matrices=False,
                                        lapack_driver="gesdd",
                                        check_finite=False)
        c_tilde = ((beta + lam) * (u.T @ s)) @ (qt.T * sigma)
        w_tilde = _divide_spectrum(c_tilde, alpha, lam * sigma**2, rtol)
        return (u @ w_tilde) @ p.T
    gram_vals, v = _psd_eigh(_gram(x), "x @ x.T", rtol, overwrite=True,
                             lower=False)
    c_tilde = (u.T @ ((beta + lam) * (s @ x.T))) @ v
    w_tilde = _divide_spectrum(c_tilde, alpha, lam * gram_vals, rtol)
    return (u @ w_tilde) @ v.T


def _autoencoder_residual(s: np.ndarray, x: np.ndarray, a: np.ndarray,
                          beta: float, lam: float, w: np.ndarray) -> float:
    """Relative residual of eq. (21) without dim×dim matrices.

    A W + W B − C = A W + (λ W X − (β+λ) S) Xᵀ.
    """
    residual = np.linalg.norm(a @ w + (lam * (w @ x) - (beta + lam) * s) @ x.T)
    c_norm = (beta + lam) * np.linalg.norm(s @ x.T)
    return float(residual / c_norm if c_norm > 0 else residual)


def solve_autoencoder_w(s: np.ndarray, x: np.ndarray, beta: float,
                        lam: float, method: str = "min_norm"
                        ) -> SylvesterSolution:
    """Solves min_W β‖X − WᵀS‖² + λ‖WX − S‖² (eqs. 18, 22-24) via eq. (21).

    Args:
      s: k × n semantic matrix S (one column per training sample).
      x: dim × n features X (F, H, G or E). Pass the transpose of a row-major
        [n, dim] bank; it is not copied when already float64.
      beta: β ≥ 0, weight of the decoder term ‖X − WᵀS‖².
      lam: λ ≥ 0, weight of the encoder term ‖WX − S‖².
      method: "min_norm" (default; the minimum-norm solution, see the module
        docstring) or "bartels_stewart" (the paper's scipy solver, forming
        the dim×dim B explicitly).

    Returns:
      A `SylvesterSolution` with W (k × dim, float64). When C = 0 (β = λ = 0,
      X = 0 or S = 0) every method returns W = 0, the minimum-norm solution.

    Raises:
      ValueError: on an unknown method, mismatched or non-2-D shapes,
        non-finite entries, or negative / non-finite β or λ.

    Small problems run on one BLAS thread (`blas_threads_for`); an outer
    `threadpoolctl` limit still caps the larger ones.
    """
    if method not in SOLVERS:
        raise ValueError(f"method must be one of {SOLVERS}, got {method!r}")
    for name, value in (("beta", beta), ("lam", lam)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be finite and >= 0, got {value}")
    beta, lam = float(beta), float(lam)
    s = _as_finite_matrix(s, "s")
    x = _as_finite_matrix(x, "x")
    if s.shape[1] != x.shape[1]:
        raise ValueError(
            f"s (k × n) and x (dim × n) must have the same number of columns "
            f"n, got s {s.shape} and x {x.shape}")
    with threadpoolctl.threadpool_limits(blas_threads_for(*x.shape)):
        start = time.perf_counter()
        a = beta * (s @ s.T)
        if (beta == 0.0 and lam == 0.0) or not x.any() or not s.any():
            w = np.zeros((s.shape[0], x.shape[0]))
            return SylvesterSolution(w, 0.0, time.perf_counter() - start,
                                     method)
        if method == "min_norm":
            w = _min_norm_autoencoder(s, x, a, beta, lam)
        else:
            b = lam * (x @ x.T)
            c = (beta + lam) * (s @ x.T)
            w = solve_sylvester_bartels_stewart(a, b, c)
        seconds = time.perf_counter() - start
        residual = _autoencoder_residual(s, x, a, beta, lam, w)
    return SylvesterSolution(w, residual, seconds, method)
