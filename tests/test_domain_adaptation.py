"""Tests for the Table XI baselines (the divafn_tf.domain_adaptation package).

Each test checks a property that a correct implementation must have: an
optimality or identity condition of the method's own equations, an
independent re-derivation (explicit n × n MMD/centring matrices, a
quadrature of the GFK integral along the Grassmann geodesic of Edelman et
al.), or an accuracy gain on a shifted two-domain problem whose numbers are
fixed by its seed.
"""
import numpy as np
import pytest
import scipy.linalg

from divafn_tf import domain_adaptation as da

DIM = 20  # features of the synthetic problem


def _rotation(rng: np.random.Generator, dim: int, angle: float) -> np.ndarray:
    """Rotation by ``angle`` in dim/2 orthogonal planes of a random basis."""
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    planes = np.eye(dim)
    c, s = np.cos(angle), np.sin(angle)
    for i in range(0, dim - 1, 2):
        planes[i:i + 2, i:i + 2] = [[c, -s], [s, c]]
    return basis @ planes @ basis.T


def _shifted_problem(seed: int = 0, classes: int = 4, ns_per_class: int = 40,
                     nt_per_class: int = 60, angle: float = 0.9):
    """Gaussian class clusters (unit noise, means 4 apart from the origin);
    the target holds the same clusters rotated by ``angle`` rad and shifted."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(classes, DIM))
    means *= 4.0 / np.linalg.norm(means, axis=1, keepdims=True)
    ys = np.repeat(np.arange(classes), ns_per_class)
    yt = np.repeat(np.arange(classes), nt_per_class)
    xs = means[ys] + rng.normal(size=(len(ys), DIM))
    shift = 3.0 * rng.normal(size=DIM) / np.sqrt(DIM)
    xt = (means[yt] + rng.normal(size=(len(yt), DIM))) @ _rotation(
        rng, DIM, angle).T + shift
    return xs, ys, xt, yt


def _nn_accuracy(zs, ys, zt, yt) -> float:
    """Accuracy on the target of a 1-NN trained on the source."""
    distances = ((zt[:, None, :] - zs[None, :, :]) ** 2).sum(axis=-1)
    return float(np.mean(ys[np.argmin(distances, axis=1)] == yt))


@pytest.fixture(scope="module")
def problem():
    return _shifted_problem()


# ----------------------------------------------------------------- CORAL


def test_coral_recolours_source_covariance_to_target(problem):
    xs, _, xt, _ = problem
    eps = 1.0
    a = da.coral_transform(xs, xt, eps)
    ridge = eps * np.eye(DIM)
    source = np.cov(xs, rowvar=False) + ridge
    target = np.cov(xt, rowvar=False) + ridge
    np.testing.assert_allclose(a.T @ source @ a, target, rtol=0, atol=1e-6)
    zs, zt = da.coral(xs, xt, eps=eps)
    # cov(zs) = Aᵀ cov(xs) A = cov(xt) + eps (I - AᵀA): the adapted source
    # covariance plus the transformed ridge is the regularised target's.
    np.testing.assert_allclose(np.cov(zs, rowvar=False) + eps * a.T @ a,
                               target, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(zt, xt)


def test_coral_with_tiny_eps_equalises_covariances(problem):
    xs, _, xt, _ = problem
    zs, _ = da.coral(xs, xt, eps=1e-10)
    np.testing.assert_allclose(np.cov(zs, rowvar=False), np.cov(xt, rowvar=False),
                               rtol=0, atol=1e-6)


# ------------------------------------------------------------------- TCA


def _explicit_tca_matrices(xs, xt, mu):
    """Kᵀ H K and Kᵀ L K + mu I of primal TCA from the n × n L and H."""
    x = np.vstack([xs, xt])
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    ns, n = len(xs), len(x)
    e = np.concatenate([np.full(ns, 1.0 / ns), np.full(n - ns, -1.0 / (n - ns))])
    mmd = np.outer(e, e)
    mmd /= np.linalg.norm(mmd)
    centring = np.eye(n) - np.ones((n, n)) / n
    return x, x.T @ centring @ x, x.T @ mmd @ x + mu * np.eye(x.shape[1])


def test_tca_solves_its_generalised_eigenproblem(problem):
    xs, _, xt, _ = problem
    mu, dim = 1.0, 6
    projection = da.tca_projection(xs, xt, dim=dim, mu=mu)
    _, variance, penalised_mmd = _explicit_tca_matrices(xs, xt, mu)
    a, gamma = projection.coefficients, projection.eigenvalues
    residual = variance @ a - penalised_mmd @ a * gamma
    assert np.linalg.norm(residual) <= 1e-10 * np.linalg.norm(variance @ a)
    leading = scipy.linalg.eigh(variance, penalised_mmd, eigvals_only=True)[::-1]
    np.testing.assert_allclose(gamma, leading[:dim], rtol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(a, axis=0), 1.0, rtol=1e-12)


def _relative_mmd(z: np.ndarray, ns: int) -> float:
    """‖mean source − mean target‖² / mean squared distance to the pooled mean:
    the squared MMD (linear kernel) relative to the total variance, so that
    spaces of different dimension and scale are comparable."""
    gap = z[:ns].mean(axis=0) - z[ns:].mean(axis=0)
    spread = np.mean(np.sum((z - z.mean(axis=0)) ** 2, axis=1))
    return float(gap @ gap / spread)


def test_tca_shrinks_the_relative_mmd(problem):
    xs, _, xt, _ = problem  # raw features: the target mean is shifted
    x, _, _ = _explicit_tca_matrices(xs, xt, 1.0)
    before = _relative_mmd(x, len(xs))
    after = _relative_mmd(x @ da.tca_projection(xs, xt, dim=5).coefficients, len(xs))
    assert before > 0.1
    assert after < 0.01 * before


def test_jda_without_iterations_is_tca(problem):
    xs, ys, xt, _ = problem
    for kernel in ("primal", "rbf"):
        tca = da.tca(xs, xt, dim=8, mu=0.5, kernel=kernel)
        jda = da.jda(xs, ys, xt, dim=8, lam=0.5, iterations=0, kernel=kernel)
        for a, b in zip(tca, jda):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_tjm_with_one_iteration_is_kernel_tca(problem):
    xs, _, xt, _ = problem
    tca = da.tca(xs, xt, dim=8, kernel="linear")
    tjm = da.tjm(xs, xt, dim=8, iterations=1, kernel="linear")
    for a, b in zip(tca, tjm):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


# ------------------------------------------------------------------- GFK


def _orthonormal(rng, rows, cols):
    return np.linalg.qr(rng.normal(size=(rows, cols)))[0]


def _pca_basis(x, dim):
    """The ``dim`` leading principal directions of x, from numpy's SVD."""
    return np.linalg.svd(x - x.mean(axis=0), full_matrices=False)[2][:dim].T


def _gfk_map(xs, xt, dim):
    """The D × 2·dim map E of `gfk`'s features, zs = xs E and zt = xt E:
    recovered by least squares (xs and xt have full column rank), and
    checked to be one linear map of both domains, so that the features'
    inner products are those of the kernel G = E Eᵀ: Z Zᵀ = X G Xᵀ."""
    zs, zt = da.gfk(xs, xt, dim=dim)
    assert zs.shape == (len(xs), 2 * dim) and zt.shape == (len(xt), 2 * dim)
    e = np.linalg.lstsq(np.vstack([xs, xt]), np.vstack([zs, zt]), rcond=None)[0]
    np.testing.assert_allclose(xs @ e, zs, rtol=0, atol=1e-10)
    np.testing.assert_allclose(xt @ e, zt, rtol=0, atol=1e-10)
    return e


def test_gfk_kernel_integrates_the_geodesic(problem):
    xs, _, xt, _ = problem
    dim = 5
    e = _gfk_map(xs, xt, dim)
    g = e @ e.T
    d_features = xs.shape[1]
    ps, pt = _pca_basis(xs, dim), _pca_basis(xt, dim)
    # Geodesic from span(ps) to span(pt) (Edelman, Arias & Smith 1998):
    # (I - ps psᵀ) pt (psᵀ pt)⁻¹ = U tan(Θ) Vᵀ, Y(t) = ps V cos(tΘ) + U sin(tΘ).
    u, tan_theta, vt = np.linalg.svd(
        (np.eye(d_features) - ps @ ps.T) @ pt @ np.linalg.inv(ps.T @ pt),
        full_matrices=False)
    theta = np.arctan(tan_theta)
    nodes, weights = np.polynomial.legendre.leggauss(40)
    integral = np.zeros_like(g)
    for t, w in zip(0.5 * (nodes + 1.0), 0.5 * weights):
        y = ps @ vt.T * np.cos(t * theta) + u * np.sin(t * theta)
        integral += w * y @ y.T
    np.testing.assert_allclose(g, integral, rtol=0, atol=1e-12)
    end = ps @ vt.T * np.cos(theta) + u * np.sin(theta)  # Y(1) spans pt
    np.testing.assert_allclose(end @ end.T, pt @ pt.T, rtol=0, atol=1e-12)


def test_gfk_kernel_of_one_subspace_is_its_projector():
    """xt = xs under an orthogonal map of its 3-d principal subspace onto
    itself: both domains have that subspace (with other bases), and G is its
    projector ps psᵀ (all principal angles 0)."""
    rng = np.random.default_rng(4)
    d_features, d = 10, 3
    xs = rng.normal(size=(40, d_features)) * np.r_[6.0, 5.0, 4.0,
                                                   np.ones(d_features - d)]
    ps = _pca_basis(xs, d)
    within = np.eye(d_features) - ps @ ps.T + ps @ _orthonormal(rng, d, d) @ ps.T
    xt = xs @ within
    e = _gfk_map(xs, xt, d)
    np.testing.assert_allclose(e @ e.T, ps @ ps.T, rtol=0, atol=1e-13)


# ------------------------------------------------------------------ JGSA


def _explicit_jgsa_matrices(xs, ys, xt, yt_pseudo, alpha, mu, beta):
    """Smax and Smin of JGSA from n × n MMD blocks (constructMMD of the
    authors' code: marginal C e eᵀ plus one block per class, all divided by
    ‖C e eᵀ‖_F) and the source scatter matrices."""
    ns, nt, d = len(xs), len(xt), xs.shape[1]
    classes = np.unique(ys)
    es = np.full(ns, 1.0 / ns)
    et = np.full(nt, -1.0 / nt)
    blocks = {key: len(classes) * np.outer(u, v) for key, (u, v) in
              {"s": (es, es), "t": (et, et), "st": (es, et)}.items()}
    for c in classes:
        es = np.where(ys == c, 1.0 / np.sum(ys == c), 0.0)
        count = np.sum(yt_pseudo == c)
        et = np.where(yt_pseudo == c, -1.0 / max(count, 1), 0.0)
        for key, (u, v) in {"s": (es, es), "t": (et, et), "st": (es, et)}.items():
            blocks[key] += np.outer(u, v)
    scale = len(classes) * np.linalg.norm(np.concatenate(
        [np.full(ns, 1.0 / ns), np.full(nt, -1.0 / nt)])) ** 2
    ts, tt = xs.T @ blocks["s"] @ xs / scale, xt.T @ blocks["t"] @ xt / scale
    tst = xs.T @ blocks["st"] @ xt / scale
    sw, sb = np.zeros((d, d)), np.zeros((d, d))
    for c in classes:
        members = xs[ys == c]
        sw += (members - members.mean(0)).T @ (members - members.mean(0))
        gap = members.mean(0) - xs.mean(0)
        sb += len(members) * np.outer(gap, gap)
    centring = np.eye(nt) - np.ones((nt, nt)) / nt
    eye, zero = np.eye(d), np.zeros((d, d))
    smax = np.block([[beta * sb, zero], [zero, mu * xt.T @ centring @ xt]])
    smin = np.block([[ts + alpha * eye + beta * sw, tst - alpha * eye],
                     [tst.T - alpha * eye, tt + (alpha + mu) * eye]])
    return smax, smin


def test_jgsa_solves_its_generalised_eigenproblem(problem):
    xs, ys, xt, _ = problem
    alpha, mu, beta, dim = 1.0, 1.0, 0.1, 6
    zs, zt = da.jgsa(xs, ys, xt, dim=dim, alpha=alpha, mu=mu, beta=beta,
                     iterations=1)
    us = xs / np.linalg.norm(xs, axis=1, keepdims=True)
    ut = xt / np.linalg.norm(xt, axis=1, keepdims=True)
    nearest = np.argmin(((ut[:, None] - us[None]) ** 2).sum(-1), axis=1)
    smax, smin = _explicit_jgsa_matrices(us, ys, ut, ys[nearest], alpha, mu, beta)
    # zs = us A and zt = ut B with us, ut of full column rank: recover W.
    w = np.vstack([np.linalg.lstsq(us, zs, rcond=None)[0],
                   np.linalg.lstsq(ut, zt, rcond=None)[0]])
    np.testing.assert_allclose(w.T @ smin @ w, np.eye(dim), rtol=0, atol=1e-8)
    values = np.diag(w.T @ smax @ w)
    residual = smax @ w - smin @ w * values
    assert np.linalg.norm(residual) <= 1e-8 * np.linalg.norm(smax @ w)
    leading = scipy.linalg.eigh(smax, smin, eigvals_only=True)[::-1]
    np.testing.assert_allclose(values, leading[:dim], rtol=1e-8)


# ------------------------------------------------------------------ MEDA


def test_meda_without_alignment_and_manifold_is_kernel_ridge(problem):
    """With lam → 0 and rho = 0, β = (E K + eta I)⁻¹ E Y is kernel ridge
    regression of the one-hot source labels (ridge eta, RBF σ = 1 on the
    unit-norm GFK features), whatever the pseudo-labels."""
    xs, ys, xt, _ = problem
    eta, dim = 0.1, 5
    zs, zt = da.meda(xs, ys, xt, dim=dim, lam=1e-14, rho=0.0, eta=eta,
                     iterations=1, features="scores")
    gs, gt = da.gfk(xs, xt, dim=dim)
    u = np.vstack([gs, gt])
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    kernel = np.exp(-0.5 * ((u[:, None] - u[None]) ** 2).sum(-1))
    ns = len(xs)
    onehot = np.eye(ys.max() + 1)[ys]
    coefficients = np.linalg.solve(kernel[:ns, :ns] + eta * np.eye(ns), onehot)
    np.testing.assert_allclose(np.vstack([zs, zt]), kernel[:, :ns] @ coefficients,
                               rtol=0, atol=1e-9)


# -------------------------------------------------- accuracy on the shift


def _standardized_pair(xs, ys, xt):
    """(xs, ys, xt) with adapt's default standardisation: the no-adaptation
    baseline sees the same preprocessing as the methods."""
    zs, zt = da.standardize_domains(xs, xt)
    return zs, ys, zt


def _case(method, *values, **options):
    suffix = "-".join(f"{key}={value}" for key, value in options.items())
    return pytest.param(method, *values, options,
                        id=f"{method}-{suffix}" if suffix else method)


@pytest.mark.heavy  # six adaptations of the full problem
@pytest.mark.parametrize("method, dim, gain, options", [
    _case("jda", 10, 0.15),
    _case("jda", 10, 0.15, labeller="linear"),
    _case("tjm", 10, 0.1),
    _case("jgsa", 10, 0.2),
    _case("meda", 5, 0.15),
    _case("meda", 5, 0.2, features="scores"),
])
def test_adaptation_raises_target_accuracy(problem, method, dim, gain, options):
    xs, ys, xt, yt = problem
    before = _nn_accuracy(*_standardized_pair(xs, ys, xt), yt)
    zs, zt = da.adapt(method, xs, ys, xt, dim=dim, **options)
    after = _nn_accuracy(zs, ys, zt, yt)
    assert before < 0.75
    assert after >= before + gain


@pytest.mark.heavy  # MEDA twice, with its classifier
def test_meda_predictions_beat_the_unadapted_nearest_neighbour(problem):
    xs, ys, xt, yt = problem
    labels = np.array(["run", "jump", "walk", "wave"])
    xs, xt = da.standardize_domains(xs, xt)
    predicted = da.meda_predict(xs, labels[ys], xt, dim=5)
    assert predicted.dtype == labels.dtype
    accuracy = float(np.mean(predicted == labels[yt]))
    assert accuracy >= _nn_accuracy(xs, ys, xt, yt) + 0.2
    zs, zt = da.meda(xs, labels[ys], xt, dim=5, features="scores")
    assert zs.shape == (len(xs), 4) and zt.shape == (len(xt), 4)
    # The scores are the classifier's decision values: their argmax is the
    # prediction (columns follow the sorted class names).
    np.testing.assert_array_equal(np.sort(labels)[np.argmax(zt, axis=1)], predicted)


def test_tjm_l21_term_shrinks_source_rows_unlike_the_target():
    """Source inliers come from the target distribution, outliers from a
    cluster the target lacks. With a full-rank (RBF) kernel every sample's
    coefficient row is identifiable; the ℓ2,1 reweighting shrinks all source
    rows against the target rows, and the outliers' far more."""
    rng = np.random.default_rng(0)
    n_in, n_out, nt = 30, 30, 60
    centre, elsewhere = 3.0 * np.eye(10)[0], 3.0 * np.eye(10)[1]
    xt = centre + 0.5 * rng.normal(size=(nt, 10))
    xs = np.vstack([centre + 0.5 * rng.normal(size=(n_in, 10)),
                    elsewhere + 0.5 * rng.normal(size=(n_out, 10))])

    def row_norms(iterations):
        a = da.tjm_projection(xs, xt, dim=5, iterations=iterations, kernel="rbf")
        norms = np.linalg.norm(a.coefficients, axis=1)
        return (norms[:n_in].mean(), norms[n_in:n_in + n_out].mean(),
                norms[n_in + n_out:].mean())

    inliers_1, outliers_1, target_1 = row_norms(1)  # plain kernel TCA
    inliers_10, outliers_10, target_10 = row_norms(10)
    assert inliers_1 / target_1 > 0.5
    assert inliers_10 / target_10 < 1e-3
    assert outliers_10 / inliers_10 < 0.1 * (outliers_1 / inliers_1)


# ------------------------------------------------- interface and errors


@pytest.mark.heavy  # every method, twice
@pytest.mark.parametrize("method, options", [
    *(_case(method) for method in da.METHODS),
    _case("jda", labeller="linear"), _case("jgsa", labeller="linear"),
    _case("meda", features="scores"), _case("tjm", kernel="rbf"),
])
def test_adapt_is_deterministic_and_float64(problem, method, options):
    xs, ys, xt, _ = problem
    first = da.adapt(method, xs, ys, xt, dim=5, seed=7, **options)
    second = da.adapt(method, xs, ys, xt, dim=5, seed=7, **options)
    for a, b, n in zip(first, second, (len(xs), len(xt))):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float64 and a.shape[0] == n and np.all(np.isfinite(a))


def test_standardize_domains_modes(problem):
    xs, _, xt, _ = problem
    zs, zt = da.standardize_domains(xs, xt, "domain")
    for z in (zs, zt):
        np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-12)
    zs, zt = da.standardize_domains(xs, xt, "joint")
    pooled = np.vstack([zs, zt])
    np.testing.assert_allclose(pooled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(pooled.std(axis=0), 1.0, rtol=1e-12)
    assert abs(zs.mean() - zt.mean()) > 0.01  # the shift survives
    constant = np.ones((5, 3))
    np.testing.assert_array_equal(da.standardize_domains(constant, constant)[0], 0.0)


_BAD_INPUTS = {  # id: (call on (xs, ys, xt, yt), expected message)
    "unknown-method": (lambda p: da.adapt("sa", *p[:3]), "unknown method 'sa'"),
    "feature-mismatch": (lambda p: da.adapt("tca", p[0], p[1], p[2][:, :-1]),
                         "same number of features"),
    "tca-dim": (lambda p: da.adapt("tca", *p[:3], dim=DIM + 1),
                "dim=21 is out of range"),
    "gfk-dim": (lambda p: da.adapt("gfk", p[0][::40], p[1][::40], p[2], dim=4),
                "dim=4 is out of range"),
    "jgsa-dim": (lambda p: da.adapt("jgsa", *p[:3], dim=DIM + 1),
                 "dim=21 is out of range"),
    "label-count": (lambda p: da.adapt("tca", p[0], p[1][:-1], p[2]),
                    "one label per source sample"),
    "one-class": (lambda p: da.adapt("jda", p[0], np.zeros(len(p[0])), p[2]),
                  "at least 2 classes"),
    "1-d-features": (lambda p: da.adapt("coral", p[0][0], *p[1:3]), "must be 2-D"),
    "nan": (lambda p: da.adapt("tca", p[0] * np.nan, *p[1:3]), "NaN or infinite"),
    "standardize": (lambda p: da.adapt("tca", *p[:3], standardize="l2"),
                    "unknown standardize mode"),
    "kernel": (lambda p: da.adapt("tca", *p[:3], kernel="poly"),
               "unknown kernel 'poly'"),
    "tjm-primal": (lambda p: da.adapt("tjm", *p[:3], kernel="primal"),
                   "tjm needs kernel"),
    "labeller": (lambda p: da.adapt("jda", *p[:3], labeller="svm"),
                 "unknown labeller"),
    "coral-eps": (lambda p: da.adapt("coral", *p[:3], eps=0.0),
                  "eps must be finite and > 0"),
    "meda-features": (lambda p: da.adapt("meda", *p[:3], features="raw"),
                      "unknown features"),
    "meda-lam": (lambda p: da.adapt("meda", *p[:3], lam=-1.0),
                 "lam must be finite and > 0"),
}


@pytest.mark.parametrize("call, message", list(_BAD_INPUTS.values()),
                         ids=list(_BAD_INPUTS))
def test_bad_input_raises_value_error(problem, call, message):
    with pytest.raises(ValueError, match=message):
        call(problem)
