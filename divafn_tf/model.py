"""The DIVAFN Keras model: memory banks, the objective J and its train_step.

Alternating optimisation (paper §III.D, docs/design.md §4):

* θx, θy, θz: one SGD step each per mini-batch (this ``train_step``). A
  batch's outputs f, h, g are compared with the *whole* training set of the
  other modalities, held in the memory banks F, H, G ([n, d], one row per
  training triplet). The three networks have disjoint parameters, so one
  gradient of the surrogate below gives each network exactly its partial
  derivative of J with the other variables fixed at the bank snapshot (eqs.
  15-17); the batch rows are then written back into the banks.
* W_F, W_H, W_G, W_E: closed form from the banks (eqs. 18-24, ``solve_w``),
  called by ``callbacks.AutoencoderWeightsUpdate`` between epochs.

What is differentiated, per batch of B rows (with n training triplets)::

    L = 1/B Σ_i [ a (NLL(f_i, G) + NLL(F, g_i)) + b (NLL(f_i, H) + NLL(F, h_i))
                + c (NLL(h_i, G) + NLL(H, g_i))
                + AE_F(f_i) + AE_H(h_i) + AE_G(g_i) + AE_E([h_i; g_i]) ]

where NLL(f_i, G) is row i of the [B, n] block against the bank. ∂L/∂f_i is
eq. (15)/B (sign corrected); ∂L/∂h_i and ∂L/∂g_i are eqs. (16)/(17)/B plus
the gradient of AE_E through [h_i; g_i], a term of J (eq. 14) that the
paper's eqs. (16)-(17) leave out (``objective.batch_objective``).
Per-sample loss means make the learning rate independent of the batch size.

Each row's likelihood terms sum over the n bank rows, so its gradient grows
like n. With ``scale_loss_by_n`` (``--scale_loss_by_n``, the default) the
differentiated loss is L / n, as DCMH divides its gradient by batch × n: a
step then has the same size at any n, and J's terms keep the paper's
balance. Measured (``benchmarks/bench_step_size.py``, plain SGD at the
paper's lr 1e-4): without it the first step changes fc8 by 7 % of its norm
at n = 150, 60 % at n = 1,000 (NaN within 49 steps) and 5× at n = 9,537
(B→U; inf within 43 steps); with it, 5-6e-4 at every n, and J falls. The
logged terms are the unscaled per-row values either way.

Reported metrics are per-sample estimates of the terms of J/n (eq. 14): each
NLL is the mean of its two one-sided blocks, and ``J`` = a·nll_image_video +
b·nll_image_keyframe + c·nll_keyframe_video + the four autoencoder terms.

A video with K keyframes gets h = mean_k h(y_k) (docs/design.md §5), in training and
at inference alike.

Frozen layers computed once (``frozen_features.py``): when the lower layers
of the image and keyframe networks do not train, a batch may carry their
outputs (``image_features``, ``keyframe_features``) instead of pixels
(``image``, ``keyframes``); the model then runs only the trainable heads.

Without images (``image_net=None``, ``--noimages``): no f, no bank F, no
W_F, and J keeps only the keyframe-video likelihood and AE_H, AE_G, AE_E.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from divafn_tf import objective, standardize, sylvester
from divafn_tf.config import BANK_DTYPES
from divafn_tf.objective import ObjectiveWeights


def mean_keyframe_embedding(keyframe_net: keras.Model, keyframes: tf.Tensor,
                            dim: int, training: bool = False) -> tf.Tensor:
    """h of a video (docs/design.md §5): keyframes [B, K, S, S, 3] → mean_k h(y_k), [B, d]."""
    shape = tf.shape(keyframes)
    flat = tf.reshape(keyframes, tf.concat([[-1], shape[2:]], axis=0))
    h = keyframe_net(flat, training=training)
    return tf.reduce_mean(tf.reshape(h, [shape[0], shape[1], dim]), axis=1)


METRIC_NAMES = ("J", "nll_image_video", "nll_image_keyframe",
                "nll_keyframe_video", "ae_f", "ae_h", "ae_g", "ae_e")
IMAGE_METRICS = ("nll_image_video", "nll_image_keyframe", "ae_f")
MODALITIES = ("f", "h", "g")


class Divafn(keras.Model):
    """DIVAFN (paper §III): three networks, banks F/H/G, autoencoder weights W.

    ``frozen`` (optional): {"f" | "h": (stem, head)}, ``image_net`` /
    ``keyframe_net`` cut into their frozen stem and trainable head (the same
    layers); the heads run on the stems' precomputed outputs (module
    docstring, ``frozen_features.split_frozen``).
    """

    def __init__(self, image_net: keras.Model | None, keyframe_net: keras.Model,
                 video_net: keras.Model, class_vectors: np.ndarray,
                 train_labels: np.ndarray, weights: ObjectiveWeights,
                 bank_dtype: str = "float32",
                 frozen: dict[str, tuple[keras.Model, keras.Model]] | None = None,
                 scale_loss_by_n: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.image_net = image_net
        self.keyframe_net = keyframe_net
        self.video_net = video_net
        self.stems = {m: stem for m, (stem, _) in (frozen or {}).items()}
        self.heads = {m: head for m, (_, head) in (frozen or {}).items()}
        self.scale_loss_by_n = scale_loss_by_n
        self.objective_weights = weights
        self.class_vectors = np.asarray(class_vectors, np.float32)
        self.train_labels = np.asarray(train_labels, np.int32)
        num_train = len(self.train_labels)
        dim = int(video_net.outputs[0].shape[-1])
        k = self.class_vectors.shape[1]
        self.embedding_dim = dim

        def state(name, shape, dtype="float32", initializer="zeros"):
            # "only_first_replica": every replica holds the same bank and
            # writes the same gathered rows (see _write_banks).
            return self.add_weight(
                name=name, shape=shape, dtype=dtype, trainable=False,
                initializer=initializer, aggregation="only_first_replica")

        if bank_dtype not in BANK_DTYPES:
            raise ValueError(f"bank_dtype must be one of {BANK_DTYPES}, "
                             f"got {bank_dtype!r}")
        # Attributes bank_f, w_f, mean_f, std_f, ... (None for f without
        # images); ``bank(m)``, ``w_of(m)``, ``moments_of(m)`` read them.
        for m in MODALITIES:
            present = m in self.modalities
            setattr(self, f"bank_{m}", state(f"bank_{m}", (num_train, dim),
                                             bank_dtype) if present else None)
            setattr(self, f"w_{m}", state(f"w_{m}", (k, dim)) if present else None)
            # μ and σ of the modality (standardize.py); identity until set.
            setattr(self, f"mean_{m}", state(f"mean_{m}", (dim,))
                    if present else None)
            setattr(self, f"std_{m}", state(f"std_{m}", (dim,),
                                            initializer="ones")
                    if present else None)
        self.w_e = state("w_e", (k, 2 * dim))
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in METRIC_NAMES
                         if self.has_images or name not in IMAGE_METRICS}

    @property
    def has_images(self) -> bool:
        return self.image_net is not None

    @property
    def modalities(self) -> tuple[str, ...]:
        """("f", "h", "g"), or ("h", "g") without images."""
        return MODALITIES if self.has_images else MODALITIES[1:]

    def bank(self, modality: str):
        return getattr(self, f"bank_{modality}")

    def w_of(self, name: str):
        """W_F, W_H, W_G or W_E by "f", "h", "g", "e" (None: no images)."""
        return getattr(self, f"w_{name}")

    def moments_of(self, modality: str):
        """(μ, σ) variables of a modality (standardize.py)."""
        return getattr(self, f"mean_{modality}"), getattr(self, f"std_{modality}")

    # ----- forward passes ------------------------------------------------
    def _embed(self, modality: str, inputs: dict, training: bool) -> tf.Tensor:
        """f (from "image") or h (from "keyframes"), or the same from the
        frozen features "image_features" / "keyframe_features"."""
        if modality == "f":
            pixels, features, network = "image", "image_features", self.image_net
        else:
            pixels, features, network = ("keyframes", "keyframe_features",
                                         self.keyframe_net)
        if features in inputs:
            network, value = self.heads[modality], inputs[features]
        else:
            value = inputs[pixels]
        if modality == "f":
            return network(value, training=training)
        return mean_keyframe_embedding(network, value, self.embedding_dim,
                                       training)

    def call(self, inputs: dict, training: bool = False) -> dict:
        """{"keyframes" | "keyframe_features", "video_feature"[, "image" |
        "image_features"]} → {"h", "g"[, "f"]}."""
        outputs = {
            "h": self._embed("h", inputs, training),
            "g": self.video_net(inputs["video_feature"], training=training),
        }
        if self.has_images and ("image" in inputs or "image_features" in inputs):
            outputs["f"] = self._embed("f", inputs, training)
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
        model is built by ``fill_banks``' forward pass and has no compiled
        loss or metrics, so building the optimizer is all that is left, and
        needs no batch.
        """
        if self._distribute_strategy is None:
            return
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def _semantics_of(self, labels: tf.Tensor) -> tf.Tensor:
        return tf.gather(tf.constant(self.class_vectors), labels)

    def batch_objective(self, out: dict, labels: tf.Tensor
                        ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """``objective.batch_objective`` of a batch's outputs against the
        banks and the current W (per-row surrogate, J's terms)."""
        banks = {m: tf.convert_to_tensor(self.bank(m)) for m in self.modalities}
        return objective.batch_objective(
            out.get("f"), out["h"], out["g"], labels, self._semantics_of(labels),
            (banks.get("f"), banks["h"], banks["g"]),
            tf.constant(self.train_labels),
            tuple(self.w_of(name) for name in ("f", "h", "g", "e")),
            self.objective_weights)

    def train_step(self, data) -> dict:
        """One SGD step of θx, θy, θz (paper §III.D.1-3) and the bank update.

        The batch's f, h, g meet the banks in ``objective.batch_objective``
        (eq. 14; its gradients are eqs. 15-17 and AE_E's), each network gets
        its one gradient step, then the batch rows are written into F, H, G.
        """
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        labels = tf.cast(data["label"], tf.int32)
        index = tf.cast(data["index"], tf.int32)
        global_batch = _global_count(tf.shape(labels)[0])
        with tf.GradientTape() as tape:
            out = self(data, training=True)
            per_row, terms = self.batch_objective(out, labels)
            # Sum over this replica's rows / global batch: the optimizer sums
            # the gradients over replicas, which gives the global mean.
            loss = tf.reduce_sum(per_row) / global_batch
            if self.scale_loss_by_n:
                loss /= float(len(self.train_labels))
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self._write_banks(index, out)
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        logs = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(self.distribute_strategy,
                      tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3.15 averages multi-worker logs with reduce(axis=0),
            # which needs a replica axis: give each scalar one.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _write_banks(self, index: tf.Tensor, out: dict) -> None:
        """Write the batch rows into F, H, G.

        Under MirroredStrategy each replica sees only its slice of the global
        batch: gather indices and rows from all replicas first, so that every
        replica writes the same global batch into its copy (docs/design.md §7).
        """
        ctx = tf.distribute.get_replica_context()
        rows = {m: out[m] for m in self.modalities}
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            index = ctx.all_gather(index, axis=0)
            rows = {m: ctx.all_gather(v, axis=0) for m, v in rows.items()}
        for m, value in rows.items():
            bank = self.bank(m)
            bank.assign(tf.tensor_scatter_nd_update(
                bank, index[:, None], tf.cast(value, bank.dtype)))

    # ----- state from outside the train_step ------------------------------
    def bank_values(self) -> dict[str, np.ndarray]:
        """The banks as float32 arrays [n, d], by modality."""
        return {m: tf.cast(self.bank(m), tf.float32).numpy()
                for m in self.modalities}

    def set_banks(self, values: dict[str, np.ndarray]) -> None:
        """Replace the banks (e.g. with a full forward pass, ``fill_banks``)."""
        for m, value in values.items():
            bank = self.bank(m)
            bank.assign(tf.cast(np.asarray(value, np.float32), bank.dtype))

    def fill_banks(self, ordered_triplets: tf.data.Dataset) -> None:
        """F, H, G ← the networks' outputs on every training triplet (inference mode).

        Before training (with all-zero banks Θ = 0 and the likelihoods would
        give no gradient in the first epoch; the paper's alternating scheme
        starts from the networks' initial outputs), every
        ``--bank_refresh_every`` epochs, and once at the end so that the W of
        the SVM and the export is solved from the same kind of features it is
        applied to (docs: "Training"). ``ordered_triplets`` must yield the
        training triplets in bank order.
        """
        parts = {m: [] for m in self.modalities}
        indices, labels = [], []
        for batch in ordered_triplets:
            out = self(batch, training=False)
            for m in parts:
                parts[m].append(out[m].numpy())
            indices.append(batch["index"].numpy())
            labels.append(batch["label"].numpy())
        n = len(self.train_labels)
        if not np.array_equal(np.concatenate(indices), np.arange(n)):
            raise ValueError("fill_banks: the triplets must come in bank "
                             "order, with index 0..n-1")
        if not np.array_equal(np.concatenate(labels), self.train_labels):
            raise ValueError("fill_banks: the triplets' labels differ from the "
                             "model's train_labels (bank rows would be "
                             "mislabelled)")
        self.set_banks({m: np.concatenate(v) for m, v in parts.items()})

    def set_moments(self, modality: str, moments: "standardize.Moments") -> None:
        mean, std = self.moments_of(modality)
        mean.assign(np.asarray(moments.mean, np.float32))
        std.assign(np.asarray(moments.std, np.float32))

    def moment_values(self, modality: str) -> "standardize.Moments":
        mean, std = self.moments_of(modality)
        return standardize.Moments(mean.numpy(), std.numpy())


def _global_count(local_count: tf.Tensor) -> tf.Tensor:
    """Number of rows in the global batch, as float32 (sums over replicas)."""
    count = tf.cast(local_count, tf.float32)
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        count = ctx.all_reduce(tf.distribute.ReduceOp.SUM, count)
    return count


def solve_w(model: Divafn, semantics: np.ndarray, beta: float, lam: float,
            method: str, standardize_features: bool) -> dict[str, float]:
    """W_F, W_H, W_G, W_E from the banks (eqs. 18-24), on standardised banks.

    The moments μ, σ of each modality are set from the same banks first
    (``standardize.py``; identity with ``standardize_features=False``).
    ``semantics`` is the paper's S, k × n. Returns each solve's relative
    residual ‖AW + WB − C‖/‖C‖ by W name.
    """
    banks = model.bank_values()
    for m, bank in banks.items():
        model.set_moments(m, standardize.moments_of(bank, standardize_features))
    scaled = {m: model.moment_values(m).apply(bank) for m, bank in banks.items()}
    scaled["e"] = np.concatenate([scaled["h"], scaled["g"]], axis=1)
    residuals = {}
    for name, x in scaled.items():
        solution = sylvester.solve_autoencoder_w(semantics, x.T, beta, lam,
                                                 method)
        model.w_of(name).assign(solution.w.astype(np.float32))
        residuals[f"w_{name}"] = solution.relative_residual
    return residuals
