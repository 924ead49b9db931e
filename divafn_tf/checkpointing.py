"""Checkpoints that let a killed run resume and end as if never stopped.

A checkpoint (``tf.train.CheckpointManager`` under ``<model_dir>/checkpoints``,
written at the end of every ``--checkpoint_every`` epochs) holds everything
the rest of the run depends on:

* the model's variables: the three networks, the banks F, H, G and
  W_F, W_H, W_G, W_E;
* the optimizer's variables (iterations, slots);
* the dropout layers' random state (Keras ``SeedGenerator`` states, which
  neither ``tf.train.Checkpoint(model=...)`` nor ``save_weights`` track);
* the number of epochs done.

The rest is a function of the flags: the split and the initial weights come
from ``--seed``, and epoch e's triplet order is a shuffle seeded by (seed, e)
(``data.training_dataset``). So a run restarted with the same command after
``kill -9`` resumes at the first epoch not saved, replays it exactly, and
ends with the same W and SVM as an uninterrupted run. The SVM is trained
after training from the final state and needs no checkpoint.

TensorFlow writes a checkpoint's files before it updates the ``checkpoint``
index, so a kill during a save leaves the previous checkpoint in use.
``run_settings.json`` beside them records the flags that define the state;
resuming with another --d, --seed, dataset, ... is refused with the list of
differences (a new run needs a new --model_dir).
"""
from __future__ import annotations

import dataclasses
import json
import os

import keras
import tensorflow as tf
from absl import logging

from divafn_tf.config import STATE_FIELDS, RunConfig
from divafn_tf.errors import UserInputError

SETTINGS_FILE = "run_settings.json"


class CheckpointMismatchError(UserInputError):
    """A checkpoint written with other state-defining flags."""


def _settings(config: RunConfig, semantic_dim: int) -> dict:
    fields = dataclasses.asdict(config)
    # The flags that shape the state or the data; resuming requires them unchanged.
    return {**{name: fields[name] for name in STATE_FIELDS}, "k": semantic_dim}


class RunCheckpoint:
    """The checkpoint of one run's state (module docstring)."""

    def __init__(self, model: keras.Model, directory: str, config: RunConfig,
                 semantic_dim: int, max_to_keep: int = 2,
                 write_directory: str | None = None):
        """Restores from ``directory`` (the chief's) and writes to
        ``write_directory`` (default the same; a worker's own under
        multi-worker training)."""
        self.directory = directory
        self.write_directory = write_directory or directory
        self.settings = _settings(config, semantic_dim)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False,
                                 name="epochs_done")
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        seeds = {f"seed_{i}": v.value for i, v in enumerate(
            v for v in model.variables if "seed_generator_state" in v.path)}
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, epoch=self.epoch,
            random=tf.train.Checkpoint(**seeds))
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.write_directory, max_to_keep=max_to_keep)

    def _check_settings(self) -> None:
        path = os.path.join(self.directory, SETTINGS_FILE)
        if not os.path.isfile(path):
            return
        try:
            with open(path) as f:
                saved = json.load(f)
        except (OSError, ValueError) as e:
            raise CheckpointMismatchError(
                f"{path}: cannot read the settings of the run saved there "
                f"({e}); give a new --model_dir for a new run") from None
        if not isinstance(saved, dict):
            raise CheckpointMismatchError(
                f"{path}: expected a JSON object of the saved run's settings, "
                f"got a {type(saved).__name__}; give a new --model_dir for a "
                "new run")
        differ = [f"--{name}={saved.get(name)!r} (now {value!r})"
                  for name, value in self.settings.items()
                  if saved.get(name) != value]
        if differ:
            raise CheckpointMismatchError(
                f"{self.directory} holds a run made with other settings: "
                f"{', '.join(differ)}; resume with the same flags, or give a "
                f"new --model_dir for a new run")

    def restore(self) -> int:
        """Restores the latest checkpoint, if any; returns the epochs done."""
        self._check_settings()
        latest = tf.train.latest_checkpoint(self.directory)
        if latest is None:
            return 0
        try:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        except (ValueError, AssertionError, tf.errors.OpError) as e:
            reason = (str(getattr(e, "message", e)).strip().splitlines()
                      or [type(e).__name__])[0]
            raise CheckpointMismatchError(
                f"{latest}: cannot restore it into this model ({reason}); was it "
                f"written by another version or with other flags?") from e
        logging.info("Resumed from %s: %d epoch(s) done", latest,
                     int(self.epoch.numpy()))
        return int(self.epoch.numpy())

    def save(self, epochs_done: int) -> str:
        """Writes a checkpoint after ``epochs_done`` epochs."""
        os.makedirs(self.write_directory, exist_ok=True)
        settings_path = os.path.join(self.write_directory, SETTINGS_FILE)
        if not os.path.isfile(settings_path):
            tmp = settings_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.settings, f, indent=2)
            os.replace(tmp, settings_path)
        self.epoch.assign(epochs_done)
        return self.manager.save(checkpoint_number=epochs_done)


class SaveCheckpoint(keras.callbacks.Callback):
    """Saves a ``RunCheckpoint`` every ``every_n_epochs`` epochs and at the end.

    The first and the last checkpoint of a run are a log line each, the
    others a debug line.
    """

    def __init__(self, run_checkpoint: RunCheckpoint, every_n_epochs: int,
                 total_epochs: int):
        super().__init__()
        self.run_checkpoint = run_checkpoint
        self.every_n_epochs = every_n_epochs
        self.total_epochs = total_epochs
        self.saved = 0

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        periodic = self.every_n_epochs and done % self.every_n_epochs == 0
        if periodic or done == self.total_epochs:
            path = self.run_checkpoint.save(done)
            logging.log(logging.INFO if not self.saved or done == self.total_epochs
                        else logging.DEBUG, "Checkpoint %s (%d epochs done)",
                        path, done)
            self.saved += 1
