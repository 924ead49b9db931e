"""C3D from a file in the layout of sports1M_weights_tf.h5, against an independent numpy forward pass.

The HDF5 files are written here with h5py as Keras 1/2 ``save_weights``
writes them (a group per layer, ``weight_names`` attributes; random
weights, narrow channels and a small crop so the test stays fast), and
read by ``c3d.load_c3d_weights``; the numpy reference convolves, pools
(Caffe's ceil mode) and applies fc6 with loops over the kernel offsets.
"""
import h5py
import numpy as np
import pytest

from divafn_tf.errors import UserInputError
from divafn_tf.nets import c3d

# The layers of the Keras conversion's Sequential model, in its order.
LAYER_NAMES = ("conv1", "pool1", "conv2", "pool2", "conv3a", "conv3b", "pool3",
               "conv4a", "conv4b", "pool4", "conv5a", "conv5b",
               "zero_padding3d_1", "pool5", "flatten_1", "fc6", "dropout_1",
               "fc7", "dropout_2", "fc8")
CHANNELS = {"conv1": 64, "conv2": 128, "conv3a": 256, "conv3b": 256,
            "conv4a": 512, "conv4b": 512, "conv5a": 512, "conv5b": 512}
CONVS = tuple(CHANNELS)
POOLS = {"conv1": (1, 2, 2), "conv2": (2, 2, 2), "conv3b": (2, 2, 2),
         "conv4b": (2, 2, 2), "conv5b": (2, 2, 2)}
WIDTH, FC = 1 / 16, 24
SIZE = 40   # pools: 40 → 20 → 10 → 5 → 3 → 2, so pool4 and pool5 round up


def random_weights(size=SIZE, fc=FC, seed=0):
    """He-initialised C3D weights at WIDTH, for inputs of magnitude ~100."""
    rng = np.random.default_rng(seed)
    weights, cin = {}, 3
    for layer in CONVS:
        cout = max(1, round(CHANNELS[layer] * WIDTH))
        scale = np.sqrt(2.0 / (27 * cin)) / (64.0 if layer == "conv1" else 1.0)
        weights[layer] = (rng.normal(0, scale, (3, 3, 3, cin, cout)),
                          rng.normal(0, 0.1, cout))
        cin = cout
    spatial = size
    for _ in POOLS:                     # each pool halves y and x, rounding up
        spatial = -(-spatial // 2)
    flat = 1 * spatial * spatial * cin
    weights["fc6"] = (rng.normal(0, np.sqrt(2.0 / flat), (flat, fc)),
                      rng.normal(0, 0.1, fc))
    weights["fc7"] = (rng.normal(0, 0.1, (fc, fc)), np.zeros(fc))
    weights["fc8"] = (rng.normal(0, 0.1, (fc, 487)), np.zeros(487))
    return {k: tuple(np.asarray(a, np.float32) for a in v)
            for k, v in weights.items()}


def write_c3d_h5(path, weights, style="keras2", drop=()):
    """An HDF5 file laid out as the Keras conversion sports1M_weights_tf.h5.

    ``keras2``: ``model.save_weights`` of Keras 2 (datasets
    ``<layer>/<layer>/kernel:0``); ``keras1``: of Keras 1 (``<layer>/<layer>_W:0``);
    ``model``: a whole saved model, the layers under ``model_weights``.
    """
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if style == "model" else f
        root.attrs["layer_names"] = [n.encode() for n in LAYER_NAMES if n not in drop]
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = b"1.2.2" if style == "keras1" else b"2.0.8"
        for name in LAYER_NAMES:
            if name in drop:
                continue
            group = root.create_group(name)
            arrays = weights.get(name, ())
            suffixes = ("_W:0", "_b:0") if style == "keras1" else ("/kernel:0", "/bias:0")
            names = [name + suffix for suffix in suffixes][:len(arrays)]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for weight_name, array in zip(names, arrays):
                group.create_dataset(weight_name, data=array)


# ---------------------------------------------------------------------------
# The independent forward pass, float64.

def np_conv3d_relu(x, kernel, bias):
    """y[t,i,j,d] = relu(b[d] + Σ_{u,v,w,c} k[u,v,w,c,d] x[t+u−1, i+v−1, j+w−1, c])."""
    t, h, w, _ = x.shape
    padded = np.pad(x, ((1, 1), (1, 1), (1, 1), (0, 0)))
    y = np.zeros((t, h, w, kernel.shape[-1])) + bias
    for u in range(3):
        for v in range(3):
            for z in range(3):
                y += padded[u:u + t, v:v + h, z:z + w] @ kernel[u, v, z]
    return np.maximum(y, 0.0)


def np_max_pool(x, window):
    """Max over windows = strides, the last one clipped (Caffe's ceil mode)."""
    pads = [(0, -n % k) for n, k in zip(x.shape[:3], window)] + [(0, 0)]
    x = np.pad(x, pads, constant_values=-np.inf)
    (t, h, w, c), (a, b, d) = x.shape, window
    return x.reshape(t // a, a, h // b, b, w // d, d, c).max(axis=(1, 3, 5))


def np_c3d_fc6(clip, weights):
    x = clip.astype(np.float64)
    for layer in CONVS:
        x = np_conv3d_relu(x, *weights[layer])
        if layer in POOLS:
            x = np_max_pool(x, POOLS[layer])
    kernel, bias = weights["fc6"]
    return np.maximum(x.reshape(-1) @ kernel + bias, 0.0)


def small_model(size=SIZE, fc=FC):
    return c3d.build_c3d(size=size, width=WIDTH, fc6_units=fc)


@pytest.mark.parametrize("style", ["keras2", "keras1", "model"])
def test_c3d_equals_the_numpy_reference(tmp_path, style):
    weights = random_weights()
    path = tmp_path / "sports1M_weights_tf.h5"
    write_c3d_h5(path, weights, style)
    model = small_model()
    c3d.load_c3d_weights(model, path)
    clips = np.random.default_rng(1).uniform(-128, 128, (2, 16, SIZE, SIZE, 3))
    got = model(clips.astype(np.float32), training=False).numpy()
    for clip, keras_out in zip(clips, got):
        expected = np_c3d_fc6(clip, weights)
        assert np.abs(expected).max() > 0.5 and (expected == 0).any()
        np.testing.assert_allclose(keras_out, expected, rtol=1e-4,
                                   atol=1e-4 * np.abs(expected).max())


def test_full_size_shapes():
    model = c3d.build_c3d()
    assert model.input_shape == (None, 16, 112, 112, 3)
    assert model.get_layer("pool5").output.shape == (None, 1, 4, 4, 512)
    assert model.get_layer("fc6").kernel.shape == (8192, 4096)
    assert model.output_shape == (None, 4096)


# ---------------------------------------------------------------------------
# Bad files: one sentence each, naming the file and the layer.

def _load_error(path, model=None):
    with pytest.raises(UserInputError) as info:
        c3d.load_c3d_weights(model or small_model(), path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_a_wrong_shape_names_the_layer_and_both_shapes(tmp_path):
    weights = random_weights()
    kernel, bias = weights["conv3b"]
    weights["conv3b"] = (np.zeros(kernel.shape[:-1] + (17,), np.float32), bias)
    path = tmp_path / "wrong.h5"
    write_c3d_h5(path, weights)
    model = small_model()
    before = model.get_layer("conv1").kernel.numpy()
    message = _load_error(path, model)
    assert ("layer 'conv3b' kernel has shape (3, 3, 3, 16, 17), expected "
            "(3, 3, 3, 16, 16)") in message
    np.testing.assert_array_equal(model.get_layer("conv1").kernel.numpy(), before)


def test_a_channels_first_kernel_points_to_the_tf_file(tmp_path):
    weights = random_weights()
    kernel, bias = weights["conv1"]
    weights["conv1"] = (kernel.transpose(4, 3, 0, 1, 2), bias)
    path = tmp_path / "sports1M_weights_th.h5"
    write_c3d_h5(path, weights)
    assert "use sports1M_weights_tf.h5" in _load_error(path)


def test_a_missing_layer_is_named(tmp_path):
    path = tmp_path / "no_conv4a.h5"
    write_c3d_h5(path, random_weights(), drop=("conv4a",))
    assert "no layer 'conv4a' (a C3D weight file holds conv1" in _load_error(path)


def test_a_layer_without_kernel_and_bias_is_named(tmp_path):
    weights = random_weights()
    weights["fc6"] = ()
    path = tmp_path / "no_fc6_arrays.h5"
    write_c3d_h5(path, weights)
    assert "layer 'fc6' lists the arrays []" in _load_error(path)


def test_a_file_that_is_not_hdf5_is_refused(tmp_path):
    path = tmp_path / "sports1M_weights_tf.h5"
    path.write_bytes(b"<html>not found</html>")
    assert "not an HDF5 file" in _load_error(path)


def test_a_missing_file_is_refused(tmp_path):
    assert "no such file" in _load_error(tmp_path / "absent.h5")


# ---------------------------------------------------------------------------
# Frames to clips.

def _frames(num, height=c3d.RESIZE_HEIGHT, width=c3d.RESIZE_WIDTH, seed=2):
    return np.random.default_rng(seed).integers(0, 256, (num, height, width, 3),
                                                dtype=np.uint8)


@pytest.mark.parametrize("num, stride, clips", [
    (1, 16, 1), (15, 16, 1), (16, 16, 1), (31, 16, 1), (32, 16, 2),
    (40, 16, 2), (40, 8, 4)])
def test_clip_counts(num, stride, clips):
    out = c3d.clips_from_frames(_frames(num, 24, 32), stride=stride)
    assert out.shape == (clips, 16, 112, 112, 3) and out.dtype == np.float32


def test_crop_channel_order_and_default_mean():
    frames = _frames(16)          # already 128 × 171: the resize is the identity
    out = c3d.clips_from_frames(frames)[0]
    expected = frames[:, 8:120, 29:141, ::-1] - np.float32(c3d.SPORTS1M_BGR_MEAN)
    np.testing.assert_allclose(out, expected, atol=1e-3)


def test_frames_are_resized_to_128_by_171():
    frames = np.zeros((16, 64, 86, 3), np.uint8)
    frames[:, 32:] = 200          # lower half bright: rows ≥ 64 after resize
    out = c3d.clips_from_frames(frames, mean=np.zeros(3, np.float32))[0]
    np.testing.assert_allclose(out[:, :56 - 1], 0, atol=1e-3)     # rows 8-62
    np.testing.assert_allclose(out[:, 56 + 1:], 200, atol=1e-3)   # rows 65-119


@pytest.mark.parametrize("layout", ["thwc", "c3d"])
def test_a_mean_volume_file_is_cropped_and_subtracted(tmp_path, layout):
    volume = np.random.default_rng(3).uniform(80, 110, (16, 128, 171, 3))
    path = tmp_path / "mean.npy"
    np.save(path, volume if layout == "thwc" else np.moveaxis(volume, -1, 0))
    frames = _frames(16)
    out = c3d.clips_from_frames(frames, mean=path)[0]
    expected = frames[:, 8:120, 29:141, ::-1] - volume[:, 8:120, 29:141]
    np.testing.assert_allclose(out, expected, atol=1e-3)


def test_a_per_channel_mean_file(tmp_path):
    path = tmp_path / "bgr_mean.npy"
    np.save(path, np.array([1.0, 2.0, 3.0]))
    frames = _frames(16)
    out = c3d.clips_from_frames(frames, mean=path)[0]
    np.testing.assert_allclose(out, frames[:, 8:120, 29:141, ::-1] - [1, 2, 3],
                               atol=1e-3)


@pytest.mark.parametrize("contents, message", [
    (np.zeros((16, 112, 112, 3)), "shape (16, 112, 112, 3), expected [3] (BGR)"),
    (b"not a numpy file", "not a numeric .npy file"),
    (None, "no such file"),
])
def test_a_bad_mean_file_is_refused(tmp_path, contents, message):
    path = tmp_path / "mean.npy"
    if isinstance(contents, bytes):
        path.write_bytes(contents)
    elif contents is not None:
        np.save(path, contents)
    with pytest.raises(UserInputError) as info:
        c3d.clips_from_frames(_frames(16, 24, 32), mean=path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_short_video_repeats_its_last_frame():
    colours = np.arange(5, dtype=np.uint8)[:, None] * np.uint8([10, 20, 30])
    frames = np.broadcast_to(colours[:, None, None], (5, 20, 30, 3)).copy()
    out = c3d.clips_from_frames(frames, mean=np.zeros(3, np.float32))[0]
    for t in range(16):
        bgr = colours[min(t, 4), ::-1].astype(np.float32)
        np.testing.assert_allclose(out[t], np.broadcast_to(bgr, out[t].shape),
                                   atol=1e-3)


def test_clips_start_every_stride_frames():
    frames = _frames(40, 24, 32)
    out = c3d.clips_from_frames(frames, stride=8)
    np.testing.assert_array_equal(out[1], c3d.clips_from_frames(frames[8:24])[0])


def test_frames_that_are_not_uint8_rgb_are_refused():
    with pytest.raises(UserInputError, match="expected uint8 RGB"):
        c3d.clips_from_frames(np.zeros((16, 24, 32, 3), np.float32))


def test_the_video_feature_is_fc6_averaged_over_the_clips():
    model = small_model(size=112, fc=16)
    frames = _frames(40, 60, 80)
    clips = c3d.clips_from_frames(frames, stride=8)
    expected = model(clips, training=False).numpy().mean(axis=0)
    got = c3d.c3d_video_feature(model, frames, stride=8, batch_size=3)
    assert got.shape == (16,) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
