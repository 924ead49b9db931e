"""TFDS builder of DIVAFN triplet pools: (image, video keyframes, video feature).

Every config reads a *raw directory* with one generic reader:

    classes.txt                  <class dir name> TAB <class phrase>, one a line
    images/<class>/<id>.<jpg|jpeg|png>
    videos/<class>/<id>.<avi|mp4|...>
    features/<video id>.npy      float [video_feature_dim] (np.save, no pickle)
    word2vec.bin                 word vectors, word2vec binary format

Images and videos are not paired in content; they only share the class. In
each class, videos and images are sorted by file name and video ``i`` is
paired with image ``i mod n_images`` (one example per video; surplus images
are unused). The keyframes are extracted from the video file by the
histogram difference method (``divafn_tf.keyframes``) and resized to
``image_size``. ``info.metadata`` holds ``class_phrases`` and
``class_vectors`` (the L2-normalised sum of the word vectors of each phrase's
unique words, ``divafn_tf.semantics``). One split, ``pool``: the trainer
draws its per-class training ratio from it.

Synthetic configs first write their raw directory with ``synthetic.py``
(under the download dir, reused when complete), then read it like any
other. Their generative process: a stick figure performs one of five motions
(wave, swing, walk, jump, lift), each shared by two classes that differ only
by an object (flag / none, bat / racket, dog / umbrella, rope / trampoline,
barbell / box). Videos (style A): plain pale backgrounds, one side view, a
fixed scale, dark clothes, mild noise, MJPG. Still images (style B): one pose
at a random phase, textured and cluttered backgrounds, closer, mirrored or
rolled, brighter clothes, the object's hue shifted and desaturated, colour
cast, noise, blur, JPEG. The video feature is a grey-level motion descriptor
of the clip (normal-flow direction histograms and temporal spectra on a 4x4
grid) under a fixed random projection plus noise: it sees motions, hardly
the objects, which the colour keyframes and images show. README.md in this
folder gives the details.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import tensorflow_datasets as tfds

from divafn_tf import keyframes, semantics
from tfds_builders.divafn import synthetic
from tfds_builders.divafn.video_features import RawDataError, load_video_feature

POOL_SPLIT = "pool"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mpg", ".mpeg", ".mkv", ".webm", ".mov")


@dataclasses.dataclass(eq=False, kw_only=True)
class DivafnConfig(tfds.core.BuilderConfig):
    """Config of a triplet pool.

    Attributes:
      class_names: class directory names, in label order.
      image_size: (height, width) of the stored keyframes.
      num_keyframes: K, keyframes per video.
      video_feature_dim: dimension of the video features.
      synthetic: generator parameters of a synthetic config (None otherwise).
    """
    class_names: tuple[str, ...]
    image_size: tuple[int, int]
    num_keyframes: int = 1
    video_feature_dim: int
    synthetic: synthetic.SyntheticParams | None = None


def _synthetic_config(name: str, description: str, params: synthetic.SyntheticParams,
                      image_size: tuple[int, int], video_feature_dim: int,
                      num_keyframes: int = 1) -> DivafnConfig:
    return DivafnConfig(
        name=name, description=description,
        class_names=tuple(c.name for c in synthetic.CLASSES[:params.num_classes]),
        image_size=image_size, num_keyframes=num_keyframes,
        video_feature_dim=video_feature_dim, synthetic=params)


@dataclasses.dataclass(frozen=True)
class RawIndex:
    """The files of a raw directory, per class in label order."""
    phrases: list[str]
    images: list[list[Path]]
    videos: list[list[Path]]
    features: Path
    word2vec: Path


def _class_files(folder: Path, extensions: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir():
        raise RawDataError(f"missing directory {folder}")
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in extensions and p.is_file())
    if not files:
        raise RawDataError(f"no file with extension in {extensions} in {folder}")
    return files


def read_raw_dir(raw_dir: Path, class_names: tuple[str, ...]) -> RawIndex:
    """Indexes a raw directory and checks it against the config's classes.

    Video ids are the video file names without extension; each needs a
    ``features/<video id>.npy``.

    Raises:
      RawDataError: a missing file or directory, or classes that differ.
    """
    classes_file = raw_dir / "classes.txt"
    if not classes_file.is_file():
        raise RawDataError(f"missing class list {classes_file}")
    rows = [line.split("\t") for line in classes_file.read_text().splitlines()
            if line.strip()]
    if any(len(row) != 2 for row in rows):
        raise RawDataError(f"{classes_file}: expected lines "
                           "'<class dir name>TAB<class phrase>'")
    names = tuple(row[0] for row in rows)
    if names != tuple(class_names):
        raise RawDataError(f"{classes_file}: classes {names}, expected "
                           f"{tuple(class_names)}")
    videos = [_class_files(raw_dir / "videos" / n, VIDEO_EXTENSIONS)
              for n in names]
    stems = [v.stem for vs in videos for v in vs]
    if len(set(stems)) != len(stems):
        twice = sorted({s for s in stems if stems.count(s) > 1})
        raise RawDataError(f"{raw_dir / 'videos'}: video ids (file names "
                           f"without extension) must be unique, got {twice[:5]}")
    missing = [str(raw_dir / "features" / f"{v.stem}.npy")
               for vs in videos for v in vs
               if not (raw_dir / "features" / f"{v.stem}.npy").is_file()]
    if missing:
        raise RawDataError(f"{len(missing)} video feature file(s) missing: "
                           + ", ".join(missing[:5]))
    word2vec = raw_dir / "word2vec.bin"
    if not word2vec.is_file():
        raise RawDataError(f"missing word vectors {word2vec}")
    return RawIndex(phrases=[row[1] for row in rows],
                    images=[_class_files(raw_dir / "images" / n, IMAGE_EXTENSIONS)
                            for n in names],
                    videos=videos, features=raw_dir / "features",
                    word2vec=word2vec)


def _read_image(path: Path) -> bytes:
    """The encoded bytes of an image file, checked to decode."""
    data = path.read_bytes()
    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None:
        raise RawDataError(f"{path}: not a decodable image")
    return data


class Divafn(tfds.core.GeneratorBasedBuilder):
    """DIVAFN triplet pools; see the module docstring."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Synthetic configs."}
    BUILDER_CONFIGS = [
        _synthetic_config(
            "synthetic", "Demo: 10 classes x 50 images x 50 videos of 16 "
            "frames at 64x64, 512-d video features, 1 keyframe.",
            synthetic.SyntheticParams(num_classes=10, images_per_class=50,
                                      videos_per_class=50, frames_per_video=16,
                                      seed=0),
            image_size=(64, 64), video_feature_dim=512),
        _synthetic_config(
            "synthetic_tiny", "Tests: 4 classes x 12 images x 12 videos of 8 "
            "frames at 32x32, 64-d video features, 2 keyframes.",
            synthetic.SyntheticParams(num_classes=4, images_per_class=12,
                                      videos_per_class=12, frames_per_video=8,
                                      seed=0),
            image_size=(32, 32), video_feature_dim=64, num_keyframes=2),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        cfg = self.builder_config
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3)),
                "keyframes": tfds.features.Sequence(
                    tfds.features.Image(shape=(*cfg.image_size, 3)),
                    length=cfg.num_keyframes),
                "video_feature": tfds.features.Tensor(
                    shape=(cfg.video_feature_dim,), dtype=np.float32),
                "label": tfds.features.ClassLabel(names=list(cfg.class_names)),
                "image_id": tfds.features.Text(),
                "video_id": tfds.features.Text(),
            }),
            supervised_keys=None,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        cfg = self.builder_config
        if cfg.synthetic is None:
            raw_dir = dl_manager.manual_dir
        else:
            raw_dir = synthetic.ensure_raw_dir(
                dl_manager.download_dir, cfg.synthetic, cfg.image_size,
                cfg.video_feature_dim)
        index = read_raw_dir(raw_dir, cfg.class_names)
        kv = semantics.load_word_vectors(index.word2vec, binary=True)
        self.info.metadata["class_phrases"] = index.phrases
        self.info.metadata["class_vectors"] = semantics.class_vectors(
            kv, index.phrases).tolist()
        return {POOL_SPLIT: self._generate_examples(index)}

    def _generate_examples(self, index: RawIndex):
        cfg = self.builder_config
        for label, (images, videos) in enumerate(zip(index.images, index.videos)):
            for i, video in enumerate(videos):
                image = images[i % len(images)]
                yield video.stem, {
                    "image": _read_image(image),
                    "keyframes": list(keyframes.extract_keyframes(
                        str(video), cfg.num_keyframes, cfg.image_size)),
                    "video_feature": load_video_feature(
                        index.features / f"{video.stem}.npy",
                        cfg.video_feature_dim),
                    "label": label,
                    "image_id": image.stem,
                    "video_id": video.stem,
                }
