"""One DIVAFN run: data → strategy → fit → evaluate → results.json → SavedModel.

``run`` takes a ``config.RunConfig`` (the flags of ``divafn_tf.main``), so
other entry points (tests, experiments) can run the same job without absl.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from divafn_tf import (callbacks, checkpointing, data, distribute, evaluation,
                       export)
from divafn_tf.nets import frozen_features, networks
from divafn_tf.prep import semantics
from divafn_tf.config import RunConfig
from divafn_tf.errors import UserInputError
from divafn_tf.model import Divafn
from divafn_tf.objective import ObjectiveWeights


def image_network_config(config: RunConfig) -> networks.ImageNetworkConfig:
    """The image/keyframe network settings of a run's flags."""
    return networks.ImageNetworkConfig(
        backbone=config.image_backbone, weights=config.image_weights,
        train_layers=config.train_image_layers,
        cnn=networks.CnnFConfig(image_size=config.image_size,
                                width=config.cnn_width,
                                fc_units=config.fc_units, output_dim=config.d,
                                dropout=config.dropout))


def build_model(config: RunConfig, class_vectors: np.ndarray,
                train_labels: np.ndarray, video_feature_dim: int) -> Divafn:
    """The three networks (docs/design.md §3) inside a Divafn model.

    With frozen lower layers and ``--frozen_cache``, the image and keyframe
    networks are cut into stems and heads (``frozen_features.py``); the
    stems are kept in ``model.stems`` and the model trains the heads.
    """
    image = image_network_config(config)
    networks_ = {
        "f": (networks.build_image_network(image, "image_net")
              if config.images else None),
        "h": networks.build_image_network(image, "keyframe_net"),
    }
    cut = {}
    if config.frozen_cache and config.train_image_layers != "all":
        cut = {m: frozen_features.split_frozen(net)
               for m, net in networks_.items() if net is not None}
        cut = {m: pair for m, pair in cut.items() if pair is not None}
    return Divafn(
        image_net=networks_["f"], keyframe_net=networks_["h"],
        video_net=networks.build_video_mlp(video_feature_dim,
                                           config.video_hidden, config.d),
        class_vectors=class_vectors, train_labels=train_labels,
        weights=ObjectiveWeights(a=config.a, b=config.b, c=config.c,
                                 beta=config.beta, lam=config.lam),
        bank_dtype=config.bank_dtype,
        frozen=cut, scale_loss_by_n=config.scale_loss_by_n)


# --optimizer's choices: name → optimizer of (learning rate, clipping options).
OPTIMIZERS: dict[str, Callable[..., keras.optimizers.Optimizer]] = {
    "sgd": keras.optimizers.SGD,                       # the paper's
    "momentum": lambda lr, **clip: keras.optimizers.SGD(lr, momentum=0.9, **clip),
    "adam": keras.optimizers.Adam,
}


def make_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    """--optimizer: plain SGD (the paper's), SGD with momentum 0.9, or Adam."""
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"--optimizer={config.optimizer!r}: expected one of "
                         f"{', '.join(OPTIMIZERS)}")
    clip = {"global_clipnorm": config.clip_norm} if config.clip_norm else {}
    return OPTIMIZERS[config.optimizer](config.learning_rate, **clip)


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A loaded dataset and one train/test split of it."""

    pool: data.Pool
    class_vectors: np.ndarray      # [C, k]
    train_set: data.Selection
    test_set: data.Selection

    @property
    def video_dim(self) -> int:
        return int(self.pool.builder.info.features["video_feature"].shape[0])


def load_dataset(config: RunConfig) -> tuple[data.Pool, np.ndarray]:
    """The pool of ``config.dataset`` (built if needed) and its class vectors."""
    logging.info("Loading %s", config.dataset)
    pool = data.load_pool(config.dataset, config.data_dir, config.manual_dir,
                          config.num_keyframes, config.oov)
    class_vectors = (semantics.load_class_vectors(config.class_vectors,
                                                   pool.class_names)
                     if config.class_vectors else pool.class_vectors)
    return pool, class_vectors


def split(pool: data.Pool, class_vectors: np.ndarray, ratio: float,
          seed: int) -> Experiment:
    """One seeded train/test split (``data.select``)."""
    train_set, test_set = data.select(pool, ratio, seed)
    experiment = Experiment(pool, class_vectors, train_set, test_set)
    logging.info("%s: %d classes, %d training triplets (%s split), %d test "
                 "videos (%s split), video feature %d-d, semantic vectors %d-d",
                 pool.builder.builder_config.name, pool.num_classes,
                 len(train_set), train_set.split, len(test_set), test_set.split,
                 experiment.video_dim, class_vectors.shape[1])
    return experiment


@dataclasses.dataclass
class Inputs:
    """What the model reads in one run, as pixels or as frozen features.

    ``ordered_triplets``: the training triplets in bank order (for
    ``fill_banks``); ``train_videos``, ``test_videos``: the videos in split
    order (keyframes or keyframe features, video_feature, label);
    ``training(initial_epoch)``: the shuffled epochs from there on.
    """

    ordered_triplets: tf.data.Dataset
    train_videos: tf.data.Dataset
    test_videos: tf.data.Dataset
    training: Callable[[int], tf.data.Dataset]


def video_datasets(config: RunConfig, experiment: Experiment
                   ) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """(training videos, test videos) as pixels, batched, in split order."""
    return tuple(data.video_dataset(experiment.pool, videos, config.image_size,
                                    config.batch_size)
                 for videos in (experiment.train_set, experiment.test_set))


def pixel_inputs(config: RunConfig, experiment: Experiment,
                 drop_remainder: bool) -> Inputs:
    """Inputs that carry pixels: every network runs in full."""
    pool, train_set, batch = experiment.pool, experiment.train_set, config.batch_size
    train_videos, test_videos = video_datasets(config, experiment)
    return Inputs(
        ordered_triplets=data.ordered_triplets(pool, train_set,
                                               config.image_size, batch),
        train_videos=train_videos, test_videos=test_videos,
        training=lambda initial_epoch: data.training_dataset(
            pool, train_set, config.image_size, batch, config.seed,
            config.cache, drop_remainder=drop_remainder, epochs=config.epochs,
            initial_epoch=initial_epoch))


def frozen_inputs(config: RunConfig, experiment: Experiment, model: Divafn,
                  drop_remainder: bool, cache_dir: str | None) -> Inputs:
    """Inputs that carry the stems' outputs (``frozen_features.py``).

    The stems run once here over the training images and keyframes and the
    test keyframes; the arrays stay in memory unless they exceed
    ``frozen_features.MEMORY_LIMIT_BYTES`` and ``cache_dir`` is given.
    """
    start = time.perf_counter()
    pool, train_set, batch = experiment.pool, experiment.train_set, config.batch_size
    n = len(train_set)
    pixels = data.ordered_triplets(pool, train_set, config.image_size, batch)
    test_pixels = video_datasets(config, experiment)[1]
    per_video = int(pool.builder.info.features["keyframes"].shape[0])
    total = sum(frozen_features.estimated_bytes(stem, count) for stem, count in
                [(s, n * (1 if m == "f" else per_video))
                 for m, s in model.stems.items()]
                + [(model.stems["h"], len(experiment.test_set) * per_video)])
    on_disk = cache_dir is not None and total > frozen_features.MEMORY_LIMIT_BYTES
    if on_disk:
        os.makedirs(cache_dir, exist_ok=True)

    def files(split: str):
        """Where the arrays of a split go: None (memory) or a .npy path."""
        return lambda name: (os.path.join(cache_dir, f"{split}_{name}.npy")
                             if on_disk else None)

    keys = {"f": ("image", "image_features"),
            "h": ("keyframes", "keyframe_features")}
    stems = {keys[m][1]: (stem, keys[m][0]) for m, stem in model.stems.items()}
    keep = ("video_feature",) + (("image",) if model.has_images
                                 and "f" not in model.stems else ())
    arrays = frozen_features.stem_outputs(
        pixels, stems, n, keep, files("train"))
    arrays.update(label=train_set.labels.astype(np.int64),
                  index=np.arange(n, dtype=np.int64))
    test_arrays = frozen_features.stem_outputs(
        test_pixels, {"keyframe_features": stems["keyframe_features"]},
        len(experiment.test_set), ("video_feature",), files("test"))
    test_arrays["label"] = experiment.test_set.labels.astype(np.int64)
    logging.info("Frozen layers computed once for %d training triplets and %d "
                 "test videos in %.1f s (%.0f MiB, %s)", n,
                 len(experiment.test_set), time.perf_counter() - start,
                 total / 2 ** 20, "on disk" if on_disk else "in memory")

    def ordered(values: dict, count: int) -> tf.data.Dataset:
        return tf.data.Dataset.range(count).batch(batch).map(
            frozen_features.gather_rows(values)).prefetch(tf.data.AUTOTUNE)

    video_keys = ("keyframe_features", "video_feature", "label")
    return Inputs(
        ordered_triplets=ordered(arrays, n),
        train_videos=ordered({k: arrays[k] for k in video_keys}, n),
        test_videos=ordered(test_arrays, len(experiment.test_set)),
        training=lambda initial_epoch: data.shuffled_epochs(
            tf.data.Dataset.range(n), n, batch, config.seed, drop_remainder,
            config.epochs, initial_epoch,
            map_batch=frozen_features.gather_rows(arrays)))


def make_inputs(config: RunConfig, experiment: Experiment, model: Divafn,
                drop_remainder: bool = False,
                model_dir: str | None = None) -> Inputs:
    """Frozen-feature inputs when the model has stems, pixel inputs otherwise."""
    if "h" in model.stems:
        return frozen_inputs(config, experiment, model, drop_remainder,
                             os.path.join(model_dir, "feature_cache")
                             if model_dir else None)
    return pixel_inputs(config, experiment, drop_remainder)


def fit(config: RunConfig, experiment: Experiment,
        strategy: tf.distribute.Strategy, log_dir: str | None,
        model_dir: str | None = None, inputs: Inputs | None = None
        ) -> tuple[Divafn, Inputs]:
    """Builds (seeded by ``config.seed``) and trains DIVAFN on a split.

    ``log_dir`` receives TensorBoard logs (None: no logs, as in experiments).
    With ``model_dir``, the run is saved under ``<model_dir>/checkpoints``
    every ``--checkpoint_every`` epochs and, if a checkpoint is there,
    resumed from it (``checkpointing.py``); a large frozen-feature cache goes
    to ``<model_dir>/feature_cache``. ``inputs`` made for another model of
    the same image networks and split (the experiments' methods) are used
    as they are instead of computing them again. Returns the model with its
    final W
    (solved from fresh inference-mode banks) and the inputs it read.
    """
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise UserInputError(
            f"--batch_size={config.batch_size} must be a multiple of the "
            f"{replicas} replicas of --strategy={config.strategy}: each replica "
            f"takes an equal share of the global batch")
    train_set = experiment.train_set
    # Seeded here, after the dataset is loaded: building it (first use)
    # draws random numbers, which must not change the initial weights.
    keras.utils.set_random_seed(config.seed)
    checkpoint_dir = os.path.join(model_dir, "checkpoints") if model_dir else None
    with strategy.scope():
        model = build_model(config, experiment.class_vectors, train_set.labels,
                            experiment.video_dim)
        model.compile(optimizer=make_optimizer(config))
        saver = (checkpointing.RunCheckpoint(
                     model, checkpoint_dir, config,
                     experiment.class_vectors.shape[1],
                     write_directory=distribute.worker_dir(checkpoint_dir))
                 if checkpoint_dir else None)
    epochs_done = saver.restore() if saver else 0
    drop_remainder = replicas > 1
    inputs = inputs or make_inputs(config, experiment, model, drop_remainder,
                                   model_dir)
    refresh = lambda: model.fill_banks(inputs.ordered_triplets)  # noqa: E731
    if epochs_done == 0:
        refresh()
    w_update = callbacks.AutoencoderWeightsUpdate(
        experiment.class_vectors, train_set.labels, config.beta, config.lam,
        config.w_solver, config.w_update_every, epochs_done=epochs_done,
        refresh=refresh, refresh_every=config.bank_refresh_every,
        standardize_features=config.standardize)
    fit_callbacks = [w_update, callbacks.StopOnNonFiniteLoss(saver)]
    if saver is not None:
        fit_callbacks.append(checkpointing.SaveCheckpoint(
            saver, config.checkpoint_every, config.epochs))
    if log_dir is not None:
        log_dir = distribute.worker_dir(log_dir)
        if epochs_done == 0:
            callbacks.write_input_images(os.path.join(log_dir, "inputs"),
                                         experiment.pool, train_set,
                                         config.image_size)
        fit_callbacks += [
            callbacks.PeriodicEvaluation(inputs.train_videos, inputs.test_videos,
                                         config.eval_every, config.svm_c,
                                         config.seed,
                                         experiment.pool.class_names,
                                         os.path.join(log_dir, "evaluation")),
            callbacks.TrainingExtras(os.path.join(log_dir, "extras"),
                                     config.histogram_every),
            keras.callbacks.TensorBoard(log_dir=log_dir, write_graph=False),
            # Last: it prints what the others added to the epoch's logs.
            callbacks.ProgressLine(config.epochs, config.progress_every),
        ]
    if epochs_done >= config.epochs:
        w_update.set_model(model)
        w_update.on_train_end()
        return model, inputs
    model.fit(inputs.training(epochs_done),
              epochs=config.epochs, initial_epoch=epochs_done,
              steps_per_epoch=data.steps_per_epoch(len(train_set),
                                                   config.batch_size,
                                                   drop_remainder),
              callbacks=fit_callbacks, shuffle=False,
              verbose=0)   # callbacks.ProgressLine prints the progress
    return model, inputs


def untrained_model(config: RunConfig, experiment: Experiment) -> Divafn:
    """DIVAFN as ``fit`` builds it (same seed), before training: the source
    of KVC's keyframe feature (docs/design.md §6) and of the experiments'
    untrained features."""
    keras.utils.set_random_seed(config.seed)
    return build_model(config, experiment.class_vectors,
                       experiment.train_set.labels, experiment.video_dim)


def check_output_dir(flag: str, folder: str) -> None:
    """Creates ``folder`` (the value of ``flag``) if needed.

    Raises:
      UserInputError: it cannot be created or is not a writable folder
        (before any work that would be lost).
    """
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UserInputError(f"{flag}={folder}: expected a folder, it is a "
                             "file")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise UserInputError(f"{flag}={folder}: cannot create the folder "
                             f"({e.strerror or e})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserInputError(f"{flag}={folder}: expected a folder this user "
                             "can write to")


def write_results(path: str, results: dict) -> None:
    """Writes ``results`` as JSON to ``path`` atomically: to a temporary
    sibling, then renamed over it, so a failure leaves the previous file."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(results, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def run(config: RunConfig,
        strategy: tf.distribute.Strategy | None = None) -> dict:
    """Trains, evaluates and exports; returns what results.json holds.

    One run at a time uses ``--model_dir``: the chief holds its lock
    (``checkpointing.model_dir_lock``) from the start to the end.
    """
    check_output_dir("--model_dir", config.model_dir)
    with (checkpointing.model_dir_lock(config.model_dir)
          if distribute.is_chief() else contextlib.nullcontext()):
        return _run(config, strategy)


def _run(config: RunConfig, strategy: tf.distribute.Strategy | None) -> dict:
    """`run` once it holds ``--model_dir``."""
    started = time.perf_counter()
    strategy = strategy or distribute.make_strategy(config.strategy)
    chief = distribute.is_chief()
    pool, class_vectors = load_dataset(config)
    experiment = split(pool, class_vectors, config.train_ratio, config.seed)
    model, inputs = fit(config, experiment, strategy,
                        os.path.join(config.model_dir, "logs"), config.model_dir)

    logging.info("Evaluating: SVM on eq. (25) features, on the video feature, "
                 "and KVC")
    train = evaluation.embed_videos(model, inputs.train_videos)
    test = evaluation.embed_videos(model, inputs.test_videos)
    fused_svm = evaluation.divafn_svm(model, train, test, config.svm_c,
                                      config.seed)
    svm_accuracy = evaluation.video_only_svm(train, test, config.svm_c,
                                             config.seed)
    untrained = untrained_model(config, experiment)
    kvc_train, kvc_test = (evaluation.embed_videos(untrained, videos).h
                           for videos in (inputs.train_videos,
                                          inputs.test_videos))
    kvc_accuracy = evaluation.concatenation_svm(
        (kvc_train, train.raw_features), train.labels,
        (kvc_test, test.raw_features), test.labels, config.svm_c, config.seed)
    results = {
        "accuracy": {"divafn": fused_svm.accuracy, "svm": svm_accuracy,
                     "kvc": kvc_accuracy},
        "likelihood": evaluation.likelihood_check(model),
        "num_train": len(experiment.train_set),
        "num_test": len(experiment.test_set),
        "num_classes": pool.num_classes,
        "seconds": round(time.perf_counter() - started, 1),
        "flags": dataclasses.asdict(config),
    }
    if chief:
        os.makedirs(config.model_dir, exist_ok=True)
        callbacks.write_final_summaries(
            os.path.join(config.model_dir, "logs"), config.epochs, fused_svm, test,
            pool.class_names)
        if config.export:
            export_dir = export.export_saved_model(
                model, fused_svm.svm, pool.class_names, config.image_size,
                experiment.video_dim, os.path.join(config.model_dir, "export"))
            results["export_dir"] = export_dir
        write_results(os.path.join(config.model_dir, "results.json"), results)
    return results
