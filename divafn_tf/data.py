"""Data: the TFDS triplets, the per-class training ratio, tf.data pipelines.

Every builder config of ``tfds_builders.divafn`` gives triplets (image,
keyframes of one video, the video's feature, label; docs/design.md §2) in either

* one ``pool`` split (synthetic, S→U, A→U, E→H): the paper trains on a ratio
  r of each class and tests on the rest; ``split_by_ratio`` draws that
  split, seeded, per class; or
* official ``train`` and ``test`` splits (B→U): the paper "randomly
  sample[s] 5%, 10%, 20%, 33%, 50% and 100% videos from the training set of
  each split" (§IV.B); ``sample_by_ratio`` draws that ratio of each class of
  ``train``, seeded, and the whole ``test`` split is tested on.

``select`` picks the right one. Training examples carry ``index``: the row of
the triplet in the memory banks (its rank among the training triplets, in
split order).
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging

from divafn_tf.errors import UserInputError
from divafn_tf.prep.images import resize_uint8

from tfds_builders.divafn.divafn_dataset_builder import (Divafn,
                                                         with_num_keyframes)
from tfds_builders.divafn.plans import POOL_SPLIT

TRAIN_SPLIT, TEST_SPLIT = "train", "test"


@dataclasses.dataclass(frozen=True)
class Pool:
    """A prepared builder and what the trainer needs to know about it."""

    builder: tfds.core.DatasetBuilder
    split_labels: dict[str, np.ndarray]   # class of each example, split order
    class_names: list[str]
    class_vectors: np.ndarray   # [C, k], L2-normalised semantic vectors

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_official_splits(self) -> bool:
        return POOL_SPLIT not in self.split_labels


@dataclasses.dataclass(frozen=True)
class Selection:
    """Examples of one split: their indices (split order) and labels."""

    split: str
    indices: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)


def make_builder(dataset: str, data_dir: str | None, num_keyframes: int = 0,
                 oov: str = "error", **options) -> tfds.core.DatasetBuilder:
    """The builder of ``dataset`` (e.g. ``divafn/a2u_c3d``).

    ``num_keyframes`` > 0 other than the config's own K gives the config
    ``<name>_k<K>`` (stored apart); ``oov`` is the builder's policy for
    class-phrase words without a word vector; ``options`` are the
    builder's other options (``word_vectors``, ``phrases``,
    ``class_vectors``).

    Raises:
      UserInputError: ``dataset`` is not ``divafn/<config>`` of a known
        config, or its prepared files under ``data_dir`` cannot be read.
    """
    name, _, config = dataset.partition("/")
    if name != Divafn.name or config not in Divafn.builder_configs:
        raise UserInputError(
            f"--dataset={dataset}: expected {Divafn.name}/<config>, the config "
            f"one of {', '.join(Divafn.builder_configs)}")
    builder = _builder(dataset, data_dir, dataset, oov=oov, **options)
    if num_keyframes and num_keyframes != builder.builder_config.num_keyframes:
        builder = _builder(
            builder.name, data_dir, dataset, oov=oov, **options,
            config=with_num_keyframes(builder.builder_config, num_keyframes))
    return builder


def _builder(name: str, data_dir: str | None, dataset: str,
             **kwargs) -> tfds.core.DatasetBuilder:
    """``tfds.builder``; prepared files it cannot read are a UserInputError."""
    try:
        return tfds.builder(name, data_dir=data_dir, **kwargs)
    except Exception as e:  # noqa: BLE001  (json, protobuf or file errors)
        folder = os.path.join(data_dir or tfds.core.constants.DATA_DIR,
                              *dataset.split("/"))
        raise UserInputError(
            f"{dataset}: the prepared dataset under {folder} cannot be read "
            f"({_reason(e)}); delete that folder to build it again") from None


def _reason(error: Exception) -> str:
    """The gist of a TF/TFDS error: its first line, without TFDS's "Failed
    to construct dataset" preamble or TF's function and op names."""
    text = error.message if isinstance(error, tf.errors.OpError) else str(error)
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[Op:[^]]*\].*$", "", text, flags=re.S)
    text = re.sub(r'^Failed to construct dataset "[^"]*", builder_kwargs '
                  r'"[^"]*": ', "", text)
    lines = text.strip().splitlines()
    return lines[0].rstrip(" .:") if lines else type(error).__name__


def _check_manual_dir(builder: tfds.core.DatasetBuilder,
                      manual_dir: str | None) -> None:
    """A real config builds from a manual dir: it must exist, not be empty."""
    folder = (Path(manual_dir) if manual_dir
              else Path(builder.data_dir_root) / "downloads" / "manual")
    if not folder.is_dir() or not any(folder.iterdir()):
        parts = manual_layout(builder.MANUAL_DOWNLOAD_INSTRUCTIONS,
                              builder.builder_config.pair)
        raise UserInputError(
            f"{builder.name}/{builder.builder_config.name}: the manual dir "
            f"{folder} is missing or empty; give --manual_dir, a folder of the "
            f"downloaded datasets (tfds_builders/divafn/README.md says where "
            f"to get each) holding {'; '.join(parts)}")


_PAIR_TAG = re.compile(r"\b(s2u|a2u|e2h|b2u)\b")
_PAIR_TAGS = re.compile(r"\s*\((?:s2u|a2u|e2h|b2u)(?:,\s*(?:s2u|a2u|e2h|b2u))*\)")


def manual_layout(instructions: str, pair: str | None) -> list[str]:
    """The entries of the builder's manual-dir table that ``pair`` needs,
    each on one line ("<path> (<what it is>)", the table's first words).

    The table's rows are indented by two spaces, their continuations by
    more; a row naming pairs (``(s2u, e2h)``) serves those, any other row
    every pair.
    """
    rows: list[list[str]] = []
    for line in instructions.splitlines():
        indent = len(line) - len(line.lstrip())
        if indent == 2:
            rows.append(re.split(r"\s{2,}", line.strip(), maxsplit=1))
        elif indent > 2 and rows:
            rows[-1].append(line.strip())
    entries = []
    for path, *what in rows:
        text = " ".join(what)
        tags = set(_PAIR_TAG.findall(path + " " + text))
        text = re.split(r" \(|; ", _PAIR_TAGS.sub("", text))[0].strip()
        if not tags or pair in tags:
            entries.append(f"{path} ({text})" if text else path)
    return entries


def prepare(builder: tfds.core.DatasetBuilder, manual_dir: str | None,
            overwrite: bool = False) -> None:
    """Builds the dataset unless prepared (a real config from
    ``manual_dir``), or again if ``overwrite`` (reusing what the first build
    downloaded or extracted); a folder it cannot write is a UserInputError."""
    if builder.builder_config.synthetic is None and (
            overwrite or not builder.is_prepared()):
        _check_manual_dir(builder, manual_dir)
    mode = (tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS if overwrite
            else tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
    try:
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(
                manual_dir=manual_dir, download_mode=mode))
    except OSError as e:
        raise UserInputError(
            f"{builder.name}/{builder.builder_config.name}: cannot write the "
            f"dataset under --data_dir={builder.data_dir_root} "
            f"({e.strerror or e}: {e.filename or ''})") from None


def _damaged(builder: tfds.core.DatasetBuilder, dataset: str, split: str,
             error: tf.errors.OpError, num_keyframes: int,
             manual_dir: str | None) -> UserInputError:
    """The error of a prepared dataset whose ``split`` does not read: it names
    the damaged shard (``_damaged_shard``) and the command that rebuilds the
    dataset."""
    shard = _damaged_shard(builder, split)
    where = (f"the shard {shard}" if shard
             else f"the prepared dataset in {builder.data_dir}")
    command = (f"python -m tfds_builders.divafn.build --dataset={dataset} "
               f"--data_dir={builder.data_dir_root} --overwrite")
    if num_keyframes:
        command += f" --num_keyframes={num_keyframes}"
    if builder.builder_config.synthetic is None:
        command += (f" --manual_dir={manual_dir or '<the manual dir>'} and the "
                    f"--word_vectors, --phrases or --class_vectors it was "
                    f"built with")
    return UserInputError(f"{dataset}: {where} is damaged ({_reason(error)}); "
                          f"rebuild the dataset with {command}")


def _damaged_shard(builder: tfds.core.DatasetBuilder, split: str) -> str | None:
    """The first TFRecord file of ``split`` that does not read whole (each
    record's length and checksum are checked), or None if all do.

    Called only once reading the split failed: it reads the split again.
    """
    for path in builder.info.splits[split].filepaths:
        try:
            for _ in tf.data.TFRecordDataset(os.fspath(path)).batch(256):
                pass
        except tf.errors.OpError:
            return os.fspath(path)
    return None


def load_pool(dataset: str, data_dir: str | None, manual_dir: str | None = None,
              num_keyframes: int = 0, oov: str = "error") -> Pool:
    """Builds ``dataset`` if needed (real configs read ``manual_dir``) and
    reads its labels."""
    builder = make_builder(dataset, data_dir, num_keyframes, oov)
    prepare(builder, manual_dir)
    metadata = builder.info.metadata or {}
    if "class_vectors" not in metadata:
        raise UserInputError(
            f"{dataset}: its dataset_info has no 'class_vectors' metadata; "
            f"rebuild it with this version of tfds_builders")
    split_labels = {}
    for split in builder.info.splits:
        labels_ds = builder.as_dataset(
            split=split, shuffle_files=False,
            decoders=tfds.decode.PartialDecoding({"label": True}))
        try:   # reads every record: a damaged file shows here
            split_labels[split] = np.fromiter(
                (ex["label"] for ex in labels_ds.as_numpy_iterator()),
                np.int64)
        except tf.errors.OpError as e:
            raise _damaged(builder, dataset, split, e, num_keyframes,
                           manual_dir) from None
    if POOL_SPLIT not in split_labels and not {TRAIN_SPLIT, TEST_SPLIT} <= set(
            split_labels):
        raise UserInputError(f"{dataset}: expected a {POOL_SPLIT!r} split or "
                         f"{TRAIN_SPLIT!r} and {TEST_SPLIT!r}, got "
                         f"{sorted(split_labels)}")
    return Pool(builder=builder, split_labels=split_labels,
                class_names=list(builder.info.features["label"].names),
                class_vectors=np.asarray(metadata["class_vectors"], np.float32))


def split_by_ratio(labels: np.ndarray, ratio: float, seed: int,
                   class_names: list[str] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per class, a seeded random ``ratio`` of the triplets for training.

    Each class keeps max(1, round(ratio · n_c)) training triplets and at least
    one test triplet. Returns sorted pool indices (train, test).
    """
    # The range (0, 1] is RunConfig's check; a pool also needs test videos.
    if ratio >= 1.0:
        raise UserInputError(
            f"--train_ratio={ratio} leaves a pool no test videos: below 1, "
            "the rest of each class is the test set (only datasets with "
            "official train/test splits, such as divafn/b2u_split1_c3d, "
            "accept 1)")
    rng = np.random.default_rng(seed)
    train, test = [], []
    num_classes = int(labels.max()) + 1 if len(labels) else 0
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        name = class_names[c] if class_names else str(c)
        if len(members) < 2:
            raise UserInputError(
                f"class {name!r} has {len(members)} triplet(s): at least 2 are "
                f"needed (one to train on, one to test on)")
        members = rng.permutation(members)
        n_train = min(len(members) - 1, max(1, int(round(ratio * len(members)))))
        train.append(members[:n_train])
        test.append(members[n_train:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def sample_by_ratio(train_labels: np.ndarray, test_labels: np.ndarray,
                    ratio: float, seed: int, class_names: list[str]
                    ) -> np.ndarray:
    """Per class, a seeded random ``ratio`` of an official training split.

    Each class keeps max(1, round(ratio · n_c)) of its training triplets
    (all of them at ratio 1). A class with test videos but no training video
    is an error; a class in neither split is left out (logged). Returns
    sorted indices into the training split.
    """
    rng = np.random.default_rng(seed)
    chosen = []
    for c, name in enumerate(class_names):
        members = np.flatnonzero(train_labels == c)
        if not len(members):
            if np.any(test_labels == c):
                raise UserInputError(f"class {name!r} has test videos but no "
                                 "video in the training split")
            logging.warning("class %r has no video in either split", name)
            continue
        n_train = max(1, int(round(ratio * len(members))))
        chosen.append(rng.permutation(members)[:n_train])
    return np.sort(np.concatenate(chosen))


def select(pool: Pool, ratio: float, seed: int) -> tuple[Selection, Selection]:
    """The (train, test) examples of a run (module docstring)."""
    if pool.has_official_splits:
        train_labels = pool.split_labels[TRAIN_SPLIT]
        test_labels = pool.split_labels[TEST_SPLIT]
        train = sample_by_ratio(train_labels, test_labels, ratio, seed,
                                pool.class_names)
        return (Selection(TRAIN_SPLIT, train, train_labels[train]),
                Selection(TEST_SPLIT, np.arange(len(test_labels)), test_labels))
    labels = pool.split_labels[POOL_SPLIT]
    train, test = split_by_ratio(labels, ratio, seed, pool.class_names)
    return (Selection(POOL_SPLIT, train, labels[train]),
            Selection(POOL_SPLIT, test, labels[test]))


def _select(pool: Pool, selection: Selection) -> tf.data.Dataset:
    """The examples of a selection (split order), each with its rank."""
    rank = np.full(len(pool.split_labels[selection.split]), -1, np.int64)
    rank[selection.indices] = np.arange(len(selection))
    rank = tf.constant(rank)
    ds = pool.builder.as_dataset(split=selection.split, shuffle_files=False)
    ds = ds.enumerate().map(lambda i, ex: (tf.gather(rank, i), ex))
    ds = ds.filter(lambda r, ex: r >= 0)
    return ds.apply(tf.data.experimental.assert_cardinality(len(selection)))


def _triplets(pool: Pool, train: Selection, image_size: int) -> tf.data.Dataset:
    """Decoded training triplets in bank order, each with its bank ``index``."""
    def to_triplet(rank, ex):
        return {
            "image": resize_uint8(ex["image"], image_size),
            "keyframes": resize_uint8(ex["keyframes"], image_size),
            "video_feature": ex["video_feature"],
            "label": ex["label"],
            "index": rank,
        }
    return _select(pool, train).map(
        to_triplet, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def steps_per_epoch(num_examples: int, batch_size: int,
                    drop_remainder: bool) -> int:
    """Batches in one epoch of ``training_dataset``."""
    if drop_remainder:
        return num_examples // batch_size
    return -(-num_examples // batch_size)


def training_dataset(pool: Pool, train: Selection, image_size: int,
                     batch_size: int, seed: int, cache: bool = True,
                     drop_remainder: bool = False, epochs: int = 1,
                     initial_epoch: int = 0) -> tf.data.Dataset:
    """Epochs ``initial_epoch`` … ``epochs`` − 1 of shuffled training triplets.

    Elements: image, keyframes, video_feature, label, index, batched
    (``shuffled_epochs``).
    """
    triplets = _triplets(pool, train, image_size)
    if cache:
        triplets = triplets.cache()
    return shuffled_epochs(triplets, len(train), batch_size, seed,
                           drop_remainder, epochs, initial_epoch)


def shuffled_epochs(examples: tf.data.Dataset, count: int, batch_size: int,
                    seed: int, drop_remainder: bool, epochs: int,
                    initial_epoch: int, map_batch=None) -> tf.data.Dataset:
    """Epochs ``initial_epoch`` … ``epochs`` − 1 of ``examples``, shuffled, batched.

    Each epoch has ``steps_per_epoch`` batches. Epoch e is shuffled with the
    seed (``seed``, e), not by a generator that advances with each epoch, so
    a run resumed at epoch e (``checkpointing.py``) gets the same batches as
    an uninterrupted one; the order depends only on the seed and ``count``,
    so a dataset of row numbers shuffled here and mapped to rows
    (``map_batch``, e.g. frozen features) batches exactly like the triplets.
    ``drop_remainder`` drops each epoch's last partial batch: needed with
    several replicas, where a replica handed an empty slice of that batch
    fails in the convolutions; reshuffling still visits every triplet.
    """
    epochs_ds = [examples.shuffle(count, seed=seed * 1_000_003 + e,
                                  reshuffle_each_iteration=False).batch(
                     batch_size, drop_remainder=drop_remainder)
                 for e in range(initial_epoch, epochs)]
    batches = functools.reduce(tf.data.Dataset.concatenate, epochs_ds)
    if map_batch is not None:   # once, after the epochs: one traced function
        batches = batches.map(map_batch)
    # Under multi-worker training every worker reads the same batches and
    # takes its slice of each (DATA sharding), so the global batches are the
    # single-device ones; file sharding would give each worker other triplets.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    return batches.prefetch(tf.data.AUTOTUNE).with_options(options)


def ordered_triplets(pool: Pool, train: Selection, image_size: int,
                     batch_size: int) -> tf.data.Dataset:
    """The training triplets in bank order (no shuffling), for filling the banks."""
    return _triplets(pool, train, image_size).batch(
        batch_size).prefetch(tf.data.AUTOTUNE)


def video_dataset(pool: Pool, videos: Selection, image_size: int,
                  batch_size: int) -> tf.data.Dataset:
    """The selected videos in split order: keyframes, video_feature, label."""
    def to_video(rank, ex):
        return {
            "keyframes": resize_uint8(ex["keyframes"], image_size),
            "video_feature": ex["video_feature"],
            "label": ex["label"],
        }
    ds = _select(pool, videos).map(
        to_video, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
