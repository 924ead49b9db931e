"""The SavedModel that serves video predictions (docs/design.md §5, eq. 25).

Signature ``serving_default``:

* inputs  ``keyframes``     uint8 [N, H, W, 3] (one keyframe per video) or
                            [N, K, H, W, 3] (K keyframes, h is their mean);
                            any H, W: frames are resized to the training size.
          ``video_feature`` float32 [N, dv]
* outputs ``fused_feature`` float32 [N, 3k]  b of eq. (25), on h and g
                                             standardised as in training
          ``scores``        float32 [N, C]   the linear SVM's decision values
          ``class_id``      int64   [N]
          ``class_name``    string  [N]

Only the keyframe and video networks are exported (the image network is
needed for training only). W and the SVM are constants inside the graph: the
SavedModel is self-contained, nothing is unpickled.

A second signature, ``class_names`` (no inputs), returns ``class_names``
string [C]: the name of each column of ``scores``.
"""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from sklearn.pipeline import Pipeline

from divafn_tf import classifier
from divafn_tf.model import Divafn, mean_keyframe_embedding
from divafn_tf.prep.images import resize_uint8
from divafn_tf.serving import CLASS_NAMES_SIGNATURE, SIGNATURE


class VideoRecognizer(tf.Module):
    """Keyframe net + video net + W_H, W_G, W_E + SVM, one tf.function."""

    def __init__(self, model: Divafn, svm_pipeline: Pipeline, class_names: list[str],
                 image_size: int, video_feature_dim: int):
        super().__init__(name="divafn_video_recognizer")
        self.keyframe_net = model.keyframe_net
        self.video_net = model.video_net
        self.w_h = tf.constant(model.w_h.numpy())
        self.w_g = tf.constant(model.w_g.numpy())
        self.w_e = tf.constant(model.w_e.numpy())
        # μ, σ of h and g (standardize.py): eq. (25) fuses standardised h, g.
        self.moments = {m: tuple(tf.constant(v) for v in
                                 (model.moment_values(m).mean,
                                  model.moment_values(m).std))
                        for m in ("h", "g")}
        self.scorer = classifier.LinearSVMScorer(svm_pipeline,
                                                 len(class_names))
        self.class_names = tf.constant(np.asarray(class_names, dtype=object))
        self.image_size = image_size
        self.embedding_dim = model.embedding_dim
        self.serve = tf.function(self._serve, input_signature=[
            tf.TensorSpec(shape=None, dtype=tf.uint8, name="keyframes"),
            tf.TensorSpec(shape=[None, video_feature_dim], dtype=tf.float32,
                          name="video_feature"),
        ])
        self.names = tf.function(lambda: {"class_names": self.class_names},
                                 input_signature=[])

    def _serve(self, keyframes, video_feature):
        tf.debugging.assert_rank_in(
            keyframes, [4, 5],
            message="keyframes must be uint8 [N, H, W, 3] or [N, K, H, W, 3]")
        keyframes = tf.cond(tf.rank(keyframes) == 4,
                            lambda: tf.expand_dims(keyframes, 1),
                            lambda: keyframes)
        tf.debugging.assert_equal(
            tf.shape(keyframes)[-1], 3,
            message="keyframes must have 3 (RGB) channels")
        tf.debugging.assert_equal(
            tf.shape(keyframes)[0], tf.shape(video_feature)[0],
            message="keyframes and video_feature must have the same N")
        keyframes.set_shape([None, None, None, None, 3])
        h = mean_keyframe_embedding(
            self.keyframe_net, resize_uint8(keyframes, self.image_size),
            self.embedding_dim)
        g = self.video_net(video_feature, training=False)
        h, g = ((x - self.moments[m][0]) / self.moments[m][1]
                for m, x in (("h", h), ("g", g)))
        fused = classifier.fused_features_tf(self.w_h, self.w_g, self.w_e, h, g)
        scores, class_id = self.scorer(fused)
        return {"fused_feature": fused, "scores": scores,
                "class_id": class_id,
                "class_name": tf.gather(self.class_names, class_id)}


def export_saved_model(model: Divafn, svm_pipeline: Pipeline, class_names: list[str],
                       image_size: int, video_feature_dim: int,
                       export_dir: str) -> str:
    """Writes the SavedModel to ``export_dir``, atomically (`replace_dir`)."""
    module = VideoRecognizer(model, svm_pipeline, class_names, image_size,
                             video_feature_dim)
    replace_dir(export_dir, lambda folder: tf.saved_model.save(
        module, folder, signatures={SIGNATURE: module.serve,
                                    CLASS_NAMES_SIGNATURE: module.names}))
    return os.fspath(export_dir)


def replace_dir(target: str, write: Callable[[str], None]) -> None:
    """Replaces the folder ``target`` by what ``write(folder)`` writes.

    ``write`` fills the sibling ``<target>.tmp``; only once it is complete is
    the previous ``target`` renamed to ``<target>.old``, the new one renamed
    to ``target`` and the old one removed. A failure at any step leaves the
    previous ``target`` as it was (put back if it was moved) and removes the
    temporary folder. A run killed between the two renames leaves
    ``<target>.old``, which the next call puts back first.
    """
    target = target.rstrip("/")
    new, old = f"{target}.tmp", f"{target}.old"
    if tf.io.gfile.exists(old) and not tf.io.gfile.exists(target):
        tf.io.gfile.rename(old, target)
    for leftover in (new, old):
        if tf.io.gfile.exists(leftover):
            tf.io.gfile.rmtree(leftover)
    try:
        write(new)
        had_target = tf.io.gfile.exists(target)
        if had_target:
            tf.io.gfile.rename(target, old)
        try:
            tf.io.gfile.rename(new, target)
        except BaseException:
            if had_target:
                tf.io.gfile.rename(old, target)
            raise
    finally:
        if tf.io.gfile.exists(new):
            tf.io.gfile.rmtree(new)
    if had_target:
        tf.io.gfile.rmtree(old)
