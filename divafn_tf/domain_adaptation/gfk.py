"""GFK: Geodesic Flow Kernel (Gong et al., CVPR 2012).

P_S, P_T: the ``dim`` (20) leading principal directions of each domain;
G = ∫₀¹ Φ(t) Φ(t)ᵀ dt along the Grassmann geodesic from P_S to P_T.
With P_Sᵀ P_T = U cos(Θ) Vᵀ, a_i = P_S U e_i and
b_i = (I - P_S P_Sᵀ) P_T V e_i (‖b_i‖ = sin θ_i),
Φ(t) e_i = a_i cos(tθ_i) + b_i sin(tθ_i)/sin θ_i, and
G = Σ_i λ1_i a_i a_iᵀ + c2_i (a_i b_iᵀ + b_i a_iᵀ) + c3_i b_i b_iᵀ,
λ1 = (1 + sin 2θ/2θ)/2, c2 = sin θ/2θ, c3 = (1 - sin 2θ/2θ)/(2 sin²θ):
the paper's closed form written with b_i instead of the complement R_S
and a GSVD (no D × D complement; exact at θ = 0, where c3 → 1/3; the
paper's d ≤ D/2 is not needed). The features are the rank-2·dim factor
Z = X [a, b] W^{1/2} of G (W the 2·dim × 2·dim weights): Z Zᵀ = X G Xᵀ,
the inner products and distances of the authors' X G^{1/2} in 2·dim
instead of D columns. dim ≤ min(D, ns - 1, nt - 1).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from .common import _as_domains, _check_count, _spd_power


def principal_subspace(x: np.ndarray, dim: int) -> np.ndarray:
    """The ``dim`` leading principal directions of x (centred), [D, dim]."""
    _, _, vt = scipy.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    return vt[:dim].T


def _gfk_factor(ps: np.ndarray, pt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Ψ [D, 2d], W [2d, 2d]) with G = Ψ W Ψᵀ (see the module docstring)."""
    u, cos, vt = scipy.linalg.svd(ps.T @ pt)
    a = ps @ u
    b = pt @ vt.T - a * cos
    sin = np.linalg.norm(b, axis=0)
    theta = np.arctan2(sin, cos)
    sinc_2theta = np.sinc(2.0 * theta / np.pi)  # sin 2θ / 2θ
    lam1 = 0.5 * (1.0 + sinc_2theta)
    c2 = 0.5 * np.sinc(theta / np.pi)  # sin θ / 2θ
    small = theta < 1e-3
    safe_sin = np.where(small, 1.0, sin)
    c3 = np.where(small, 1.0 / 3.0 + 2.0 * theta ** 2 / 45.0,
                  0.5 * (1.0 - sinc_2theta) / safe_sin ** 2)
    weights = np.block([[np.diag(lam1), np.diag(c2)],
                        [np.diag(c2), np.diag(c3)]])
    return np.hstack([a, b]), weights


def gfk(xs: np.ndarray, xt: np.ndarray, *, dim: int = 20
        ) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic Flow Kernel (Gong et al. 2012) features.

    Args:
      xs, xt: [ns, D] source and [nt, D] target features.
      dim: dimension d of the PCA subspace of each domain.

    Returns:
      (zs [ns, 2·dim], zt [nt, 2·dim]) with [zs; zt][zs; zt]ᵀ = X G Xᵀ.
    """
    xs, xt = _as_domains(xs, xt)
    dim = _check_count("dim", dim, 1, min(xs.shape[1], len(xs) - 1, len(xt) - 1),
                       "PCA subspace dimension ≤ min(D, ns-1, nt-1)")
    basis, weights = _gfk_factor(principal_subspace(xs, dim),
                                 principal_subspace(xt, dim))
    embed = basis @ _spd_power(weights, 0.5)
    return xs @ embed, xt @ embed
