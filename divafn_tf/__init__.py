"""DIVAFN: Deep Image-to-Video Adaptation and Fusion Networks (TF/Keras)."""
from divafn_tf import quiet as _quiet

# Before any module of the package imports TensorFlow: its C++ log off unless
# the command line asks for --verbosity ≥ 1 (quiet.py; README, "What a run prints").
_quiet.before_tensorflow()
