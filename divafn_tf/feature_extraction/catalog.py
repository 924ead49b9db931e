"""The names and sizes of the feature kinds, without loading TensorFlow (the
features command's flags and ``--check`` need them; `kinds` builds them)."""
from __future__ import annotations

FRAME_BACKBONES = {"efficientnet_lite0": 1280,
                   "resnet50": 2048, "mobilenet_v2": 1280}
FRAME_INPUT_SIZE = 224
DEFAULT_NUM_FRAMES = 8
C3D_DIM, IDT_DIM = 4096, 2000
KINDS = (*(f"frames_{b}" for b in FRAME_BACKBONES), "c3d", "idt")
# improved_trajectory writes to stdout: any of these names (longest first).
TRAJECTORY_EXTENSIONS = (".features.gz", ".txt.gz", ".features", ".txt",
                         ".gz")


def dimension(kind: str, codebook_size: int = IDT_DIM) -> int:
    """The length of a ``kind`` feature (an idt feature: the codebook's)."""
    if kind.startswith("frames_"):
        return FRAME_BACKBONES[kind.removeprefix("frames_")]
    return {"c3d": C3D_DIM, "idt": codebook_size}[kind]
