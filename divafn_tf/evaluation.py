"""Video recognition with the trained model: eq. (25) features and a linear SVM.

DESIGN.md §5: for a video with keyframe feature h (mean over its keyframes)
and video feature g, b = [W_H h; W_G g; W_E [h; g]]; a linear SVM is trained
on b of the training videos and scored on the test videos. ``video_only_svm``
is the paper's "SVM" reference: the same SVM on the raw video feature alone.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from divafn_tf import classifier
from divafn_tf.model import Divafn


@dataclasses.dataclass
class VideoSet:
    """Videos in a fixed order: their raw features, labels and embeddings h, g."""

    raw_features: np.ndarray   # [n, dv]
    labels: np.ndarray         # [n]
    h: np.ndarray              # [n, d]
    g: np.ndarray              # [n, d]


def embed_videos(model: Divafn, videos: tf.data.Dataset) -> VideoSet:
    """Runs the keyframe and video networks (inference mode) over ``videos``."""
    raw, labels, hs, gs = [], [], [], []
    for batch in videos:
        out = model({"keyframes": batch["keyframes"],
                     "video_feature": batch["video_feature"]}, training=False)
        raw.append(batch["video_feature"].numpy())
        labels.append(batch["label"].numpy())
        hs.append(out["h"].numpy())
        gs.append(out["g"].numpy())
    return VideoSet(np.concatenate(raw), np.concatenate(labels),
                    np.concatenate(hs), np.concatenate(gs))


def fused(model: Divafn, videos: VideoSet) -> np.ndarray:
    """b of eq. (25) for every video, [n, 3k]."""
    return classifier.fused_features(model.w_h.numpy(), model.w_g.numpy(),
                                     model.w_e.numpy(), videos.h, videos.g)


def divafn_svm(model: Divafn, train: VideoSet, test: VideoSet, svm_c: float,
               seed: int):
    """Trains the SVM on the fused features; returns (pipeline, test accuracy)."""
    svm = classifier.train_linear_svm(fused(model, train), train.labels,
                                      c=svm_c, seed=seed)
    return svm, classifier.svm_accuracy(svm, fused(model, test), test.labels)


def video_only_svm(train: VideoSet, test: VideoSet, svm_c: float,
                   seed: int) -> float:
    """Test accuracy of the SVM on the raw video feature alone (paper's "SVM")."""
    svm = classifier.train_linear_svm(train.raw_features, train.labels,
                                      c=svm_c, seed=seed)
    return classifier.svm_accuracy(svm, test.raw_features, test.labels)
