"""Keras callbacks: the W updates, evaluation, TensorBoard extras.

Callbacks add their figures to the epoch's ``logs`` so the Keras TensorBoard
callback (placed after them) writes them beside the loss terms. The extras
beyond scalars, under ``<model_dir>/logs``: ``extras/`` (histograms of the
banks), ``evaluation/`` (the confusion matrix of the test videos at every
evaluation, `write_confusion_matrix`), ``inputs/`` (a few training images
and keyframes per class as the networks see them, `write_input_images`) and
``projector/`` (the Embedding Projector's b, h and g of the test videos,
`write_projector`).
"""
from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from divafn_tf import data, evaluation, plots
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
    """Test accuracy of the eq. (25) SVM every ``every_n_epochs`` epochs;
    with ``log_dir``, the confusion matrix of the test videos as an image
    there too (`write_confusion_matrix`, class names on the axes)."""

    def __init__(self, train_videos: tf.data.Dataset,
                 test_videos: tf.data.Dataset, every_n_epochs: int,
                 svm_c: float, seed: int,
                 class_names: Sequence[str] | None = None,
                 log_dir: str | None = None):
        super().__init__()
        self.train_videos, self.test_videos = train_videos, test_videos
        self.every_n_epochs = every_n_epochs
        self.svm_c, self.seed = svm_c, seed
        self.class_names, self.log_dir = class_names, log_dir

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_epochs <= 0 or (epoch + 1) % self.every_n_epochs:
            return
        train = evaluation.embed_videos(self.model, self.train_videos)
        test = evaluation.embed_videos(self.model, self.test_videos)
        fused_svm = evaluation.divafn_svm(self.model, train, test,
                                          self.svm_c, self.seed)
        logging.info("epoch %d: DIVAFN test accuracy %.4f", epoch + 1,
                     fused_svm.accuracy)
        if logs is not None:
            logs["test_accuracy"] = fused_svm.accuracy
        if self.log_dir is not None and self.class_names is not None:
            write_confusion_matrix(self.log_dir, epoch, test.labels,
                                   fused_svm.predictions, self.class_names,
                                   f"epoch {epoch + 1}")


CONFUSION_TAG = "confusion_matrix"


def write_confusion_matrix(log_dir: str, step: int, labels: np.ndarray,
                           predictions: np.ndarray,
                           class_names: Sequence[str], when: str) -> None:
    """The test videos' confusion matrix of the eq. (25) SVM as an image
    (`plots.confusion_matrix_image`), tag `CONFUSION_TAG`, at ``step``."""
    accuracy = float(np.mean(np.asarray(labels) == np.asarray(predictions)))
    pixels = plots.confusion_matrix_image(
        labels, predictions, class_names,
        f"test videos, {when}: accuracy {accuracy:.1%}")
    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default(step=step):
        tf.summary.image(CONFUSION_TAG, pixels[None],
                         description="Confusion matrix of the test videos "
                         "(true class down, predicted across), the SVM on "
                         "eq. (25) features")
    writer.close()


def _tag(name: str) -> str:
    """A class name as a summary tag (letters, digits, _ . - only)."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def sample_selection(selection: data.Selection, per_class: int) -> data.Selection:
    """The first ``per_class`` examples of each class of ``selection``."""
    keep = np.sort(np.concatenate(
        [np.flatnonzero(selection.labels == c)[:per_class]
         for c in np.unique(selection.labels)]))
    return data.Selection(selection.split, selection.indices[keep],
                          selection.labels[keep])


def write_input_images(log_dir: str, pool: data.Pool,
                       train_set: data.Selection, image_size: int,
                       per_class: int = 3) -> None:
    """A few training images and their videos' keyframes per class, after
    the resize (what the networks see): tags ``images/<class>`` and
    ``keyframes/<class>`` (every keyframe of those videos), step 0."""
    sample = sample_selection(train_set, per_class)
    images, keyframes = {}, {}
    for batch in data.ordered_triplets(pool, sample, image_size, 64):
        for image, frames, label in zip(batch["image"].numpy(),
                                        batch["keyframes"].numpy(),
                                        batch["label"].numpy()):
            images.setdefault(int(label), []).append(image)
            keyframes.setdefault(int(label), []).extend(frames)
    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default(step=0):
        for label in sorted(images):
            name = _tag(pool.class_names[label])
            tf.summary.image(f"images/{name}", np.stack(images[label]),
                             max_outputs=per_class)
            tf.summary.image(f"keyframes/{name}", np.stack(keyframes[label]),
                             max_outputs=len(keyframes[label]))
    writer.close()


PROJECTOR_TENSORS = ("fused_b", "keyframe_h", "video_g")


def write_projector(folder: str, test: evaluation.VideoSet,
                    fused: np.ndarray, predictions: np.ndarray,
                    class_names: Sequence[str]) -> str:
    """The Embedding Projector of the test videos in ``folder``: b (eq. 25),
    h and g as the tensors `PROJECTOR_TENSORS` of a checkpoint, each row's
    class and predicted class in ``metadata.tsv``, and the
    ``projector_config.pbtxt`` that ties them; returns the config's path."""
    from tensorboard.plugins import projector
    os.makedirs(folder, exist_ok=True)
    clean = [re.sub(r"\s+", " ", name) for name in class_names]
    with open(os.path.join(folder, "metadata.tsv"), "w", encoding="utf-8") as f:
        f.write("class\tpredicted\n")
        for label, predicted in zip(test.labels, predictions):
            f.write(f"{clean[label]}\t{clean[predicted]}\n")
    values = dict(zip(PROJECTOR_TENSORS, (fused, test.h, test.g)))
    checkpoint = tf.train.Checkpoint(**{
        name: tf.Variable(np.asarray(v, np.float32), trainable=False)
        for name, v in values.items()})
    checkpoint.save(os.path.join(folder, "embeddings.ckpt"))
    config = projector.ProjectorConfig()
    for name in PROJECTOR_TENSORS:
        embedding = config.embeddings.add()
        embedding.tensor_name = f"{name}/.ATTRIBUTES/VARIABLE_VALUE"
        embedding.metadata_path = "metadata.tsv"
    projector.visualize_embeddings(folder, config)
    # An event file makes the folder a run, where TensorBoard looks for the
    # projector's config; its text says what the tensors are.
    writer = tf.summary.create_file_writer(folder)
    with writer.as_default(step=0):
        tf.summary.text("about", (
            f"{len(test.labels)} test videos: fused_b = b of eq. (25) "
            f"({fused.shape[1]}-d), keyframe_h = h ({test.h.shape[1]}-d), "
            f"video_g = g ({test.g.shape[1]}-d); metadata: class, predicted"))
    writer.close()
    return os.path.join(folder, "projector_config.pbtxt")


def write_final_summaries(log_dir: str, step: int,
                          fused_svm: evaluation.FusedSvm,
                          test: evaluation.VideoSet,
                          class_names: Sequence[str]) -> None:
    """After training: the final confusion matrix (``evaluation/``, at
    ``step``) and the projector (``projector/``) of the test videos."""
    write_confusion_matrix(os.path.join(log_dir, "evaluation"), step,
                           test.labels, fused_svm.predictions, class_names,
                           "final")
    write_projector(os.path.join(log_dir, "projector"), test,
                    fused_svm.test_fused, fused_svm.predictions, class_names)


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
