"""What a build reads: the triplets of each split, the class phrases, the features.

A `Plan` comes from a synthetic raw directory (`read_raw_dir`) or from the
manual dir of a real pair (`real_plan`, ``sources.py``);
`check_video_ids` checks it before the build and `read_image` reads each
image as the dataset stores it.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import tensorflow as tf

from divafn_tf.prep.video_features import FeatureSource, RawDataError
from tfds_builders.divafn import sources

if TYPE_CHECKING:
    from tfds_builders.divafn.divafn_dataset_builder import DivafnConfig

POOL_SPLIT = "pool"
# Encodings stored as they are (TF decodes them); others become PNG.
_TF_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a build reads: triplets per split and the class semantics.

    ``word_vectors`` finds the default word-vector file (raising
    ``RawDataError`` if it is missing); it is called only when the build
    needs word vectors and was given none.
    """
    splits: dict[str, list[sources.Triplet]]
    phrases: list[str]
    features: FeatureSource
    word_vectors: Callable[[], Path]


def read_raw_dir(raw_dir: Path, class_names: tuple[str, ...],
                 video_feature_dim: int) -> Plan:
    """The plan of a raw directory in the synthetic layout::

        classes.txt                  <class dir name> TAB <class phrase>
        images/<class>/<id>.<jpg|png|...>
        videos/<class>/<id>.<avi|mp4|...>
        features/<video id>.npy      float [video_feature_dim]
        word2vec.bin                 word vectors, word2vec binary format

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
    triplets = []
    for label, name in enumerate(names):
        triplets += sources.pair_by_class(
            label,
            sources.files_in(raw_dir / "images" / name, sources.IMAGE_EXTENSIONS),
            sources.files_in(raw_dir / "videos" / name, sources.VIDEO_EXTENSIONS))
    word2vec = raw_dir / "word2vec.bin"
    if not word2vec.is_file():
        raise RawDataError(f"missing word vectors {word2vec}")
    return Plan(splits={POOL_SPLIT: triplets}, phrases=[row[1] for row in rows],
                features=FeatureSource(raw_dir / "features", video_feature_dim),
                word_vectors=lambda: word2vec)


def real_plan(config: DivafnConfig, manual_dir: Path) -> Plan:
    """The plan of a real pair from the manual dir (``sources.py``)."""
    spec = sources.PAIRS[config.pair]
    if config.official_split is None:
        splits = {POOL_SPLIT: sources.pool_triplets(spec, manual_dir)}
    else:
        splits = sources.official_split_triplets(spec, manual_dir,
                                                 config.official_split)
    return Plan(splits=splits, phrases=[p.phrase for p in spec.table],
                features=FeatureSource(
                    sources.feature_dir(manual_dir, spec, config.feature_kind),
                    config.video_feature_dim),
                word_vectors=functools.partial(sources.word_vectors_file,
                                               manual_dir))


def check_video_ids(plan: Plan) -> None:
    """Video ids must be unique within a split (they are the example keys)."""
    for split, triplets in plan.splits.items():
        ids = [t.video_id for t in triplets]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise RawDataError(f"split {split!r}: video ids (file names without "
                               f"extension) must be unique, got {twice[:5]}")
        plan.features.check_complete(ids)


def read_image(path: Path) -> bytes:
    """The encoded bytes of an image, as stored or converted to PNG.

    JPEG/PNG/BMP/GIF files are stored as they are once TF decodes them to 3
    channels (grayscale, RGBA and CMYK decode to RGB); other formats (TIFF,
    WebP) are decoded by OpenCV and stored as PNG.
    """
    data = path.read_bytes()
    if path.suffix.lower() in _TF_IMAGE_SUFFIXES:
        try:
            tf.io.decode_image(data, channels=3, expand_animations=False)
        except tf.errors.InvalidArgumentError:
            raise RawDataError(
                f"{path}: not a decodable image (a corrupt or truncated "
                f"{path.suffix.lstrip('.').upper()} file?); replace or remove "
                f"it") from None
        return data
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise RawDataError(f"{path}: not a decodable image")
    return cv2.imencode(".png", decoded)[1].tobytes()
