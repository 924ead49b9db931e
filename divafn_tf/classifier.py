"""Fused semantic features (eq. 25) and the linear SVM on them.

Row convention (samples are rows), unlike the column convention of the
paper's matrices: for n videos, ``h`` is [n, d] (the keyframe feature
f(y; θy), averaged over a video's keyframes by the caller) and ``g`` is
[n, d] (the video feature g(z; θz)). With the autoencoder weights W_H, W_G
(k × d) and W_E (k × 2d) of eqs. (22)-(24), eq. (25) gives each video the
fused representation

    b = [W_H h ; W_G g ; W_E [h; g]] ∈ R^{3k},

i.e. the rows [h W_Hᵀ, g W_Gᵀ, [h, g] W_Eᵀ]. A linear SVM (one-vs-rest) is
trained on b of the training videos (section III.E). `LinearSVMScorer`
rebuilds the fitted scikit-learn pipeline out of TF ops so that the exported
SavedModel classifies without pickles or scikit-learn.
"""
import os
import warnings

import joblib
import numpy as np
import sklearn.exceptions
import sklearn.multiclass
import sklearn.pipeline
import sklearn.preprocessing
import sklearn.svm
import tensorflow as tf
from absl import logging

SCALER_STEP = "scaler"
SVM_STEP = "svm"
# liblinear's dual coordinate descent: stopping tolerance on the projected
# gradient (liblinear's own default is 0.1, scikit-learn's 1e-4) and its cap
# on passes over the data.
SVM_TOL = 1e-3
SVM_MAX_ITER = 10_000


def _check_fusion_shapes(w_h, w_g, w_e, h, g) -> None:
    shapes = {name: tuple(value.shape) for name, value in
              (("w_h", w_h), ("w_g", w_g), ("w_e", w_e), ("h", h), ("g", g))}
    for name, shape in shapes.items():
        if len(shape) != 2:
            raise ValueError(f"{name} must be 2-D, got shape {shape}")
    (n, d_h), (n_g, d_g) = shapes["h"], shapes["g"]
    k = shapes["w_h"][0]
    expected = {"g": (n, d_g), "w_h": (k, d_h), "w_g": (k, d_g),
                "w_e": (k, d_h + d_g)}
    if n_g != n:
        raise ValueError(f"h and g must have the same number of rows, got "
                         f"{shapes['h']} and {shapes['g']}")
    for name, shape in expected.items():
        if shapes[name] != shape:
            raise ValueError(
                f"{name} must have shape {shape} (h {shapes['h']}, "
                f"g {shapes['g']}, w_h {shapes['w_h']}), got {shapes[name]}")


def fused_features(w_h: np.ndarray, w_g: np.ndarray, w_e: np.ndarray,
                   h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Eq. (25) in numpy: [h W_Hᵀ, g W_Gᵀ, [h, g] W_Eᵀ], shape [n, 3k].

    Args:
      w_h: k × d weights of Auto-H (eq. 22).
      w_g: k × d weights of Auto-G (eq. 23).
      w_e: k × 2d weights of Auto-E (eq. 24).
      h: [n, d] keyframe features (mean over each video's keyframes).
      g: [n, d] video features.

    Raises:
      ValueError: if the shapes do not fit together.
    """
    w_h, w_g, w_e, h, g = (np.asarray(v) for v in (w_h, w_g, w_e, h, g))
    _check_fusion_shapes(w_h, w_g, w_e, h, g)
    return np.concatenate(
        [h @ w_h.T, g @ w_g.T, np.concatenate([h, g], axis=1) @ w_e.T],
        axis=1)


def fused_features_tf(w_h, w_g, w_e, h, g) -> tf.Tensor:
    """Eq. (25) in TF (same math as `fused_features`), in the dtype of ``h``.

    Args and shapes as in `fused_features`; the weights may be arrays,
    tensors or variables and are cast to the dtype of ``h``.
    """
    h = tf.convert_to_tensor(h)
    g, w_h, w_g, w_e = (tf.cast(v, h.dtype) for v in (g, w_h, w_g, w_e))
    _check_fusion_shapes(w_h, w_g, w_e, h, g)
    return tf.concat(
        [tf.matmul(h, w_h, transpose_b=True),
         tf.matmul(g, w_g, transpose_b=True),
         tf.matmul(tf.concat([h, g], axis=1), w_e, transpose_b=True)],
        axis=1)


def _check_features_labels(features: np.ndarray, labels: np.ndarray):
    features, labels = np.asarray(features), np.asarray(labels)
    if features.ndim != 2:
        raise ValueError(f"features must be [n, F], got {features.shape}")
    if labels.shape != (features.shape[0],):
        raise ValueError(f"labels must have shape ({features.shape[0]},), "
                         f"got {labels.shape}")
    return features, labels


# Below this many feature values a fit is quicker in one process than the
# start of worker processes.
PARALLEL_MIN_VALUES = 5_000_000


def _fit_workers(num_classes: int, num_values: int) -> int:
    """Worker processes for the one-vs-rest problems: the usable cores, at
    most one per class, and one for small problems."""
    if num_values < PARALLEL_MIN_VALUES:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), num_classes))


def linear_svms(model: sklearn.pipeline.Pipeline) -> list[sklearn.svm.LinearSVC]:
    """The fitted binary LinearSVC(s) of `train_linear_svm`'s pipeline, one
    per class (multi-class) or one (binary)."""
    svm = model.named_steps.get(SVM_STEP)
    if isinstance(svm, sklearn.svm.LinearSVC):
        return [svm]
    if (isinstance(svm, sklearn.multiclass.OneVsRestClassifier)
            and all(isinstance(e, sklearn.svm.LinearSVC)
                    for e in getattr(svm, "estimators_", [None]))):
        return list(svm.estimators_)
    raise ValueError(f"pipeline step {SVM_STEP!r} must be a fitted LinearSVC "
                     f"or OneVsRestClassifier of LinearSVCs, got {svm!r}")


def _log_convergence(model: sklearn.pipeline.Pipeline) -> None:
    """One log line if some liblinear problem stopped at `SVM_MAX_ITER`
    (instead of scikit-learn's ConvergenceWarning for each of them)."""
    svms = linear_svms(model)
    stopped = sum(int(np.max(s.n_iter_)) >= SVM_MAX_ITER for s in svms)
    if stopped:
        logging.warning(
            "linear SVM: %d of %d binary problem(s) stopped at max_iter=%d "
            "before the tolerance %g (liblinear dual coordinate descent); "
            "the model is used as it is", stopped, len(svms), SVM_MAX_ITER,
            SVM_TOL)


def train_linear_svm(features: np.ndarray, labels: np.ndarray,
                     c: float = 1.0, seed: int = 0
                     ) -> sklearn.pipeline.Pipeline:
    """Fits StandardScaler + one-vs-rest linear SVMs on the fused features.

    The SVM of section III.E, trained on b (eq. 25) of the training videos:
    L2-regularised squared-hinge LinearSVC (liblinear; the intercept is a
    regularised feature of value 1), the same objective whatever the shape.

    Solver: always liblinear's dual coordinate descent (``dual=True``),
    tolerance `SVM_TOL`, at most `SVM_MAX_ITER` passes. scikit-learn's
    default (``dual="auto"``) switches to the primal Newton solver when
    samples outnumber features; at B→U size (9,537 × 900) one binary primal
    fit takes ~53 s against ~3 s for the dual (issue 13), and both solve the
    same strictly convex problem, so they differ only within the tolerance.
    With fewer samples than features (the demo) ``"auto"`` already chose
    the dual. `SVM_TOL` is 1e-3 instead of scikit-learn's 1e-4 (liblinear's
    own default is 0.1): it halves the passes, and the decision values move
    by ~1e-3 (the test checks the predictions equal the old solver's).

    Multi-class: one binary problem per class (one-vs-rest, as LinearSVC
    does inside liblinear), fitted in parallel worker processes, one per
    usable core, when the problem has at least `PARALLEL_MIN_VALUES` feature
    values (B→U size), else in this process. Not threads: liblinear's
    coordinate order comes from the C library's global rand(), which
    concurrent threads would share. Binary labels: one LinearSVC. Each
    binary problem has random state ``seed``, so the fit is deterministic.

    A problem that reaches `SVM_MAX_ITER` is logged in one line for the
    whole fit (scikit-learn's per-problem ConvergenceWarnings are silenced).

    Args:
      features: [n, F] training features.
      labels: [n] class labels.
      c: the SVM's regularisation parameter C.
      seed: random state of liblinear's coordinate descent.

    Raises:
      ValueError: on mismatched shapes or fewer than 2 distinct labels.
    """
    features, labels = _check_features_labels(features, labels)
    num_classes = np.unique(labels).size
    if num_classes < 2:
        raise ValueError("train_linear_svm needs at least 2 classes in "
                         f"labels, got {np.unique(labels).tolist()}")
    svm = sklearn.svm.LinearSVC(C=c, dual=True, tol=SVM_TOL,
                                max_iter=SVM_MAX_ITER, random_state=seed)
    if num_classes > 2:
        svm = sklearn.multiclass.OneVsRestClassifier(
            svm, n_jobs=_fit_workers(num_classes, features.size))
    pipeline = sklearn.pipeline.Pipeline([
        (SCALER_STEP, sklearn.preprocessing.StandardScaler()),
        (SVM_STEP, svm),
    ])
    # Processes, not threads: liblinear draws its coordinate order from the C
    # library's global rand(), so problems fitted in parallel threads of one
    # process disturb each other's order and the fit is not reproducible.
    with warnings.catch_warnings(), joblib.parallel_config(backend="loky"):
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        pipeline.fit(features, labels)
    _log_convergence(pipeline)
    return pipeline


def svm_accuracy(model: sklearn.pipeline.Pipeline, features: np.ndarray,
                 labels: np.ndarray) -> float:
    """Fraction of samples whose predicted class equals the label."""
    features, labels = _check_features_labels(features, labels)
    return float(np.mean(model.predict(features) == labels))


class LinearSVMScorer(tf.Module):
    """The fitted SVM pipeline as TF ops (graph variables, no pickle).

    Reproduces `train_linear_svm`'s pipeline: standardisation
    (x − mean) / scale followed by the one-vs-rest decision values
    x' coefᵀ + intercept (one row of coef per class's binary LinearSVC), computed in float64 in the same order as
    scikit-learn, so that on float64 features the scores agree with
    ``pipeline.decision_function`` to rounding and the class ids equal
    ``pipeline.predict``.

    Output columns are class ids 0..num_classes−1. The training labels must be
    integers in that range but may be any subset of it: a class never seen in
    training gets the score −inf (it is never predicted). In the binary case
    scikit-learn has one decision value s (positive means ``classes_[1]``);
    the scorer gives ``classes_[0]`` the score −s and ``classes_[1]`` the
    score s, so the argmax (ties to the first, i.e. ``classes_[0]``, as
    scikit-learn does for s = 0) matches ``predict``.
    """

    def __init__(self, pipeline: sklearn.pipeline.Pipeline, num_classes: int,
                 name: str | None = None):
        super().__init__(name=name)
        scaler = pipeline.named_steps.get(SCALER_STEP)
        if (not isinstance(scaler, sklearn.preprocessing.StandardScaler)
                or len(pipeline.steps) != 2):
            raise ValueError("pipeline must be train_linear_svm's fitted "
                             f"[{SCALER_STEP!r}: StandardScaler, "
                             f"{SVM_STEP!r}: LinearSVC or one-vs-rest "
                             f"LinearSVCs]")
        svms = linear_svms(pipeline)
        classes = np.asarray(pipeline.classes_)
        if (not np.issubdtype(classes.dtype, np.integer)
                or classes.min() < 0 or classes.max() >= num_classes):
            raise ValueError(f"the SVM's classes {classes.tolist()} must be "
                             f"integers in [0, num_classes={num_classes})")
        coef = np.concatenate([s.coef_ for s in svms])
        intercept = np.concatenate([s.intercept_ for s in svms])
        if classes.size == 2:
            coef = np.concatenate([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
        num_features = coef.shape[1]
        mean = scaler.mean_ if scaler.with_mean else np.zeros(num_features)
        scale = scaler.scale_ if scaler.with_std else np.ones(num_features)
        # Output column j reads column columns[j] of [seen scores, −inf].
        columns = np.full(num_classes, classes.size, dtype=np.int64)
        columns[classes] = np.arange(classes.size)

        def constant(value, dtype, var_name):
            return tf.Variable(np.asarray(value, dtype=dtype),
                               trainable=False, name=var_name)

        self.num_classes = num_classes
        self.mean = constant(mean, np.float64, "scaler_mean")
        self.scale = constant(scale, np.float64, "scaler_scale")
        self.coef = constant(coef.T, np.float64, "svm_coef")
        self.intercept = constant(intercept, np.float64, "svm_intercept")
        self.classes = constant(classes, np.int64, "svm_classes")
        self.columns = constant(columns, np.int64, "class_columns")

    def __call__(self, features: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Scores [N, num_classes] (float32) and class ids [N] (int64).

        Args:
          features: [N, F] fused features (eq. 25), any float dtype.
        """
        x = (tf.cast(features, tf.float64) - self.mean) / self.scale
        seen = tf.matmul(x, self.coef) + self.intercept
        class_id = tf.gather(self.classes, tf.argmax(seen, axis=1))
        unseen = tf.fill([tf.shape(seen)[0], 1],
                         tf.constant(-np.inf, tf.float64))
        scores = tf.gather(tf.concat([seen, unseen], axis=1), self.columns,
                           axis=1)
        return tf.cast(scores, tf.float32), class_id
