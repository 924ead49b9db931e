"""--image_weights=imagenet for the keras.applications backbones (issue 16,
item 3): Keras's cache ($KERAS_HOME/models) is used as it is; offline, one
sentence names the file to place there. Nothing is downloaded: the origin
points at a local port that refuses connections."""
import socket

import h5py
import keras
import numpy as np
import pytest

from divafn_tf.errors import UserInputError
from divafn_tf.nets import backbones, networks

SIZE = 32


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty Keras cache, and Keras's origin at a port nobody listens on."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))      # bound, never listening: refused at once
    port = closed.getsockname()[1]
    monkeypatch.setattr(backbones, "KERAS_WEIGHTS_URL", {
        name: f"http://127.0.0.1:{port}/{name}/"
        for name in backbones.KERAS_WEIGHTS_URL})
    yield tmp_path / "keras" / "models"
    closed.close()


def _network(backbone: str, weights: str | None):
    return networks.build_image_network(networks.ImageNetworkConfig(
        backbone=backbone, weights=weights,
        cnn=networks.CnnFConfig(image_size=SIZE, output_dim=8)), "image_net")


@pytest.mark.parametrize("backbone, name", [
    ("resnet50", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("mobilenet_v2",
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5")])
def test_offline_the_error_names_the_file_to_place_in_the_cache(offline,
                                                                 backbone, name):
    assert backbones.imagenet_weights_file(backbone, SIZE) == name
    with pytest.raises(UserInputError) as error:
        _network(backbone, "imagenet")
    message = str(error.value)
    assert message.startswith("--image_weights=imagenet: cannot download "
                              f"{name} for {backbone} (")
    assert f"place that file in {offline}/ (it is http://127.0.0.1:" in message
    assert "\n" not in message
    assert not (offline / name).exists()     # no partial file left


def test_mobilenet_v2_takes_the_file_of_its_input_size():
    assert backbones.imagenet_weights_file("mobilenet_v2", 160).endswith(
        "_1.0_160_no_top.h5")
    assert backbones.imagenet_weights_file("mobilenet_v2", 64).endswith(
        "_1.0_224_no_top.h5")


def test_imagenet_is_for_the_keras_backbones_only():
    with pytest.raises(UserInputError, match="resnet50 and mobilenet_v2 only"):
        networks.build_image_network(networks.ImageNetworkConfig(
            backbone="cnn_f", weights="imagenet"), "image_net")


@pytest.mark.heavy  # MobileNetV2 built three times
def test_a_file_in_the_cache_loads_without_the_network(offline):
    """Keras's cache already holds the file: it loads, nothing is fetched."""
    reference = keras.applications.MobileNetV2(
        include_top=False, weights=None, pooling="avg",
        input_shape=(SIZE, SIZE, 3))
    rng = np.random.default_rng(0)
    for variable in reference.weights:
        variable.assign(0.05 * rng.normal(size=variable.shape))
    offline.mkdir(parents=True)
    path = offline / backbones.imagenet_weights_file("mobilenet_v2", SIZE)
    from keras.src.legacy.saving import legacy_h5_format  # Keras's own .h5 layout
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    nested = _network("mobilenet_v2", "imagenet").get_layer("image_net_backbone")
    for ours, theirs in zip(nested.weights, reference.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # A damaged cached file: the sentence names it and how to get it again.
    path.write_bytes(b"not hdf5")
    with pytest.raises(UserInputError, match="delete it to download it again"):
        _network("mobilenet_v2", "imagenet")
