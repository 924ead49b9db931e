"""Procedural raw data for the synthetic DIVAFN configs.

Writes a raw directory in the layout the builder reads for every dataset
(README.md in this folder describes the generative process)::

    classes.txt                  <class dir name> TAB <class phrase>
    images/<class>/<id>.jpg      still images (style B)
    videos/<class>/<id>.avi      MJPG clips (style A)
    features/<video id>.npy      float32 [feature_dim] motion feature
    word2vec.bin                 300-d word vectors (word2vec binary format)

A stick figure performs one of five motions (wave, swing, walk, jump, lift);
each motion is shared by two classes that differ only by the object the
figure holds or stands on. The video feature is a grey-level motion
descriptor of the clip's frames, so it separates motions but hardly the
objects; colour pixels (keyframes, images) show the objects. Images and
videos are drawn in different styles: the image-to-video domain shift.

Everything is a function of the seed: each sample draws from its own
``numpy`` generator seeded by (seed, stream, class, index). The drawing
(figure, objects, the two styles) is ``synthetic_drawing.py``; this module
holds the classes, the video feature and the raw files.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import uuid
from pathlib import Path

import cv2
import numpy as np
from gensim.models import KeyedVectors

from divafn_tf.prep import semantics
from tfds_builders.divafn.synthetic_drawing import (SyntheticClass, render_image,
                                                    render_video)

GENERATOR_VERSION = 1      # part of the raw directory's name: bump on change
WORD_VECTOR_DIM = 300
VIDEO_FPS = 10
FEATURE_NOISE = 0.5        # std of the noise added to the projected feature
MOTION_GRID, MOTION_BINS, MOTION_HARMONICS = 4, 8, 3
DESCRIPTOR_DIM = MOTION_GRID ** 2 * (MOTION_BINS + MOTION_HARMONICS + 1)
_IMAGE, _VIDEO, _PROJECTION, _WORDS = range(4)   # random streams


@dataclasses.dataclass(frozen=True)
class SyntheticParams:
    """Sizes and seed of a synthetic dataset.

    Attributes:
      num_classes: how many classes of ``CLASSES`` (the first ones), <= 10.
      images_per_class: still images per class.
      videos_per_class: video clips per class.
      frames_per_video: frames of each clip.
      seed: every random choice derives from it.
    """
    num_classes: int
    images_per_class: int
    videos_per_class: int
    frames_per_video: int
    seed: int = 0


# Consecutive pairs share a motion (the first four classes make the tiny
# config: two motions, two objects each).
CLASSES: tuple[SyntheticClass, ...] = (
    SyntheticClass("waving_flag", "waving flag", "wave", "flag", 0),
    SyntheticClass("waving_hand", "waving hand", "wave", None),
    SyntheticClass("swinging_bat", "swinging bat", "swing", "bat", 30),
    SyntheticClass("swinging_racket", "swinging racket", "swing", "racket", 120),
    SyntheticClass("walking_with_dog", "walking with dog", "walk", "dog", 30),
    SyntheticClass("walking_with_umbrella", "walking with umbrella", "walk",
                   "umbrella", 220),
    SyntheticClass("jumping_rope", "jumping rope", "jump", "rope", 0),
    SyntheticClass("jumping_on_trampoline", "jumping on trampoline", "jump",
                   "trampoline", 220),
    SyntheticClass("lifting_barbell", "lifting barbell", "lift", "barbell", 120),
    SyntheticClass("lifting_box", "lifting box", "lift", "box", 50),
)

# Extra words of the word2vec file, so that it is not just the class words.
DISTRACTOR_WORDS: tuple[str, ...] = (
    "running", "riding", "horse", "bike", "playing", "guitar", "drinking",
    "cup", "reading", "book", "climbing", "tree", "the", "a", "of", "ball",
    "throwing", "cat", "phone", "cooking")


# -------------------------------------------------------- video feature --

def motion_descriptor(frames: np.ndarray) -> np.ndarray:
    """Grey-level motion descriptor of a clip, L2-normalised, float64.

    From the luminance only (no colour): per cell of a ``grid x grid``
    spatial grid (``MOTION_GRID``), (a) a ``MOTION_BINS``-direction
    histogram of the normal flow (-I_t grad I) weighted by |I_t|, averaged
    over time, (b) the magnitudes of the first ``MOTION_HARMONICS`` temporal
    Fourier coefficients of the cell's mean |I_t| (phase invariant), (c) its
    mean. Square-rooted, then L2-normalised: ``DESCRIPTOR_DIM`` values.
    """
    grid, bins, harmonics = MOTION_GRID, MOTION_BINS, MOTION_HARMONICS
    grey = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114],
                                                 np.float32) / 255
    grey = np.stack([cv2.GaussianBlur(g, (0, 0), 1.0) for g in grey])
    it = grey[1:] - grey[:-1]
    gy, gx = np.gradient((grey[1:] + grey[:-1]) / 2, axis=(1, 2))
    steps, h, w = it.shape
    rows = np.minimum(np.arange(h) * grid // h, grid - 1)
    cols = np.minimum(np.arange(w) * grid // w, grid - 1)
    cell = np.broadcast_to((rows[:, None] * grid + cols[None, :]), (steps, h, w))
    angle = np.arctan2(-it * gy, -it * gx)
    direction = (np.floor((angle + math.pi) / (2 * math.pi) * bins)
                 .astype(np.int64) % bins)
    weight = np.abs(it) * (np.hypot(gx, gy) > 1e-3)
    hist = np.bincount((cell * bins + direction).ravel(), weight.ravel(),
                       grid * grid * bins) / steps
    frame_index = np.arange(steps)[:, None, None]
    energy = np.bincount((frame_index * grid * grid + cell).ravel(),
                         np.abs(it).ravel(), steps * grid * grid)
    energy = energy.reshape(steps, grid * grid) / (h * w / grid ** 2)
    spectrum = np.abs(np.fft.rfft(energy - energy.mean(0), axis=0,
                                  n=max(steps, 2 * harmonics + 1)))
    descriptor = np.concatenate([hist, spectrum[1:harmonics + 1].ravel() / steps,
                                 energy.mean(0)])
    descriptor = np.sqrt(descriptor)
    return descriptor / max(np.linalg.norm(descriptor), 1e-12)


def video_feature(frames: np.ndarray, projection: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """The clip's feature: projected motion descriptor plus noise, float32."""
    feature = motion_descriptor(frames) @ projection
    return (feature + rng.normal(0, FEATURE_NOISE, feature.shape)).astype(
        np.float32)


def feature_projection(seed: int, feature_dim: int) -> np.ndarray:
    """The fixed random projection [descriptor dim, feature_dim]."""
    rng = np.random.default_rng([seed, _PROJECTION])
    return rng.normal(0, 1, (DESCRIPTOR_DIM, feature_dim))


# ------------------------------------------------------------ raw files --

def word_vectors(seed: int, words: list[str]) -> KeyedVectors:
    """Random 300-d word vectors, each a function of (seed, word) only."""
    kv = KeyedVectors(vector_size=WORD_VECTOR_DIM)
    vectors = [np.random.default_rng(
        [seed, _WORDS, int.from_bytes(hashlib.sha256(w.encode()).digest()[:8],
                                      "little")]).normal(0, 1, WORD_VECTOR_DIM)
               for w in words]
    kv.add_vectors(words, np.asarray(vectors, np.float32))
    for rank, w in enumerate(words):       # the word2vec file order
        kv.set_vecattr(w, "count", len(words) - rank)
    return kv


def generate(out_dir: str | os.PathLike, params: SyntheticParams,
             frame_size: tuple[int, int], feature_dim: int) -> None:
    """Writes a synthetic raw directory (the layout of the module docstring).

    Args:
      out_dir: directory to create; must not exist.
      params: sizes and seed.
      frame_size: (height, width) of the video frames; images are 1-1.5x.
      feature_dim: dimension of the video features.
    """
    if not 1 <= params.num_classes <= len(CLASSES):
        raise ValueError(f"num_classes must be in [1, {len(CLASSES)}], got "
                         f"{params.num_classes}")
    out = Path(out_dir)
    out.mkdir(parents=True)
    classes = CLASSES[:params.num_classes]
    (out / "classes.txt").write_text(
        "".join(f"{c.name}\t{c.phrase}\n" for c in classes))
    words = list(dict.fromkeys(w for c in classes
                               for w in semantics.phrase_words(c.phrase)))
    word_vectors(params.seed, words + [w for w in DISTRACTOR_WORDS
                                       if w not in words]).save_word2vec_format(
        str(out / "word2vec.bin"), binary=True)
    projection = feature_projection(params.seed, feature_dim)
    (out / "features").mkdir()
    fourcc = cv2.VideoWriter_fourcc(*"MJPG")
    for ci, cls in enumerate(classes):
        (out / "images" / cls.name).mkdir(parents=True)
        (out / "videos" / cls.name).mkdir(parents=True)
        for i in range(params.images_per_class):
            rng = np.random.default_rng([params.seed, _IMAGE, ci, i])
            image = render_image(cls, rng, frame_size)
            quality = int(rng.integers(75, 96))
            path = out / "images" / cls.name / f"{cls.name}_i{i:03d}.jpg"
            if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, quality]):
                raise OSError(f"cannot write image {path}")
        for i in range(params.videos_per_class):
            rng = np.random.default_rng([params.seed, _VIDEO, ci, i])
            frames = render_video(cls, rng, params.frames_per_video, frame_size)
            video_id = f"{cls.name}_v{i:03d}"
            path = out / "videos" / cls.name / f"{video_id}.avi"
            writer = cv2.VideoWriter(str(path), fourcc, VIDEO_FPS,
                                     (frame_size[1], frame_size[0]))
            if not writer.isOpened():
                raise OSError(f"cannot write video {path}")
            for frame in frames:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            writer.release()
            np.save(out / "features" / f"{video_id}.npy",
                    video_feature(frames, projection, rng))


def ensure_raw_dir(parent: str | os.PathLike, params: SyntheticParams,
                   frame_size: tuple[int, int], feature_dim: int) -> Path:
    """The raw directory of these settings under ``parent``, made if missing.

    The name holds a hash of the settings (and of ``GENERATOR_VERSION``);
    the directory is written under a temporary name and renamed when
    complete, so an existing one is always complete and is reused.
    """
    settings = dict(dataclasses.asdict(params), frame_size=list(frame_size),
                    feature_dim=feature_dim, version=GENERATOR_VERSION)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    final = Path(parent) / f"divafn_synthetic_{digest.hexdigest()[:16]}"
    if final.is_dir():
        return final
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex}")
    try:
        generate(tmp, params, frame_size, feature_dim)
        try:
            tmp.rename(final)
        except OSError:
            if not final.is_dir():      # not lost to a concurrent writer
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
