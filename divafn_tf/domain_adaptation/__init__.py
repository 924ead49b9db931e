"""Table XI's domain-adaptation baselines: TCA, GFK, JDA, TJM, CORAL, JGSA, MEDA.

Protocol (section IV.G): the source domain is the CNN feature of the labelled
still images (``xs`` [ns, D], labels ``ys``), the target domain the same
CNN's feature of the video keyframes (``xt`` [nt, D], unlabelled; every
keyframe of the training and test videos). Each method returns new
representations ``(zs, zt)`` of both domains; the caller concatenates ``zt``
with the video features and trains a linear SVM.

    zs, zt = adapt("jda", xs, ys, xt, seed=0)

Samples are rows; everything is float64 numpy/scipy, implemented from the
papers and checked against the authors' MATLAB code where the papers leave
freedom. The largest matrices are n × n with n = ns + nt (kernel TCA/JDA,
TJM, MEDA), D × D (primal TCA/JDA, GFK's PCA, CORAL) and 2D × 2D (JGSA);
MMD matrices are kept as n × (C + 1) factors. Every eigenproblem is
symmetric-definite and solved densely with `scipy.linalg.eigh`, eigenvector
signs are fixed (largest entry positive), so every method is deterministic;
``seed`` only seeds scikit-learn's `LinearSVC` where one is used (JDA/JGSA
with ``labeller="linear"``, MEDA's A-distance).

Standardisation (`standardize_domains`, applied first by `adapt`):
``"domain"`` (default) z-scores each domain with its own per-feature mean and
population std (a constant feature is only centred), as the authors' demo
scripts do (``zscore(X, 1)`` per domain) and as CORAL's eps = 1 assumes;
``"joint"`` uses the statistics of both domains pooled; ``"none"`` keeps the
features. The per-method functions take the features as given, and then, as
the authors' code does, TCA, JDA, TJM and JGSA scale every sample to unit L2
norm, and MEDA does so after GFK.

Defaults of the per-method functions are the authors' (``adapt`` passes a
``dim`` only when given one).

One module per method, each with its equations, the choices made where the
paper leaves freedom, and the defaults in its docstring: `tca` (Transfer
Component Analysis), `gfk` (Geodesic Flow Kernel), `jda` (Joint
Distribution Adaptation), `tjm` (Transfer Joint Matching), `coral`
(CORrelation ALignment), `jgsa` (Joint Geometrical and Statistical
Alignment), `meda` (Manifold Embedded Distribution Alignment); `common`
holds the input checks, `standardize_domains` and the linear algebra, MMD
factors and pseudo-labellers they share.
"""
from __future__ import annotations

import numpy as np

from .common import (LABELLERS, STANDARDIZATIONS, _as_labels, _check_choice,
                     standardize_domains)
from .coral import coral, coral_transform
from .gfk import gfk, principal_subspace
from .jda import jda
from .jgsa import jgsa
from .meda import MEDA_FEATURES, meda, meda_predict
from .tca import KERNELS, Projection, tca, tca_projection
from .tjm import tjm, tjm_projection

METHODS = ("tca", "gfk", "jda", "tjm", "coral", "jgsa", "meda")

__all__ = ["KERNELS", "LABELLERS", "MEDA_FEATURES", "METHODS", "Projection",
           "STANDARDIZATIONS", "adapt", "coral", "coral_transform", "gfk",
           "jda", "jgsa", "meda", "meda_predict", "principal_subspace",
           "standardize_domains", "tca", "tca_projection", "tjm",
           "tjm_projection"]


def adapt(method: str, xs: np.ndarray, ys: np.ndarray, xt: np.ndarray, *,
          dim: int | None = None, seed: int = 0, standardize: str = "domain",
          **options) -> tuple[np.ndarray, np.ndarray]:
    """Adapts source image features to target keyframe features.

    Args:
      method: one of `METHODS`.
      xs: [ns, D] source (image) features.
      ys: [ns] source labels (any sortable values).
      xt: [nt, D] target (keyframe) features; unlabelled.
      dim: subspace dimension (TCA/JDA/TJM/JGSA components, GFK/MEDA PCA
        dimension; GFK and MEDA return 2·dim columns; CORAL ignores it);
        None: each method's own default.
      seed: seeds the linear SVMs of JDA/JGSA (``labeller="linear"``) and
        MEDA; the other methods are deterministic and do not take it.
      standardize: `standardize_domains` mode applied first.
      **options: the method's own hyper-parameters (see each function).

    Returns:
      (zs, zt): new float64 representations of the source and target samples.

    Raises:
      ValueError: unknown method or option value, inputs of mismatched or
        wrong shape, or a dimension larger than the method allows.
    """
    _check_choice(method, METHODS, "method")
    xs, xt = standardize_domains(xs, xt, standardize)
    _as_labels(ys, len(xs))
    if dim is not None and method != "coral":
        options["dim"] = dim
    if method == "tca":
        return tca(xs, xt, **options)
    if method == "gfk":
        return gfk(xs, xt, **options)
    if method == "jda":
        return jda(xs, ys, xt, seed=seed, **options)
    if method == "tjm":
        return tjm(xs, xt, **options)
    if method == "coral":
        return coral(xs, xt, **options)
    if method == "jgsa":
        return jgsa(xs, ys, xt, seed=seed, **options)
    return meda(xs, ys, xt, seed=seed, **options)
