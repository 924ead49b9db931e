"""RunConfig: every setting of one run, with its default, defined once.

``divafn_tf/cli/flags.py`` turns each field into a flag of the same name (with its
help text there) and takes the default from here.
"""
from __future__ import annotations

import dataclasses

BANK_DTYPES = ("float32", "bfloat16")


@dataclasses.dataclass
class RunConfig:
    """Everything one run depends on (see divafn_tf/cli/flags.py for each field)."""

    dataset: str = "divafn/synthetic"
    data_dir: str | None = None
    manual_dir: str | None = None
    num_keyframes: int = 0
    oov: str = "error"
    class_vectors: str | None = None
    train_ratio: float = 0.1
    image_size: int = 224
    cache: bool = True
    d: int = 4096
    image_backbone: str = "cnn_f"
    image_weights: str | None = None
    train_image_layers: str = "all"
    cnn_width: float = 1.0
    fc_units: int = 4096
    video_hidden: int = 8192
    dropout: float = 0.0
    images: bool = True
    bank_dtype: str = "float32"
    a: float = 0.1
    b: float = 0.1
    c: float = 1.0
    beta: float = 0.1
    lam: float = 0.01
    optimizer: str = "sgd"
    scale_loss_by_n: bool = True
    learning_rate: float = 1e-4
    batch_size: int = 64
    epochs: int = 100
    w_solver: str = "min_norm"
    w_update_every: int = 1
    bank_refresh_every: int = 0
    standardize: bool = True
    frozen_cache: bool = True
    svm_c: float = 1.0
    eval_every: int = 0
    histogram_every: int = 1
    model_dir: str = "runs/divafn"
    checkpoint_every: int = 1
    clip_norm: float = 0.0
    export: bool = True
    strategy: str = "default"
    num_cpu_devices: int = 1
    seed: int = 0
