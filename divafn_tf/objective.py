"""The terms of the DIVAFN objective J (paper eq. 14, docs/design.md §3), per batch row.

Row convention: a batch of B samples is a [B, d] tensor (the paper's columns
F_*i are our rows). Banks are [n, d]. Nothing here builds an n × n matrix:
every likelihood is a [B, n] block of Θ.

Sign note (docs/design.md): the paper prints ``(M − 1)Θ`` in eqs. (4)-(6) and
(15)-(17). The likelihood p(M | Θ) = σ(Θ)^M (1 − σ(Θ))^(1−M) gives

    NLL(Θ, M) = Σ_ij softplus(Θ_ij) − M_ij Θ_ij,      ∂NLL/∂Θ = σ(Θ) − M,

which is what we compute (softplus is the numerically stable log(1 + e^Θ)).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from divafn_tf.config import RunConfig


@dataclasses.dataclass(frozen=True)
class ObjectiveWeights:
    """The weighting coefficients of eq. (14); defaults are RunConfig's (the
    paper's best)."""

    a: float = RunConfig.a
    b: float = RunConfig.b
    c: float = RunConfig.c
    beta: float = RunConfig.beta
    lam: float = RunConfig.lam


def pairwise_nll(batch: tf.Tensor, bank: tf.Tensor, batch_labels: tf.Tensor,
                 bank_labels: tf.Tensor) -> tf.Tensor:
    """Per-row NLL of one similarity block (eqs. 4-6, corrected sign).

    Θ = ½ · batch · bankᵀ ([B, n]), M_ij = 1 iff the labels match. Returns
    [B]: Σ_j softplus(Θ_ij) − M_ij Θ_ij. Its gradient with respect to row i
    of ``batch`` is ½ Σ_j (σ(Θ_ij) − M_ij) bank_j (eqs. 15-17, sign fixed).

    A bfloat16 ``bank`` (``--bank_dtype=bfloat16``) makes the product, and
    the product of the gradient, bfloat16 (float32 accumulation); Θ, the
    softplus and the sums stay float32.
    """
    theta = 0.5 * tf.cast(tf.matmul(tf.cast(batch, bank.dtype), bank,
                                    transpose_b=True), batch.dtype)
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


def class_prior_nll(labels: np.ndarray) -> float:
    """The per-row NLL of a likelihood term that knows only the class sizes.

    Row i (class c, n_c of the n training triplets) predicts every pair with
    the same probability p_c = n_c / n of being similar, the best constant
    Θ for that row; its NLL is n · H(p_c), H the binary entropy in nats. The
    mean over rows is the level a trained likelihood must get below: at it,
    the networks have learnt nothing about which pairs share a class.
    """
    labels = np.asarray(labels)
    n = len(labels)
    counts = np.bincount(labels)[labels].astype(np.float64)
    p = counts / n
    entropy = -(p * np.log(p) + np.where(p < 1, (1 - p) * np.log1p(-p), 0.0))
    return float(np.mean(n * entropy))


def batch_objective(f: tf.Tensor | None, h: tf.Tensor, g: tf.Tensor,
                    labels: tf.Tensor, semantics: tf.Tensor,
                    banks: tuple[tf.Tensor | None, tf.Tensor, tf.Tensor],
                    bank_labels: tf.Tensor,
                    w: tuple[tf.Tensor | None, tf.Tensor, tf.Tensor, tf.Tensor],
                    weights: ObjectiveWeights,
                    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """The per-row surrogate whose gradients are eqs. (15)-(17), and J's terms.

    ``f, h, g``: the batch's image, keyframe and video outputs [B, d];
    ``banks`` = (F, H, G) [n, d] held fixed; ``w`` = (W_F, W_H, W_G, W_E).
    Row i of the surrogate is

        a (NLL(f_i, G) + NLL(F, g_i)) + b (NLL(f_i, H) + NLL(F, h_i))
        + c (NLL(h_i, G) + NLL(H, g_i)) + AE_F + AE_H + AE_G + AE_E.

    Its gradient with respect to f_i is eq. (15) (sign fixed). With respect
    to h_i and g_i it is eqs. (16) and (17) *plus* the gradient of AE_E
    through E's rows [h_i; g_i]: the paper's eqs. (16)-(17) leave that term
    out although AE_E is part of J (eq. 14). ``tests/test_objective.py``
    checks all three against these closed forms.

    ``f`` (and F, W_F) None: the network without images
    (``--noimages``): the two likelihoods with images and AE_F are absent.

    The returned terms are per-row estimates of J/n: each NLL is the mean of
    its two one-sided blocks, and "J" combines them with a, b, c as in
    eq. (14).
    """
    bank_f, bank_h, bank_g = banks
    w_f, w_h, w_g, w_e = w

    def nll(batch, bank):
        return pairwise_nll(batch, bank, labels, bank_labels)

    def ae(x, w_x):
        return autoencoder_loss(x, semantics, w_x, weights.beta, weights.lam)

    nll3 = nll(h, bank_g) + nll(g, bank_h)      # Θ3 = ½ HᵀG
    terms = {
        "nll_keyframe_video": nll3 / 2,
        "ae_h": ae(h, w_h), "ae_g": ae(g, w_g),
        "ae_e": ae(tf.concat([h, g], axis=1), w_e),
    }
    surrogate = weights.c * nll3
    j = weights.c * terms["nll_keyframe_video"]
    if f is not None:
        nll1 = nll(f, bank_g) + nll(g, bank_f)  # Θ1 = ½ FᵀG, both sides
        nll2 = nll(f, bank_h) + nll(h, bank_f)  # Θ2 = ½ FᵀH
        terms.update(nll_image_video=nll1 / 2, nll_image_keyframe=nll2 / 2,
                     ae_f=ae(f, w_f))
        surrogate += weights.a * nll1 + weights.b * nll2 + terms["ae_f"]
        j += (weights.a * terms["nll_image_video"]
              + weights.b * terms["nll_image_keyframe"] + terms["ae_f"])
    autoencoders = terms["ae_h"] + terms["ae_g"] + terms["ae_e"]
    terms["J"] = j + autoencoders
    return surrogate + autoencoders, terms
