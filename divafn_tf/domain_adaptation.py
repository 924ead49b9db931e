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
TJM, MEDA), D × D (primal TCA/JDA, GFK's kernel, CORAL) and 2D × 2D (JGSA);
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

``tca`` - Transfer Component Analysis (Pan et al., IEEE TNN 2011).
    K = X (``kernel="primal"``, default: a D × D problem) or a kernel matrix
    (``"linear"`` X Xᵀ, ``"rbf"`` exp(-gamma ‖xi - xj‖²): n × n). The ``dim``
    leading eigenvectors A of (Kᵀ M K + mu I)⁻¹ Kᵀ H K, i.e. the largest γ of
    Kᵀ H K a = γ (Kᵀ M K + mu I) a, with M = e eᵀ / ‖e eᵀ‖_F
    (e_i = 1/ns on the source, -1/nt on the target) and H = I - 11ᵀ/n;
    Z = K A with unit-norm rows. mu = 1, dim = 100.
``jda`` - Joint Distribution Adaptation (Long et al., ICCV 2013). TCA with
    M = C e eᵀ + Σ_c M_c, M_c the MMD matrix between source class c and the
    target samples pseudo-labelled c, scaled to ‖M‖_F = 1, ridge lam = 1,
    dim = 100. The first solve has no pseudo-labels (exactly TCA); each of
    the ``iterations`` = 10 further solves uses the labels that a 1-NN
    (``labeller="1nn"``, the authors' choice) or a LinearSVC (``"linear"``)
    trained on the embedded source gives the embedded target. (The authors'
    T = 10 counts the first solve: 9 refinements.)
``tjm`` - Transfer Joint Matching (Long et al., CVPR 2014). Kernel TCA
    (``kernel="linear"`` default, or ``"rbf"``) with the marginal MMD only
    and lam (‖A_s‖₂,₁ + ‖A_t‖²_F) in place of ‖A‖²_F: the ℓ2,1 norm on the
    coefficient rows of the source samples removes the source samples that
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
``gfk`` - Geodesic Flow Kernel (Gong et al., CVPR 2012). P_S, P_T: the
    ``dim`` (20) leading principal directions of each domain;
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
``coral`` - CORrelation ALignment (Sun et al., AAAI 2016).
    zs = xs Cs^{-1/2} Ct^{1/2}, Cs = cov(xs) + eps I, Ct = cov(xt) + eps I
    (n - 1 denominator), zt = xt; the regularised source covariance becomes
    the regularised target one. eps = 1. Keeps the D features (no ``dim``).
``jgsa`` - Joint Geometrical and Statistical Alignment (Zhang et al., CVPR
    2017). Coupled projections W = [A; B] maximising
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
``meda`` - Manifold Embedded Distribution Alignment (Wang et al., ACM MM 2018).
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

import operator
from typing import NamedTuple

import numpy as np
import scipy.linalg
import sklearn.svm

METHODS = ("tca", "gfk", "jda", "tjm", "coral", "jgsa", "meda")
STANDARDIZATIONS = ("domain", "joint", "none")
KERNELS = ("primal", "linear", "rbf")
LABELLERS = ("1nn", "linear")
MEDA_FEATURES = ("gfk", "scores")


class Projection(NamedTuple):
    """Coefficients A of a TCA/TJM embedding Z = rows_to_unit(K A).

    Attributes:
      coefficients: [D, dim] (primal) or [n, dim] (kernel) matrix, unit-norm
        columns, ordered by decreasing eigenvalue.
      eigenvalues: the γ of Kᵀ H K a = γ (Kᵀ M K + reg) a, decreasing.
    """

    coefficients: np.ndarray
    eigenvalues: np.ndarray


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


def _unit_columns(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=0)


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


# --------------------------------------------------------------------------
# TCA / JDA / TJM


def _mmd_projection(lhs: np.ndarray, k: np.ndarray, factor: np.ndarray,
                    reg: float | np.ndarray, dim: int) -> Projection:
    """Leading eigenvectors of Kᵀ H K a = γ (Kᵀ M K + diag(reg)) a."""
    rhs = _mmd_gram(k, factor)
    rhs[np.diag_indices_from(rhs)] += reg
    values, vectors = _top_eigenpairs(lhs, rhs, dim)
    return Projection(_unit_columns(vectors), values)


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


def _split_embedding(k: np.ndarray, projection: Projection, ns: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    z = _unit_rows(k @ projection.coefficients)
    return z[:ns], z[ns:]


def _tca(xs: np.ndarray, xt: np.ndarray, dim: int, mu: float, kernel: str,
         gamma: float) -> tuple[int, np.ndarray, Projection]:
    _check_positive("mu", mu)
    ns, k, lhs, dim = _tca_setup(xs, xt, dim, kernel, gamma)
    factor = _fro_normalized(_marginal_difference(ns, len(k) - ns))
    return ns, k, _mmd_projection(lhs, k, factor, mu, dim)


def tca_projection(xs: np.ndarray, xt: np.ndarray, *, dim: int = 100,
                   mu: float = 1.0, kernel: str = "primal", gamma: float = 1.0
                   ) -> Projection:
    """TCA's coefficients A (arguments as in `tca`); Z = rows_to_unit(K A)."""
    return _tca(xs, xt, dim, mu, kernel, gamma)[2]


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
    ns, k, projection = _tca(xs, xt, dim, mu, kernel, gamma)
    return _split_embedding(k, projection, ns)


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
        projection = _mmd_projection(lhs, k, _fro_normalized(factor), lam, dim)
        return _split_embedding(k, projection, ns)

    zs, zt = embed(marginal)
    for _ in range(iterations):
        yt_idx = _pseudo_labels(zs, ys_idx, zt, labeller, seed)
        zs, zt = embed(np.hstack([marginal,
                                  _class_differences(ys_idx, yt_idx, n_classes)]))
    return zs, zt


def _tjm(xs: np.ndarray, xt: np.ndarray, dim: int, lam: float, iterations: int,
         kernel: str, gamma: float) -> tuple[int, np.ndarray, Projection]:
    _check_positive("lam", lam)
    if kernel == "primal":
        raise ValueError("tjm needs kernel 'linear' or 'rbf': its ℓ2,1 norm acts "
                         "on one coefficient row per sample")
    iterations = _check_count("iterations", iterations, 1, 10**6, "a count")
    ns, k, lhs, dim = _tca_setup(xs, xt, dim, kernel, gamma)
    factor = _fro_normalized(_marginal_difference(ns, len(k) - ns))
    weights = np.ones(len(k))
    for _ in range(iterations):
        projection = _mmd_projection(lhs, k, factor, lam * weights, dim)
        source_rows = projection.coefficients[:ns]
        weights[:ns] = 1.0 / np.sqrt(np.sum(source_rows ** 2, axis=1)
                                     + np.finfo(np.float64).eps)
    return ns, k, projection


def tjm_projection(xs: np.ndarray, xt: np.ndarray, *, dim: int = 20,
                   lam: float = 1.0, iterations: int = 10,
                   kernel: str = "linear", gamma: float = 1.0) -> Projection:
    """TJM's coefficients A, one row per sample, source rows first (see `tjm`)."""
    return _tjm(xs, xt, dim, lam, iterations, kernel, gamma)[2]


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
    ns, k, projection = _tjm(xs, xt, dim, lam, iterations, kernel, gamma)
    return _split_embedding(k, projection, ns)


# --------------------------------------------------------------------------
# GFK


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


def gfk_kernel(ps: np.ndarray, pt: np.ndarray) -> np.ndarray:
    """G = ∫₀¹ Φ(t)Φ(t)ᵀ dt between two subspaces with orthonormal bases.

    Args:
      ps, pt: [D, d] orthonormal bases of the source and target subspaces.

    Returns:
      The D × D geodesic flow kernel (symmetric positive semi-definite;
      ps psᵀ when both bases span the same subspace).
    """
    ps, pt = np.asarray(ps, np.float64), np.asarray(pt, np.float64)
    if ps.ndim != 2 or ps.shape != pt.shape:
        raise ValueError(f"ps and pt must be [D, d] bases of the same shape, got "
                         f"{ps.shape} and {pt.shape}")
    basis, weights = _gfk_factor(ps, pt)
    return basis @ weights @ basis.T


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


# --------------------------------------------------------------------------
# CORAL


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


# --------------------------------------------------------------------------
# JGSA


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


# --------------------------------------------------------------------------
# MEDA


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


# --------------------------------------------------------------------------
# Uniform entry point


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
