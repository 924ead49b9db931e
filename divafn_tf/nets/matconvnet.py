"""ImageNet CNN-F weights from MatConvNet's ``imagenet-vgg-f.mat``.

The paper initialises "the first seven layers" of the image and keyframe
networks from CNN-F trained on ImageNet (§IV.B), the MatConvNet model
``imagenet-vgg-f.mat`` (also used by DCMH). This module reads that file with
``scipy.io.loadmat`` (nothing is unpickled or downloaded) and copies conv1-5
and fc6-7 into CNN-F's layers (``cnn_f.py``; `networks.build_image_network`
calls both); fc8 stays new (d outputs).

Layouts accepted (anything else is an error naming the file):

* MatConvNet's simplenn file as distributed: top-level ``layers`` (a cell
  array of structs) with ``meta.normalization`` (or, in older files, a
  top-level ``normalization``);
* the same struct saved as one variable ``net`` (DCMH's copy
  ``DCMH.imagenet-vgg-f.mat``): ``net.layers``, ``net.meta``/``net.normalization``.

Layer parameters: ``weights = {filters, biases}`` (or older ``filters`` /
``biases`` fields), ``stride``, ``pad`` as [top bottom left right]; pooling
``pool``/``stride``/``pad``; LRN ``param = [N kappa alpha beta]``. Every
architectural parameter is checked against CNN-F's (docs/design.md §3) before any
weight is copied.

Kernel layout. MatConvNet arrays are (rows, columns, ...) for images (H x W x C)
and filters alike: ``vl_nnconv`` slides a filter's first dimension along the
image's first dimension (its documentation names the filter dimensions
"FW x FH", but its (FH, FW) are the filter's height and width, applied to the
image's (H, W)). ``scipy.io.loadmat`` keeps MATLAB's index order, so a filter
array is [height, width, in, out], Keras's HWIO: it is copied unchanged.
fc6 is a 6x6 convolution over pool5 in MatConvNet; its [6, 6, 256, 4096]
filter reshaped row-major to [9216, 4096] is the kernel of the Dense layer on
the flattened (H, W, C) pool5 map. Input normalisation subtracts the file's
``averageImage`` (a 224x224x3 mean image in 0..255, or a per-channel mean),
with no scaling, as MatConvNet does.
"""
from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np
import scipy.io

from divafn_tf.errors import UserInputError

CONV_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7")
# CNN-F's architecture (docs/design.md §3), as MatConvNet's simplenn states it.
_CONV_GEOMETRY = {            # name: (kernel size, stride, pad [t b l r])
    "conv1": (11, 4, (0, 0, 0, 0)), "conv2": (5, 1, (2, 2, 2, 2)),
    "conv3": (3, 1, (1, 1, 1, 1)), "conv4": (3, 1, (1, 1, 1, 1)),
    "conv5": (3, 1, (1, 1, 1, 1)), "fc6": (6, 1, (0, 0, 0, 0)),
    "fc7": (1, 1, (0, 0, 0, 0)),
}
_POOL_GEOMETRY = {"pool1": (0, 1, 0, 1), "pool2": (0, 0, 0, 0),
                  "pool5": (0, 0, 0, 0)}
LRN_PARAM = (5, 2.0, 1e-4, 0.75)     # [N kappa alpha beta]


class MatConvNetFormatError(UserInputError):
    """A .mat file that is not a MatConvNet CNN-F."""


@dataclasses.dataclass(frozen=True)
class CnnFWeights:
    """conv1-5 and fc6-7 of a MatConvNet CNN-F, and its input mean.

    Attributes:
      filters: name → float32 [h, w, in, out] (MatConvNet layout = HWIO).
      biases: name → float32 [out].
      average_image: float32 [H, W, 3] or [3], RGB in 0..255.
      path: the file read.
    """
    filters: dict[str, np.ndarray]
    biases: dict[str, np.ndarray]
    average_image: np.ndarray
    path: str

    @property
    def channels(self) -> tuple[int, ...]:
        """Output channels of conv1-5."""
        return tuple(self.filters[f"conv{i}"].shape[3] for i in range(1, 6))

    @property
    def fc_units(self) -> int:
        return int(self.filters["fc7"].shape[3])


def _unwrap(value):
    """A MATLAB struct or cell element out of its 1x1 object array."""
    while (isinstance(value, np.ndarray) and value.dtype == object
           and value.size == 1):
        value = value.reshape(-1)[0]
    return value


def _text(value) -> str:
    value = _unwrap(value)
    if isinstance(value, np.ndarray):
        return "".join(str(v) for v in value.reshape(-1))
    return str(value)


def _numbers(value) -> tuple[float, ...]:
    return tuple(np.asarray(_unwrap(value), float).reshape(-1))


def _field(struct, name: str, path: str, where: str):
    if not hasattr(struct, name):
        raise MatConvNetFormatError(f"{path}: {where} has no field {name!r}")
    return _unwrap(getattr(struct, name))


def _network_struct(contents: dict, path: str):
    """(layers, normalization) of either accepted layout."""
    net = _unwrap(contents.get("net"))
    if "layers" in contents:
        root, where = contents, "the file"
        get = contents.get
    elif net is not None and hasattr(net, "layers"):
        root, where = net, "the struct 'net'"
        get = lambda name: getattr(root, name, None)  # noqa: E731
    else:
        variables = sorted(k for k in contents if not k.startswith("__"))
        raise MatConvNetFormatError(
            f"{path}: expected MatConvNet's imagenet-vgg-f.mat (a top-level "
            f"'layers' cell array, or a struct 'net' with 'layers'), found "
            f"variables {variables}")
    layers = np.asarray(get("layers"), dtype=object).reshape(-1)
    meta = _unwrap(get("meta"))
    normalization = _unwrap(getattr(meta, "normalization", None)
                            if meta is not None else get("normalization"))
    if normalization is None:
        raise MatConvNetFormatError(
            f"{path}: {where} has neither meta.normalization nor "
            f"normalization (the input mean image)")
    return [_unwrap(layer) for layer in layers], normalization


def _conv_arrays(layer, name: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    where = f"layer {name!r}"
    if hasattr(layer, "weights"):
        weights = np.asarray(getattr(layer, "weights"), dtype=object).reshape(-1)
        if len(weights) != 2:
            raise MatConvNetFormatError(
                f"{path}: {where}: expected weights = {{filters, biases}}, got "
                f"{len(weights)} arrays")
        filters, biases = weights
    else:
        filters = _field(layer, "filters", path, where)
        biases = _field(layer, "biases", path, where)
    filters = np.asarray(filters, np.float32)
    # MATLAB drops trailing singleton dimensions (a single output channel).
    filters = filters.reshape(filters.shape + (1,) * (4 - filters.ndim))
    return filters, np.asarray(biases, np.float32).reshape(-1)


def _four(value) -> tuple[int, ...]:
    return tuple(int(v) for v in np.resize(np.asarray(value, int), 4))


def _check_layer(layer, name: str, path: str) -> None:
    """Raises MatConvNetFormatError unless ``layer`` is CNN-F's ``name``."""
    where = f"{path}: layer {name!r}"
    kind = _text(_field(layer, "type", path, f"layer {name!r}"))

    def numbers(field: str, default: float) -> tuple[float, ...]:
        return (_numbers(getattr(layer, field)) if hasattr(layer, field)
                else (default,))
    if name in _CONV_GEOMETRY:
        size, stride, pad = _CONV_GEOMETRY[name]
        filters, _ = _conv_arrays(layer, name, path)
        got = (filters.shape[0], filters.shape[1],
               _four(numbers("stride", 1))[:2], _four(numbers("pad", 0)))
        if kind != "conv" or got != (size, size, (stride, stride), pad):
            raise MatConvNetFormatError(
                f"{where}: expected a conv {size}x{size} stride {stride} pad "
                f"{list(pad)}, got {kind} {got[0]}x{got[1]} stride "
                f"{list(got[2])} pad {list(got[3])}")
    elif name in _POOL_GEOMETRY:
        method = _text(getattr(layer, "method", "max"))
        got = (kind, method, _four(numbers("pool", 0))[:2],
               _four(numbers("stride", 1))[:2], _four(numbers("pad", 0)))
        expected = ("pool", "max", (3, 3), (2, 2), _POOL_GEOMETRY[name])
        if got != expected:
            raise MatConvNetFormatError(f"{where}: expected {expected}, got {got}")
    else:
        param = numbers("param", float("nan"))
        if (kind not in ("lrn", "normalize") or len(param) != 4
                or not np.allclose(param, LRN_PARAM)):
            raise MatConvNetFormatError(
                f"{where}: expected an lrn with param {list(LRN_PARAM)}, got "
                f"{kind} {list(param)}")


def read_cnn_f(path: str | os.PathLike) -> CnnFWeights:
    """Reads and checks a MatConvNet CNN-F (module docstring).

    Raises:
      MatConvNetFormatError: not a .mat file, an unknown layout, or layers
        that differ from CNN-F's.
    """
    path = os.fspath(path)
    try:
        hdf5 = scipy.io.matlab.matfile_version(path)[0] == 2
        contents = None if hdf5 else scipy.io.loadmat(
            path, struct_as_record=False)
    except (OSError, ValueError, EOFError, TypeError,
            scipy.io.matlab.MatReadError) as e:
        raise MatConvNetFormatError(
            f"{path}: cannot read it as a MATLAB .mat file ({e}); expected "
            "MatConvNet's imagenet-vgg-f.mat") from e
    if contents is None:
        raise MatConvNetFormatError(
            f"{path}: a MATLAB v7.3 (HDF5) file, which scipy.io cannot read; "
            f"re-save it in MATLAB with save(..., '-v7')")
    layers, normalization = _network_struct(contents, path)
    by_name = {_text(getattr(layer, "name", "")): layer for layer in layers}
    needed = CONV_LAYERS + tuple(_POOL_GEOMETRY) + ("norm1", "norm2")
    missing = [name for name in needed if name not in by_name]
    if missing:
        raise MatConvNetFormatError(
            f"{path}: missing CNN-F layer(s) {missing}; found "
            f"{sorted(by_name)}")
    for name in needed:
        _check_layer(by_name[name], name, path)
    filters, biases = {}, {}
    previous = 3
    for name in CONV_LAYERS:
        kernel, bias = _conv_arrays(by_name[name], name, path)
        if kernel.shape[2] != previous or bias.shape != (kernel.shape[3],):
            raise MatConvNetFormatError(
                f"{path}: layer {name!r}: filters {kernel.shape} and biases "
                f"{bias.shape} do not follow the previous layer's {previous} "
                f"channels")
        filters[name], biases[name] = kernel, bias
        previous = kernel.shape[3]
    average = np.asarray(_field(normalization, "averageImage", path,
                                "the normalization"), np.float32)
    average = average.reshape(-1) if average.size == 3 else average
    if average.shape[-1] != 3 or average.ndim not in (1, 3):
        raise MatConvNetFormatError(
            f"{path}: averageImage must be [H, W, 3] or [3], got "
            f"{average.shape}")
    return CnnFWeights(filters=filters, biases=biases,
                       average_image=average, path=path)


def assign_cnn_f(model: keras.Model, weights: CnnFWeights) -> None:
    """Copies conv1-5 and fc6-7 into a CNN-F (`networks.build_image_network`).

    The model's layers are found by their names' suffixes (``_conv1`` ...
    ``_fc7``); its shapes must match the file's (CNN-F at width 1, fc 4096,
    224x224 input for the real file).
    """
    for name in CONV_LAYERS:
        layer = next((l for l in model.layers if l.name.endswith(f"_{name}")),
                     None)
        if layer is None:
            raise ValueError(f"model {model.name!r} has no layer *_{name}")
        kernel = weights.filters[name]
        if name in ("fc6", "fc7"):
            kernel = kernel.reshape(-1, kernel.shape[3])
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected:
            raise UserInputError(
                f"{weights.path}: layer {name} has weights {kernel.shape} but "
                f"the network expects {expected}: build CNN-F with "
                f"--cnn_width=1, --fc_units={weights.fc_units} and the "
                f"input size the file was trained at (--image_size=224)")
        layer.set_weights([kernel, weights.biases[name]])
