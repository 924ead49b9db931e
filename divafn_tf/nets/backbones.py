"""keras.applications backbones for the image and keyframe networks.

``resnet50`` and ``mobilenet_v2``: ``keras.applications`` without their
classifier, with global average pooling (`networks.build_image_network` adds
fc8 = d). The weights are a local Keras weight file of the notop model
(``.weights.h5``, legacy ``.h5`` or ``.keras``): nothing is downloaded.
Each has its own preprocessing inside the model (uint8 RGB in): ResNet50
"caffe" (RGB→BGR, ImageNet mean subtracted), MobileNetV2 "tf"
(x / 127.5 − 1).
"""
from __future__ import annotations

import keras

from divafn_tf.errors import UserInputError

APPLICATIONS = {
    "resnet50": (keras.applications.ResNet50, "caffe"),
    "mobilenet_v2": (keras.applications.MobileNetV2, "tf"),
}
MIN_IMAGE_SIZE = 32
WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".keras")


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


def application_features(inputs: keras.KerasTensor, backbone: str,
                         weights: str | None, name: str) -> keras.KerasTensor:
    """The pooled feature of ``backbone`` (a key of `APPLICATIONS`) on uint8
    pixels [S, S, 3]; the backbone is the nested model ``<name>_backbone``,
    its weights loaded from ``weights`` if given."""
    constructor, mode = APPLICATIONS[backbone]
    size = inputs.shape[1]
    base = constructor(include_top=False, weights=None, pooling="avg",
                       input_shape=(size, size, 3), name=f"{name}_backbone")
    if weights is not None:
        try:
            base.load_weights(weights)
        except (ValueError, OSError, KeyError) as e:
            raise UserInputError(
                f"--image_weights={weights}: cannot load it into "
                f"{backbone} without its classifier (include_top="
                f"False, the '_notop' weights): {e}") from e
    x = BackbonePreprocessing(mode, name=f"{name}_preprocess")(inputs)
    return base(x)
