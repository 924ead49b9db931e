"""Keras callbacks: the W updates, evaluation, TensorBoard extras.

Callbacks add their figures to the epoch's ``logs`` so the Keras TensorBoard
callback (placed after them) writes them beside the loss terms.
"""
from __future__ import annotations

import math
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from divafn_tf import evaluation
from divafn_tf.errors import UserInputError
from divafn_tf.model import solve_w


class AutoencoderWeightsUpdate(keras.callbacks.Callback):
    """W_F, W_H, W_G, W_E from the banks by the Sylvester equation (eqs. 18-24).

    Solved before the first epoch, every ``every_n_epochs`` epochs, and at
    the end of training. ``refresh`` (the model's ``fill_banks`` over the
    ordered training triplets) re-computes the banks in inference mode every
    ``refresh_every`` epochs (0 = never) before that epoch's solve, and
    always before the final solve: the W that the SVM and the export use is
    solved from fresh inference-mode features, the kind it is applied to,
    not from rows written in training mode over the last epoch, and on
    standardised features (``standardize_features``, ``standardize.py``). A run resumed
    after ``epochs_done`` epochs has W from its checkpoint: it is not solved
    again at the start. Logs ``w_solve_seconds`` and ``w_residual_max`` (the
    largest relative residual of the four solves), which the progress lines
    show; the first and the final solve are also a log line each (the
    others at debug level).
    """

    def __init__(self, class_vectors: np.ndarray, train_labels: np.ndarray,
                 beta: float, lam: float, method: str, every_n_epochs: int = 1,
                 epochs_done: int = 0, refresh=None, refresh_every: int = 0,
                 standardize_features: bool = True):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"--w_update_every must be ≥ 1, got {every_n_epochs}")
        # S of the paper: one column per training sample, k × n.
        self.semantics = np.asarray(class_vectors, np.float64)[train_labels].T
        self.beta, self.lam, self.method = beta, lam, method
        self.every_n_epochs = every_n_epochs
        self.refresh, self.refresh_every = refresh, refresh_every
        self.standardize_features = standardize_features
        self.last: dict[str, float] = {}
        self.resumed = epochs_done > 0
        self.solves = 0

    def solve(self, final: bool = False) -> dict[str, float]:
        """Solves the four W from the current banks; returns time and residual.

        Standardised (``standardize.py``) only for the ``final`` W."""
        start = time.perf_counter()
        residuals = solve_w(self.model, self.semantics, self.beta, self.lam,
                            self.method, final and self.standardize_features)
        seconds = time.perf_counter() - start
        self.last = {"w_solve_seconds": seconds,
                     "w_residual_max": max(residuals.values())}
        logging.log(logging.INFO if final or not self.solves else logging.DEBUG,
                    "W solved (%s) in %.2f s; relative residuals %s",
                    self.method, seconds,
                    ", ".join(f"{k}={v:.1e}" for k, v in residuals.items()))
        self.solves += 1
        return self.last

    def _refresh_banks(self, final: bool = False) -> None:
        start = time.perf_counter()
        self.refresh()
        logging.log(logging.INFO if final else logging.DEBUG,
                    "Banks refreshed in inference mode in %.1f s",
                    time.perf_counter() - start)

    def on_train_begin(self, logs=None):
        if not self.resumed:
            self.solve()

    def on_epoch_end(self, epoch, logs=None):
        if (self.refresh is not None and self.refresh_every
                and (epoch + 1) % self.refresh_every == 0):
            self._refresh_banks()
        if (epoch + 1) % self.every_n_epochs == 0:
            self.solve()
        if logs is not None:
            logs.update(self.last)

    def on_train_end(self, logs=None):
        """The final W: fresh inference-mode banks, then the solve."""
        if self.refresh is not None:
            self._refresh_banks(final=True)
        self.solve(final=True)


class ProgressLine(keras.callbacks.Callback):
    """One line of the epoch's figures every ``every`` epochs (0: about ten
    lines a run), as Keras's ``verbose=2`` prints them every epoch.

    A line is printed after the first epoch of the run, every ``every``-th
    epoch (``ceil(epochs / 10)`` for 0) and the last one::

        Epoch 10/100 - 1s - J: 87.9121 - ae_e: 0.6532 - ... - learning_rate: 1.0000e-04

    with every value in the epoch's ``logs`` (J, each term, the W solve's
    time and residual, the test accuracy when evaluated, the learning rate).
    """

    def __init__(self, epochs: int, every: int = 0):
        super().__init__()
        self.epochs = epochs
        self.every = every or max(1, math.ceil(epochs / 10))
        self.first = True
        self.started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if not (self.first or done % self.every == 0 or done == self.epochs):
            return
        self.first = False
        figures = "".join(f" - {name}: {format_figure(value)}"
                          for name, value in (logs or {}).items())
        print(f"Epoch {done}/{self.epochs} - "
              f"{time.perf_counter() - self.started:.0f}s{figures}", flush=True)


def format_figure(value) -> str:
    """A logged figure as Keras's progress bar writes it."""
    value = float(np.mean(value))
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


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
                f"{batch + 1}: J = {float(value)}; the last good checkpoint is "
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
            # Through a TF tensor: NumPy 2 warns (DeprecationWarning) when it
            # converts Keras's variable, whose __array__ takes no copy=, and
            # Keras's convert_to_tensor returns the (Mirrored) variable.
            logs["learning_rate"] = float(tf.convert_to_tensor(
                self.model.optimizer.learning_rate).numpy())
        if self.every > 0 and (epoch + 1) % self.every == 0:
            with self.writer.as_default(step=epoch):
                for m, bank in self.model.bank_values().items():
                    tf.summary.histogram(f"banks/bank_{m}", bank)
            self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()
