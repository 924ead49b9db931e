"""Training on a real pair's config built from the dummy manual dir.

B→U goes through its official splits: the training ratio is drawn from the
``train`` split and the whole ``test`` split is tested on. A2U goes through a
pool with attribute class vectors given by --class_vectors.
"""
import dataclasses
import json

import numpy as np
import pytest

from divafn_tf import train
from divafn_tf.config import RunConfig
from divafn_tf.errors import UserInputError
from tfds_builders.divafn import class_tables

from dummy_manual import DUMMY

pytestmark = pytest.mark.e2e  # train.run end to end
TINY_NETS = dict(image_size=64, cnn_width=0.25, fc_units=64, video_hidden=64,
                 d=32, optimizer="adam", learning_rate=1e-3, batch_size=16,
                 epochs=2, eval_every=0, histogram_every=0)


def _config(tmp_path, **overrides) -> RunConfig:
    return dataclasses.replace(
        RunConfig(data_dir=str(tmp_path / "data"), manual_dir=str(DUMMY),
                  model_dir=str(tmp_path / "run"), **TINY_NETS), **overrides)


def test_b2u_trains_on_a_ratio_of_the_official_train_split(tmp_path):
    results = train.run(_config(tmp_path, dataset="divafn/b2u_split1_c3d",
                                train_ratio=0.5))
    # 21 dummy classes with 2 training videos each: round(0.5 * 2) = 1 per
    # class; the test split's 21 videos are all tested on.
    assert results["num_train"] == 21 and results["num_test"] == 21
    assert results["num_classes"] == 101
    for accuracy in results["accuracy"].values():
        assert 0.0 <= accuracy <= 1.0
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["flags"]["manual_dir"] == str(DUMMY)
    assert (tmp_path / "run" / "export" / "saved_model.pb").is_file()


def test_pool_ratio_one_is_refused(tmp_path):
    with pytest.raises(UserInputError, match="official train/test splits"):
        train.run(_config(tmp_path, dataset="divafn/a2u_idt", train_ratio=1.0))


def test_class_vectors_flag_replaces_the_word2vec_vectors(tmp_path,
                                                          monkeypatch):
    names = [p.video_class for p in class_tables.A2U]
    attributes = np.random.default_rng(0).integers(0, 2, (len(names), 115))
    attributes[:, 0] = 1                                # no zero row
    path = tmp_path / "attributes.txt"
    path.write_text("\n".join(f"{n} " + " ".join(map(str, row))
                              for n, row in zip(names, attributes)))
    config = _config(tmp_path, dataset="divafn/a2u_idt", train_ratio=0.5,
                     class_vectors=str(path), epochs=1, export=False)
    seen = {}
    original = train.build_model

    def spy(config, class_vectors, *args):
        seen["class_vectors"] = class_vectors
        return original(config, class_vectors, *args)

    monkeypatch.setattr(train, "build_model", spy)
    train.run(config)
    expected = attributes / np.linalg.norm(attributes, axis=1, keepdims=True)
    np.testing.assert_allclose(seen["class_vectors"], expected, atol=1e-6)
