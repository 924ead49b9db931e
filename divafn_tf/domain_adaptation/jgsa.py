"""JGSA: Joint Geometrical and Statistical Alignment (Zhang et al., CVPR 2017).

Coupled projections W = [A; B] maximising
Tr(Wᵀ Smax W)/Tr(Wᵀ Smin W): Smax = [[beta Sb, 0], [0, mu St]] (source
between-class scatter, target variance), Smin = [[Ms + alpha I + beta Sw,
Mst - alpha I], [Mts - alpha I, Mt + (alpha + mu) I]] (within-class
scatter, subspace divergence ‖A - B‖²_F, marginal + conditional MMD
blocks divided by ‖C e eᵀ‖_F as in the authors' code). The ``dim`` (30)
leading Smin-orthonormal generalised eigenvectors give zs = xs A,
zt = xt B. Pseudo-labels: 1-NN on the inputs first (the authors' demo),
then the labeller on (zs, zt) after each of the ``iterations`` = 10
solves. alpha = 1, mu = 1, beta = 0.1 (the authors' demo value for
object recognition).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from .common import (LABELLERS, _as_domains, _as_labels, _check_choice,
                     _check_count, _check_positive, _class_differences,
                     _marginal_difference, _pseudo_labels, _top_eigenpairs,
                     _unit_rows)


def _scatter_matrices(xs: np.ndarray, ys_idx: np.ndarray, n_classes: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(within-class Sw, between-class Sb) scatter of the source, D × D."""
    total_mean = xs.mean(axis=0)
    sw = np.zeros((xs.shape[1], xs.shape[1]))
    sb = np.zeros_like(sw)
    for c in range(n_classes):
        members = xs[ys_idx == c]
        centred = members - members.mean(axis=0)
        offset = members.mean(axis=0) - total_mean
        sw += centred.T @ centred
        sb += len(members) * np.outer(offset, offset)
    return sw, sb


def jgsa(xs: np.ndarray, ys: np.ndarray, xt: np.ndarray, *, dim: int = 30,
         alpha: float = 1.0, mu: float = 1.0, beta: float = 0.1,
         iterations: int = 10, labeller: str = "1nn", seed: int = 0
         ) -> tuple[np.ndarray, np.ndarray]:
    """Joint Geometrical and Statistical Alignment (Zhang et al. 2017).

    Args:
      xs, ys, xt: source features [ns, D], labels [ns], target features [nt, D].
      dim: number of components k of each projection.
      alpha: weight of the subspace divergence ‖A - B‖²_F.
      mu: weight of the target variance (and of ‖B‖²_F).
      beta: weight of the source between/within-class scatter.
      iterations: eigen-solves, each with the latest pseudo-labels.
      labeller: ``"1nn"`` or ``"linear"`` for the pseudo-label refreshes (the
        initial pseudo-labels are always a 1-NN on the input features).
      seed: random_state of the linear labeller.

    Returns:
      (zs = xs A [ns, dim], zt = xt B [nt, dim]) for unit-norm rows xs, xt.
    """
    for name, value in (("alpha", alpha), ("mu", mu), ("beta", beta)):
        _check_positive(name, value)
    _check_choice(labeller, LABELLERS, "labeller")
    xs, xt = _as_domains(xs, xt)
    classes, ys_idx = _as_labels(ys, len(xs))
    iterations = _check_count("iterations", iterations, 1, 10**6, "a count")
    xs, xt = _unit_rows(xs), _unit_rows(xt)
    ns, nt, d = len(xs), len(xt), xs.shape[1]
    n_classes = len(classes)
    dim = _check_count("dim", dim, 1, min(d, n_classes - 1 + nt - 1),
                       f"≤ D={d} and ≤ the rank of Smax")
    sw, sb = _scatter_matrices(xs, ys_idx, n_classes)
    target = xt - xt.mean(axis=0)
    smax = scipy.linalg.block_diag(beta * sb, mu * (target.T @ target))
    eye = np.eye(d)
    smin_base = np.block([[alpha * eye + beta * sw, -alpha * eye],
                          [-alpha * eye, (alpha + mu) * eye]])
    marginal = np.sqrt(n_classes) * _marginal_difference(ns, nt)
    scale = np.linalg.norm(marginal)  # sqrt(‖C e eᵀ‖_F), the code's norm(M,'fro')

    def solve(yt_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        factor = np.hstack([marginal,
                            _class_differences(ys_idx, yt_idx, n_classes)])
        factor /= scale
        stacked = np.vstack([xs.T @ factor[:ns], xt.T @ factor[ns:]])
        _, w = _top_eigenpairs(smax, smin_base + stacked @ stacked.T, dim)
        return xs @ w[:d], xt @ w[d:]

    zs, zt = solve(_pseudo_labels(xs, ys_idx, xt, "1nn", seed))
    for _ in range(iterations - 1):
        zs, zt = solve(_pseudo_labels(zs, ys_idx, zt, labeller, seed))
    return zs, zt
