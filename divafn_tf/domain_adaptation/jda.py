"""JDA: Joint Distribution Adaptation (Long et al., ICCV 2013).

TCA with M = C e eᵀ + Σ_c M_c, M_c the MMD matrix between source class c
and the target samples pseudo-labelled c, scaled to ‖M‖_F = 1, ridge
lam = 1, dim = 100. The first solve has no pseudo-labels (exactly TCA);
each of the ``iterations`` = 10 further solves uses the labels that a 1-NN
(``labeller="1nn"``, the authors' choice) or a LinearSVC (``"linear"``)
trained on the embedded source gives the embedded target. (The authors'
T = 10 counts the first solve: 9 refinements.)
"""
from __future__ import annotations

import numpy as np

from .common import (LABELLERS, _as_domains, _as_labels, _check_choice,
                     _check_count, _check_positive, _class_differences,
                     _fro_normalized, _marginal_difference, _pseudo_labels)
from .tca import _mmd_projection, _tca_setup


def jda(xs: np.ndarray, ys: np.ndarray, xt: np.ndarray, *, dim: int = 100,
        lam: float = 1.0, iterations: int = 10, kernel: str = "primal",
        gamma: float = 1.0, labeller: str = "1nn", seed: int = 0
        ) -> tuple[np.ndarray, np.ndarray]:
    """Joint Distribution Adaptation (Long et al. 2013).

    Args:
      xs, ys, xt: source features [ns, D], labels [ns], target features [nt, D].
      dim: number of components.
      lam: regularisation λ of ‖A‖²_F.
      iterations: solves with target pseudo-labels after the first,
        marginal-only solve (0 gives exactly `tca` with mu=lam).
      kernel, gamma: as in `tca`.
      labeller: ``"1nn"`` or ``"linear"`` (LinearSVC, C=1) for pseudo-labels.
      seed: random_state of the linear labeller.

    Returns:
      (zs [ns, dim], zt [nt, dim]), every row of unit norm.
    """
    _check_positive("lam", lam)
    _check_choice(labeller, LABELLERS, "labeller")
    iterations = _check_count("iterations", iterations, 0, 10**6, "a count")
    xs, xt = _as_domains(xs, xt)
    classes, ys_idx = _as_labels(ys, len(xs))
    n_classes = len(classes)
    ns, k, lhs, dim = _tca_setup(xs, xt, dim, kernel, gamma)
    marginal = np.sqrt(n_classes) * _marginal_difference(ns, len(k) - ns)

    def embed(factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _mmd_projection(lhs, k, _fro_normalized(factor), lam, dim,
                               ns).features()

    zs, zt = embed(marginal)
    for _ in range(iterations):
        yt_idx = _pseudo_labels(zs, ys_idx, zt, labeller, seed)
        zs, zt = embed(np.hstack([marginal,
                                  _class_differences(ys_idx, yt_idx, n_classes)]))
    return zs, zt
