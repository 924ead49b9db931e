"""keras.applications backbones from local weight files, and layer freezing."""
import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

import tiny_model
from divafn_tf.nets import networks
from divafn_tf.errors import UserInputError
from divafn_tf.model import Divafn
from divafn_tf.objective import ObjectiveWeights

pytestmark = pytest.mark.heavy  # ResNet50 and MobileNetV2 built and loaded
SIZE = 32
APPLICATIONS = {
    "resnet50": (keras.applications.ResNet50,
                 keras.applications.resnet50.preprocess_input),
    "mobilenet_v2": (keras.applications.MobileNetV2,
                     keras.applications.mobilenet_v2.preprocess_input),
}


def _random_notop(backbone, seed=0):
    """A notop model with random (not default-initialised) weights."""
    constructor, _ = APPLICATIONS[backbone]
    model = constructor(include_top=False, weights=None, pooling="avg",
                        input_shape=(SIZE, SIZE, 3))
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        if "moving_variance" in variable.path:
            variable.assign(rng.uniform(0.5, 1.5, variable.shape))
        else:
            variable.assign(0.05 * rng.normal(size=variable.shape))
    return model


def _write(model, path):
    """Saves ``model``'s weights as .weights.h5, .keras or legacy .h5."""
    path = str(path)
    if path.endswith(".weights.h5"):
        model.save_weights(path)
    elif path.endswith(".keras"):
        model.save(path)
    else:
        from keras.src.legacy.saving import legacy_h5_format
        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def _network(backbone, weights=None, train_layers="all", name="image_net"):
    return networks.build_image_network(networks.ImageNetworkConfig(
        backbone=backbone, weights=weights, train_layers=train_layers,
        cnn=networks.CnnFConfig(image_size=SIZE, output_dim=16)), name)


@pytest.mark.parametrize("backbone", sorted(APPLICATIONS))
def test_backbone_loads_local_weights_and_preprocesses_like_keras(tmp_path,
                                                                   backbone):
    reference = _random_notop(backbone)
    path = _write(reference, tmp_path / f"{backbone}_notop.weights.h5")
    network = _network(backbone, path)
    nested = network.get_layer("image_net_backbone")
    for ours, theirs in zip(nested.weights, reference.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # Pooled features equal keras.applications' preprocess_input + model.
    pixels = np.random.default_rng(1).integers(0, 256, (2, SIZE, SIZE, 3),
                                               dtype=np.uint8)
    pooled = keras.Model(network.input,
                         network.get_layer("image_net_fc8").input)
    _, preprocess = APPLICATIONS[backbone]
    expected = reference(preprocess(pixels.astype(np.float32)), training=False)
    np.testing.assert_allclose(pooled(pixels, training=False), expected,
                               rtol=1e-5, atol=1e-5)
    assert network.output.shape == (None, 16)


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5", ".keras"])
def test_every_weight_file_format_loads(tmp_path, suffix):
    reference = _random_notop("mobilenet_v2", seed=3)
    path = _write(reference, tmp_path / f"mobilenet_v2_notop{suffix}")
    nested = _network("mobilenet_v2", path).get_layer("image_net_backbone")
    for ours, theirs in zip(nested.weights, reference.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_weights_of_another_network_are_a_clear_error(tmp_path):
    path = _write(_random_notop("mobilenet_v2"), tmp_path / "m.weights.h5")
    with pytest.raises(UserInputError, match="cannot load it into resnet50"):
        _network("resnet50", path)
    with pytest.raises(UserInputError, match="no such file"):
        _network("resnet50", str(tmp_path / "missing.weights.h5"))
    with pytest.raises(UserInputError, match=r"ending in \.mat"):
        _network("cnn_f", path)


def _trainable_names(network):
    return sorted({w.path.split("/")[-2] for w in network.trainable_weights})


def test_train_top_freezes_everything_but_fc8():
    for backbone in ("cnn_f", "mobilenet_v2"):
        network = networks.build_image_network(networks.ImageNetworkConfig(
            backbone=backbone, train_layers="top",
            cnn=networks.CnnFConfig(image_size=63, width=0.125, fc_units=16,
                                    output_dim=8)), "image_net")
        assert _trainable_names(network) == ["image_net_fc8"]


def test_train_from_a_layer_freezes_the_layers_before_it():
    network = networks.build_image_network(networks.ImageNetworkConfig(
        train_layers="from:fc6", cnn=networks.CnnFConfig(
            image_size=63, width=0.125, fc_units=16, output_dim=8)), "image_net")
    assert _trainable_names(network) == ["image_net_fc6", "image_net_fc7",
                                         "image_net_fc8"]
    resnet = _network("resnet50", train_layers="from:conv5_block3_1_conv")
    trained = _trainable_names(resnet)
    assert "conv5_block3_1_conv" in trained and "conv5_block2_1_conv" not in trained
    with pytest.raises(UserInputError, match="no layer 'conv9'.*conv1, conv2"):
        networks.build_image_network(networks.ImageNetworkConfig(
            train_layers="from:conv9", cnn=networks.CnnFConfig(
                image_size=63, width=0.125, fc_units=16, output_dim=8)), "n")


def test_frozen_layers_do_not_move_in_training():
    cnn = networks.CnnFConfig(image_size=tiny_model.SIZE, width=0.125,
                              fc_units=32, output_dim=tiny_model.D, dropout=0.0)
    image = networks.ImageNetworkConfig(train_layers="top", cnn=cnn)
    model = Divafn(networks.build_image_network(image, "image_net"),
                   networks.build_image_network(image, "keyframe_net"),
                   networks.build_video_mlp(tiny_model.DV, 32, tiny_model.D),
                   class_vectors=np.random.default_rng(0).normal(
                       size=(tiny_model.CLASSES, tiny_model.K_SEM)),
                   train_labels=np.arange(tiny_model.N) % tiny_model.CLASSES,
                   weights=ObjectiveWeights())
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    conv1 = model.image_net.get_layer("image_net_conv1").kernel.numpy()
    fc8 = model.image_net.get_layer("image_net_fc8").kernel.numpy()
    model.fit(tf.data.Dataset.from_tensor_slices(tiny_model.triplets()).batch(9),
              epochs=1, verbose=0)
    np.testing.assert_array_equal(
        model.image_net.get_layer("image_net_conv1").kernel.numpy(), conv1)
    assert not np.array_equal(
        model.image_net.get_layer("image_net_fc8").kernel.numpy(), fc8)


def _parameter_counts(model: keras.Model) -> tuple[int, int]:
    """(trainable, frozen) parameter counts of a network."""
    return tuple(sum(int(np.prod(w.shape)) for w in weights)
                 for weights in (model.trainable_weights,
                                 model.non_trainable_weights))


def test_parameter_counts_of_each_backbone():
    counts = {b: _parameter_counts(_network(b, train_layers="top"))
              for b in ("resnet50", "mobilenet_v2")}
    # fc8 (2048·16 + 16, 1280·16 + 16) trains; the backbone is frozen.
    assert counts["resnet50"] == (2048 * 16 + 16, 23_587_712)
    assert counts["mobilenet_v2"] == (1280 * 16 + 16, 2_257_984)
