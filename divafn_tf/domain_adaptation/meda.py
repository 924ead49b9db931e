"""MEDA: Manifold Embedded Distribution Alignment (Wang et al., ACM MM 2018).

GFK features (``dim`` = d = 20) scaled to unit norm, then
``iterations`` = 10 rounds of the structural-risk classifier f = K β,
β = ((E + lam M + rho L) K + eta I)⁻¹ E Y: squared loss on the source
(E selects it, Y one-hot), RBF kernel with σ = 1 (the authors'
σ² = mean ‖x‖ is 1 for unit samples), dynamic distribution alignment
M = (1 - μ) C e eᵀ + μ Σ_c M_c (‖M‖_F = 1) with
μ = d_c / (d_c + d_m) from proxy A-distances 2(1 - 2 err) of a
LinearSVC (C = 1; the authors use MATLAB's fitclinear) between the
domains and between same-(pseudo-)class samples, and the normalised
Laplacian L of the p-NN cosine graph. The target predictions are the next
pseudo-labels (the first from a 1-NN). p = 10, lam = 10, eta = 0.1,
rho = 1 (the paper; the code falls back to lam = 1). MEDA outputs
predictions, not features: ``features="gfk"`` (default) returns its GFK
features, i.e. the same (zs, zt) as ``gfk``; ``features="scores"`` the
decision values K β (C columns) of its final classifier; `meda_predict`
its target labels. Classes without target pseudo-labels are left out of
d_c (the authors' estimate_mu compares every class with pseudo-class 1,
a bug); d_c = d_m = 0 gives μ = 0.5; μ ≤ 1e-3 is set to 0 as in the code.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import sklearn.svm

from .common import (_as_domains, _as_labels, _check_choice, _check_count,
                     _check_positive, _class_differences, _fro_normalized,
                     _marginal_difference, _pseudo_labels, _squared_distances,
                     _unit_rows)
from .gfk import gfk

MEDA_FEATURES = ("gfk", "scores")


def _normalized_laplacian(x: np.ndarray, neighbours: int) -> np.ndarray:
    """I - D^{-1/2} W D^{-1/2} of the p-NN cosine graph of unit rows x.

    W_ij = cos(xi, xj) if j is among the p + 1 most similar samples of i
    (itself included) or i among those of j, else 0 (lapgraph with
    NeighborMode 'KNN', WeightMode 'Cosine'); negative cosines are set to 0.
    """
    similarity = x @ x.T
    nearest = np.argpartition(-similarity, neighbours, axis=1)[:, :neighbours + 1]
    rows = np.arange(len(x))[:, None]
    w = np.zeros_like(similarity)
    w[rows, nearest] = np.maximum(similarity[rows, nearest], 0.0)
    w = np.maximum(w, w.T)
    inv_sqrt_degree = 1.0 / np.sqrt(w.sum(axis=1))
    return np.eye(len(x)) - inv_sqrt_degree[:, None] * w * inv_sqrt_degree[None, :]


def _a_distance(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    """Proxy A-distance 2 (1 - 2 err), err the training error of a linear SVM."""
    data = np.vstack([a, b])
    domain = np.concatenate([np.zeros(len(a)), np.ones(len(b))])
    svm = sklearn.svm.LinearSVC(C=1.0, dual=False, random_state=seed)
    svm.fit(data, domain)
    error = np.mean(svm.predict(data) != domain)
    return 2.0 * (1.0 - 2.0 * error)


def _dynamic_mu(zs: np.ndarray, ys_idx: np.ndarray, zt: np.ndarray,
                yt_idx: np.ndarray, n_classes: int, seed: int) -> float:
    """MEDA's μ = d_c / (d_c + d_m) from marginal and mean class A-distances."""
    conditional = [_a_distance(zs[ys_idx == c], zt[yt_idx == c], seed)
                   for c in range(n_classes) if np.any(yt_idx == c)]
    d_c = float(np.mean(conditional))
    total = d_c + _a_distance(zs, zt, seed)
    mu = float(np.clip(d_c / total, 0.0, 1.0)) if total > 0 else 0.5
    return 0.0 if mu <= 1e-3 else mu


def _check_meda_options(n: int, p: int, lam: float, eta: float, rho: float,
                        iterations: int) -> None:
    for name, value in (("lam", lam), ("eta", eta)):
        _check_positive(name, value)
    _check_positive("rho", rho, allow_zero=True)
    _check_count("p", p, 1, n - 1, "neighbours per sample < ns + nt")
    _check_count("iterations", iterations, 1, 10**6, "a count")


def _meda_fit(xs: np.ndarray, ys: np.ndarray, xt: np.ndarray, *, dim: int,
              p: int, lam: float, eta: float, rho: float, iterations: int,
              seed: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(zs, zt GFK features, scores [n, C], predicted target labels)."""
    xs, xt = _as_domains(xs, xt)
    classes, ys_idx = _as_labels(ys, len(xs))
    ns, n = len(xs), len(xs) + len(xt)
    _check_meda_options(n, p, lam, eta, rho, iterations)
    zs, zt = gfk(xs, xt, dim=dim)
    x = _unit_rows(np.vstack([zs, zt]))
    n_classes = len(classes)
    targets = np.zeros((n, n_classes))
    targets[np.arange(ns), ys_idx] = 1.0
    k = np.exp(-0.5 * _squared_distances(x, x))
    loss_and_manifold = k.copy()
    loss_and_manifold[ns:] = 0.0  # E K, E = diag(1 on the source)
    if rho > 0:
        loss_and_manifold += rho * (_normalized_laplacian(x, p) @ k)
    marginal = np.sqrt(n_classes) * _marginal_difference(ns, n - ns)
    yt_idx = _pseudo_labels(x[:ns], ys_idx, x[ns:], "1nn", seed)
    for _ in range(iterations):
        mu = _dynamic_mu(zs, ys_idx, zt, yt_idx, n_classes, seed)
        factor = _fro_normalized(np.hstack([
            np.sqrt(1.0 - mu) * marginal,
            np.sqrt(mu) * _class_differences(ys_idx, yt_idx, n_classes)]))
        system = loss_and_manifold + lam * factor @ (factor.T @ k)
        system[np.diag_indices(n)] += eta
        scores = k @ scipy.linalg.solve(system, targets)
        yt_idx = np.argmax(scores[ns:], axis=1)
    return zs, zt, scores, classes[yt_idx]


def meda(xs: np.ndarray, ys: np.ndarray, xt: np.ndarray, *, dim: int = 20,
         p: int = 10, lam: float = 10.0, eta: float = 0.1, rho: float = 1.0,
         iterations: int = 10, features: str = "gfk", seed: int = 0
         ) -> tuple[np.ndarray, np.ndarray]:
    """Manifold Embedded Distribution Alignment (Wang et al. 2018) features.

    Args:
      xs, ys, xt: source features [ns, D], labels [ns], target features [nt, D].
      dim: GFK subspace dimension d.
      p: neighbours of the graph Laplacian.
      lam: weight λ of the dynamic distribution alignment.
      eta: ridge η on the coefficients β.
      rho: weight ρ of the manifold (Laplacian) regulariser; 0 drops it.
      iterations: pseudo-label rounds T.
      features: ``"gfk"`` returns the GFK features MEDA learns on (2·dim
        columns, equal to `gfk`; the classifier is not run); ``"scores"``
        returns its classifier's decision values K β (one column per class).
      seed: random_state of the linear SVMs of the A-distance.

    Returns:
      (zs, zt) as chosen by ``features``.
    """
    _check_choice(features, MEDA_FEATURES, "features")
    if features == "gfk":  # MEDA's classifier does not change these
        xs, xt = _as_domains(xs, xt)
        _as_labels(ys, len(xs))
        _check_meda_options(len(xs) + len(xt), p, lam, eta, rho, iterations)
        return gfk(xs, xt, dim=dim)
    zs, _, scores, _ = _meda_fit(xs, ys, xt, dim=dim, p=p, lam=lam, eta=eta,
                                 rho=rho, iterations=iterations, seed=seed)
    return scores[:len(zs)], scores[len(zs):]


def meda_predict(xs: np.ndarray, ys: np.ndarray, xt: np.ndarray, *,
                 dim: int = 20, p: int = 10, lam: float = 10.0,
                 eta: float = 0.1, rho: float = 1.0, iterations: int = 10,
                 seed: int = 0) -> np.ndarray:
    """MEDA's predicted labels of the target samples (values from ``ys``).

    Arguments as in `meda`.
    """
    return _meda_fit(xs, ys, xt, dim=dim, p=p, lam=lam, eta=eta, rho=rho,
                     iterations=iterations, seed=seed)[3]
