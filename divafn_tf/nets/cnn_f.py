"""CNN-F (Chatfield et al., 2014), the paper's image and keyframe network, up to fc7.

docs/design.md §3 and the paper's Figs. 1-3. MatConvNet's ``imagenet-vgg-f``::

      conv1 64×11×11 stride 4 → ReLU → LRN → max-pool 3×3/2 (padded bottom/right)
      conv2 256×5×5 pad 2     → ReLU → LRN → max-pool 3×3/2
      conv3, conv4, conv5 256×3×3 pad 1, ReLU      → max-pool 3×3/2
      fc6 4096 ReLU dropout → fc7 4096 ReLU dropout → (fc8 d, identity)

LRN is AlexNet's (depth radius 2, bias 2, α = 1e-4, β = 0.75). fc6 is a
dense layer on the flattened pool5 map (at 224×224 that map is 6×6, so this
equals MatConvNet's 6×6 convolution). The smallest input that fits is 63×63.
``width`` scales the convolution channels and ``fc_units`` the fc6/fc7 width,
so the embedded demo runs on a laptop CPU; the defaults are the paper's.

The network takes uint8 RGB pixels and normalises them inside the model
((x − mean) · pixel_scale), so a SavedModel serves raw frames. ImageNet
CNN-F weights expect MatConvNet's 0..255 range (pixel_scale = 1); networks
trained from random initialisation default to pixel_scale = 1/255, since
He-initialised layers on 0..255 inputs give Θ = ½ fᵀg of order 1e6 and
plain SGD at the paper's learning rate diverges.

This module holds CNN-F's pieces; `networks.build_image_network` assembles
the network (fc8, ImageNet weights from ``matconvnet.py``, trainable layers).
"""
from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from divafn_tf.config import RunConfig

# ImageNet RGB channel means in 0..255 (MatConvNet's imagenet-vgg-f normalisation).
IMAGENET_RGB_MEAN = (123.68, 116.779, 103.939)
MIN_CNN_F_INPUT = 63


@dataclasses.dataclass(frozen=True)
class CnnFConfig:
    """Shape of a CNN-F. Defaults are RunConfig's (flags --image_size,
    --cnn_width, --fc_units, --d, --dropout: the paper's, docs/design.md §3)."""

    image_size: int = RunConfig.image_size
    width: float = RunConfig.cnn_width
    fc_units: int = RunConfig.fc_units
    output_dim: int = RunConfig.d
    dropout: float = RunConfig.dropout
    pixel_scale: float = 1.0 / 255.0

    def channels(self) -> tuple[int, int, int, int, int]:
        scale = lambda c: max(1, int(round(c * self.width)))  # noqa: E731
        return (scale(64), scale(256), scale(256), scale(256), scale(256))


class LocalResponseNormalization(keras.layers.Layer):
    """CNN-F's cross-channel LRN: x / (bias + alpha * sum_window x^2) ** beta.

    The window spans 2 * depth_radius + 1 = 5 channels; the defaults are the
    values of MatConvNet's imagenet-vgg-f (docs/design.md §3).
    """

    def __init__(self, depth_radius: int = 2, bias: float = 2.0,
                 alpha: float = 1e-4, beta: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius = depth_radius
        self.bias = bias
        self.alpha = alpha
        self.beta = beta

    def call(self, inputs):
        return tf.nn.local_response_normalization(
            inputs, depth_radius=self.depth_radius, bias=self.bias,
            alpha=self.alpha, beta=self.beta)

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius,
                "bias": self.bias, "alpha": self.alpha, "beta": self.beta}


class NormalizePixels(keras.layers.Layer):
    """uint8 RGB pixels → (float32 pixels − mean) · scale (mean per channel or full image)."""

    def __init__(self, mean=IMAGENET_RGB_MEAN, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.mean_value = np.asarray(mean, dtype=np.float32)
        self.scale = float(scale)

    def build(self, input_shape):
        self.mean = self.add_weight(
            name="mean", shape=self.mean_value.shape, trainable=False,
            initializer=keras.initializers.Constant(self.mean_value))

    def call(self, inputs):
        return (tf.cast(inputs, tf.float32) - self.mean) * self.scale

    def get_config(self):
        return {**super().get_config(), "mean": self.mean_value.tolist(),
                "scale": self.scale}


def cnn_f_features(inputs: keras.KerasTensor, config: CnnFConfig, name: str,
                   pixel_mean: np.ndarray | None = None) -> keras.KerasTensor:
    """CNN-F from uint8 pixels [S, S, 3] to fc7 (after its dropout).

    ``pixel_mean`` (0..255 RGB, [3] or [S, S, 3]; default the ImageNet channel
    means) is subtracted from the pixels before ``config.pixel_scale``. The
    layers are named ``<name>_conv1`` ... ``<name>_fc7``; fc8 is added by
    `networks.build_image_network`.
    """
    if config.image_size < MIN_CNN_F_INPUT:
        raise ValueError(
            f"image_size={config.image_size} is too small for CNN-F: its "
            f"stride-4 conv1 and three 3×3/2 poolings need at least "
            f"{MIN_CNN_F_INPUT} pixels")
    c1, c2, c3, c4, c5 = config.channels()
    he = keras.initializers.HeNormal
    layers = keras.layers
    mean = IMAGENET_RGB_MEAN if pixel_mean is None else pixel_mean
    x = NormalizePixels(mean=mean, scale=config.pixel_scale,
                        name=f"{name}_normalize")(inputs)
    x = layers.Conv2D(c1, 11, strides=4, activation="relu",
                      kernel_initializer=he(), name=f"{name}_conv1")(x)
    x = LocalResponseNormalization(name=f"{name}_norm1")(x)
    # MatConvNet pads pool1 by one pixel at the bottom and right. Inputs are
    # ReLU/LRN outputs (≥ 0), so zero padding equals -inf padding here.
    x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{name}_pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool1")(x)
    x = layers.Conv2D(c2, 5, padding="same", activation="relu",
                      kernel_initializer=he(), name=f"{name}_conv2")(x)
    x = LocalResponseNormalization(name=f"{name}_norm2")(x)
    x = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool2")(x)
    for i, channels in ((3, c3), (4, c4), (5, c5)):
        x = layers.Conv2D(channels, 3, padding="same", activation="relu",
                          kernel_initializer=he(), name=f"{name}_conv{i}")(x)
    x = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool5")(x)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    for i in (6, 7):
        x = layers.Dense(config.fc_units, activation="relu",
                         kernel_initializer=he(), name=f"{name}_fc{i}")(x)
        x = layers.Dropout(config.dropout, name=f"{name}_drop{i}")(x)
    return x
