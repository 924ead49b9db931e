"""Locality-constrained Linear Coding of a video's IDT descriptors (§IV.B).

The paper: "For Improved Dense Trajectories (IDT) feature, we adopt the
Locality-constrained Linear Coding (LLC) scheme to represent the IDTs by 5
local bases, and the codebook size is set to be 2000. To reduce the
complexity when constructing the codebook, only 200 IDTs are randomly
selected from each video." The pieces, in the order a pipeline calls them:

1. `sample_for_codebook`: 200 random trajectories per training video (all of
   a video that has fewer), seeded by the seed and the video id.
2. `train_codebook`: k-means with 2000 centres on the sample, scikit-learn's
   ``MiniBatchKMeans`` (one initialisation, `codebook_kmeans`). Lloyd's
   ``KMeans`` runs k-means++ over all the ~2.7M × 426 samples of UCF101
   (2000 sequential rounds of ~9 candidate distance passes: hours on 2
   cores) and a full pass per iteration; the mini-batch version runs
   k-means++ on 6,000 samples and then 5 passes in batches of 4096
   (``benchmarks/bench_llc.py`` measures both).
3. `save_codebook` / `load_codebook`: the codebook as a ``.npy`` [M, D],
   written atomically, read without pickle.
4. `llc_encode`: each descriptor coded on its k = 5 nearest bases by the
   approximated LLC of Wang et al. 2010 ("Locality-constrained Linear Coding
   for Image Classification", CVPR, §3 and their ``LLC_coding_appr.m``):
   C = (B_i − 1xᵀ)(B_i − 1xᵀ)ᵀ, C ← C + β·trace(C)·I (β = 1e-4, their
   default), w = C⁻¹1, w ← w / 1ᵀw; i.e. the minimiser of
   ‖x − B_iᵀw‖² + β·trace(C)·‖w‖² subject to 1ᵀw = 1. The codes (zero off
   the k bases) are max-pooled over the video's descriptors per codebook
   entry, then L2-normalised: one M-d feature per video (2000-d).

A video without trajectories (or one whose pooled code is all zero) gets the
zero vector: nothing was observed, so no codebook entry is active.
"""
from __future__ import annotations

import os
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from absl import logging

from divafn_tf.errors import UserInputError
from divafn_tf.prep.video_features import read_npy

CODEBOOK_SIZE = 2000     # §IV.B
PER_VIDEO = 200          # §IV.B
NEAREST_BASES = 5        # §IV.B
BETA = 1e-4              # LLC_coding_appr.m's default
KMEANS_BATCH = 4096
KMEANS_PASSES = 5
# Rows of descriptors coded at once: bounds the [rows, M] distance block.
_CHUNK_ELEMENTS = 1 << 23


def _video_rng(seed: int, video_id: str) -> np.random.Generator:
    """The sampling generator of one video: the seed and the video id, so a
    video's sample does not depend on the order of the videos."""
    return np.random.default_rng([seed, zlib.crc32(video_id.encode("utf-8"))])


def sample_for_codebook(
        videos: Iterable[np.ndarray] | Iterable[tuple[str, np.ndarray]],
        per_video: int = PER_VIDEO, seed: int = 0) -> np.ndarray:
    """Up to ``per_video`` random descriptors of each video, for the codebook.

    Args:
      videos: the training videos' descriptor arrays [n_i, D] (e.g. of
        `divafn_tf.prep.idt.read_trajectories`), or (video id, array) pairs,
        read one at a time (a generator keeps one video in memory).
      per_video: descriptors drawn per video without replacement (all of a
        video with fewer), 200 as §IV.B.
      seed: with the video id (its position for bare arrays) seeds each
        video's draw: the same seed and ids give the same sample.

    Returns:
      float32 [N, D], N = Σ min(n_i, per_video), the videos' rows in order.

    Raises:
      UserInputError: videos of different D, or no descriptor at all.
    """
    samples, dim = [], None
    for index, item in enumerate(videos):
        video_id, array = item if isinstance(item, tuple) else (str(index), item)
        array = np.asarray(array)
        if array.ndim != 2 or (dim is not None and array.shape[1] != dim):
            raise UserInputError(
                f"video {video_id}: descriptors of shape {array.shape}, "
                f"expected [n, {dim if dim is not None else 'D'}] like the "
                f"videos before it")
        dim = array.shape[1]
        if array.shape[0] > per_video:
            rows = _video_rng(seed, str(video_id)).choice(
                array.shape[0], size=per_video, replace=False)
            array = array[np.sort(rows)]
        samples.append(array.astype(np.float32))
    if not samples or not sum(len(s) for s in samples):
        raise UserInputError("no training video has a descriptor: nothing to "
                             "build the codebook from")
    return np.concatenate(samples)


def codebook_kmeans(size: int = CODEBOOK_SIZE, seed: int = 0):
    """The unfitted k-means estimator of `train_codebook`.

    scikit-learn's ``MiniBatchKMeans``: one k-means++ initialisation on
    3 × ``size`` random samples (scikit-learn's minimum; at 2000 centres a
    fixed 14 s on a quiet 2-core machine), then ``KMEANS_PASSES`` passes
    over the samples in batches of 4096. scikit-learn's early stop (10
    batches without improvement of the smoothed inertia) is off: with 2000
    centres it stopped after 16 batches, a third of a pass over 200,000
    samples (benchmarks/RESULTS.md, bench_llc). Seeded.
    """
    # Imported here: coding (llc_encode) does not need scikit-learn.
    from sklearn.cluster import MiniBatchKMeans
    return MiniBatchKMeans(n_clusters=size, batch_size=KMEANS_BATCH, n_init=1,
                           init_size=3 * size, max_iter=KMEANS_PASSES,
                           max_no_improvement=None, random_state=seed,
                           compute_labels=False)


def train_codebook(samples: np.ndarray, size: int = CODEBOOK_SIZE,
                   seed: int = 0) -> np.ndarray:
    """The codebook: ``size`` k-means centres of ``samples``, float32 [size, D]
    (`codebook_kmeans`; the module docstring says why mini-batches).

    Raises:
      UserInputError: fewer samples than centres, or samples that are not a
        finite [N, D] matrix.
    """
    samples = np.asarray(samples, np.float32)
    if samples.ndim != 2 or not np.isfinite(samples).all():
        raise UserInputError(f"codebook samples of shape {samples.shape}: "
                             "expected a finite matrix [N, D]")
    if samples.shape[0] < size:
        raise UserInputError(
            f"a codebook of {size} centres needs at least {size} sampled "
            f"descriptors, got {samples.shape[0]}: use more training videos "
            f"or a smaller codebook")
    kmeans = codebook_kmeans(size, seed).fit(samples)
    logging.info("codebook: %d k-means centres of %d × %d descriptors, %d "
                 "mini-batch steps", size, *samples.shape, kmeans.n_steps_)
    return kmeans.cluster_centers_.astype(np.float32)


def expected_codebook(dim: int | None = None) -> str:
    """What a codebook file must hold, as errors say it."""
    return (f"expected a finite float matrix [M, {dim if dim else 'D'}] "
            f"(codebook entries × descriptor dimension)")


def _check_codebook(codebook: np.ndarray, dim: int | None, where: str) -> np.ndarray:
    """``codebook`` as float32 [M, D] after the checks; errors start with
    ``where``."""
    expected = expected_codebook(dim)
    if not np.issubdtype(codebook.dtype, np.floating):
        raise UserInputError(f"{where}: {expected}; it has dtype {codebook.dtype}")
    if (codebook.ndim != 2 or not codebook.shape[0]
            or (dim is not None and codebook.shape[1] != dim)):
        raise UserInputError(f"{where}: {expected}; it has shape {codebook.shape}")
    codebook = codebook.astype(np.float32)
    if not np.isfinite(codebook).all():
        raise UserInputError(f"{where}: {expected}; it has non-finite values")
    return codebook


def save_codebook(path: str | Path, codebook: np.ndarray) -> Path:
    """Writes ``codebook`` [M, D] as float32 ``.npy`` at ``path``, atomically
    (a temporary file beside it, then renamed): a killed run leaves the old
    file or none, never half of one. Returns the path."""
    path = Path(path)
    codebook = _check_codebook(np.asarray(codebook), None, f"codebook for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, codebook, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def load_codebook(path: str | Path, dim: int | None = None) -> np.ndarray:
    """Reads a codebook ``.npy`` (`save_codebook`): float32 [M, D].

    Args:
      path: the file.
      dim: the descriptor dimension D it must have (None: any).

    Raises:
      UserInputError: a missing file, one ``np.load(allow_pickle=False)``
        refuses, or not a finite float matrix [M, dim]; the message names
        the file and the expected shape.
    """
    path = Path(path)
    expected = expected_codebook(dim)
    if not path.is_file():
        raise UserInputError(f"{path}: no such codebook file; {expected}")
    try:
        array = read_npy(path)
    except (OSError, ValueError) as e:
        raise UserInputError(f"{path}: cannot read a .npy array without "
                             f"pickle ({e}); {expected}") from e
    if not isinstance(array, np.ndarray):
        raise UserInputError(f"{path}: not a single .npy array; {expected}")
    return _check_codebook(array, dim, str(path))


def _check_coding_inputs(descriptors: np.ndarray, codebook: np.ndarray,
                         k: int, beta: float) -> None:
    """Shapes and parameters of `llc_coefficients`."""
    if descriptors.ndim != 2 or codebook.ndim != 2:
        raise ValueError(f"descriptors {descriptors.shape} and codebook "
                         f"{codebook.shape} must be matrices")
    if descriptors.shape[1] != codebook.shape[1]:
        raise UserInputError(
            f"descriptors of dimension {descriptors.shape[1]} and a codebook "
            f"of dimension {codebook.shape[1]}: expected the same (a codebook "
            f"of other descriptor parts?)")
    if not 1 <= k <= codebook.shape[0]:
        raise UserInputError(f"{k} nearest bases: expected 1 to the codebook's "
                             f"{codebook.shape[0]} entries")
    if not beta > 0:
        raise UserInputError(f"LLC regularisation beta = {beta}: expected > 0")


def llc_coefficients(descriptors: np.ndarray, codebook: np.ndarray,
                     k: int = NEAREST_BASES, beta: float = BETA
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The approximated LLC code of each descriptor (Wang et al. 2010, §3).

    Args:
      descriptors: [n, D] (one chunk: all of it is coded at once).
      codebook: [M, D].
      k: nearest bases per descriptor (Euclidean distance).
      beta: the regularisation, C ← C + beta·trace(C)·I.

    Returns:
      (bases int [n, k], weights float64 [n, k]): descriptor i's code is
      weights[i] on codebook rows bases[i] and zero elsewhere; each row of
      weights sums to 1. A descriptor equal to all its k bases (C = 0) gets
      the limit of the regularised solution, equal weights 1/k.
    """
    x = np.asarray(descriptors, np.float32)
    bases = np.asarray(codebook, np.float32)
    _check_coding_inputs(x, bases, k, beta)
    # ‖x − b‖² = ‖x‖² − 2x·b + ‖b‖²; ‖x‖² does not change the ranking.
    scores = np.einsum("md,md->m", bases, bases)[None, :] - 2.0 * (x @ bases.T)
    nearest = np.argpartition(scores, k - 1, axis=1)[:, :k]
    z = bases.astype(np.float64)[nearest] - x.astype(np.float64)[:, None, :]
    c = z @ z.transpose(0, 2, 1)                                   # [n, k, k]
    reg = beta * np.einsum("nii->n", c)
    reg[reg == 0] = 1.0
    c += reg[:, None, None] * np.eye(k)
    w = np.linalg.solve(c, np.ones((len(x), k, 1)))[..., 0]
    return nearest, w / w.sum(axis=1, keepdims=True)


def llc_encode(descriptors: np.ndarray, codebook: np.ndarray,
               k: int = NEAREST_BASES, beta: float = BETA) -> np.ndarray:
    """One video's LLC feature: float32 [M] (§IV.B; Wang et al. 2010).

    Every descriptor is coded on its ``k`` nearest codebook entries
    (`llc_coefficients`), the codes (zero off those entries) are max-pooled
    per entry over the video's descriptors, and the pooled vector is
    L2-normalised. Descriptors are coded in chunks, so memory stays at a
    [chunk, M] block whatever n is.

    Args:
      descriptors: [n, D], e.g. `divafn_tf.prep.idt.read_trajectories`;
        n = 0 is allowed.
      codebook: [M, D] (`train_codebook`, `load_codebook`).
      k: nearest bases, 5 as §IV.B.
      beta: LLC's regularisation, 1e-4 as ``LLC_coding_appr.m``.

    Returns:
      The L2-normalised max-pooled code; zeros for a video without
      descriptors (or a pooled code of zero norm).
    """
    descriptors = np.asarray(descriptors, np.float32)
    codebook = np.asarray(codebook, np.float32)
    _check_coding_inputs(descriptors, codebook, k, beta)
    size = codebook.shape[0]
    if not len(descriptors):
        return np.zeros(size, np.float32)
    pooled = np.full(size, -np.inf, np.float32)
    chunk = max(1, _CHUNK_ELEMENTS // size)
    for start in range(0, len(descriptors), chunk):
        nearest, w = llc_coefficients(descriptors[start:start + chunk],
                                      codebook, k, beta)
        codes = np.zeros((len(w), size), np.float32)
        np.put_along_axis(codes, nearest, w.astype(np.float32), axis=1)
        pooled = np.maximum(pooled, codes.max(axis=0))
    norm = np.linalg.norm(pooled)
    return pooled / norm if norm > 0 else np.zeros(size, np.float32)
