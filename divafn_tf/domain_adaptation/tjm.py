"""TJM: Transfer Joint Matching (Long et al., CVPR 2014).

Kernel TCA (``kernel="linear"`` default, or ``"rbf"``) with the marginal
MMD only and lam (‖A_s‖₂,₁ + ‖A_t‖²_F) in place of ‖A‖²_F: the ℓ2,1 norm on
the coefficient rows of the source samples removes the source samples that
do not help to match the target. Solved by ``iterations`` = 10 reweighted
problems (Kᵀ M K + lam G) A = Kᵀ H K A Φ, G = I first, then g_ii = 1/‖aⁱ‖
on source rows and 1 on target rows; lam = 1, dim = 20. Scale convention
of the authors' code: unit-norm columns of A and 1/‖aⁱ‖ (the paper's
subgradient is 1/(2‖aⁱ‖) under AᵀKᵀHKA = I). When K is rank-deficient
(linear kernel with D < n, e.g. D = 512, n = 2000) Z depends on A only
through Xᵀ A, the rows are not identifiable, and the reweighting moves
all weight onto the target rows (source rows shrink ~×0.2-0.3 per
iteration, to ~1e-7 after 10); selective instance weights need a
full-rank kernel (``"rbf"``, or D ≥ n).
"""
from __future__ import annotations

import numpy as np

from .common import (_check_count, _check_positive, _fro_normalized,
                     _marginal_difference)
from .tca import Projection, _mmd_projection, _tca_setup


def tjm_projection(xs: np.ndarray, xt: np.ndarray, *, dim: int = 20,
                   lam: float = 1.0, iterations: int = 10,
                   kernel: str = "linear", gamma: float = 1.0) -> Projection:
    """TJM's coefficients A, one row per sample, source rows first (see `tjm`)."""
    _check_positive("lam", lam)
    if kernel == "primal":
        raise ValueError("tjm needs kernel 'linear' or 'rbf': its ℓ2,1 norm acts "
                         "on one coefficient row per sample")
    iterations = _check_count("iterations", iterations, 1, 10**6, "a count")
    ns, k, lhs, dim = _tca_setup(xs, xt, dim, kernel, gamma)
    factor = _fro_normalized(_marginal_difference(ns, len(k) - ns))
    weights = np.ones(len(k))
    for _ in range(iterations):
        projection = _mmd_projection(lhs, k, factor, lam * weights, dim, ns)
        source_rows = projection.coefficients[:ns]
        weights[:ns] = 1.0 / np.sqrt(np.sum(source_rows ** 2, axis=1)
                                     + np.finfo(np.float64).eps)
    return projection


def tjm(xs: np.ndarray, xt: np.ndarray, *, dim: int = 20, lam: float = 1.0,
        iterations: int = 10, kernel: str = "linear", gamma: float = 1.0
        ) -> tuple[np.ndarray, np.ndarray]:
    """Transfer Joint Matching (Long et al. 2014).

    Args:
      xs, xt: [ns, D] source and [nt, D] target features.
      dim: number of components.
      lam: weight λ of ‖A_s‖₂,₁ + ‖A_t‖²_F.
      iterations: reweighted eigen-solves (1 gives kernel TCA with mu=lam).
      kernel: ``"linear"`` or ``"rbf"`` (n × n problem).
      gamma: RBF bandwidth.

    Returns:
      (zs [ns, dim], zt [nt, dim]), every row of unit norm.
    """
    return tjm_projection(xs, xt, dim=dim, lam=lam, iterations=iterations,
                          kernel=kernel, gamma=gamma).features()
