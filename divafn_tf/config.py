"""RunConfig: every setting of one run, with its default, defined once.

``divafn_tf/cli/flags.py`` turns each field into a flag of the same name (with its
help text there) and takes the default from here; so do the settings objects
of the pieces (``objective.ObjectiveWeights``, ``nets.cnn_f.CnnFConfig``,
``nets.networks.ImageNetworkConfig``). The fields marked ``_state`` shape the
trained state or its data: `STATE_FIELDS`, which a resumed run must keep
(``checkpointing.py``).
"""
from __future__ import annotations

import dataclasses

from divafn_tf.errors import UserInputError

BANK_DTYPES = ("float32", "bfloat16")


def _state(default):
    """A field that shapes the state or the data (in `STATE_FIELDS`)."""
    return dataclasses.field(default=default, metadata={"state": True})


@dataclasses.dataclass
class RunConfig:
    """Everything one run depends on (see divafn_tf/cli/flags.py for each field)."""

    dataset: str = _state("divafn/synthetic")
    data_dir: str | None = None
    manual_dir: str | None = None
    num_keyframes: int = _state(0)
    oov: str = "error"
    class_vectors: str | None = _state(None)
    train_ratio: float = _state(0.1)
    image_size: int = _state(224)
    cache: bool = True
    d: int = _state(4096)
    image_backbone: str = _state("cnn_f")
    image_weights: str | None = None
    train_image_layers: str = _state("all")
    cnn_width: float = _state(1.0)
    fc_units: int = _state(4096)
    video_hidden: int = _state(8192)
    dropout: float = _state(0.0)
    images: bool = _state(True)
    bank_dtype: str = _state("float32")
    a: float = 0.1
    b: float = 0.1
    c: float = 1.0
    beta: float = 0.1
    lam: float = 0.01
    optimizer: str = _state("sgd")
    scale_loss_by_n: bool = _state(True)
    learning_rate: float = 1e-4
    batch_size: int = _state(64)
    epochs: int = 100
    w_solver: str = "min_norm"
    w_update_every: int = 1
    bank_refresh_every: int = _state(0)
    standardize: bool = _state(True)
    frozen_cache: bool = True
    svm_c: float = 1.0
    eval_every: int = 0
    histogram_every: int = 1
    progress_every: int = 0
    model_dir: str = "runs/divafn"
    checkpoint_every: int = 1
    clip_norm: float = 0.0
    export: bool = True
    strategy: str = _state("default")
    num_cpu_devices: int = _state(1)
    seed: int = _state(0)

    def __post_init__(self):
        # The one check of --train_ratio's range; that a pool (no official
        # splits) needs it below 1 is known once the dataset is loaded
        # (``data.split_by_ratio``).
        if not 0.0 < self.train_ratio <= 1.0:
            raise UserInputError(
                f"--train_ratio={self.train_ratio}: expected a share of each "
                "class's videos in (0, 1] (1 only for a dataset with official "
                "train/test splits, such as divafn/b2u_split1_c3d)")


# Settings a resumed run must keep (the fields marked ``_state`` above).
STATE_FIELDS = tuple(field.name for field in dataclasses.fields(RunConfig)
                     if field.metadata.get("state"))
