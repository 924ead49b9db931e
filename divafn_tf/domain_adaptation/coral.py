"""CORAL: CORrelation ALignment (Sun et al., AAAI 2016).

zs = xs Cs^{-1/2} Ct^{1/2}, Cs = cov(xs) + eps I, Ct = cov(xt) + eps I
(n - 1 denominator), zt = xt; the regularised source covariance becomes
the regularised target one. eps = 1. Keeps the D features (no ``dim``).
"""
from __future__ import annotations

import numpy as np

from .common import _as_domains, _check_positive, _spd_power


def coral_transform(xs: np.ndarray, xt: np.ndarray, eps: float = 1.0
                    ) -> np.ndarray:
    """A = Cs^{-1/2} Ct^{1/2} with Cs = cov(xs) + eps I, Ct = cov(xt) + eps I.

    Aᵀ Cs A = Ct: the source re-coloured by A has the regularised target
    covariance. Covariances use the n - 1 denominator (MATLAB's ``cov``).
    """
    _check_positive("eps", eps)
    xs, xt = _as_domains(xs, xt)
    ridge = eps * np.eye(xs.shape[1])
    cs = np.cov(xs, rowvar=False) + ridge
    ct = np.cov(xt, rowvar=False) + ridge
    return _spd_power(cs, -0.5) @ _spd_power(ct, 0.5)


def coral(xs: np.ndarray, xt: np.ndarray, *, eps: float = 1.0
          ) -> tuple[np.ndarray, np.ndarray]:
    """CORAL (Sun et al. 2016): (xs A, xt) with A from `coral_transform`."""
    xs, xt = _as_domains(xs, xt)
    return xs @ coral_transform(xs, xt, eps), xt.copy()
