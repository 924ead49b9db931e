"""Tests for eq. (25) and the linear SVM (divafn_tf/classifier.py)."""
import warnings

import numpy as np
import pytest
import sklearn.pipeline
import sklearn.preprocessing
import sklearn.svm
import tensorflow as tf

from divafn_tf import classifier, svm_solver


def _blobs(rng, n, num_features, labels_from):
    """Gaussian blobs, one per label, as float32 values."""
    labels = rng.choice(labels_from, size=n)
    labels[:len(labels_from)] = labels_from
    centres = rng.normal(scale=2.0, size=(max(labels_from) + 1,
                                          num_features))
    features = centres[labels] + rng.normal(size=(n, num_features))
    return features.astype(np.float32), labels


def _check_scorer(scorer_fn, pipeline, features, num_classes):
    scores, class_id = scorer_fn(features)
    scores, class_id = np.asarray(scores), np.asarray(class_id)
    assert scores.shape == (len(features), num_classes)
    assert scores.dtype == np.float32 and class_id.dtype == np.int64
    np.testing.assert_array_equal(
        class_id, pipeline.predict(features.astype(np.float64)))
    decision = pipeline.decision_function(features.astype(np.float64))
    classes = pipeline.classes_
    if classes.size == 2:
        decision = np.stack([-decision, decision], axis=1)
    np.testing.assert_allclose(scores[:, classes], decision, rtol=0,
                               atol=1e-5)
    unseen = np.setdiff1d(np.arange(num_classes), classes)
    assert np.all(scores[:, unseen] == -np.inf)


def test_fused_features_against_hand_computation():
    rng = np.random.default_rng(0)
    n, d, k = 4, 3, 2
    h, g = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    w_h, w_g = rng.normal(size=(k, d)), rng.normal(size=(k, d))
    w_e = rng.normal(size=(k, 2 * d))
    fused = classifier.fused_features(w_h, w_g, w_e, h, g)
    assert fused.shape == (n, 3 * k)
    for i in range(n):  # b = [W_H h; W_G g; W_E [h; g]] per video
        expected = np.concatenate([
            [sum(w_h[r, j] * h[i, j] for j in range(d)) for r in range(k)],
            [sum(w_g[r, j] * g[i, j] for j in range(d)) for r in range(k)],
            [sum(w_e[r, j] * h[i, j] + w_e[r, d + j] * g[i, j]
                 for j in range(d)) for r in range(k)],
        ])
        np.testing.assert_allclose(fused[i], expected, rtol=1e-12)
    fused_tf = classifier.fused_features_tf(
        w_h, w_g, w_e, h.astype(np.float32), g.astype(np.float32))
    assert fused_tf.dtype == tf.float32
    np.testing.assert_allclose(fused_tf.numpy(), fused, rtol=1e-5, atol=1e-5)
    fused_tf64 = classifier.fused_features_tf(w_h, w_g, w_e, h, g)
    np.testing.assert_allclose(fused_tf64.numpy(), fused, rtol=1e-12)
    spec = tf.TensorSpec([None, d], tf.float64)
    graph_fn = tf.function(
        lambda h, g: classifier.fused_features_tf(w_h, w_g, w_e, h, g),
        input_signature=[spec, spec])
    np.testing.assert_allclose(graph_fn(h, g).numpy(), fused, rtol=1e-12)


def test_fused_features_shape_errors():
    h, g = np.ones((4, 3)), np.ones((4, 3))
    w, w_e = np.ones((2, 3)), np.ones((2, 6))
    with pytest.raises(ValueError, match="w_e must have shape"):
        classifier.fused_features(w, w, np.ones((2, 5)), h, g)
    with pytest.raises(ValueError, match="same number of rows"):
        classifier.fused_features(w, w, w_e, h, np.ones((5, 3)))
    with pytest.raises(ValueError, match="w_g must have shape"):
        classifier.fused_features_tf(w, np.ones((3, 3)), w_e, h, g)


def test_train_and_accuracy():
    rng = np.random.default_rng(1)
    features, labels = _blobs(rng, 120, 8, [0, 1, 2, 3])
    model = classifier.train_linear_svm(features, labels, c=1.0, seed=0)
    again = classifier.train_linear_svm(features, labels, c=1.0, seed=0)
    svm, svm_again = (m.named_steps[classifier.SVM_STEP]
                      for m in (model, again))
    assert svm.coef_.shape == (4, 8) and svm.intercept_.shape == (4,)
    np.testing.assert_array_equal(svm.coef_, svm_again.coef_)
    np.testing.assert_array_equal(svm.intercept_, svm_again.intercept_)
    accuracy = classifier.svm_accuracy(model, features, labels)
    assert isinstance(accuracy, float) and accuracy > 0.9
    with pytest.raises(ValueError, match="at least 2 classes"):
        classifier.train_linear_svm(features, np.zeros(120, dtype=int))
    with pytest.raises(ValueError, match="labels must have shape"):
        classifier.train_linear_svm(features, labels[:10])


def _low_rank_problem(rng, n, num_classes, rank, num_features, noise):
    """Class-structured features of low rank plus noise, like the demo's
    (a random projection of a low-dimensional descriptor, or eq. 25 of
    such h, g): correlated columns, classes that overlap."""
    labels = np.arange(n) % num_classes
    centres = rng.normal(size=(num_classes, rank))
    latent = centres[labels] + rng.normal(scale=0.8, size=(n, rank))
    projection = rng.normal(size=(rank, num_features))
    features = latent @ projection + rng.normal(scale=noise,
                                                size=(n, num_features))
    return features.astype(np.float32), labels


def _old_svm(features, labels, c=1.0, seed=0):
    """The solver before issue 13: LinearSVC's defaults (dual="auto", i.e.
    the primal when samples outnumber features), tol 1e-4."""
    return sklearn.pipeline.Pipeline([
        ("scaler", sklearn.preprocessing.StandardScaler()),
        ("svm", sklearn.svm.LinearSVC(C=c, random_state=seed,
                                      max_iter=10_000)),
    ]).fit(features, labels)


@pytest.mark.parametrize("n, num_features", [
    (1200, 40),   # samples outnumber features: the old solver was primal
    (150, 300),   # demo-like (150 training videos, wide features): dual
])
def test_same_predictions_as_the_old_solver(n, num_features):
    """Both solvers minimise the same strictly convex objective; they stop
    at different tolerances, which moves decision values by ~1e-3. So a
    test video may change class only if the old solver's two best decision
    values are within 0.02 of each other, and the accuracy may change by at
    most that many videos (here none or one in 600)."""
    rng = np.random.default_rng(5)
    features, labels = _low_rank_problem(rng, n + 600, 8, 12, num_features,
                                         noise=1.0)
    train, test = slice(0, n), slice(n, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = _old_svm(features[train], labels[train])
    new = classifier.train_linear_svm(features[train], labels[train])
    old_decision = old.decision_function(features[test])
    top2 = np.sort(old_decision, axis=1)[:, -2:]
    near_tie = top2[:, 1] - top2[:, 0] < 0.02
    changed = new.predict(features[test]) != old.predict(features[test])
    assert not np.any(changed & ~near_tie)
    old_accuracy = classifier.svm_accuracy(old, features[test], labels[test])
    new_accuracy = classifier.svm_accuracy(new, features[test], labels[test])
    assert abs(new_accuracy - old_accuracy) <= near_tie.sum() / 600
    assert 0.3 < old_accuracy < 0.95          # a problem with overlap


def test_demo_like_problem_converges(monkeypatch):
    rng = np.random.default_rng(6)
    features, labels = _low_rank_problem(rng, 150, 10, 12, 900, noise=0.1)
    logged = []
    monkeypatch.setattr(svm_solver.logging, "warning",
                        lambda *args: logged.append(args))
    model = classifier.train_linear_svm(features, labels)
    svm = model.named_steps[classifier.SVM_STEP]
    assert svm.converged_ and svm.n_iter_ < classifier.SVM_MAX_ITER
    assert not logged


def test_non_convergence_is_logged_once(monkeypatch):
    rng = np.random.default_rng(7)
    features, labels = _low_rank_problem(rng, 200, 4, 6, 30, noise=1.0)
    logged = []
    monkeypatch.setattr(svm_solver.logging, "warning",
                        lambda *args: logged.append(args))
    monkeypatch.setattr(classifier, "SVM_MAX_ITER", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")       # no warning escapes
        model = classifier.train_linear_svm(features, labels)
    assert len(logged) == 1
    message = logged[0][0] % logged[0][1:]
    assert message.startswith("linear SVM: L-BFGS stopped after 1 "
                              "iterations before the gradient tolerance")
    assert not model.named_steps[classifier.SVM_STEP].converged_


def _liblinear(features, labels, c=1.0, tol=1e-4):
    """liblinear's dual coordinate descent on the same objective (squared
    hinge, regularised intercept of scaling 1), converged to ``tol``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sklearn.pipeline.Pipeline([
            ("scaler", sklearn.preprocessing.StandardScaler()),
            ("svm", sklearn.svm.LinearSVC(C=c, dual=True, tol=tol,
                                          max_iter=100_000, random_state=0)),
        ]).fit(features, labels)


def _objective(svm, x_scaled, labels, c):
    """Σ over the one-vs-rest problems of ½‖w̃‖² + C Σ_i hinge²."""
    classes = svm.classes_
    signs = (np.where(labels == classes[1], 1.0, -1.0)[:, None]
             if classes.size == 2
             else np.where(labels[:, None] == classes, 1.0, -1.0))
    margins = x_scaled @ svm.coef_.T + svm.intercept_
    return (0.5 * (np.sum(svm.coef_ ** 2) + np.sum(svm.intercept_ ** 2))
            + c * np.sum(np.maximum(0.0, 1.0 - signs * margins) ** 2))


# name: (training samples, data of those plus 600 test samples).
_PROBLEMS = {
    "samples > features": (1200, lambda rng: _low_rank_problem(
        rng, 1800, 8, 12, 40, noise=1.0)),
    "demo-like, wide": (150, lambda rng: _low_rank_problem(
        rng, 750, 8, 12, 300, noise=1.0)),
    "blobs, 5 classes": (150, lambda rng: _blobs(rng, 750, 12,
                                                 [0, 1, 2, 3, 4])),
    "blobs, binary": (150, lambda rng: _blobs(rng, 750, 12, [2, 5])),
}


@pytest.mark.parametrize("problem", list(_PROBLEMS))
@pytest.mark.parametrize("c", [1.0, 0.1])
def test_same_solution_as_liblinear(problem, c):
    """The same objective, minimised by liblinear to tol 1e-4 and by
    SquaredHingeOvR to `SVM_TOL`: both are within ~1e-4 of the unique
    minimum in decision value (measured: liblinear ≤ 1.4e-4 from a tol-1e-8
    fit, ours ≤ 1.9e-4; ours is bounded by SVM_TOL · ‖x̃‖ by strong
    convexity), so the decision values may differ by 5e-4 at most (~2× the
    sum of the measured errors) and the predictions must be the same."""
    rng = np.random.default_rng(5)
    num_train, make = _PROBLEMS[problem]
    features, labels = make(rng)
    train, test = slice(0, num_train), slice(num_train, None)
    new = classifier.train_linear_svm(features[train], labels[train], c=c)
    old = _liblinear(features[train], labels[train], c=c)
    new_decision = new.decision_function(features[test])
    old_decision = old.decision_function(features[test])
    assert new_decision.shape == old_decision.shape
    np.testing.assert_allclose(new_decision, old_decision, rtol=0, atol=5e-4)
    np.testing.assert_array_equal(new.predict(features[test]),
                                  old.predict(features[test]))
    # Not above liblinear's objective (up to its own tolerance).
    svm = new.named_steps[classifier.SVM_STEP]
    x_scaled = new.named_steps[classifier.SCALER_STEP].transform(
        features[train]).astype(np.float64)
    new_objective = _objective(svm, x_scaled, labels[train], c)
    old_objective = _objective(old.named_steps["svm"], x_scaled,
                               labels[train], c)
    assert new_objective <= old_objective * (1 + 1e-6)


def test_binary_decision_is_one_dimensional():
    rng = np.random.default_rng(8)
    features, labels = _blobs(rng, 100, 6, [3, 7])
    model = classifier.train_linear_svm(features, labels)
    svm = model.named_steps[classifier.SVM_STEP]
    assert svm.coef_.shape == (1, 6) and svm.intercept_.shape == (1,)
    decision = model.decision_function(features)
    assert decision.shape == (100,)
    np.testing.assert_array_equal(model.predict(features),
                                  np.where(decision > 0, 7, 3))


@pytest.mark.parametrize("labels_from,num_classes", [
    ([0, 1, 2, 3, 4], 5),     # multi-class, all classes
    ([1, 4, 6], 8),           # multi-class, a subset, not 0..C-1
    ([0, 1], 2),              # binary
    ([2, 5], 7),              # binary, a subset
])
def test_scorer_matches_sklearn(labels_from, num_classes):
    rng = np.random.default_rng(2)
    features, labels = _blobs(rng, 150, 12, labels_from)
    pipeline = classifier.train_linear_svm(features, labels)
    scorer = classifier.LinearSVMScorer(pipeline, num_classes)
    test_features, _ = _blobs(rng, 200, 12, labels_from)
    _check_scorer(scorer, pipeline, test_features, num_classes)
    _check_scorer(tf.function(scorer), pipeline, test_features, num_classes)


def test_scorer_rejects_bad_classes():
    rng = np.random.default_rng(3)
    features, labels = _blobs(rng, 60, 4, [0, 3])
    pipeline = classifier.train_linear_svm(features, labels)
    with pytest.raises(ValueError, match="num_classes=3"):
        classifier.LinearSVMScorer(pipeline, 3)


class _Serving(tf.Module):
    def __init__(self, scorer, num_features):
        super().__init__()
        self.scorer = scorer
        self.serve = tf.function(
            self._serve,
            input_signature=[tf.TensorSpec([None, num_features], tf.float32,
                                           name="features")])

    def _serve(self, features):
        scores, class_id = self.scorer(features)
        return {"scores": scores, "class_id": class_id}


def test_scorer_in_saved_model(tmp_path):
    rng = np.random.default_rng(4)
    num_features, labels_from, num_classes = 9, [0, 2, 3, 5], 6
    features, labels = _blobs(rng, 100, num_features, labels_from)
    pipeline = classifier.train_linear_svm(features, labels)
    module = _Serving(classifier.LinearSVMScorer(pipeline, num_classes),
                      num_features)
    tf.saved_model.save(module, str(tmp_path),
                        signatures={"serving_default": module.serve})
    loaded = tf.saved_model.load(str(tmp_path))
    test_features, _ = _blobs(rng, 50, num_features, labels_from)
    outputs = loaded.signatures["serving_default"](
        features=tf.constant(test_features))
    _check_scorer(lambda x: (outputs["scores"], outputs["class_id"]),
                  pipeline, test_features, num_classes)
    direct = loaded.serve(tf.constant(test_features))
    np.testing.assert_array_equal(
        direct["class_id"].numpy(),
        pipeline.predict(test_features.astype(np.float64)))


@pytest.mark.parametrize("single_thread_max_flops", [None, 0])
def test_fits_are_reproducible(monkeypatch, single_thread_max_flops):
    """No random coordinate order (liblinear drew it from the C library's
    global rand()): repeated fits give the same bits, in one BLAS thread
    (small problems) and in all (0: every problem counts as large)."""
    if single_thread_max_flops is not None:
        monkeypatch.setattr(svm_solver, "SINGLE_THREAD_MAX_FLOPS",
                            single_thread_max_flops)
    rng = np.random.default_rng(2)
    features, labels = _blobs(rng, 600, 40, list(range(8)))
    fits = [classifier.train_linear_svm(features, labels, seed=seed)
            .named_steps[classifier.SVM_STEP] for seed in (0, 0, 1)]
    for svm in fits[1:]:
        np.testing.assert_array_equal(svm.coef_, fits[0].coef_)
        np.testing.assert_array_equal(svm.intercept_, fits[0].intercept_)
