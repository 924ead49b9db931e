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
import numpy as np
import sklearn.pipeline
import sklearn.preprocessing
import tensorflow as tf

from divafn_tf.svm_solver import SquaredHingeOvR

SCALER_STEP = "scaler"
SVM_STEP = "svm"
# `SquaredHingeOvR`'s stopping rule: every class's gradient has 2-norm
# ≤ SVM_TOL, so its weights are within SVM_TOL of the exact minimum (the
# objective is 1-strongly convex) and a decision value within SVM_TOL · ‖x̃‖
# (see the tests for the agreement with liblinear); and the cap on L-BFGS
# iterations.
SVM_TOL = 1e-4
SVM_MAX_ITER = 15_000


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
    """Eq. (25) on arrays: [h W_Hᵀ, g W_Gᵀ, [h, g] W_Eᵀ], shape [n, 3k].

    `fused_features_tf` run eagerly (one implementation for the evaluation
    and the export), in numpy's result dtype of the inputs (float64 if any
    input is).

    Args:
      w_h: k × d weights of Auto-H (eq. 22).
      w_g: k × d weights of Auto-G (eq. 23).
      w_e: k × 2d weights of Auto-E (eq. 24).
      h: [n, d] keyframe features (mean over each video's keyframes).
      g: [n, d] video features.

    Raises:
      ValueError: if the shapes do not fit together.
    """
    arrays = [np.asarray(v) for v in (w_h, w_g, w_e, h, g)]
    dtype = np.result_type(*arrays)
    return fused_features_tf(*(a.astype(dtype, copy=False)
                               for a in arrays)).numpy()


def fused_features_tf(w_h, w_g, w_e, h, g) -> tf.Tensor:
    """Eq. (25) in TF, in the dtype of ``h``: [h W_Hᵀ, g W_Gᵀ, [h, g] W_Eᵀ].

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


def train_linear_svm(features: np.ndarray, labels: np.ndarray,
                     c: float = 1.0, seed: int = 0
                     ) -> sklearn.pipeline.Pipeline:
    """Fits StandardScaler + one-vs-rest linear SVMs on the fused features.

    The SVM of section III.E, trained on b (eq. 25) of the training videos:
    liblinear's L2-regularised squared-hinge SVM (LinearSVC's objective; the
    intercept is a regularised feature of value 1), one-vs-rest, solved for
    all classes at once by `svm_solver.SquaredHingeOvR` (L-BFGS, then finite
    Newton steps, float64) to the gradient tolerance `SVM_TOL`, at most
    `SVM_MAX_ITER` L-BFGS iterations (a fit that stops there is logged in
    one line).

    The objective is strictly convex, so the solution is unique and the fit
    deterministic; at `SVM_TOL` the predictions equal those of
    ``LinearSVC(dual=True, tol=1e-4)`` (tests/test_classifier.py). Issue
    13: at B→U size (9,537 × 900 and × 4,096, 101 classes) liblinear took
    8 minutes for the 900-d problem alone (benchmarks/bench_svm.py).

    Args:
      features: [n, F] training features.
      labels: [n] class labels.
      c: the SVM's regularisation parameter C.
      seed: unused (the solver draws nothing at random); kept for the
        callers' signature.

    Raises:
      ValueError: on mismatched shapes or fewer than 2 distinct labels.
    """
    del seed  # Deterministic solver.
    features, labels = _check_features_labels(features, labels)
    num_classes = np.unique(labels).size
    if num_classes < 2:
        raise ValueError("train_linear_svm needs at least 2 classes in "
                         f"labels, got {np.unique(labels).tolist()}")
    pipeline = sklearn.pipeline.Pipeline([
        (SCALER_STEP, sklearn.preprocessing.StandardScaler()),
        (SVM_STEP, SquaredHingeOvR(C=c, tol=SVM_TOL, max_iter=SVM_MAX_ITER)),
    ])
    return pipeline.fit(features, labels)


def svm_accuracy(model: sklearn.pipeline.Pipeline, features: np.ndarray,
                 labels: np.ndarray) -> float:
    """Fraction of samples whose predicted class equals the label."""
    features, labels = _check_features_labels(features, labels)
    return float(np.mean(model.predict(features) == labels))


class LinearSVMScorer(tf.Module):
    """The fitted SVM pipeline as TF ops (graph variables, no pickle).

    Reproduces `train_linear_svm`'s pipeline: standardisation
    (x − mean) / scale followed by the one-vs-rest decision values
    x' coefᵀ + intercept (one row of coef per one-vs-rest problem of
    `SquaredHingeOvR`), computed in float64 in the same order as
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
        svm = pipeline.named_steps.get(SVM_STEP)
        if (not isinstance(scaler, sklearn.preprocessing.StandardScaler)
                or len(pipeline.steps) != 2
                or not isinstance(svm, SquaredHingeOvR)
                or not hasattr(svm, "coef_")):
            raise ValueError("pipeline must be train_linear_svm's fitted "
                             f"[{SCALER_STEP!r}: StandardScaler, "
                             f"{SVM_STEP!r}: SquaredHingeOvR], got "
                             f"{pipeline!r}")
        classes = np.asarray(pipeline.classes_)
        if (not np.issubdtype(classes.dtype, np.integer)
                or classes.min() < 0 or classes.max() >= num_classes):
            raise ValueError(f"the SVM's classes {classes.tolist()} must be "
                             f"integers in [0, num_classes={num_classes})")
        coef, intercept = svm.coef_, svm.intercept_
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
