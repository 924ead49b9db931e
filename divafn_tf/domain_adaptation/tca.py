"""TCA: Transfer Component Analysis (Pan et al., IEEE TNN 2011).

K = X (``kernel="primal"``, default: a D × D problem) or a kernel matrix
(``"linear"`` X Xᵀ, ``"rbf"`` exp(-gamma ‖xi - xj‖²): n × n). The ``dim``
leading eigenvectors A of (Kᵀ M K + mu I)⁻¹ Kᵀ H K, i.e. the largest γ of
Kᵀ H K a = γ (Kᵀ M K + mu I) a, with M = e eᵀ / ‖e eᵀ‖_F
(e_i = 1/ns on the source, -1/nt on the target) and H = I - 11ᵀ/n;
Z = K A with unit-norm rows. mu = 1, dim = 100.

JDA (`jda`) and TJM (`tjm`) solve the same eigenproblem with other MMD and
regularisation terms, with the building blocks of this module.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .common import (_as_domains, _check_choice, _check_count, _check_positive,
                     _fro_normalized, _marginal_difference, _squared_distances,
                     _top_eigenpairs, _unit_rows)

KERNELS = ("primal", "linear", "rbf")


class Projection(NamedTuple):
    """Coefficients A of a TCA/JDA/TJM embedding Z = rows_to_unit(K A).

    Attributes:
      coefficients: [D, dim] (primal) or [n, dim] (kernel) matrix, unit-norm
        columns, ordered by decreasing eigenvalue.
      eigenvalues: the γ of Kᵀ H K a = γ (Kᵀ M K + reg) a, decreasing.
      kernel_matrix: K, [n, D] (primal: the unit-norm samples) or [n, n], the
        ns source samples first.
      ns: number of source samples.
    """

    coefficients: np.ndarray
    eigenvalues: np.ndarray
    kernel_matrix: np.ndarray
    ns: int

    def features(self) -> tuple[np.ndarray, np.ndarray]:
        """(zs [ns, dim], zt [nt, dim]): the rows of K A scaled to unit norm."""
        z = _unit_rows(self.kernel_matrix @ self.coefficients)
        return z[:self.ns], z[self.ns:]


# --------------------------------------------------------------------------
# Kernel and MMD terms


def _unit_columns(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=0)


def _kernel_matrix(x: np.ndarray, kernel: str, gamma: float) -> np.ndarray:
    """K for unit-norm rows x: x itself (primal), x xᵀ or the RBF kernel."""
    if kernel == "primal":
        return x
    if kernel == "linear":
        return x @ x.T
    return np.exp(-gamma * _squared_distances(x, x))


def _centred_gram(k: np.ndarray) -> np.ndarray:
    """Kᵀ H K with H = I - 11ᵀ/n, as (HK)ᵀ(HK)."""
    centred = k - k.mean(axis=0)
    return centred.T @ centred


def _mmd_gram(k: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Kᵀ M K for M = factor factorᵀ, without forming the n × n matrix M."""
    kf = k.T @ factor
    return kf @ kf.T


def _rank_limit(kernel: str, n_features: int, n_samples: int) -> int:
    return n_samples - 1 if kernel == "rbf" else min(n_features, n_samples - 1)


def _mmd_projection(lhs: np.ndarray, k: np.ndarray, factor: np.ndarray,
                    reg: float | np.ndarray, dim: int, ns: int) -> Projection:
    """Leading eigenvectors of Kᵀ H K a = γ (Kᵀ M K + diag(reg)) a."""
    rhs = _mmd_gram(k, factor)
    rhs[np.diag_indices_from(rhs)] += reg
    values, vectors = _top_eigenpairs(lhs, rhs, dim)
    return Projection(_unit_columns(vectors), values, k, ns)


def _tca_setup(xs: np.ndarray, xt: np.ndarray, dim: int, kernel: str,
               gamma: float) -> tuple[int, np.ndarray, np.ndarray, int]:
    """Checks, and returns (ns, K, Kᵀ H K, dim) for TCA, JDA and TJM."""
    _check_choice(kernel, KERNELS, "kernel")
    _check_positive("gamma", gamma)
    xs, xt = _as_domains(xs, xt)
    n, n_features = len(xs) + len(xt), xs.shape[1]
    dim = _check_count("dim", dim, 1, _rank_limit(kernel, n_features, n),
                       f"rank of the variance term for kernel={kernel!r}, "
                       f"D={n_features}, n={n}")
    k = _kernel_matrix(_unit_rows(np.vstack([xs, xt])), kernel, gamma)
    return len(xs), k, _centred_gram(k), dim


# --------------------------------------------------------------------------
# TCA


def tca_projection(xs: np.ndarray, xt: np.ndarray, *, dim: int = 100,
                   mu: float = 1.0, kernel: str = "primal", gamma: float = 1.0
                   ) -> Projection:
    """TCA's coefficients A and kernel K (arguments as in `tca`)."""
    _check_positive("mu", mu)
    ns, k, lhs, dim = _tca_setup(xs, xt, dim, kernel, gamma)
    factor = _fro_normalized(_marginal_difference(ns, len(k) - ns))
    return _mmd_projection(lhs, k, factor, mu, dim, ns)


def tca(xs: np.ndarray, xt: np.ndarray, *, dim: int = 100, mu: float = 1.0,
        kernel: str = "primal", gamma: float = 1.0
        ) -> tuple[np.ndarray, np.ndarray]:
    """Transfer Component Analysis (Pan et al. 2011).

    Args:
      xs, xt: [ns, D] source and [nt, D] target features.
      dim: number of transfer components.
      mu: trade-off μ of the regulariser Tr(AᵀA) against the MMD.
      kernel: ``"primal"`` (linear, D × D problem), ``"linear"`` or ``"rbf"``
        (n × n problem).
      gamma: RBF bandwidth, K = exp(-gamma ‖xi - xj‖²) on unit-norm samples.

    Returns:
      (zs [ns, dim], zt [nt, dim]), every row of unit norm.
    """
    return tca_projection(xs, xt, dim=dim, mu=mu, kernel=kernel,
                          gamma=gamma).features()
