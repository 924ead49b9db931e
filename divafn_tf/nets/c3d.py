"""C3D (Tran et al., 2015), the sports-1M network of the paper's video features, up to fc6.

The paper (§IV.B) describes each video by "the outputs of fc6 layer" of C3D
"averaged over the segments" of the video. Tran et al.'s network::

    conv1 64  → pool1 1×2×2 → conv2 128 → pool2 2×2×2
    conv3a, conv3b 256 → pool3 2×2×2 → conv4a, conv4b 512 → pool4 2×2×2
    conv5a, conv5b 512 → pool5 2×2×2 → flatten → fc6 4096 (→ fc7 → fc8 487)

Every convolution is 3×3×3, stride 1, "same", with a ReLU. The paper calls
the first two conv1a and conv2a; the layers here carry the names of the
Keras conversion's file (``conv1``, ``conv2``, ``conv3a`` … ``fc6``), so
``load_c3d_weights`` finds each by name. ``width`` scales the convolution
channels and ``fc6_units`` fc6 and ``size`` the crop, so tests run small.

**fc6 after its ReLU.** C3D's Caffe feature extractor writes the blob
``fc6-1``, and its prototxt applies ``relu6`` in place on that blob
(``bottom: "fc6-1"``, ``top: "fc6-1"``; dropout, also in place, is the
identity at test time), so the extracted "fc6 feature" is post-ReLU; the
model's output is that.

**pool5 as Caffe pools.** C3D's Caffe pools round up (ceil mode): at 112×112
pool5 sees 7×7 and yields 4×4, its last window holding the last row/column
alone. The Keras conversion (axon-research/c3d-keras, adamcasson/c3d) gets
4×4 with a ``ZeroPadding3D((0, 1, 1))`` before a "valid" pool5, which pads a
row and column on *both* sides and so shifts every pool5 window by one pixel
against the network fc6 was trained on. Here every pool is "same", which for
a 2-wide, stride-2 window pads only after the last row (with −∞, i.e. not
at all): Caffe's windows. The padding layer holds no weights, so the file is
the same either way.

**Input.** float32 [B, 16, 112, 112, 3]: 16 frames, channels in C3D's
**BGR** order (Caffe read the frames with OpenCV), the sports-1M mean
subtracted, as ``clips_from_frames`` makes them from uint8 RGB frames:
frames resized to 128 × 171 (height × width, bilinear), centre-cropped to
112 × 112 at rows 8-119 and columns 29-140 (Caffe's offsets, (128 − 112) / 2
and ⌊(171 − 112) / 2⌋), minus the mean: by default the per-channel BGR mean
(90.25, 97.66, 101.41) of the sports-1M mean volume (the value the C3D ports
quote; jfzhang95/pytorch-video-recognition rounds it to 90, 98, 102), or a
local ``.npy`` of the mean volume itself. Clips are 16 consecutive frames
with a stride of 16 (non-overlapping, as the clip lists of C3D's feature
extraction example; Tran et al. §3.3 use a stride of 8, which doubles the
work for overlapping clips); a video shorter than 16 frames repeats its last
frame, and frames after the last whole clip are left out, as C3D's
extractor does. ``c3d_video_feature`` averages fc6 over a video's clips
(§IV.B; Tran et al. also L2-normalise, which standardisation here replaces).

**Weights** (docs/design.md §9): ``load_c3d_weights`` reads the HDF5 file of
the Keras conversion that circulates as ``sports1M_weights_tf.h5`` with h5py:
no Keras loader, nothing unpickled.
"""
from __future__ import annotations

import os

import h5py
import keras
import numpy as np
import tensorflow as tf

from divafn_tf.errors import UserInputError

CLIP_LENGTH = 16
RESIZE_HEIGHT, RESIZE_WIDTH = 128, 171
CROP_SIZE = 112
CROP_TOP = (RESIZE_HEIGHT - CROP_SIZE) // 2    # 8
CROP_LEFT = (RESIZE_WIDTH - CROP_SIZE) // 2    # 29
FEATURE_DIM = 4096
# Per-channel mean of the sports-1M mean volume, in the weights' BGR order.
SPORTS1M_BGR_MEAN = (90.25, 97.66, 101.41)
# (layer, channels at width 1, pool after it: (t, y, x) window or None).
_CONVS = (("conv1", 64, (1, 2, 2)), ("conv2", 128, (2, 2, 2)),
          ("conv3a", 256, None), ("conv3b", 256, (2, 2, 2)),
          ("conv4a", 512, None), ("conv4b", 512, (2, 2, 2)),
          ("conv5a", 512, None), ("conv5b", 512, (2, 2, 2)))
_POOL_NAMES = {"conv1": "pool1", "conv2": "pool2", "conv3b": "pool3",
               "conv4b": "pool4", "conv5b": "pool5"}
WEIGHT_LAYERS = tuple(name for name, _, _ in _CONVS) + ("fc6",)


def build_c3d(size: int = CROP_SIZE, frames: int = CLIP_LENGTH,
              width: float = 1.0, fc6_units: int = FEATURE_DIM,
              name: str = "c3d") -> keras.Model:
    """C3D up to fc6 (post-ReLU): float32 BGR clips [B, frames, size, size, 3]
    minus the mean → [B, fc6_units] (Tran et al. 2015; the paper's §IV.B).

    The defaults are the sports-1M network's; ``width`` scales the
    convolution channels (at least 1 each).
    """
    inputs = keras.Input((frames, size, size, 3), name="clips")
    x = inputs
    for layer, channels, pool in _CONVS:
        x = keras.layers.Conv3D(max(1, round(channels * width)), 3,
                                padding="same", activation="relu",
                                name=layer)(x)
        if pool is not None:
            x = keras.layers.MaxPooling3D(pool, pool, padding="same",
                                          name=_POOL_NAMES[layer])(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(fc6_units, activation="relu", name="fc6")(x)
    return keras.Model(inputs, x, name=name)


# ---------------------------------------------------------------------------
# The weight file.

def _check_file(path: str) -> None:
    if not os.path.isfile(path):
        raise UserInputError(f"{path}: no such file (C3D's weights are read "
                             "from a local copy of sports1M_weights_tf.h5)")
    if not h5py.is_hdf5(path):
        raise UserInputError(f"{path}: not an HDF5 file (expected the Keras "
                             "conversion of C3D's sports-1M weights, "
                             "sports1M_weights_tf.h5)")


def _weights_root(f: h5py.File) -> h5py.Group:
    """The group holding one group per layer: the file itself (save_weights)
    or its ``model_weights`` group (a whole model saved by Keras 1/2)."""
    return f["model_weights"] if "model_weights" in f else f


def _text(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _layer_arrays(path: str, root: h5py.Group, layer: str) -> list[np.ndarray]:
    """The arrays of ``layer`` in the order of its ``weight_names`` attribute
    (kernel, bias), as Keras' HDF5 weight files list them."""
    group = root.get(layer)
    if not isinstance(group, h5py.Group):
        raise UserInputError(
            f"{path}: no layer {layer!r} (a C3D weight file holds "
            f"{', '.join(WEIGHT_LAYERS)} and fc7, fc8; this one holds "
            f"{', '.join(sorted(root.keys())) or 'no groups'})")
    names = [_text(n) for n in group.attrs.get("weight_names", [])]
    arrays = [group.get(n) for n in names]
    if len(arrays) != 2 or not all(isinstance(a, h5py.Dataset) for a in arrays):
        raise UserInputError(
            f"{path}: layer {layer!r} lists the arrays {names} in its "
            "weight_names attribute, expected a kernel and a bias that the "
            "group holds (a Keras HDF5 weight file)")
    return [np.asarray(a, np.float32) for a in arrays]


def _shape_hint(found: tuple, expected: tuple) -> str:
    if len(found) == 5 and found == expected[-1:] + expected[-2:-1] + expected[:3]:
        return ("; that is the channels-first kernel layout of the Theano "
                "conversion sports1M_weights_th.h5, use sports1M_weights_tf.h5")
    return ""


def load_c3d_weights(model: keras.Model, path: str | os.PathLike) -> None:
    """Sets the conv1 … fc6 weights of ``model`` (``build_c3d``) from the
    Keras conversion of C3D's sports-1M Caffe model, ``sports1M_weights_tf.h5``.

    The file's layout (Keras 1/2 ``save_weights``): one group per layer
    named as the layer, its ``weight_names`` attribute listing the kernel
    and bias datasets (``conv1_W:0``, ``conv1_b:0`` from Keras 1, or
    ``conv1/kernel:0``, ``conv1/bias:0`` nested from Keras 2), possibly under
    ``model_weights``. Kernels are Keras' channels-last [3, 3, 3, in, out],
    fc6 is [8192, 4096] with rows in the order of the flattened
    [1, 4, 4, 512] pool5 (t, y, x, channel). Every shape is checked before
    any weight is set; fc7, fc8 and the weightless layers are not read.
    """
    path = os.fspath(path)
    _check_file(path)
    values = {}
    with h5py.File(path, "r") as f:
        root = _weights_root(f)
        for layer in WEIGHT_LAYERS:
            arrays = _layer_arrays(path, root, layer)
            variables = model.get_layer(layer).weights
            for array, variable in zip(arrays, variables):
                expected = tuple(variable.shape)
                if array.shape != expected:
                    raise UserInputError(
                        f"{path}: layer {layer!r} {variable.name} has shape "
                        f"{array.shape}, expected {expected}"
                        f"{_shape_hint(array.shape, expected)}")
            values[layer] = arrays
    for layer, arrays in values.items():
        model.get_layer(layer).set_weights(arrays)


# ---------------------------------------------------------------------------
# Frames to clips.

def load_mean(mean: str | os.PathLike | np.ndarray | None) -> np.ndarray:
    """The sports-1M mean in the weights' BGR order: float32 [3] (None: the
    per-channel default) or the mean volume [16, 128, 171, 3].

    ``mean`` is an array or a local ``.npy`` of shape [3], [16, 128, 171, 3]
    or C3D's own [3, 16, 128, 171] (channel first, as
    ``train01_16_128_171_mean.npy``), read without pickle.
    """
    if mean is None:
        return np.asarray(SPORTS1M_BGR_MEAN, np.float32)
    where = "the C3D mean"
    if not isinstance(mean, np.ndarray):
        where = os.fspath(mean)
        if not os.path.isfile(where):
            raise UserInputError(f"{where}: no such file (the C3D mean is a "
                                 "local .npy)")
        try:
            mean = np.load(where, allow_pickle=False)
        except ValueError as e:
            raise UserInputError(f"{where}: not a numeric .npy file ({e}), "
                                 "expected the C3D mean") from e
    volume = (CLIP_LENGTH, RESIZE_HEIGHT, RESIZE_WIDTH, 3)
    if mean.shape == (3,) + volume[:3]:
        mean = np.moveaxis(mean, 0, -1)
    if mean.shape not in ((3,), volume):
        raise UserInputError(
            f"{where}: shape {mean.shape}, expected [3] (BGR), "
            f"{list(volume)} or C3D's [3, 16, 128, 171]")
    return np.asarray(mean, np.float32)


def _check_frames(frames: np.ndarray) -> None:
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 \
            or frames.shape[0] == 0:
        raise UserInputError(
            f"video frames: got {frames.dtype} {list(frames.shape)}, "
            "expected uint8 RGB [T ≥ 1, H, W, 3]")


def clip_starts(num_frames: int, stride: int = CLIP_LENGTH) -> list[int]:
    """First frames of the whole 16-frame clips of a video of ``num_frames``
    (at least one clip: a short video is padded first)."""
    return list(range(0, max(num_frames, CLIP_LENGTH) - CLIP_LENGTH + 1, stride))


def clips_from_frames(frames: np.ndarray,
                      mean: str | os.PathLike | np.ndarray | None = None,
                      stride: int = CLIP_LENGTH) -> np.ndarray:
    """uint8 RGB frames [T, H, W, 3] → C3D's input clips, float32
    [num_clips, 16, 112, 112, 3] (BGR, mean subtracted; module docstring).

    Clips start every ``stride`` frames (16: non-overlapping); a video of
    fewer than 16 frames repeats its last frame.
    """
    frames = np.asarray(frames)
    _check_frames(frames)
    if stride < 1:
        raise UserInputError(f"C3D clip stride {stride}: expected ≥ 1 frame")
    mean = load_mean(mean)
    starts = clip_starts(len(frames), stride)
    used = starts[-1] + CLIP_LENGTH
    if len(frames) < used:
        frames = np.concatenate(
            [frames, np.repeat(frames[-1:], used - len(frames), axis=0)])
    resized = tf.image.resize(frames[:used], (RESIZE_HEIGHT, RESIZE_WIDTH),
                              method="bilinear").numpy()
    crop = (slice(CROP_TOP, CROP_TOP + CROP_SIZE),
            slice(CROP_LEFT, CROP_LEFT + CROP_SIZE))
    bgr = resized[:, crop[0], crop[1], ::-1]
    if mean.ndim > 1:
        mean = mean[:, crop[0], crop[1]]
    return np.stack([bgr[s:s + CLIP_LENGTH] - mean for s in starts])


def c3d_video_feature(model: keras.Model, frames: np.ndarray,
                      mean: str | os.PathLike | np.ndarray | None = None,
                      stride: int = CLIP_LENGTH,
                      batch_size: int = 8) -> np.ndarray:
    """A video's C3D feature: fc6 averaged over its clips (§IV.B), float32
    [fc6 units]. ``batch_size`` clips go through ``model`` together."""
    clips = clips_from_frames(frames, mean, stride)
    total = np.zeros(model.output_shape[-1], np.float64)
    for start in range(0, len(clips), batch_size):
        batch = tf.convert_to_tensor(clips[start:start + batch_size])
        total += model(batch, training=False).numpy().sum(axis=0)
    return (total / len(clips)).astype(np.float32)
