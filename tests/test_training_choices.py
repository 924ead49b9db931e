"""Training as the paper and DCMH do it: the choices of issue 12, each tested.

The class-prior level of the likelihood, the likelihood report, the network
without images, the final W from fresh inference-mode banks (standardised),
the bank refresh, and frozen layers computed once (identical training).
"""
import dataclasses

import keras
import numpy as np
import pytest
import scipy.optimize
import tensorflow as tf

import tiny_model
from divafn_tf import evaluation, objective, standardize, train
from divafn_tf.nets import frozen_features, networks
from divafn_tf.config import RunConfig
from divafn_tf.model import solve_w


def _softplus(x):
    return np.logaddexp(0.0, x)


def test_class_prior_nll_is_the_best_constant_logit_per_row():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    n = len(labels)
    best = []
    for c in labels:
        m = (labels == c).astype(float)
        res = scipy.optimize.minimize_scalar(
            lambda t: np.sum(_softplus(t) - m * t), bounds=(-20, 20),
            method="bounded", options={"xatol": 1e-10})
        best.append(res.fun)
    np.testing.assert_allclose(objective.class_prior_nll(labels), np.mean(best),
                               rtol=1e-7)
    # Balanced 10 classes, n = 150: the level the demo must get below.
    assert objective.class_prior_nll(np.arange(150) % 10) == pytest.approx(
        150 * -(0.1 * np.log(0.1) + 0.9 * np.log(0.9)))
    assert n == 10


def test_likelihood_check_matches_the_full_matrices():
    model = tiny_model.build()
    rng = np.random.default_rng(0)
    banks = {m: rng.normal(size=(tiny_model.N, tiny_model.D)).astype(np.float32)
             for m in "fhg"}
    model.set_banks(banks)
    report = evaluation.likelihood_check(model, rows_per_block=4)
    labels = model.train_labels
    same = (labels[:, None] == labels[None, :]).astype(float)
    for name, (x, y) in (("nll_image_video", "fg"), ("nll_image_keyframe", "fh"),
                         ("nll_keyframe_video", "hg")):
        theta = 0.5 * banks[x].astype(np.float64) @ banks[y].T
        expected = np.sum(_softplus(theta) - same * theta) / tiny_model.N
        assert report[name] == pytest.approx(expected, rel=1e-5)
    assert report["class_prior"] == objective.class_prior_nll(labels)


def test_without_images_j_is_the_full_j_with_a_b_zero_and_no_ae_f():
    rng = np.random.default_rng(3)
    n, batch, d, k, classes = 15, 5, 6, 4, 3
    f, h, g = (tf.constant(rng.normal(size=(batch, d))) for _ in range(3))
    labels = tf.constant(rng.integers(0, classes, batch))
    s = tf.constant(rng.normal(size=(batch, k)))
    banks = tuple(tf.constant(rng.normal(size=(n, d))) for _ in range(3))
    bank_labels = tf.constant(rng.integers(0, classes, n))
    w = tuple(tf.constant(rng.normal(size=shape))
              for shape in ((k, d), (k, d), (k, d), (k, 2 * d)))
    weights = objective.ObjectiveWeights(a=0.3, b=0.2)
    full, full_terms = objective.batch_objective(
        f, h, g, labels, s, banks, bank_labels, w,
        dataclasses.replace(weights, a=0.0, b=0.0))
    none, terms = objective.batch_objective(
        None, h, g, labels, s, (None, *banks[1:]), bank_labels,
        (None, *w[1:]), weights)
    np.testing.assert_allclose(none, full - full_terms["ae_f"], rtol=1e-12)
    assert not {"nll_image_video", "nll_image_keyframe", "ae_f"} & set(terms)


@pytest.mark.heavy  # 3 epochs of fit
def test_a_model_without_images_trains_and_has_no_image_state():
    model = tiny_model.build(optimizer="adam", learning_rate=3e-3, images=False)
    assert model.image_net is None and model.bank_f is None
    data = tf.data.Dataset.from_tensor_slices(tiny_model.triplets()).batch(8)
    model.fill_banks(data)
    history = model.fit(data, epochs=3, verbose=0).history
    assert "nll_image_video" not in history and "ae_f" not in history
    assert np.all(np.isfinite(history["J"]))


def _tiny_config(tmp_path, **changes) -> RunConfig:
    settings = dict(dataset="divafn/synthetic_tiny",
                    data_dir=str(tmp_path / "data"), train_ratio=0.5,
                    image_size=64, cnn_width=0.25, fc_units=64, video_hidden=64,
                    d=32, optimizer="adam", learning_rate=1e-3, batch_size=8,
                    epochs=3, eval_every=0, histogram_every=0)
    return dataclasses.replace(RunConfig(), **{**settings, **changes})


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("choices")
    config = _tiny_config(tmp)
    pool, vectors = train.load_dataset(config)
    return tmp, pool, vectors


def _fit(tiny_data, **changes):
    tmp, pool, vectors = tiny_data
    config = _tiny_config(tmp, **changes)
    experiment = train.split(pool, vectors, config.train_ratio, config.seed)
    model, inputs = train.fit(config, experiment, tf.distribute.get_strategy(),
                              None)
    return config, experiment, model, inputs


@pytest.mark.e2e  # train.fit
def test_final_w_is_solved_from_fresh_standardised_inference_features(tiny_data):
    config, experiment, model, inputs = _fit(tiny_data)
    w_final = {m: model.w_of(m).numpy().copy() for m in "fhge"}
    banks = model.bank_values()
    model.fill_banks(inputs.ordered_triplets)      # a fresh inference pass
    for m, bank in model.bank_values().items():
        np.testing.assert_allclose(bank, banks[m], rtol=1e-5, atol=1e-6)
        moments = standardize.moments_of(bank)
        np.testing.assert_allclose(model.moment_values(m).mean, moments.mean,
                                   rtol=1e-5, atol=1e-6)
    semantics = experiment.class_vectors.astype(np.float64)[
        experiment.train_set.labels].T
    solve_w(model, semantics, config.beta, config.lam, "min_norm", True)
    for m in "fhge":
        np.testing.assert_allclose(model.w_of(m).numpy(), w_final[m], rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.e2e  # train.fit
def test_nostandardize_keeps_the_identity_moments(tiny_data):
    _, _, model, _ = _fit(tiny_data, standardize=False)
    for m in "fhg":
        moments = model.moment_values(m)
        assert np.all(moments.mean == 0) and np.all(moments.std == 1)


class _BanksAtEpochEnd(keras.callbacks.Callback):
    def __init__(self, ordered):
        super().__init__()
        self.ordered, self.gaps = ordered, []

    def on_epoch_end(self, epoch, logs=None):
        fresh = np.concatenate([self.model(b, training=False)["h"].numpy()
                                for b in self.ordered])
        self.gaps.append(float(np.abs(self.model.bank_values()["h"] - fresh).max()))


@pytest.mark.e2e  # train.fit
@pytest.mark.parametrize("refresh_every", [0, 1])
def test_bank_refresh_writes_inference_outputs(tiny_data, monkeypatch,
                                               refresh_every):
    tmp, pool, vectors = tiny_data
    config = _tiny_config(tmp, bank_refresh_every=refresh_every)
    experiment = train.split(pool, vectors, config.train_ratio, config.seed)
    recorder = _BanksAtEpochEnd(
        train.pixel_inputs(config, experiment, False).ordered_triplets)
    original_fit = keras.Model.fit

    def fit_with_recorder(self, *args, callbacks=(), **kwargs):
        return original_fit(self, *args, callbacks=[*callbacks, recorder],
                            **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit_with_recorder)
    train.fit(config, experiment, tf.distribute.get_strategy(), None)
    if refresh_every:
        assert max(recorder.gaps) < 1e-5, recorder.gaps
    else:   # rows written before the step's update differ from fresh outputs
        assert min(recorder.gaps) > 1e-4, recorder.gaps


def test_split_frozen_cuts_where_training_starts():
    cnn = networks.CnnFConfig(image_size=64, width=0.25, fc_units=32,
                              output_dim=8, dropout=0.0)
    network = networks.build_image_network(
        networks.ImageNetworkConfig(cnn=cnn), "image_net")
    x = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3)).astype(np.uint8)
    assert frozen_features.split_frozen(network) is None   # all trains
    for first in ("fc8", "fc6", "conv3"):
        trainable = False
        for layer in network.layers:
            trainable = trainable or layer.name == f"image_net_{first}"
            layer.trainable = trainable
        stem, head = frozen_features.split_frozen(network)
        np.testing.assert_allclose(head(stem(x)), network(x), rtol=1e-5,
                                   atol=1e-5)
        assert not stem.trainable_weights
        assert len(head.trainable_weights) == len(network.trainable_weights)


@pytest.mark.e2e  # train.fit
def test_frozen_cache_trains_exactly_as_without_it(tiny_data):
    """--train_image_layers=top: the same run, the frozen layers computed once
    (and the cache under model_dir when it is large) or in every step."""
    runs = {}
    for cached in (True, False):
        config, _, model, inputs = _fit(tiny_data, train_image_layers="top",
                                        frozen_cache=cached)
        assert bool(model.stems) == cached
        runs[cached] = (model, inputs)
    cached, uncached = runs[True][0], runs[False][0]
    for a, b in zip(cached.trainable_variables, uncached.trainable_variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=a.path)
    for m in "fhg":
        np.testing.assert_allclose(cached.bank_values()[m],
                                   uncached.bank_values()[m], rtol=1e-4,
                                   atol=1e-5)
    embedded = [evaluation.embed_videos(model, inputs.test_videos)
                for model, inputs in runs.values()]
    np.testing.assert_allclose(embedded[0].h, embedded[1].h, rtol=1e-4,
                               atol=1e-5)
    # Training moved fc8, so the comparison is not of two untrained models.
    keras.utils.set_random_seed(config.seed)
    untrained = train.build_model(config, cached.class_vectors,
                                  cached.train_labels,
                                  int(cached.video_net.input.shape[-1]))
    assert not np.allclose(cached.keyframe_net.trainable_weights[0].numpy(),
                           untrained.keyframe_net.trainable_weights[0].numpy())


@pytest.mark.e2e  # train.fit
def test_the_cache_goes_to_disk_when_large(tiny_data, monkeypatch):
    monkeypatch.setattr(frozen_features, "MEMORY_LIMIT_BYTES", 0)
    tmp, pool, vectors = tiny_data
    config = _tiny_config(tmp, train_image_layers="top", epochs=1)
    experiment = train.split(pool, vectors, 0.5, 0)
    model, inputs = train.fit(config, experiment, tf.distribute.get_strategy(),
                              None, model_dir=str(tmp / "run"))
    files = sorted(p.name for p in (tmp / "run" / "feature_cache").iterdir())
    assert files == ["test_keyframe_features.npy", "train_image_features.npy",
                     "train_keyframe_features.npy"]
    in_memory = train.make_inputs(config, experiment, model)
    a = evaluation.embed_videos(model, inputs.test_videos)
    b = evaluation.embed_videos(model, in_memory.test_videos)
    np.testing.assert_allclose(a.h, b.h, rtol=1e-6)


@pytest.mark.heavy  # builds EfficientNet-Lite0 twice
def test_split_frozen_inside_a_nested_backbone_and_not_inside_a_residual():
    """EfficientNet-Lite0 (a nested backbone): cut at a block's input, the
    cached network equals the whole; a cut between a block's layers, which
    its residual add bypasses, is refused (None: no single cut tensor)."""
    x = np.random.default_rng(1).integers(0, 256, (2, 64, 64, 3)).astype(np.uint8)
    config = networks.ImageNetworkConfig(
        backbone="efficientnet_lite0", train_layers="from:block7a_expand_conv",
        cnn=networks.CnnFConfig(image_size=64, output_dim=8))
    network = networks.build_image_network(config, "keyframe_net")
    stem, head = frozen_features.split_frozen(network)
    np.testing.assert_allclose(head(stem(x)), network(x), rtol=1e-4, atol=1e-5)
    assert stem.output.shape[1:] == network.get_layer(
        "keyframe_net_backbone").get_layer("block7a_expand_conv").input.shape[1:]
    residual = networks.build_image_network(
        dataclasses.replace(config, train_layers="from:block6b_dwconv"),
        "keyframe_net")
    assert frozen_features.split_frozen(residual) is None


def _first_step_size(n: int, scaled: bool) -> float:
    """‖ΔW‖/‖W‖ of the video network's last layer after one SGD step at n."""
    from divafn_tf.model import Divafn
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 4
    cnn = networks.CnnFConfig(image_size=63, width=0.125, fc_units=16,
                              output_dim=8, dropout=0.0)
    model = Divafn(None, networks.build_image_network(
                       networks.ImageNetworkConfig(cnn=cnn), "keyframe_net"),
                   networks.build_video_mlp(6, 16, 8),
                   class_vectors=rng.normal(size=(4, 5)), train_labels=labels,
                   weights=objective.ObjectiveWeights(), scale_loss_by_n=scaled)
    model.compile(optimizer=keras.optimizers.SGD(1e-3))
    triplets = {
        "keyframes": rng.integers(0, 256, (n, 1, 63, 63, 3)).astype(np.uint8),
        "video_feature": (3 * np.eye(6)[labels]
                          + rng.normal(size=(n, 6))).astype(np.float32),
        "label": labels, "index": np.arange(n)}
    model.fill_banks(tf.data.Dataset.from_tensor_slices(triplets).batch(16))
    kernel = model.video_net.layers[-1].kernel
    before = kernel.numpy().copy()
    model.train_on_batch({k: v[:16] for k, v in triplets.items()})
    return float(np.linalg.norm(kernel.numpy() - before) / np.linalg.norm(before))


@pytest.mark.heavy  # four models, one SGD step each
def test_the_step_size_does_not_grow_with_n_when_the_loss_is_scaled():
    """--scale_loss_by_n (DCMH's 1/n): the same step at n and 4n; without it
    the step grows like n (the likelihood sums over the n bank rows)."""
    scaled = _first_step_size(160, True) / _first_step_size(40, True)
    unscaled = _first_step_size(160, False) / _first_step_size(40, False)
    assert 0.6 < scaled < 1.6, scaled
    assert unscaled > 2.5, unscaled


def test_no_dropout_by_default():
    """--dropout defaults to 0 (the paper and DCMH have none): the image
    network's training-mode outputs are its inference outputs."""
    assert RunConfig().dropout == 0.0
    config = train.image_network_config(dataclasses.replace(
        RunConfig(), image_size=63, cnn_width=0.125, fc_units=16, d=8))
    network = networks.build_image_network(config, "image_net")
    x = np.random.default_rng(0).integers(0, 256, (4, 63, 63, 3)).astype(np.uint8)
    np.testing.assert_array_equal(network(x, training=True),
                                  network(x, training=False))
