"""Tests for eq. (25) and the linear SVM (divafn_tf/classifier.py)."""
import numpy as np
import pytest
import tensorflow as tf

from divafn_tf import classifier


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
    np.testing.assert_array_equal(model.named_steps["svm"].coef_,
                                  again.named_steps["svm"].coef_)
    accuracy = classifier.svm_accuracy(model, features, labels)
    assert isinstance(accuracy, float) and accuracy > 0.9
    with pytest.raises(ValueError, match="at least 2 classes"):
        classifier.train_linear_svm(features, np.zeros(120, dtype=int))
    with pytest.raises(ValueError, match="labels must have shape"):
        classifier.train_linear_svm(features, labels[:10])


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
