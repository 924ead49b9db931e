"""One DIVAFN run: data → strategy → fit → evaluate → results.json → SavedModel.

``run`` takes a ``config.RunConfig`` (the flags of ``divafn_tf.main``), so
other entry points (tests, experiments) can run the same job without absl.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from divafn_tf import (backbones, callbacks, checkpointing, data, distribute,
                       evaluation, export, networks, semantics)
from divafn_tf.config import RunConfig
from divafn_tf.errors import UserInputError
from divafn_tf.model import Divafn
from divafn_tf.objective import ObjectiveWeights


def image_network_config(config: RunConfig) -> backbones.ImageNetworkConfig:
    """The image/keyframe network settings of a run's flags."""
    return backbones.ImageNetworkConfig(
        backbone=config.image_backbone, weights=config.image_weights,
        train_layers=config.train_image_layers,
        cnn=networks.CnnFConfig(image_size=config.image_size,
                                width=config.cnn_width,
                                fc_units=config.fc_units, output_dim=config.d,
                                dropout=config.dropout))


def build_model(config: RunConfig, class_vectors: np.ndarray,
                train_labels: np.ndarray, video_feature_dim: int) -> Divafn:
    """The three networks (DESIGN.md §3) inside a Divafn model."""
    image = image_network_config(config)
    return Divafn(
        image_net=backbones.build_image_network(image, "image_net"),
        keyframe_net=backbones.build_image_network(image, "keyframe_net"),
        video_net=networks.build_video_mlp(video_feature_dim,
                                           config.video_hidden, config.d),
        class_vectors=class_vectors, train_labels=train_labels,
        weights=ObjectiveWeights(a=config.a, b=config.b, c=config.c,
                                 beta=config.beta, lam=config.lam),
        bank_dtype=config.bank_dtype)


def load_class_vectors(path: str, class_names: list[str]) -> np.ndarray:
    """--class_vectors: a JSON {class: vector} file or an attribute file."""
    if path.lower().endswith(".json"):
        return semantics.load_class_vector_file(path, class_names)
    return semantics.load_attribute_vectors(path, class_names)


def make_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    """--optimizer: plain SGD (the paper's), SGD with momentum 0.9, or Adam."""
    clip = {"global_clipnorm": config.clip_norm} if config.clip_norm else {}
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate, **clip)
    if config.optimizer == "momentum":
        return keras.optimizers.SGD(config.learning_rate, momentum=0.9, **clip)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(config.learning_rate, **clip)
    raise ValueError(f"unknown --optimizer {config.optimizer!r}")


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
    class_vectors = (load_class_vectors(config.class_vectors, pool.class_names)
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


def video_datasets(config: RunConfig, experiment: Experiment
                   ) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """(training videos, test videos), batched, in split order."""
    return tuple(data.video_dataset(experiment.pool, videos, config.image_size,
                                    config.batch_size)
                 for videos in (experiment.train_set, experiment.test_set))


def fit(config: RunConfig, experiment: Experiment,
        strategy: tf.distribute.Strategy, log_dir: str | None,
        checkpoint_dir: str | None = None) -> Divafn:
    """Builds (seeded by ``config.seed``) and trains DIVAFN on a split.

    ``log_dir`` receives TensorBoard logs (None: no logs, as in experiments).
    With ``checkpoint_dir``, the run is saved every ``--checkpoint_every``
    epochs and, if a checkpoint is there, resumed from it
    (``checkpointing.py``).
    """
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise UserInputError(
            f"--batch_size={config.batch_size} must be a multiple of the "
            f"{replicas} replicas of --strategy={config.strategy}: each replica "
            f"takes an equal share of the global batch")
    pool, train_set = experiment.pool, experiment.train_set
    # Seeded here, after the dataset is loaded: building it (first use)
    # draws random numbers, which must not change the initial weights.
    keras.utils.set_random_seed(config.seed)
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
    batch = config.batch_size
    train_videos, test_videos = video_datasets(config, experiment)
    if epochs_done == 0:
        callbacks.initialize_banks(model, data.ordered_triplets(
            pool, train_set, config.image_size, batch))
    w_update = callbacks.AutoencoderWeightsUpdate(
        experiment.class_vectors, train_set.labels, config.beta, config.lam,
        config.w_solver, config.w_update_every, epochs_done=epochs_done)
    fit_callbacks = [w_update, callbacks.StopOnNonFiniteLoss(saver)]
    if saver is not None:
        fit_callbacks.append(checkpointing.SaveCheckpoint(
            saver, config.checkpoint_every, config.epochs))
    if log_dir is not None:
        log_dir = distribute.worker_dir(log_dir)
        fit_callbacks += [
            callbacks.PeriodicEvaluation(train_videos, test_videos,
                                         config.eval_every, config.svm_c,
                                         config.seed),
            callbacks.TrainingExtras(os.path.join(log_dir, "extras"),
                                     config.histogram_every),
            keras.callbacks.TensorBoard(log_dir=log_dir, write_graph=False),
        ]
    if epochs_done >= config.epochs:
        w_update.set_model(model)
        w_update.on_train_end()
        return model
    drop_remainder = replicas > 1
    model.fit(data.training_dataset(
                  pool, train_set, config.image_size, batch, config.seed,
                  config.cache, drop_remainder=drop_remainder,
                  epochs=config.epochs, initial_epoch=epochs_done),
              epochs=config.epochs, initial_epoch=epochs_done,
              steps_per_epoch=data.steps_per_epoch(len(train_set), batch,
                                                   drop_remainder),
              callbacks=fit_callbacks, shuffle=False,
              verbose=2 if log_dir is not None else 0)
    return model


def run(config: RunConfig,
        strategy: tf.distribute.Strategy | None = None) -> dict:
    """Trains, evaluates and exports; returns what results.json holds."""
    started = time.perf_counter()
    strategy = strategy or distribute.make_strategy(config.strategy)
    chief = distribute.is_chief()
    pool, class_vectors = load_dataset(config)
    experiment = split(pool, class_vectors, config.train_ratio, config.seed)
    model = fit(config, experiment, strategy,
                os.path.join(config.model_dir, "logs"),
                os.path.join(config.model_dir, "checkpoints"))

    logging.info("Evaluating: SVM on eq. (25) features and on the video feature")
    train_videos, test_videos = video_datasets(config, experiment)
    train = evaluation.embed_videos(model, train_videos)
    test = evaluation.embed_videos(model, test_videos)
    svm, divafn_accuracy = evaluation.divafn_svm(model, train, test,
                                                 config.svm_c, config.seed)
    svm_accuracy = evaluation.video_only_svm(train, test, config.svm_c,
                                             config.seed)
    results = {
        "accuracy": {"divafn": divafn_accuracy, "svm": svm_accuracy},
        "num_train": len(experiment.train_set),
        "num_test": len(experiment.test_set),
        "num_classes": pool.num_classes,
        "seconds": round(time.perf_counter() - started, 1),
        "flags": dataclasses.asdict(config),
    }
    if chief:
        os.makedirs(config.model_dir, exist_ok=True)
        if config.export:
            export_dir = export.export_saved_model(
                model, svm, pool.class_names, config.image_size,
                experiment.video_dim, os.path.join(config.model_dir, "export"))
            results["export_dir"] = export_dir
        with open(os.path.join(config.model_dir, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
    return results
