"""The terms of the DIVAFN objective J (paper eq. 14, DESIGN.md §3), per batch row.

Row convention: a batch of B samples is a [B, d] tensor (the paper's columns
F_*i are our rows). Banks are [n, d]. Nothing here builds an n × n matrix:
every likelihood is a [B, n] block of Θ.

Sign note (DESIGN.md): the paper prints ``(M − 1)Θ`` in eqs. (4)-(6) and
(15)-(17). The likelihood p(M | Θ) = σ(Θ)^M (1 − σ(Θ))^(1−M) gives

    NLL(Θ, M) = Σ_ij softplus(Θ_ij) − M_ij Θ_ij,      ∂NLL/∂Θ = σ(Θ) − M,

which is what we compute (softplus is the numerically stable log(1 + e^Θ)).
"""
from __future__ import annotations

import tensorflow as tf


def pairwise_nll(batch: tf.Tensor, bank: tf.Tensor, batch_labels: tf.Tensor,
                 bank_labels: tf.Tensor) -> tf.Tensor:
    """Per-row NLL of one similarity block (eqs. 4-6, corrected sign).

    Θ = ½ · batch · bankᵀ ([B, n]), M_ij = 1 iff the labels match. Returns
    [B]: Σ_j softplus(Θ_ij) − M_ij Θ_ij. Its gradient with respect to row i
    of ``batch`` is ½ Σ_j (σ(Θ_ij) − M_ij) bank_j (eqs. 15-17, sign fixed).
    """
    theta = 0.5 * tf.matmul(batch, bank, transpose_b=True)
    similar = tf.cast(tf.equal(batch_labels[:, None], bank_labels[None, :]),
                      theta.dtype)
    return tf.reduce_sum(tf.nn.softplus(theta) - similar * theta, axis=1)


def autoencoder_loss(features: tf.Tensor, semantics: tf.Tensor, w: tf.Tensor,
                     beta: float, lam: float) -> tf.Tensor:
    """Per-row tied-weight semantic autoencoder loss (eqs. 10-13).

    β ‖x − Wᵀ s‖² + λ ‖W x − s‖² for each row x of ``features`` [B, dim] and
    its class's semantic vector s (row of ``semantics`` [B, k]); W is [k, dim].
    Returns [B].
    """
    decoded = tf.matmul(semantics, w)                    # (Wᵀ s)ᵀ, [B, dim]
    encoded = tf.matmul(features, w, transpose_b=True)   # (W x)ᵀ,  [B, k]
    return (beta * tf.reduce_sum(tf.square(features - decoded), axis=1)
            + lam * tf.reduce_sum(tf.square(encoded - semantics), axis=1))
