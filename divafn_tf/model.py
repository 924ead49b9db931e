"""The DIVAFN Keras model: memory banks, the objective J and its train_step.

Alternating optimisation (paper §III.D, DESIGN.md §4):

* θx, θy, θz: one SGD step each per mini-batch (this ``train_step``). A
  batch's outputs f, h, g are compared with the *whole* training set of the
  other modalities, held in the memory banks F, H, G ([n, d], one row per
  training triplet). The three networks have disjoint parameters, so one
  gradient of the surrogate below gives each network exactly its partial
  derivative of J with the other variables fixed at the bank snapshot (eqs.
  15-17); the batch rows are then written back into the banks.
* W_F, W_H, W_G, W_E: closed form from the banks (eqs. 18-24), done by
  ``callbacks.AutoencoderWeightsUpdate`` between epochs.

What is differentiated, per batch of B rows (with n training triplets)::

    L = 1/B Σ_i [ a (NLL(f_i, G) + NLL(F, g_i)) + b (NLL(f_i, H) + NLL(F, h_i))
                + c (NLL(h_i, G) + NLL(H, g_i))
                + AE_F(f_i) + AE_H(h_i) + AE_G(g_i) + AE_E([h_i; g_i]) ]

where NLL(f_i, G) is row i of the [B, n] block against the bank. ∂L/∂f_i is
exactly eq. (15)/B (sign corrected), and likewise for h_i (16) and g_i (17).
Per-sample loss means make the learning rate independent of the batch size.

Reported metrics are per-sample estimates of the terms of J/n (eq. 14): each
NLL is the mean of its two one-sided blocks, and ``J`` = a·nll_image_video +
b·nll_image_keyframe + c·nll_keyframe_video + the four autoencoder terms.

A video with K keyframes gets h = mean_k h(y_k) (DESIGN.md §5), in training and
at inference alike.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from divafn_tf import objective
from divafn_tf.config import BANK_DTYPES
from divafn_tf.objective import ObjectiveWeights


def mean_keyframe_embedding(keyframe_net: keras.Model, keyframes: tf.Tensor,
                            dim: int, training: bool = False) -> tf.Tensor:
    """h of a video (DESIGN.md §5): keyframes [B, K, S, S, 3] → mean_k h(y_k), [B, d]."""
    shape = tf.shape(keyframes)
    flat = tf.reshape(keyframes, tf.concat([[-1], shape[2:]], axis=0))
    h = keyframe_net(flat, training=training)
    return tf.reduce_mean(tf.reshape(h, [shape[0], shape[1], dim]), axis=1)


METRIC_NAMES = ("J", "nll_image_video", "nll_image_keyframe",
                "nll_keyframe_video", "ae_f", "ae_h", "ae_g", "ae_e")


class Divafn(keras.Model):
    """DIVAFN (paper §III): three networks, banks F/H/G, autoencoder weights W."""

    def __init__(self, image_net: keras.Model, keyframe_net: keras.Model,
                 video_net: keras.Model, class_vectors: np.ndarray,
                 train_labels: np.ndarray, weights: ObjectiveWeights,
                 bank_dtype: str = "float32", **kwargs):
        super().__init__(**kwargs)
        self.image_net = image_net
        self.keyframe_net = keyframe_net
        self.video_net = video_net
        self.objective_weights = weights
        self.class_vectors = np.asarray(class_vectors, np.float32)
        self.train_labels = np.asarray(train_labels, np.int32)
        num_train = len(self.train_labels)
        dim = int(video_net.outputs[0].shape[-1])
        k = self.class_vectors.shape[1]
        self.embedding_dim = dim

        def state(name, shape, dtype="float32"):
            # "only_first_replica": every replica holds the same bank and
            # writes the same gathered rows (see _write_banks).
            return self.add_weight(
                name=name, shape=shape, dtype=dtype, trainable=False,
                initializer="zeros", aggregation="only_first_replica")

        if bank_dtype not in BANK_DTYPES:
            raise ValueError(f"bank_dtype must be one of {BANK_DTYPES}, "
                             f"got {bank_dtype!r}")
        self.bank_f = state("bank_f", (num_train, dim), bank_dtype)
        self.bank_h = state("bank_h", (num_train, dim), bank_dtype)
        self.bank_g = state("bank_g", (num_train, dim), bank_dtype)
        self.w_f = state("w_f", (k, dim))
        self.w_h = state("w_h", (k, dim))
        self.w_g = state("w_g", (k, dim))
        self.w_e = state("w_e", (k, 2 * dim))
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in METRIC_NAMES}

    # ----- forward passes ------------------------------------------------
    def call(self, inputs: dict, training: bool = False) -> dict:
        """{"keyframes", "video_feature"[, "image"]} → {"h", "g"[, "f"]}."""
        outputs = {
            "h": mean_keyframe_embedding(self.keyframe_net, inputs["keyframes"],
                                         self.embedding_dim, training),
            "g": self.video_net(inputs["video_feature"], training=training),
        }
        if "image" in inputs:
            outputs["f"] = self.image_net(inputs["image"], training=training)
        return outputs

    @property
    def metrics(self):
        return list(self.trackers.values())

    # ----- training --------------------------------------------------------
    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Builds the optimizer under the strategy without reducing a batch.

        Keras 3.15's ``fit`` averages a sample input batch across replicas
        (``strategy.reduce``) before building; under MultiWorkerMirrored-
        Strategy that reduce fails on a dict of per-replica tensors. This
        model is built by ``initialize_banks``' forward pass and has no
        compiled loss or metrics, so building the optimizer is all that is
        left, and needs no batch.
        """
        if self._distribute_strategy is None:
            return
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def _semantics_of(self, labels: tf.Tensor) -> tf.Tensor:
        return tf.gather(tf.constant(self.class_vectors), labels)

    def train_step(self, data) -> dict:
        """One SGD step of θx, θy, θz (paper §III.D.1-3) and the bank update.

        The batch's f, h, g meet the banks in ``objective.batch_objective``
        (eq. 14; its gradients are eqs. 15-17), each network gets its one
        gradient step, then the batch rows are written into F, H, G.
        """
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        labels = tf.cast(data["label"], tf.int32)
        index = tf.cast(data["index"], tf.int32)
        banks = tuple(tf.convert_to_tensor(bank) for bank in
                      (self.bank_f, self.bank_h, self.bank_g))
        global_batch = _global_count(tf.shape(labels)[0])
        with tf.GradientTape() as tape:
            out = self(data, training=True)
            per_row, terms = objective.batch_objective(
                out["f"], out["h"], out["g"], labels,
                self._semantics_of(labels), banks,
                tf.constant(self.train_labels),
                (self.w_f, self.w_h, self.w_g, self.w_e),
                self.objective_weights)
            # Sum over this replica's rows / global batch: the optimizer sums
            # the gradients over replicas, which gives the global mean.
            loss = tf.reduce_sum(per_row) / global_batch
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self._write_banks(index, out["f"], out["h"], out["g"])
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        logs = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(self.distribute_strategy,
                      tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3.15 averages multi-worker logs with reduce(axis=0),
            # which needs a replica axis: give each scalar one.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _write_banks(self, index: tf.Tensor, f: tf.Tensor, h: tf.Tensor,
                     g: tf.Tensor) -> None:
        """Write the batch rows into F, H, G.

        Under MirroredStrategy each replica sees only its slice of the global
        batch: gather indices and rows from all replicas first, so that every
        replica writes the same global batch into its copy (STACK_NOTES.md).
        """
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            index, f, h, g = (ctx.all_gather(t, axis=0) for t in (index, f, h, g))
        rows = index[:, None]
        for bank, value in ((self.bank_f, f), (self.bank_h, h),
                            (self.bank_g, g)):
            bank.assign(tf.tensor_scatter_nd_update(
                bank, rows, tf.cast(value, bank.dtype)))

    def set_banks(self, f: np.ndarray, h: np.ndarray, g: np.ndarray) -> None:
        """Replace the banks (e.g. with a full forward pass before training)."""
        for bank, value in ((self.bank_f, f), (self.bank_h, h),
                            (self.bank_g, g)):
            bank.assign(tf.cast(np.asarray(value, np.float32), bank.dtype))


def _global_count(local_count: tf.Tensor) -> tf.Tensor:
    """Number of rows in the global batch, as float32 (sums over replicas)."""
    count = tf.cast(local_count, tf.float32)
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        count = ctx.all_reduce(tf.distribute.ReduceOp.SUM, count)
    return count
