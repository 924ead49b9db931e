"""Video recognition with the trained model: eq. (25) features and a linear SVM.

docs/design.md §5: for a video with keyframe feature h (mean over its keyframes)
and video feature g, b = [W_H h; W_G g; W_E [h; g]]; a linear SVM is trained
on b of the training videos and scored on the test videos. ``video_only_svm``
is the paper's "SVM" reference: the same SVM on the raw video feature alone.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from divafn_tf import classifier, objective
from divafn_tf.model import Divafn


@dataclasses.dataclass
class VideoSet:
    """Videos in a fixed order: their raw features, labels and embeddings h, g."""

    raw_features: np.ndarray   # [n, dv]
    labels: np.ndarray         # [n]
    h: np.ndarray              # [n, d]
    g: np.ndarray              # [n, d]


def embed_videos(model: Divafn, videos: tf.data.Dataset) -> VideoSet:
    """Runs the keyframe and video networks (inference mode) over ``videos``
    (batches of keyframes or keyframe features, video_feature, label)."""
    raw, labels, hs, gs = [], [], [], []
    for batch in videos:
        out = model({k: v for k, v in batch.items() if k != "label"},
                    training=False)
        raw.append(batch["video_feature"].numpy())
        labels.append(batch["label"].numpy())
        hs.append(out["h"].numpy())
        gs.append(out["g"].numpy())
    return VideoSet(np.concatenate(raw), np.concatenate(labels),
                    np.concatenate(hs), np.concatenate(gs))


def fused(model: Divafn, videos: VideoSet) -> np.ndarray:
    """b of eq. (25) for every video, [n, 3k], on standardised h and g
    (``standardize.py``; the identity with ``--nostandardize``)."""
    h = model.moment_values("h").apply(videos.h)
    g = model.moment_values("g").apply(videos.g)
    return classifier.fused_features(model.w_h.numpy(), model.w_g.numpy(),
                                     model.w_e.numpy(), h, g)


@dataclasses.dataclass(frozen=True)
class FusedSvm:
    """The SVM on eq. (25) features and what it did on the test videos: their
    fused features b, its predictions and its accuracy."""
    svm: object                 # the sklearn pipeline of classifier
    test_fused: np.ndarray
    predictions: np.ndarray
    accuracy: float


def divafn_svm(model: Divafn, train: VideoSet, test: VideoSet, svm_c: float,
               seed: int) -> FusedSvm:
    """Trains the SVM on the fused features and scores the test videos (their
    b computed once, for the accuracy, the confusion matrix and the
    projector)."""
    svm = classifier.train_linear_svm(fused(model, train), train.labels,
                                      c=svm_c, seed=seed)
    test_fused = fused(model, test)
    predictions = svm.predict(test_fused)
    return FusedSvm(svm, test_fused, predictions,
                    float(np.mean(predictions == test.labels)))


def concatenation_svm(train_parts: tuple[np.ndarray, ...], train_labels: np.ndarray,
                      test_parts: tuple[np.ndarray, ...], test_labels: np.ndarray,
                      svm_c: float, seed: int) -> float:
    """Test accuracy of the SVM on the features side by side (e.g. KVC's
    [keyframe feature; video feature])."""
    svm = classifier.train_linear_svm(np.hstack(train_parts), train_labels,
                                      c=svm_c, seed=seed)
    return classifier.svm_accuracy(svm, np.hstack(test_parts), test_labels)


def video_only_svm(train: VideoSet, test: VideoSet, svm_c: float,
                   seed: int) -> float:
    """Test accuracy of the SVM on the raw video feature alone (paper's "SVM")."""
    return concatenation_svm((train.raw_features,), train.labels,
                             (test.raw_features,), test.labels, svm_c, seed)


_LIKELIHOODS = {"nll_image_video": ("f", "g"), "nll_image_keyframe": ("f", "h"),
                "nll_keyframe_video": ("h", "g")}


def likelihood_check(model: Divafn, rows_per_block: int = 1024) -> dict:
    """Each likelihood term of J per row, from the banks, beside its class-prior level.

    NLL(Θ, M)/n (eqs. 4-6, sign fixed) over the full n × n block, computed
    ``rows_per_block`` rows at a time; ``class_prior`` is the level of a
    model that knows only the class sizes (``objective.class_prior_nll``).
    After training the banks are fresh inference outputs, so this is the
    trained networks' likelihood on the training set.
    """
    banks = {m: tf.constant(v) for m, v in model.bank_values().items()}
    labels = tf.constant(model.train_labels)
    n = len(model.train_labels)
    report = {"class_prior": objective.class_prior_nll(model.train_labels)}
    for name, (x, y) in _LIKELIHOODS.items():
        if x not in banks:
            continue
        total = sum(float(tf.reduce_sum(objective.pairwise_nll(
                        banks[x][i:i + rows_per_block], banks[y],
                        labels[i:i + rows_per_block], labels)))
                    for i in range(0, n, rows_per_block))
        report[name] = total / n
    return report
