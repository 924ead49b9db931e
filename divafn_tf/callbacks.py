"""Keras callbacks: bank initialisation, the W updates, evaluation, TensorBoard extras.

Callbacks add their figures to the epoch's ``logs`` so the Keras TensorBoard
callback (placed after them) writes them beside the loss terms.
"""
from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from divafn_tf import evaluation, sylvester
from divafn_tf.errors import UserInputError
from divafn_tf.model import Divafn


def initialize_banks(model: Divafn, ordered_triplets: tf.data.Dataset) -> None:
    """F, H, G ← the networks' outputs on every training triplet (inference mode).

    With all-zero banks Θ = 0 and the likelihood terms would give no gradient
    in the first epoch; the paper's alternating scheme starts from the
    networks' initial outputs, which is what this computes. The dataset must
    yield the training triplets in bank order.
    """
    start = time.perf_counter()
    parts = {"f": [], "h": [], "g": []}
    indices, labels = [], []
    for batch in ordered_triplets:
        out = model(batch, training=False)
        for name in parts:
            parts[name].append(out[name].numpy())
        indices.append(batch["index"].numpy())
        labels.append(batch["label"].numpy())
    n = len(model.train_labels)
    if not np.array_equal(np.concatenate(indices), np.arange(n)):
        raise ValueError("initialize_banks: the triplets must come in bank "
                         "order, with index 0..n-1")
    if not np.array_equal(np.concatenate(labels), model.train_labels):
        raise ValueError("initialize_banks: the triplets' labels differ from "
                         "the model's train_labels (bank rows would be mislabelled)")
    model.set_banks(*(np.concatenate(parts[name]) for name in ("f", "h", "g")))
    logging.info("Banks F, H, G initialised from %d triplets in %.1f s",
                 model.bank_f.shape[0], time.perf_counter() - start)


class AutoencoderWeightsUpdate(keras.callbacks.Callback):
    """W_F, W_H, W_G, W_E from the banks by the Sylvester equation (eqs. 18-24).

    Solved before the first epoch, every ``every_n_epochs`` epochs, and at
    the end of training if the last epoch did not solve (so the final SVM
    always sees W of the final banks). A run resumed after ``epochs_done``
    epochs has W from its checkpoint: it is not solved again at the start.
    Logs ``w_solve_seconds`` and ``w_residual_max`` (the largest relative
    residual ‖AW + WB − C‖/‖C‖ of the four solves).
    """

    def __init__(self, class_vectors: np.ndarray, train_labels: np.ndarray,
                 beta: float, lam: float, method: str, every_n_epochs: int = 1,
                 epochs_done: int = 0):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"--w_update_every must be ≥ 1, got {every_n_epochs}")
        # S of the paper: one column per training sample, k × n.
        self.semantics = np.asarray(class_vectors, np.float64)[train_labels].T
        self.beta, self.lam, self.method = beta, lam, method
        self.every_n_epochs = every_n_epochs
        self.last: dict[str, float] = {}
        self.resumed = epochs_done > 0
        # Resumed: W is stale if the last saved epoch did not solve it.
        self.stale = not self.resumed or epochs_done % every_n_epochs != 0

    def solve(self) -> dict[str, float]:
        """Solves the four W from the current banks; returns time and residual."""
        model: Divafn = self.model
        f, h, g = (b.numpy() for b in (model.bank_f, model.bank_h, model.bank_g))
        targets = {"w_f": f, "w_h": h, "w_g": g,
                   "w_e": np.concatenate([h, g], axis=1)}
        start = time.perf_counter()
        residuals = {}
        for name, bank in targets.items():
            solution = sylvester.solve_autoencoder_w(
                self.semantics, bank.T, self.beta, self.lam, self.method)
            getattr(model, name).assign(solution.w.astype(np.float32))
            residuals[name] = solution.relative_residual
        seconds = time.perf_counter() - start
        self.last = {"w_solve_seconds": seconds,
                     "w_residual_max": max(residuals.values())}
        logging.info("W solved (%s) in %.2f s; relative residuals %s",
                     self.method, seconds,
                     ", ".join(f"{k}={v:.1e}" for k, v in residuals.items()))
        self.stale = False
        return self.last

    def on_train_begin(self, logs=None):
        if not self.resumed:
            self.solve()

    def on_epoch_end(self, epoch, logs=None):
        self.stale = True
        if (epoch + 1) % self.every_n_epochs == 0:
            self.solve()
        if logs is not None:
            logs.update(self.last)

    def on_train_end(self, logs=None):
        if self.stale:
            self.solve()


class TrainingDiverged(UserInputError):
    """J became NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops at the first batch whose J is not finite, naming the last good
    checkpoint (which is left as it is: the diverged epoch is never saved)."""

    def __init__(self, saver=None):
        super().__init__()
        self.saver = saver
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        value = (logs or {}).get("J")
        if value is not None and not np.isfinite(float(value)):
            last = self.saver.manager.latest_checkpoint if self.saver else None
            raise TrainingDiverged(
                f"training diverged at epoch {self.epoch + 1}, batch "
                f"{batch + 1}: J = {float(value)}. The last good checkpoint is "
                f"{last or '(none)'}; lower --learning_rate or set --clip_norm")


class PeriodicEvaluation(keras.callbacks.Callback):
    """Test accuracy of the eq. (25) SVM every ``every_n_epochs`` epochs."""

    def __init__(self, train_videos: tf.data.Dataset,
                 test_videos: tf.data.Dataset, every_n_epochs: int,
                 svm_c: float, seed: int):
        super().__init__()
        self.train_videos, self.test_videos = train_videos, test_videos
        self.every_n_epochs = every_n_epochs
        self.svm_c, self.seed = svm_c, seed

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_epochs <= 0 or (epoch + 1) % self.every_n_epochs:
            return
        train = evaluation.embed_videos(self.model, self.train_videos)
        test = evaluation.embed_videos(self.model, self.test_videos)
        _, accuracy = evaluation.divafn_svm(self.model, train, test,
                                            self.svm_c, self.seed)
        logging.info("epoch %d: DIVAFN test accuracy %.4f", epoch + 1, accuracy)
        if logs is not None:
            logs["test_accuracy"] = accuracy


class TrainingExtras(keras.callbacks.Callback):
    """Learning rate into the logs; histograms of the banks in TensorBoard."""

    def __init__(self, log_dir: str, histogram_every_n_epochs: int = 1):
        super().__init__()
        self.writer = tf.summary.create_file_writer(log_dir)
        self.every = histogram_every_n_epochs

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        if self.every > 0 and (epoch + 1) % self.every == 0:
            with self.writer.as_default(step=epoch):
                for name in ("bank_f", "bank_h", "bank_g"):
                    tf.summary.histogram(f"banks/{name}",
                                         getattr(self.model, name).numpy())
            self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()
