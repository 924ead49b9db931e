"""CNN-F from a MatConvNet .mat file, against an independent numpy forward pass.

The .mat files are written here with scipy.io.savemat in the structure of
MatConvNet's imagenet-vgg-f.mat (random weights, narrower channels than the
real 64/256 and fc 4096 so the test stays fast; a slow test runs full size).
"""
import numpy as np
import pytest
import scipy.io

import keras
from divafn_tf.nets import matconvnet, networks
from divafn_tf.errors import UserInputError

SIZE = 224


def _cell(items):
    cell = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        cell[0, i] = item
    return cell


def _conv(rng, name, k, cin, cout, stride, pad, old_fields, input_scale=1.0):
    """He-initialised filters for inputs of magnitude ``input_scale``."""
    filters = rng.normal(0.0, np.sqrt(2.0 / (k * k * cin)) / input_scale,
                         (k, k, cin, cout)).astype(np.float32)
    biases = rng.normal(0.0, 0.1, (1, cout)).astype(np.float32)
    layer = {"name": name, "type": "conv", "stride": np.array([[stride, stride]]),
             "pad": np.array([pad], float)}
    if old_fields:
        layer.update(filters=filters, biases=biases)
    else:
        layer["weights"] = _cell([filters, biases])
    return layer


def write_vgg_f(path, layout="simplenn", channels=(16, 64, 64, 64, 64), fc=64,
                seed=0, **changes):
    """A .mat file structured as MatConvNet's imagenet-vgg-f.mat.

    ``layout``: "simplenn" (top-level layers + meta.normalization), "net"
    (one struct ``net``) or "old" (top-level normalization, layer fields
    ``filters``/``biases``). ``changes`` overrides fields of named layers.
    Returns the layers as dicts (MatConvNet semantics) and the mean image.
    """
    rng = np.random.default_rng(seed)
    old = layout == "old"
    c1, c2, c3, c4, c5 = channels
    lrn = lambda n: {"name": n, "type": "lrn",  # noqa: E731
                     "param": np.array([[5, 2, 1e-4, 0.75]])}
    pool = lambda n, pad: {"name": n, "type": "pool", "method": "max",  # noqa: E731
                           "pool": np.array([[3, 3]]), "stride": np.array([[2, 2]]),
                           "pad": np.array([pad], float)}
    relu = lambda n: {"name": n, "type": "relu"}  # noqa: E731
    layers = [
        # Pixels minus the mean are up to ~128: activations stay of order 1.
        _conv(rng, "conv1", 11, 3, c1, 4, [0, 0, 0, 0], old, input_scale=64),
        relu("relu1"),
        lrn("norm1"), pool("pool1", [0, 1, 0, 1]),
        _conv(rng, "conv2", 5, c1, c2, 1, [2, 2, 2, 2], old), relu("relu2"),
        lrn("norm2"), pool("pool2", [0, 0, 0, 0]),
        _conv(rng, "conv3", 3, c2, c3, 1, [1, 1, 1, 1], old), relu("relu3"),
        _conv(rng, "conv4", 3, c3, c4, 1, [1, 1, 1, 1], old), relu("relu4"),
        _conv(rng, "conv5", 3, c4, c5, 1, [1, 1, 1, 1], old), relu("relu5"),
        pool("pool5", [0, 0, 0, 0]),
        _conv(rng, "fc6", 6, c5, fc, 1, [0, 0, 0, 0], old), relu("relu6"),
        _conv(rng, "fc7", 1, fc, fc, 1, [0, 0, 0, 0], old), relu("relu7"),
        _conv(rng, "fc8", 1, fc, 1000, 1, [0, 0, 0, 0], old),
        {"name": "prob", "type": "softmax"},
    ]
    for layer in layers:
        layer.update(changes.get(layer["name"], {}))
    mean = rng.uniform(90, 140, (SIZE, SIZE, 3)).astype(np.float32)
    normalization = {"averageImage": mean, "imageSize": np.array([[SIZE, SIZE, 3, 1]])}
    cell = _cell(layers)
    if layout == "simplenn":
        contents = {"layers": cell, "meta": {"normalization": normalization}}
    elif layout == "net":
        contents = {"net": {"layers": cell, "meta": {"normalization": normalization}}}
    else:
        contents = {"layers": cell, "normalization": normalization}
    scipy.io.savemat(str(path), contents)
    return {layer["name"]: layer for layer in layers}, mean


# ---------------------------------------------------------------------------
# An independent forward pass, in float64, with MatConvNet's definitions.

def _weights(layer):
    if "weights" in layer:
        return layer["weights"][0, 0].astype(np.float64), layer["weights"][0, 1].reshape(-1)
    return layer["filters"].astype(np.float64), layer["biases"].reshape(-1)


def np_conv(x, layer):
    """y(i,j,d) = b(d) + Σ_uvc f(u,v,c,d) x(s·i+u−top, s·j+v−left, c)."""
    f, b = _weights(layer)
    stride = int(layer["stride"].reshape(-1)[0])
    top, bottom, left, right = layer["pad"].reshape(-1).astype(int)
    x = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    k = f.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(0, 1))
    windows = windows[::stride, ::stride]          # [oh, ow, c, k, k]
    return np.einsum("ijcuv,uvcd->ijd", windows, f) + b


def np_lrn(x, n=5, kappa=2.0, alpha=1e-4, beta=0.75):
    """x / (κ + α Σ_{|c'−c| ≤ (n−1)/2} x_c'²)^β."""
    squares = np.pad(x ** 2, ((0, 0), (0, 0), (n // 2, n // 2)))
    window = sum(squares[:, :, i:i + x.shape[2]] for i in range(n))
    return x / (kappa + alpha * window) ** beta


def np_max_pool(x, pad):
    top, bottom, left, right = pad
    x = np.pad(x, ((top, bottom), (left, right), (0, 0)),
               constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(0, 1))
    return windows[::2, ::2].max(axis=(3, 4))


def np_cnn_f_fc7(image, layers, mean):
    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    x = image.astype(np.float64) - mean
    x = np_max_pool(np_lrn(relu(np_conv(x, layers["conv1"]))), (0, 1, 0, 1))
    x = np_max_pool(np_lrn(relu(np_conv(x, layers["conv2"]))), (0, 0, 0, 0))
    for name in ("conv3", "conv4", "conv5"):
        x = relu(np_conv(x, layers[name]))
    x = np_max_pool(x, (0, 0, 0, 0))
    x = relu(np_conv(x, layers["fc6"]))             # 6x6 → 1x1
    return relu(np_conv(x, layers["fc7"])).reshape(-1)


def _keras_fc7(path, width=0.25, fc=64, name="image_net"):
    config = networks.ImageNetworkConfig(
        weights=str(path),
        cnn=networks.CnnFConfig(image_size=SIZE, width=width, fc_units=fc,
                                output_dim=8))
    model = networks.build_image_network(config, name)
    return model, keras.Model(model.input, model.get_layer(f"{name}_fc7").output)


@pytest.mark.parametrize("layout", ["simplenn", "net", "old"])
def test_keras_cnn_f_equals_the_numpy_reference(tmp_path, layout):
    path = tmp_path / "vgg-f.mat"
    layers, mean = write_vgg_f(path, layout)
    _, fc7 = _keras_fc7(path)
    images = np.random.default_rng(1).integers(0, 256, (2, SIZE, SIZE, 3),
                                               dtype=np.uint8)
    got = fc7(images, training=False).numpy()
    for image, keras_out in zip(images, got):
        expected = np_cnn_f_fc7(image, layers, mean)
        assert np.abs(expected).max() > 0.5          # not a trivial output
        np.testing.assert_allclose(keras_out, expected, rtol=0, atol=1e-4)


@pytest.mark.slow
def test_full_size_cnn_f_equals_the_numpy_reference(tmp_path):
    path = tmp_path / "vgg-f.mat"
    layers, mean = write_vgg_f(path, channels=(64, 256, 256, 256, 256), fc=4096)
    _, fc7 = _keras_fc7(path, width=1.0, fc=4096)
    image = np.random.default_rng(2).integers(0, 256, (1, SIZE, SIZE, 3),
                                              dtype=np.uint8)
    np.testing.assert_allclose(fc7(image, training=False).numpy()[0],
                               np_cnn_f_fc7(image[0], layers, mean),
                               rtol=0, atol=1e-4)


def test_weights_and_mean_image_are_the_files(tmp_path):
    path = tmp_path / "vgg-f.mat"
    layers, mean = write_vgg_f(path)
    model, _ = _keras_fc7(path)
    np.testing.assert_array_equal(model.get_layer("image_net_conv2").kernel.numpy(),
                                  layers["conv2"]["weights"][0, 0])
    np.testing.assert_array_equal(
        model.get_layer("image_net_fc6").kernel.numpy(),
        layers["fc6"]["weights"][0, 0].reshape(-1, 64))
    normalize = model.get_layer("image_net_normalize")
    np.testing.assert_array_equal(normalize.mean.numpy(), mean)
    assert normalize.scale == 1.0


@pytest.mark.parametrize("changes, message", [
    ({"conv2": {"pad": np.array([[1, 1, 1, 1]], float)}},
     "layer 'conv2': expected a conv 5x5 stride 1 pad [2, 2, 2, 2]"),
    ({"pool1": {"pad": np.array([[0, 0, 0, 0]], float)}}, "layer 'pool1'"),
    ({"norm1": {"param": np.array([[5, 1, 2e-5, 0.75]])}},
     "layer 'norm1': expected an lrn with param [5, 2.0, 0.0001, 0.75]"),
    ({"fc7": {"name": "fc7_renamed"}}, "missing CNN-F layer(s) ['fc7']"),
])
def test_a_network_that_is_not_cnn_f_is_refused(tmp_path, changes, message):
    path = tmp_path / "other.mat"
    write_vgg_f(path, **changes)
    with pytest.raises(matconvnet.MatConvNetFormatError) as info:
        matconvnet.read_cnn_f(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_other_files_are_refused_with_the_expected_layout(tmp_path):
    unknown = tmp_path / "unknown.mat"
    scipy.io.savemat(str(unknown), {"weights": np.zeros(3)})
    with pytest.raises(matconvnet.MatConvNetFormatError,
                       match=r"unknown.mat: expected MatConvNet's "
                             r"imagenet-vgg-f.mat .* found variables \['weights'\]"):
        matconvnet.read_cnn_f(unknown)
    not_mat = tmp_path / "weights.mat"
    not_mat.write_bytes(b"definitely not a MATLAB file" * 10)
    with pytest.raises(matconvnet.MatConvNetFormatError,
                       match="weights.mat: cannot read it as a MATLAB .mat"):
        matconvnet.read_cnn_f(not_mat)


def test_matlab_v73_files_get_a_way_out(tmp_path):
    hdf5 = tmp_path / "v73.mat"
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(124)
    hdf5.write_bytes(header + b"\x00\x02IM" + bytes(512))
    with pytest.raises(matconvnet.MatConvNetFormatError,
                       match=r"v73.mat: a MATLAB v7.3 \(HDF5\) file.*'-v7'"):
        matconvnet.read_cnn_f(hdf5)


def test_network_shape_must_match_the_file(tmp_path):
    path = tmp_path / "vgg-f.mat"
    write_vgg_f(path)
    with pytest.raises(UserInputError, match="--cnn_width=1, --fc_units=64"):
        _keras_fc7(path, width=0.5)
