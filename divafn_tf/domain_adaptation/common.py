"""What the domain-adaptation baselines share.

Input checks, `standardize_domains`, the symmetric eigen-solver with fixed
signs, matrix powers, squared distances, the MMD matrices as low-rank
factors and the pseudo-labellers.
"""
from __future__ import annotations

import operator

import numpy as np
import scipy.linalg
import sklearn.svm

STANDARDIZATIONS = ("domain", "joint", "none")
LABELLERS = ("1nn", "linear")


# --------------------------------------------------------------------------
# Input checks and preprocessing


def _as_matrix(x: np.ndarray, name: str) -> np.ndarray:
    out = np.asarray(x, dtype=np.float64)
    if out.ndim != 2:
        raise ValueError(f"{name} must be 2-D [samples, features], got shape "
                         f"{out.shape}")
    if out.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples, got {out.shape[0]}")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return out


def _as_domains(xs: np.ndarray, xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xs, xt = _as_matrix(xs, "xs"), _as_matrix(xt, "xt")
    if xs.shape[1] != xt.shape[1]:
        raise ValueError(f"xs and xt must have the same number of features, got "
                         f"{xs.shape[1]} and {xt.shape[1]}")
    return xs, xt


def _as_labels(ys: np.ndarray, ns: int) -> tuple[np.ndarray, np.ndarray]:
    """(classes, index of each source sample's class in ``classes``)."""
    ys = np.asarray(ys)
    if ys.shape != (ns,):
        raise ValueError(f"ys must be 1-D with one label per source sample "
                         f"({ns}), got shape {ys.shape}")
    classes, index = np.unique(ys, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"ys must contain at least 2 classes, got {len(classes)}")
    return classes, index


def _check_choice(value: str, choices: tuple[str, ...], name: str) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {choices}")


def _check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    if not (value >= 0 if allow_zero else value > 0) or not np.isfinite(value):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value}")


def _check_count(name: str, value: int, low: int, high: int, why: str) -> int:
    value = operator.index(value)
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is out of range: it must be between "
                         f"{low} and {high} ({why})")
    return value


def standardize_domains(xs: np.ndarray, xt: np.ndarray, mode: str = "domain"
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Z-scores the features: per domain, on the pooled data, or not at all.

    Args:
      xs, xt: [ns, D] and [nt, D] features.
      mode: ``"domain"`` (each domain with its own mean and population std),
        ``"joint"`` (the statistics of both domains together) or ``"none"``.
        A feature with zero std is only centred.

    Returns:
      The standardised (xs, xt) as new float64 arrays.
    """
    _check_choice(mode, STANDARDIZATIONS, "standardize mode")
    xs, xt = _as_domains(xs, xt)
    if mode == "none":
        return xs.copy(), xt.copy()
    if mode == "domain":
        return _zscore(xs, xs), _zscore(xt, xt)
    pooled = np.vstack([xs, xt])
    return _zscore(xs, pooled), _zscore(xt, pooled)


def _zscore(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    std = reference.std(axis=0)
    return (x - reference.mean(axis=0)) / np.where(std > 0, std, 1.0)


# --------------------------------------------------------------------------
# Linear-algebra building blocks


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Flips each column so that its largest-magnitude entry is positive."""
    rows = np.argmax(np.abs(vectors), axis=0)
    return vectors * np.sign(vectors[rows, np.arange(vectors.shape[1])])


def _top_eigenpairs(lhs: np.ndarray, rhs: np.ndarray, k: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The k largest γ of lhs v = γ rhs v (rhs positive definite), decreasing.

    Vectors are rhs-orthonormal (as `scipy.linalg.eigh` returns them), with
    the signs fixed by `_fix_signs`.
    """
    size = lhs.shape[0]
    values, vectors = scipy.linalg.eigh(lhs, rhs,
                                        subset_by_index=[size - k, size - 1])
    return values[::-1], _fix_signs(vectors[:, ::-1])


def _spd_power(matrix: np.ndarray, power: float) -> np.ndarray:
    """matrix ** power of a symmetric positive (semi-)definite matrix.

    Eigenvalues are clipped at 0 (round-off); ``power`` < 0 needs a positive
    definite matrix.
    """
    values, vectors = scipy.linalg.eigh(matrix)
    return (vectors * np.maximum(values, 0.0) ** power) @ vectors.T


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sq = (np.sum(a ** 2, axis=1)[:, None] + np.sum(b ** 2, axis=1)[None, :]
          - 2.0 * a @ b.T)
    return np.maximum(sq, 0.0)


# --------------------------------------------------------------------------
# MMD matrices as low-rank factors (M = F Fᵀ, F is n × (1 + C))


def _marginal_difference(ns: int, nt: int) -> np.ndarray:
    """e with e_i = 1/ns on the source and -1/nt on the target, [n, 1]."""
    return np.concatenate([np.full(ns, 1.0 / ns), np.full(nt, -1.0 / nt)])[:, None]


def _class_differences(ys_idx: np.ndarray, yt_idx: np.ndarray,
                       n_classes: int) -> np.ndarray:
    """Column c: 1/ns_c on source class c, -1/nt_c on target pseudo-class c.

    A class without target pseudo-labels has no target entries (the
    ``e(isinf(e)) = 0`` of the authors' code).
    """
    onehot_s = np.eye(n_classes)[ys_idx]
    onehot_t = np.eye(n_classes)[yt_idx]
    count_t = onehot_t.sum(axis=0)
    return np.vstack([onehot_s / onehot_s.sum(axis=0),
                      -onehot_t / np.where(count_t > 0, count_t, 1.0)])


def _fro_normalized(factor: np.ndarray) -> np.ndarray:
    """factor / sqrt(‖factor factorᵀ‖_F), so that ‖M‖_F = 1."""
    return factor / np.sqrt(np.linalg.norm(factor.T @ factor))


# --------------------------------------------------------------------------
# Pseudo-labels


def _pseudo_labels(zs: np.ndarray, ys_idx: np.ndarray, zt: np.ndarray,
                   labeller: str, seed: int) -> np.ndarray:
    """Target class indices from a classifier trained on (zs, ys_idx)."""
    if labeller == "1nn":
        return ys_idx[np.argmin(_squared_distances(zt, zs), axis=1)]
    svm = sklearn.svm.LinearSVC(C=1.0, dual=False, random_state=seed)
    return svm.fit(zs, ys_idx).predict(zt)
