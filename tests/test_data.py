"""The triplet pool, the per-class ratio split and the bank index."""
import numpy as np
import pytest
import tensorflow as tf

import tiny_model
from divafn_tf import data
from divafn_tf.errors import UserInputError


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    return data.load_pool("divafn/synthetic_tiny",
                          str(tmp_path_factory.mktemp("tfds")))


def test_split_is_per_class_seeded_and_disjoint():
    labels = np.repeat(np.arange(4), [10, 20, 3, 2])
    train, test = data.split_by_ratio(labels, 0.3, seed=7)
    assert not set(train) & set(test)
    assert len(train) + len(test) == len(labels)
    np.testing.assert_array_equal(np.bincount(labels[train]), [3, 6, 1, 1])
    again, _ = data.split_by_ratio(labels, 0.3, seed=7)
    other, _ = data.split_by_ratio(labels, 0.3, seed=8)
    np.testing.assert_array_equal(train, again)
    assert not np.array_equal(train, other)


def test_split_rejects_a_class_too_small_to_test():
    with pytest.raises(UserInputError, match="class 'jump' has 1 triplet"):
        data.split_by_ratio(np.array([0, 0, 1]), 0.5, 0, ["wave", "jump"])


def test_pool_split_rejects_ratio_one():
    with pytest.raises(UserInputError, match="official train/test splits"):
        data.split_by_ratio(np.array([0, 0, 1, 1]), 1.0, 0)


def test_official_split_sampling_is_per_class_seeded():
    train_labels = np.repeat(np.arange(3), [20, 10, 1])
    test_labels = np.array([0, 1, 2])
    names = ["a", "b", "c"]
    chosen = data.sample_by_ratio(train_labels, test_labels, 0.05, 3, names)
    np.testing.assert_array_equal(np.bincount(train_labels[chosen]), [1, 1, 1])
    chosen = data.sample_by_ratio(train_labels, test_labels, 0.5, 3, names)
    np.testing.assert_array_equal(np.bincount(train_labels[chosen]), [10, 5, 1])
    again = data.sample_by_ratio(train_labels, test_labels, 0.5, 3, names)
    other = data.sample_by_ratio(train_labels, test_labels, 0.5, 4, names)
    np.testing.assert_array_equal(chosen, again)
    assert not np.array_equal(chosen, other)
    everything = data.sample_by_ratio(train_labels, test_labels, 1.0, 3, names)
    np.testing.assert_array_equal(everything, np.arange(31))


def test_official_split_sampling_rejects_a_class_without_training_videos():
    with pytest.raises(UserInputError, match="class 'c' has test videos but no"):
        data.sample_by_ratio(np.array([0, 1]), np.array([2]), 0.5, 0,
                             ["a", "b", "c"])
    # A class in neither split is left out.
    chosen = data.sample_by_ratio(np.array([0, 2]), np.array([0]), 1.0, 0,
                                  ["a", "b", "c"])
    np.testing.assert_array_equal(chosen, [0, 1])


def test_training_index_is_the_rank_among_training_triplets(pool):
    assert not pool.has_official_splits
    train, test = data.select(pool, 0.3, seed=0)
    assert train.split == test.split == "pool"
    assert not set(train.indices) & set(test.indices)
    seen = {}
    for batch in data.training_dataset(pool, train, 64, 5, seed=0):
        for index, label in zip(batch["index"].numpy(), batch["label"].numpy()):
            seen[int(index)] = int(label)
    assert sorted(seen) == list(range(len(train)))
    np.testing.assert_array_equal([seen[i] for i in range(len(train))],
                                  train.labels)
    batch = next(iter(data.training_dataset(pool, train, 64, 5, seed=0)))
    assert batch["image"].shape[1:] == (64, 64, 3)
    assert batch["keyframes"].dtype == tf.uint8


def test_each_epoch_has_its_own_order_and_a_resumed_run_sees_the_same(pool):
    train, _ = data.select(pool, 0.5, seed=0)
    steps = data.steps_per_epoch(len(train), 5, drop_remainder=False)

    def order(initial_epoch):
        ds = data.training_dataset(pool, train, 32, 5, seed=3, epochs=3,
                                   initial_epoch=initial_epoch)
        indices = [batch["index"].numpy().tolist() for batch in ds]
        assert len(indices) == steps * (3 - initial_epoch)
        return [sum(indices[i:i + steps], [])
                for i in range(0, len(indices), steps)]

    epochs = order(0)
    assert all(sorted(e) == list(range(len(train))) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    assert order(2) == epochs[2:]
    assert data.steps_per_epoch(24, 5, drop_remainder=True) == 4


def test_fill_banks_rejects_triplets_out_of_bank_order():
    model = tiny_model.build()
    triplets = tiny_model.triplets()
    shuffled = {k: v[::-1] for k, v in triplets.items()}
    with pytest.raises(ValueError, match="bank order"):
        model.fill_banks(tf.data.Dataset.from_tensor_slices(shuffled).batch(8))


def test_missing_manual_dir_is_reported_with_the_layout(tmp_path):
    with pytest.raises(UserInputError) as info:
        data.load_pool("divafn/s2u_c3d", str(tmp_path / "data"),
                       str(tmp_path / "nowhere"))
    message = str(info.value)
    assert f"manual dir {tmp_path / 'nowhere'} is missing or empty" in message
    assert "Stanford40/JPEGImages/<action>_<nnn>.jpg" in message
