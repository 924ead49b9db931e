"""Builds divafn/synthetic_tiny and checks the triplets, metadata, errors."""
import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders.divafn  # noqa: F401  (registers the builder)
from tfds_builders.divafn import divafn_dataset_builder, synthetic

NAME = "divafn/synthetic_tiny"
TINY = divafn_dataset_builder.Divafn.builder_configs["synthetic_tiny"]


def _build(data_dir, **kwargs):
    builder = tfds.builder(NAME, data_dir=str(data_dir))
    builder.download_and_prepare(**kwargs)
    return builder


def _examples(builder):
    return list(tfds.as_numpy(builder.as_dataset(split="pool",
                                                 shuffle_files=False)))


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="module")
def examples(builder):
    return _examples(builder)


def test_config(builder):
    cfg = builder.builder_config
    assert cfg.image_size == (32, 32) and cfg.num_keyframes == 2
    assert cfg.video_feature_dim == 64
    assert cfg.synthetic == synthetic.SyntheticParams(
        num_classes=4, images_per_class=12, videos_per_class=12,
        frames_per_video=8, seed=0)
    assert [c.name for c in builder.BUILDER_CONFIGS] == [
        "synthetic", "synthetic_val", "synthetic_tiny", "s2u_c3d", "s2u_idt", "a2u_c3d",
        "a2u_idt", "e2h_c3d", "e2h_idt", "b2u_split1_c3d", "b2u_split1_idt",
        "b2u_split2_c3d", "b2u_split2_idt", "b2u_split3_c3d", "b2u_split3_idt"]


def test_features_and_shapes(builder, examples):
    cfg = builder.builder_config
    assert list(builder.info.splits) == ["pool"]
    assert builder.info.splits["pool"].num_examples == 4 * 12 == len(examples)
    assert builder.info.features["label"].names == [
        "waving_flag", "waving_hand", "swinging_bat", "swinging_racket"]
    for ex in examples:
        assert ex["image"].dtype == np.uint8 and ex["image"].ndim == 3
        assert ex["image"].shape[2] == 3
        assert 32 <= ex["image"].shape[0] <= 48 and 32 <= ex["image"].shape[1] <= 48
        assert ex["keyframes"].shape == (cfg.num_keyframes, 32, 32, 3)
        assert ex["keyframes"].dtype == np.uint8
        assert ex["video_feature"].shape == (64,)
        assert ex["video_feature"].dtype == np.float32
        assert np.all(np.isfinite(ex["video_feature"]))
        assert 0 <= ex["label"] < 4
    assert sorted(np.bincount([ex["label"] for ex in examples])) == [12] * 4


def test_pairing_shares_the_class(builder, examples):
    names = builder.info.features["label"].names
    video_ids = [ex["video_id"].decode() for ex in examples]
    assert len(set(video_ids)) == len(examples)
    for ex in examples:
        name = names[ex["label"]]
        assert ex["video_id"].decode().startswith(name + "_v")
        assert ex["image_id"].decode().startswith(name + "_i")
        # Video i of a class is paired with image i (as many images as videos).
        assert ex["video_id"][-3:] == ex["image_id"][-3:]


def test_metadata_class_vectors(builder):
    meta = builder.info.metadata
    assert meta["class_phrases"] == ["waving flag", "waving hand",
                                     "swinging bat", "swinging racket"]
    vectors = np.asarray(meta["class_vectors"])
    assert vectors.shape == (4, synthetic.WORD_VECTOR_DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    # Classes sharing a word have correlated vectors.
    assert vectors[0] @ vectors[1] > 0.3 > abs(vectors[0] @ vectors[3])


def test_metadata_survives_reloading(builder):
    reloaded = tfds.builder(NAME, data_dir=builder.data_dir_root)
    np.testing.assert_allclose(reloaded.info.metadata["class_vectors"],
                               builder.info.metadata["class_vectors"])


def test_same_seed_gives_identical_data(tmp_path, examples):
    again = _examples(_build(tmp_path))
    by_id = {ex["video_id"]: ex for ex in again}
    assert set(by_id) == {ex["video_id"] for ex in examples}
    for ex in examples:
        other = by_id[ex["video_id"]]
        np.testing.assert_array_equal(ex["video_feature"], other["video_feature"])
        np.testing.assert_array_equal(ex["image"], other["image"])
        np.testing.assert_array_equal(ex["keyframes"], other["keyframes"])


def test_other_seed_gives_other_data(tmp_path):
    cfg = TINY
    params = synthetic.SyntheticParams(num_classes=2, images_per_class=1,
                                       videos_per_class=2, frames_per_video=4)
    first = synthetic.ensure_raw_dir(tmp_path, params, cfg.image_size, 16)
    assert synthetic.ensure_raw_dir(tmp_path, params, cfg.image_size, 16) == first
    other = synthetic.ensure_raw_dir(
        tmp_path, synthetic.SyntheticParams(2, 1, 2, 4, seed=1),
        cfg.image_size, 16)
    assert other != first
    name = "features/waving_flag_v000.npy"
    assert not np.array_equal(np.load(first / name), np.load(other / name))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [first.name, other.name])                    # no temporary left


@pytest.mark.parametrize("bad_value", [np.zeros(65, np.float32),
                                       np.full(64, np.nan, np.float32)],
                         ids=["wrong_dimension", "nan"])
def test_bad_feature_file_fails_cleanly(tmp_path, bad_value):
    cfg = TINY
    download_dir = tmp_path / "downloads"
    raw = synthetic.ensure_raw_dir(download_dir, cfg.synthetic, cfg.image_size,
                                   cfg.video_feature_dim)
    bad = raw / "features" / "swinging_bat_v005.npy"
    np.save(bad, bad_value)
    builder = tfds.builder(NAME, data_dir=str(tmp_path / "data"))
    with pytest.raises(divafn_dataset_builder.RawDataError) as info:
        builder.download_and_prepare(download_dir=str(download_dir))
    assert str(bad) in str(info.value)
    assert ("(64,)" in str(info.value) if bad_value.size != 64
            else "finite" in str(info.value))
    assert not builder.is_prepared()
    assert not builder.data_path.exists()
    version_dirs = list((tmp_path / "data").glob("divafn/synthetic_tiny/*"))
    assert version_dirs == []                       # no incomplete dir either
