"""How each method of the paper's tables is evaluated on one split.

The methods are defined in the package docstring (`divafn_tf.experiments`,
which ``--help`` prints) and in docs/design.md §6. `evaluate` runs one of
them; every method returns the test accuracy of its linear SVM.
"""
from __future__ import annotations

import dataclasses
import functools

import keras
import numpy as np
import tensorflow as tf

from divafn_tf import (classifier, data, domain_adaptation, evaluation,
                       standardize, sylvester, train)
from divafn_tf.config import RunConfig
from divafn_tf.model import mean_keyframe_embedding
from divafn_tf.nets import networks

BASE_METHODS = ("svm", "baseline", "finetuned", "kvc", "diva", "divf", "divafn",
                "divafn_no_images")
METHODS = BASE_METHODS + domain_adaptation.METHODS


# ---------------------------------------------------------------------------
# Features of one split.

def _penultimate(network: keras.Model) -> keras.Model:
    """The network up to fc8's input (CNN-F fc7, a backbone's pooled feature)."""
    fc8 = next(l for l in network.layers if l.name.endswith("_fc8"))
    return keras.Model(network.input, fc8.input)


def _keyframe_features(network: keras.Model, videos: tf.data.Dataset
                       ) -> np.ndarray:
    """Mean over each video's keyframes of ``network``'s output, [n, dim]."""
    dim = int(network.output.shape[-1])
    return np.concatenate([
        mean_keyframe_embedding(network, batch["keyframes"], dim).numpy()
        for batch in videos])


def _image_features(network: keras.Model, triplets: tf.data.Dataset
                    ) -> np.ndarray:
    return np.concatenate([network(b["image"], training=False).numpy()
                           for b in triplets])


class SplitFeatures:
    """One split's videos and the networks as DIVAFN starts them.

    ``inputs`` (``train.Inputs``, frozen features when the image layers are
    frozen) are made once per split and shared by every method on it.
    """

    def __init__(self, config: RunConfig, experiment: train.Experiment):
        self._config, self._experiment = config, experiment
        self.inputs = train.make_inputs(config, experiment, self.untrained)
        self.train = evaluation.embed_videos(self.untrained,
                                             self.inputs.train_videos)
        self.test = evaluation.embed_videos(self.untrained,
                                            self.inputs.test_videos)
        self.video_train, self.video_test = (self.train.raw_features,
                                             self.test.raw_features)
        self.y_train = experiment.train_set.labels
        self.y_test = experiment.test_set.labels

    @functools.cached_property
    def untrained(self) -> keras.Model:
        """DIVAFN as ``train.fit`` builds it (same seed), before training."""
        return train.untrained_model(self._config, self._experiment)


def _svm_accuracy(train_x: np.ndarray, y_train: np.ndarray, test_x: np.ndarray,
                  y_test: np.ndarray, config: RunConfig) -> float:
    return evaluation.concatenation_svm((train_x,), y_train, (test_x,), y_test,
                                        config.svm_c, config.seed)


# ---------------------------------------------------------------------------
# The methods. Each returns the test accuracy of its SVM.

def _keyframes_of(config: RunConfig, experiment: train.Experiment,
                  network: keras.Model, which: int) -> np.ndarray:
    """Keyframe features (pixels in) of the training (0) or test (1) videos."""
    videos = train.video_datasets(config, experiment)[which]
    return _keyframe_features(network, videos)


def _svm(config: RunConfig, experiment: train.Experiment,
         feats: SplitFeatures) -> float:
    return _svm_accuracy(feats.video_train, feats.y_train, feats.video_test,
                         feats.y_test, config)


def _baseline(config: RunConfig, experiment: train.Experiment,
              feats: SplitFeatures) -> float:
    penultimate = _penultimate(feats.untrained.image_net)
    images = _image_features(penultimate, data.ordered_triplets(
        experiment.pool, experiment.train_set, config.image_size,
        config.batch_size))
    keyframes = _keyframes_of(config, experiment, penultimate, 1)
    return _svm_accuracy(np.hstack([images, feats.video_train]), feats.y_train,
                         np.hstack([keyframes, feats.video_test]), feats.y_test,
                         config)


def _training_keyframes(config: RunConfig, experiment: train.Experiment
                        ) -> tf.data.Dataset:
    """(keyframe, label) pairs of the training videos, shuffled, batched."""
    videos = train.video_datasets(config, experiment)[0].unbatch()
    frames = videos.flat_map(lambda v: tf.data.Dataset.from_tensor_slices(
        (v["keyframes"], tf.fill([tf.shape(v["keyframes"])[0]], v["label"]))))
    per_video = experiment.pool.builder.info.features["keyframes"].shape[0]
    frames = frames.apply(tf.data.experimental.assert_cardinality(
        len(experiment.train_set) * per_video))
    return frames.shuffle(4096, seed=config.seed).batch(config.batch_size)


def _finetuned(config: RunConfig, experiment: train.Experiment,
               feats: SplitFeatures) -> float:
    keras.utils.set_random_seed(config.seed)
    image = train.image_network_config(config)
    image = dataclasses.replace(image, cnn=dataclasses.replace(
        image.cnn, output_dim=experiment.pool.num_classes))
    network = networks.build_image_network(image, "finetuned_net")
    network.compile(optimizer=train.make_optimizer(config),
                    loss=keras.losses.SparseCategoricalCrossentropy(
                        from_logits=True))
    network.fit(_training_keyframes(config, experiment), epochs=config.epochs,
                shuffle=False, verbose=0)
    train_x = _keyframes_of(config, experiment, network, 0)
    test_x = _keyframes_of(config, experiment, network, 1)
    return _svm_accuracy(train_x, feats.y_train, test_x, feats.y_test, config)


def _kvc(config: RunConfig, experiment: train.Experiment,
         feats: SplitFeatures) -> float:
    return _svm_accuracy(np.hstack([feats.train.h, feats.video_train]),
                         feats.y_train,
                         np.hstack([feats.test.h, feats.video_test]),
                         feats.y_test, config)


def _divf(config: RunConfig, experiment: train.Experiment,
          feats: SplitFeatures) -> float:
    """The autoencoders alone (eqs. 18-25) on the untrained keyframe feature
    and the raw video feature, standardised as DIVAFN's (``--standardize``)."""
    h_train, h_test = feats.train.h, feats.test.h
    moments = {name: standardize.moments_of(x, config.standardize)
               for name, x in (("h", h_train), ("g", feats.video_train))}
    h_train, h_test = (moments["h"].apply(x) for x in (h_train, h_test))
    g_train, g_test = (moments["g"].apply(x)
                       for x in (feats.video_train, feats.video_test))
    s = experiment.class_vectors.astype(np.float64)[feats.y_train].T
    w = {name: sylvester.solve_autoencoder_w(
             s, x.T, config.beta, config.lam, config.w_solver).w
         for name, x in (("h", h_train), ("g", g_train),
                         ("e", np.hstack([h_train, g_train])))}
    fuse = lambda h, g: classifier.fused_features(  # noqa: E731
        w["h"], w["g"], w["e"], h, g)
    return _svm_accuracy(fuse(h_train, g_train), feats.y_train,
                         fuse(h_test, g_test), feats.y_test, config)


def _trained(config: RunConfig, experiment: train.Experiment,
             feats: SplitFeatures):
    """DIVAFN trained on the split, and its embeddings of the videos."""
    model, inputs = train.fit(config, experiment, tf.distribute.get_strategy(),
                              None, inputs=feats.inputs)
    return (model, evaluation.embed_videos(model, inputs.train_videos),
            evaluation.embed_videos(model, inputs.test_videos))


def _diva(config: RunConfig, experiment: train.Experiment,
          feats: SplitFeatures) -> float:
    config = dataclasses.replace(config, beta=0.0, lam=0.0)
    _, train_set, test_set = _trained(config, experiment, feats)
    return _svm_accuracy(np.hstack([train_set.h, train_set.g]), feats.y_train,
                         np.hstack([test_set.h, test_set.g]), feats.y_test,
                         config)


def _divafn(config: RunConfig, experiment: train.Experiment,
            feats: SplitFeatures) -> float:
    model, train_set, test_set = _trained(config, experiment, feats)
    return evaluation.divafn_svm(model, train_set, test_set, config.svm_c,
                                 config.seed).accuracy


def _divafn_no_images(config: RunConfig, experiment: train.Experiment,
                      feats: SplitFeatures) -> float:
    """DIVAFN without the image network and its two likelihoods (a = b = 0),
    everything else equal: ``divafn`` minus this is what the images add."""
    return _divafn(dataclasses.replace(config, images=False), experiment, feats)


def _domain_adaptation(name: str, config: RunConfig,
                       experiment: train.Experiment,
                       feats: SplitFeatures) -> float:
    image_net = feats.untrained.image_net
    source = _image_features(image_net, data.ordered_triplets(
        experiment.pool, experiment.train_set, config.image_size,
        config.batch_size))
    target = np.vstack([_keyframes_of(config, experiment, image_net, 0),
                        _keyframes_of(config, experiment, image_net, 1)])
    # MEDA's own output is its classifier's decision values (its GFK
    # features alone would repeat the gfk row).
    options = {"features": "scores"} if name == "meda" else {}
    _, adapted = domain_adaptation.adapt(name, source, feats.y_train, target,
                                         seed=config.seed, **options)
    n = len(feats.y_train)
    return _svm_accuracy(np.hstack([adapted[:n], feats.video_train]),
                         feats.y_train,
                         np.hstack([adapted[n:], feats.video_test]),
                         feats.y_test, config)


_BASE = {"svm": _svm, "baseline": _baseline, "finetuned": _finetuned,
         "kvc": _kvc, "diva": _diva, "divf": _divf, "divafn": _divafn,
         "divafn_no_images": _divafn_no_images}


def evaluate(method: str, config: RunConfig, experiment: train.Experiment,
             feats: SplitFeatures) -> float:
    """Test accuracy of ``method`` on one split."""
    if method in domain_adaptation.METHODS:
        return _domain_adaptation(method, config, experiment, feats)
    return _BASE[method](config, experiment, feats)
