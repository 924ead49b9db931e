"""The objective's gradients against the closed forms of docs/design.md (eqs. 15-17, sign fixed)."""
import numpy as np
import pytest
import tensorflow as tf

from divafn_tf import objective


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_pairwise_nll_gradient_is_half_sigma_minus_m_times_bank():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(5, 8))
    bank = rng.normal(size=(12, 8))
    labels, bank_labels = rng.integers(0, 3, 5), rng.integers(0, 3, 12)
    f_t = tf.constant(f)
    with tf.GradientTape() as tape:
        tape.watch(f_t)
        loss = tf.reduce_sum(objective.pairwise_nll(
            f_t, tf.constant(bank), tf.constant(labels), tf.constant(bank_labels)))
    theta = 0.5 * f @ bank.T
    m = (labels[:, None] == bank_labels[None, :]).astype(float)
    np.testing.assert_allclose(tape.gradient(loss, f_t),
                               0.5 * (sigmoid(theta) - m) @ bank, rtol=1e-10)
    np.testing.assert_allclose(
        loss, np.sum(np.log1p(np.exp(theta)) - m * theta), rtol=1e-10)


def test_bfloat16_bank_gives_bfloat16_products_and_float32_gradients():
    """--bank_dtype=bfloat16: the NLL and its gradient stay within bfloat16
    rounding (8 significant bits) of the closed form, in float32."""
    rng = np.random.default_rng(1)
    f = rng.normal(size=(16, 64)).astype(np.float32)
    bank = rng.normal(size=(200, 64)).astype(np.float32)
    labels, bank_labels = rng.integers(0, 5, 16), rng.integers(0, 5, 200)
    f_t = tf.constant(f)
    with tf.GradientTape() as tape:
        tape.watch(f_t)
        loss = tf.reduce_sum(objective.pairwise_nll(
            f_t, tf.cast(bank, tf.bfloat16), tf.constant(labels),
            tf.constant(bank_labels)))
    grad = tape.gradient(loss, f_t)
    assert loss.dtype == tf.float32 and grad.dtype == tf.float32
    theta = 0.5 * f.astype(np.float64) @ bank.T
    m = (labels[:, None] == bank_labels[None, :]).astype(float)
    exact_grad = 0.5 * (sigmoid(theta) - m) @ bank
    error = np.linalg.norm(grad - exact_grad) / np.linalg.norm(exact_grad)
    assert 1e-5 < error < 1e-2   # bfloat16 was used, and only its rounding
    exact_loss = np.sum(np.logaddexp(0.0, theta) - m * theta)
    assert abs(float(loss) - exact_loss) < 1e-2 * abs(exact_loss)


def test_pairwise_nll_is_finite_for_huge_logits():
    f = tf.constant([[1e4, -1e4]], tf.float32)
    nll = objective.pairwise_nll(f, tf.constant([[1e4, 0.0], [-1e4, 0.0]]),
                                 tf.constant([0]), tf.constant([0, 1]))
    assert np.all(np.isfinite(nll.numpy()))
    # Θ = [5e7, -5e7]: the similar pair costs 0, the dissimilar one too.
    np.testing.assert_allclose(nll.numpy(), [0.0], atol=1e-3)


def test_pairwise_nll_pulls_similar_pairs_together():
    """The paper's printed (M − 1)Θ sign would push similar pairs apart."""
    f = tf.Variable([[0.1, 0.0]])
    bank = tf.constant([[1.0, 0.0]])
    with tf.GradientTape() as tape:
        loss = objective.pairwise_nll(f, bank, tf.constant([0]), tf.constant([0]))
    step = -tape.gradient(loss, f).numpy()
    assert step[0, 0] > 0  # descent increases f·bank for a similar pair


@pytest.fixture
def problem():
    rng = np.random.default_rng(1)
    n, batch, d, k, classes = 20, 6, 7, 4, 3
    return dict(
        f=rng.normal(size=(batch, d)), h=rng.normal(size=(batch, d)),
        g=rng.normal(size=(batch, d)), labels=rng.integers(0, classes, batch),
        class_vectors=rng.normal(size=(classes, k)),
        banks=tuple(rng.normal(size=(n, d)) for _ in range(3)),
        bank_labels=rng.integers(0, classes, n),
        w=(rng.normal(size=(k, d)), rng.normal(size=(k, d)),
           rng.normal(size=(k, d)), rng.normal(size=(k, 2 * d))),
        weights=objective.ObjectiveWeights(a=0.3, b=0.2, c=1.0, beta=0.1, lam=0.05))


def test_batch_objective_gradients_match_eqs_15_to_17(problem):
    p = problem
    wts = p["weights"]
    f, h, g = (tf.constant(p[x]) for x in "fhg")
    s = p["class_vectors"][p["labels"]]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([f, h, g])
        per_row, _ = objective.batch_objective(
            f, h, g, tf.constant(p["labels"]), tf.constant(s),
            tuple(map(tf.constant, p["banks"])), tf.constant(p["bank_labels"]),
            tuple(map(tf.constant, p["w"])), wts)
        total = tf.reduce_sum(per_row)

    bank_f, bank_h, bank_g = p["banks"]
    w_f, w_h, w_g, w_e = p["w"]
    m = (p["labels"][:, None] == p["bank_labels"][None, :]).astype(float)
    d = f.shape[1]

    def likelihood(x, bank):  # ½ Σ_j (σ(Θ_ij) − M_ij) bank_j
        return 0.5 * (sigmoid(0.5 * x @ bank.T) - m) @ bank

    def autoencoder(x, w):   # 2β(x − Wᵀs) + 2λ Wᵀ(W x − s)
        return 2 * wts.beta * (x - s @ w) + 2 * wts.lam * (x @ w.T - s) @ w

    fn, hn, gn = p["f"], p["h"], p["g"]
    e_grad = autoencoder(np.concatenate([hn, gn], 1), w_e)
    eq15 = (wts.a * likelihood(fn, bank_g) + wts.b * likelihood(fn, bank_h)
            + autoencoder(fn, w_f))
    eq16 = (wts.b * likelihood(hn, bank_f) + wts.c * likelihood(hn, bank_g)
            + autoencoder(hn, w_h) + e_grad[:, :d])
    eq17 = (wts.a * likelihood(gn, bank_f) + wts.c * likelihood(gn, bank_h)
            + autoencoder(gn, w_g) + e_grad[:, d:])
    np.testing.assert_allclose(tape.gradient(total, f), eq15, rtol=1e-9)
    np.testing.assert_allclose(tape.gradient(total, h), eq16, rtol=1e-9)
    np.testing.assert_allclose(tape.gradient(total, g), eq17, rtol=1e-9)


def test_reported_j_is_eq_14_over_n_when_the_batch_is_the_whole_set():
    """Batch = all n samples and banks = their outputs: mean J = J(eq. 14) / n."""
    rng = np.random.default_rng(2)
    n, d, k, classes = 9, 5, 4, 3
    f, h, g = (rng.normal(size=(n, d)) for _ in range(3))
    labels = rng.integers(0, classes, n)
    s = rng.normal(size=(classes, k))[labels]
    w_f, w_h, w_g = (rng.normal(size=(k, d)) for _ in range(3))
    w_e = rng.normal(size=(k, 2 * d))
    wts = objective.ObjectiveWeights(a=0.3, b=0.2, c=1.0, beta=0.1, lam=0.05)
    _, terms = objective.batch_objective(
        *(tf.constant(x) for x in (f, h, g)), tf.constant(labels),
        tf.constant(s), tuple(map(tf.constant, (f, h, g))), tf.constant(labels),
        tuple(map(tf.constant, (w_f, w_h, w_g, w_e))), wts)

    # Eq. (14) with the paper's column matrices, built in full.
    F, H, G, S = f.T, h.T, g.T, s.T
    E = np.vstack([H, G])
    M = (labels[:, None] == labels[None, :]).astype(float)

    def nll(theta):
        return np.sum(np.log1p(np.exp(theta)) - M * theta)

    def ae(X, W):
        return (wts.beta * np.linalg.norm(X - W.T @ S) ** 2
                + wts.lam * np.linalg.norm(W @ X - S) ** 2)

    j = (wts.a * nll(0.5 * F.T @ G) + wts.b * nll(0.5 * F.T @ H)
         + wts.c * nll(0.5 * H.T @ G)
         + ae(F, w_f) + ae(H, w_h) + ae(G, w_g) + ae(E, w_e))
    np.testing.assert_allclose(np.mean(terms["J"]), j / n, rtol=1e-10)
    np.testing.assert_allclose(np.mean(terms["nll_keyframe_video"]),
                               nll(0.5 * H.T @ G) / n, rtol=1e-10)
