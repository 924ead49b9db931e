"""Data: the TFDS triplet pool, the per-class training ratio, tf.data pipelines.

Every builder config of ``tfds_builders.divafn`` has a ``pool`` split of
triplets (image, keyframes of one video, the video's feature, label; DESIGN.md
§2). The paper trains on a ratio r of each class and tests on the rest
(S→U, A→U, E→H): ``split_by_ratio`` draws that split, seeded, per class.

Training examples carry ``index``: the row of the triplet in the memory banks
(its rank among the training triplets, in pool order).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfds_builders.divafn.divafn_dataset_builder import POOL_SPLIT


@dataclasses.dataclass(frozen=True)
class Pool:
    """A prepared builder and what the trainer needs to know about it."""

    builder: tfds.core.DatasetBuilder
    labels: np.ndarray          # [N] class of each pool triplet, pool order
    class_names: list[str]
    class_vectors: np.ndarray   # [C, k], L2-normalised semantic vectors

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_pool(dataset: str, data_dir: str | None) -> Pool:
    """Builds ``dataset`` (e.g. ``divafn/synthetic``) if needed and reads its labels."""
    builder = tfds.builder(dataset, data_dir=data_dir)
    builder.download_and_prepare()
    metadata = builder.info.metadata or {}
    if "class_vectors" not in metadata:
        raise ValueError(
            f"{dataset}: its dataset_info has no 'class_vectors' metadata; "
            f"rebuild it with this version of tfds_builders")
    labels_ds = builder.as_dataset(
        split=POOL_SPLIT, shuffle_files=False,
        decoders=tfds.decode.PartialDecoding({"label": True}))
    labels = np.fromiter((ex["label"] for ex in labels_ds.as_numpy_iterator()),
                         dtype=np.int64)
    return Pool(builder=builder, labels=labels,
                class_names=list(builder.info.features["label"].names),
                class_vectors=np.asarray(metadata["class_vectors"], np.float32))


def split_by_ratio(labels: np.ndarray, ratio: float, seed: int,
                   class_names: list[str] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per class, a seeded random ``ratio`` of the triplets for training.

    Each class keeps max(1, round(ratio · n_c)) training triplets and at least
    one test triplet. Returns sorted pool indices (train, test).
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"--train_ratio must be in (0, 1), got {ratio}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    num_classes = int(labels.max()) + 1 if len(labels) else 0
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        name = class_names[c] if class_names else str(c)
        if len(members) < 2:
            raise ValueError(
                f"class {name!r} has {len(members)} triplet(s): at least 2 are "
                f"needed (one to train on, one to test on)")
        members = rng.permutation(members)
        n_train = min(len(members) - 1, max(1, int(round(ratio * len(members)))))
        train.append(members[:n_train])
        test.append(members[n_train:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def resize_uint8(images: tf.Tensor, size: int) -> tf.Tensor:
    """uint8 images [..., H, W, 3] → uint8 [..., size, size, 3] (antialiased).

    The one resize of the project: training, evaluation and the SavedModel
    all call it, so served frames are prepared exactly as trained ones.
    """
    shape = tf.shape(images)
    flat = tf.reshape(images, tf.concat([[-1], shape[-3:]], axis=0))
    resized = tf.image.resize(flat, (size, size), antialias=True)
    resized = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
    out = tf.reshape(resized, tf.concat([shape[:-3], [size, size, 3]], axis=0))
    out.set_shape(images.shape[:-3].concatenate([size, size, 3]))
    return out


def _select(pool: Pool, indices: np.ndarray) -> tf.data.Dataset:
    """The pool's examples at ``indices`` (pool order), each with its rank."""
    rank = np.full(len(pool.labels), -1, np.int64)
    rank[np.asarray(indices)] = np.arange(len(indices))
    rank = tf.constant(rank)
    ds = pool.builder.as_dataset(split=POOL_SPLIT, shuffle_files=False)
    ds = ds.enumerate().map(lambda i, ex: (tf.gather(rank, i), ex))
    ds = ds.filter(lambda r, ex: r >= 0)
    return ds.apply(tf.data.experimental.assert_cardinality(len(indices)))


def _triplets(pool: Pool, train_indices: np.ndarray,
              image_size: int) -> tf.data.Dataset:
    """Decoded training triplets in bank order, each with its bank ``index``."""
    def to_triplet(rank, ex):
        return {
            "image": resize_uint8(ex["image"], image_size),
            "keyframes": resize_uint8(ex["keyframes"], image_size),
            "video_feature": ex["video_feature"],
            "label": ex["label"],
            "index": rank,
        }
    return _select(pool, train_indices).map(
        to_triplet, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def training_dataset(pool: Pool, train_indices: np.ndarray, image_size: int,
                     batch_size: int, seed: int, cache: bool = True,
                     drop_remainder: bool = False) -> tf.data.Dataset:
    """Shuffled training triplets: image, keyframes, video_feature, label, index.

    ``drop_remainder`` drops each epoch's last partial batch: needed with
    several replicas, where a replica handed an empty slice of that batch
    fails in the convolutions. Reshuffling still visits every triplet.
    """
    ds = _triplets(pool, train_indices, image_size)
    if cache:
        ds = ds.cache()
    ds = ds.shuffle(len(train_indices), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(
        tf.data.AUTOTUNE)


def ordered_triplets(pool: Pool, train_indices: np.ndarray, image_size: int,
                     batch_size: int) -> tf.data.Dataset:
    """The training triplets in bank order (no shuffling), for filling the banks."""
    return _triplets(pool, train_indices, image_size).batch(
        batch_size).prefetch(tf.data.AUTOTUNE)


def video_dataset(pool: Pool, indices: np.ndarray, image_size: int,
                  batch_size: int) -> tf.data.Dataset:
    """Videos at ``indices`` in pool order: keyframes, video_feature, label."""
    def to_video(rank, ex):
        return {
            "keyframes": resize_uint8(ex["keyframes"], image_size),
            "video_feature": ex["video_feature"],
            "label": ex["label"],
        }
    ds = _select(pool, indices).map(
        to_video, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
