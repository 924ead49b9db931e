"""keras.applications backbones for the image and keyframe networks.

``resnet50`` and ``mobilenet_v2``: ``keras.applications`` without their
classifier, with global average pooling (`networks.build_image_network` adds
fc8 = d). The weights are a local Keras weight file of the notop model
(``.weights.h5``, legacy ``.h5`` or ``.keras``), or ``imagenet``: Keras's
own ImageNet file (`imagenet_weights`), taken from Keras's cache
(``$KERAS_HOME/models/``, by default ``~/.keras/models/``) or downloaded
into it by ``keras.utils.get_file`` as ``weights="imagenet"`` does.
Each has its own preprocessing inside the model (uint8 RGB in): ResNet50
"caffe" (RGB→BGR, ImageNet mean subtracted), MobileNetV2 "tf"
(x / 127.5 − 1).
"""
from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator

import keras

from divafn_tf.errors import UserInputError, one_line

APPLICATIONS = {
    "resnet50": (keras.applications.ResNet50, "caffe"),
    "mobilenet_v2": (keras.applications.MobileNetV2, "tf"),
}
MIN_IMAGE_SIZE = 32
WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".keras")
IMAGENET = "imagenet"   # --image_weights=imagenet: Keras's cached download
# Where keras.applications downloads its notop ImageNet weights from
# (keras/src/applications/resnet.py and mobilenet_v2.py), and the md5 Keras
# checks after a download (none for MobileNetV2).
KERAS_WEIGHTS_URL = {
    "resnet50": "https://storage.googleapis.com/tensorflow/keras-applications/resnet/",
    "mobilenet_v2": "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/",
}
KERAS_WEIGHTS_MD5 = {"resnet50": "4d473c1dd8becc155b73f8504c6f6626",
                     "mobilenet_v2": None}
DOWNLOAD_TIMEOUT_S = 60   # per socket operation: an offline machine fails, never hangs
# The input sizes MobileNetV2 has ImageNet weights for (224 otherwise, as Keras).
_MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)


class BackbonePreprocessing(keras.layers.Layer):
    """uint8 RGB → the input a keras.applications backbone was trained on.

    ``caffe``: RGB→BGR, minus the ImageNet BGR mean (ResNet50).
    ``tf``: x / 127.5 − 1 (MobileNetV2).
    """

    _BGR_MEAN = (103.939, 116.779, 123.68)

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("caffe", "tf"):
            raise ValueError(f"unknown preprocessing mode {mode!r}")
        self.mode = mode

    def call(self, inputs):
        x = keras.ops.cast(inputs, "float32")
        if self.mode == "tf":
            return x / 127.5 - 1.0
        return x[..., ::-1] - keras.ops.convert_to_tensor(self._BGR_MEAN)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def imagenet_weights_file(backbone: str, image_size: int) -> str:
    """The name of the notop ImageNet weight file Keras loads for
    ``backbone`` at ``image_size`` (``weights="imagenet"``)."""
    if backbone == "resnet50":
        return "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    rows = image_size if image_size in _MOBILENET_V2_SIZES else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"


def keras_models_dir() -> str:
    """Keras's cache of application weights: ``$KERAS_HOME/models``, by
    default ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """A default socket timeout while downloading (urlretrieve has none)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def imagenet_weights(backbone: str, image_size: int) -> str:
    """The path of ``backbone``'s notop ImageNet weights in Keras's cache
    (`keras_models_dir`), downloaded there first by ``keras.utils.get_file``
    if absent (md5-checked where Keras checks it). A file already in the
    cache is used as it is, as a file placed there by hand.

    Raises:
      UserInputError: the download failed (e.g. offline); the sentence names
        the file to place in the cache and where it comes from.
    """
    name = imagenet_weights_file(backbone, image_size)
    folder = keras_models_dir()
    path = os.path.join(folder, name)
    if os.path.isfile(path):
        return path
    origin = KERAS_WEIGHTS_URL[backbone] + name
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            return keras.utils.get_file(
                name, origin, cache_subdir="models",
                cache_dir=os.path.dirname(folder),
                file_hash=KERAS_WEIGHTS_MD5[backbone])
    except Exception as e:  # noqa: BLE001  (get_file raises plain Exception)
        raise UserInputError(
            f"--image_weights={IMAGENET}: cannot download {name} for "
            f"{backbone} ({one_line(str(e)) or type(e).__name__}); place that "
            f"file in {folder}/ (it is {origin}), or give --image_weights a "
            f"local weight file") from None


def application_features(inputs: keras.KerasTensor, backbone: str,
                         weights: str | None, name: str) -> keras.KerasTensor:
    """The pooled feature of ``backbone`` (a key of `APPLICATIONS`) on uint8
    pixels [S, S, 3]; the backbone is the nested model ``<name>_backbone``,
    its weights loaded from ``weights`` if given (a file, or `IMAGENET`:
    `imagenet_weights`)."""
    constructor, mode = APPLICATIONS[backbone]
    size = inputs.shape[1]
    path = imagenet_weights(backbone, size) if weights == IMAGENET else weights
    base = constructor(include_top=False, weights=None, pooling="avg",
                       input_shape=(size, size, 3), name=f"{name}_backbone")
    if path is not None:
        try:
            base.load_weights(path)
        except (ValueError, OSError, KeyError) as e:
            cached = (f" ({path}, Keras's cache: delete it to download it "
                      "again)" if weights == IMAGENET else "")
            raise UserInputError(
                f"--image_weights={weights}{cached}: cannot load it into "
                f"{backbone} without its classifier (include_top="
                f"False, the '_notop' weights): {e}") from e
    x = BackbonePreprocessing(mode, name=f"{name}_preprocess")(inputs)
    return base(x)
