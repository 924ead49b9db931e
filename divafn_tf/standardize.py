"""Per-modality standardisation before the W solves and eq. (25).

The paper is silent on feature scaling. Without it, the block W_E [h; g] of
eq. (25) is dominated by whichever of h and g has the larger norm (measured
on the demo: ‖g‖ ≈ 3.8 ‖h‖), and LinearSVC struggles to converge on b.
Public semantic-autoencoder code normalises the features first. So, with
``--standardize`` (the default), each modality X ∈ {F, H, G} of the final,
fresh inference-mode banks is z-scored per dimension with its training mean
and standard deviation, x̃ = (x − μ_X) / σ_X, and

* the final W_F, W_H, W_G, W_E (the W of the SVM and the export) are solved
  (eqs. 18-24) on F̃, H̃, G̃ and Ẽ = [H̃; G̃];
* eq. (25) fuses b = [W_H h̃; W_G g̃; W_E [h̃; g̃]], in evaluation and in the
  SavedModel alike (μ, σ are stored in the model and exported).

During training the autoencoder terms of J and their per-epoch W stay on the
raw outputs, the paper's arithmetic: standardising inside J scales the
autoencoder gradients by 1/σ (σ ≈ 0.01 at fc8's N(0, 0.01²) start), and
plain SGD at the paper's learning rate then diverged within 100 epochs on
the tiny embedded dataset (measured; ``tests/test_numerics.py``).
``--nostandardize`` keeps μ = 0, σ = 1 for the final W too.
"""
from __future__ import annotations

import dataclasses

import numpy as np

# A dimension whose spread is below this share of the modality's typical
# spread is left unscaled (σ = 1) rather than blown up to unit variance.
_RELATIVE_STD_FLOOR = 1e-6


@dataclasses.dataclass(frozen=True)
class Moments:
    """μ and σ of one modality, each [dim]."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def identity(cls, dim: int) -> "Moments":
        return cls(np.zeros(dim, np.float32), np.ones(dim, np.float32))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(x − μ) / σ, row-wise."""
        return (x - self.mean) / self.std


def moments_of(x: np.ndarray, enabled: bool = True) -> Moments:
    """Training-set μ and σ of the rows of ``x`` [n, dim] (identity if not enabled)."""
    x = np.asarray(x, np.float64)
    if not enabled:
        return Moments.identity(x.shape[1])
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    typical = float(np.sqrt(np.mean(std ** 2)))
    std = np.where(std > _RELATIVE_STD_FLOOR * max(typical, 1e-30), std, 1.0)
    return Moments(mean.astype(np.float32), std.astype(np.float32))
