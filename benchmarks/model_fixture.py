"""The model the benchmarks time: sized by command-line arguments, built as
the trainer builds it (``divafn_tf.train.build_model``), with random class
vectors and one random batch.
"""
from __future__ import annotations

import argparse
import dataclasses

import numpy as np


def add_model_size_arguments(parser: argparse.ArgumentParser, *,
                             video_hidden: int, cnn_width: float,
                             fc_units: int) -> None:
    """--batch_size, --d, --k, --classes, --video_dim and the network sizes
    (defaults: the paper's d = 4096, k = 300, B→U's 101 classes, C3D 4096),
    and --learning_rate (0: the same SGD ops without divergence)."""
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--d", type=int, default=4096)
    parser.add_argument("--k", type=int, default=300)
    parser.add_argument("--classes", type=int, default=101)
    parser.add_argument("--video_dim", type=int, default=4096)
    parser.add_argument("--video_hidden", type=int, default=video_hidden)
    parser.add_argument("--cnn_width", type=float, default=cnn_width)
    parser.add_argument("--fc_units", type=int, default=fc_units)
    parser.add_argument("--learning_rate", type=float, default=0.0,
                        help="SGD learning rate (0: same ops, no divergence)")


def unit_class_vectors(rng: np.random.Generator, classes: int,
                       k: int) -> np.ndarray:
    """One Gaussian k-dim semantic vector per class, L2-normalised."""
    vectors = rng.standard_normal((classes, k))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build_model_and_batch(args: argparse.Namespace, image_size: int, n: int,
                          rng: np.random.Generator):
    """The compiled model for n training triplets (banks and W still zero),
    its RunConfig, class vectors and labels, and one random batch."""
    import keras
    import tensorflow as tf
    from divafn_tf import train
    from divafn_tf.config import RunConfig

    keras.utils.set_random_seed(args.seed)
    config = dataclasses.replace(
        RunConfig(), image_size=image_size, d=args.d, cnn_width=args.cnn_width,
        fc_units=args.fc_units, video_hidden=args.video_hidden,
        learning_rate=args.learning_rate, batch_size=args.batch_size)
    class_vectors = unit_class_vectors(rng, args.classes, args.k)
    train_labels = np.arange(n) % args.classes
    model = train.build_model(config, class_vectors, train_labels,
                              args.video_dim)
    model.compile(optimizer=train.make_optimizer(config))
    b, s = args.batch_size, image_size
    batch = {
        "image": tf.constant(rng.integers(0, 256, (b, s, s, 3),
                                          dtype=np.uint8)),
        "keyframes": tf.constant(rng.integers(0, 256, (b, 1, s, s, 3),
                                              dtype=np.uint8)),
        "video_feature": tf.constant(np.maximum(
            rng.standard_normal((b, args.video_dim)), 0).astype(np.float32)),
        "label": tf.constant(train_labels[:b].astype(np.int64)),
        "index": tf.constant(rng.permutation(n)[:b].astype(np.int64)),
    }
    return model, config, class_vectors, train_labels, batch
