"""The divafn builder's tests (beside the builder, as in the TFDS template).

The synthetic configs (``synthetic_tiny``, built from the embedded generator)
are checked for their triplets, metadata and errors; the real pairs' configs
against the dummy manual dir (tiny real files).

The dummy manual dir (``dummy_manual.DUMMY``) holds UCF101 / HMDB51 /
Stanford40 / ASD / EAD / BU101 files in their distributed layouts: 21 UCF101
classes x 3 videos, the 15 E→H HMDB51 classes x 3 videos, 2 images per class
(1 or 3 in BU101), features in both formats, word2vec binary.
"""
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from divafn_tf.prep import semantics
from tfds_builders.divafn import (class_tables, divafn_dataset_builder,
                                  sources, synthetic)
from divafn_tf.prep.video_features import RawDataError
import dummy_manual
from dummy_manual import DUMMY

Divafn = divafn_dataset_builder.Divafn


class _NoSessionHelper:
    """Keeps pytest from collecting tf.test.TestCase.test_session, a session
    helper (not a test; the TFDS test case calls it in graph mode) that it
    would otherwise report as skipped ("Not a test.") in each builder test."""

    def test_session(self, *args, **kwargs):
        return super().test_session(*args, **kwargs)

    test_session.__test__ = False


@pytest.mark.heavy  # builds and reads 2 configs
class S2uTest(_NoSessionHelper, tfds.testing.DatasetBuilderTestCase):
    """Stanford40→UCF101: 10 classes x 3 videos in one pool."""
    DATASET_CLASS = Divafn
    BUILDER_CONFIG_NAMES_TO_TEST = ["s2u_c3d", "s2u_idt"]
    SPLITS = {"pool": 30}
    SKIP_CHECKSUMS = True


@pytest.mark.heavy  # builds and reads 2 configs
class A2uTest(_NoSessionHelper, tfds.testing.DatasetBuilderTestCase):
    """ASD→UCF101: 10 classes x 3 videos in one pool."""
    DATASET_CLASS = Divafn
    BUILDER_CONFIG_NAMES_TO_TEST = ["a2u_c3d", "a2u_idt"]
    SPLITS = {"pool": 30}
    SKIP_CHECKSUMS = True


@pytest.mark.heavy  # builds and reads 2 configs
class E2hTest(_NoSessionHelper, tfds.testing.DatasetBuilderTestCase):
    """EAD→HMDB51: 15 classes x 3 videos in one pool."""
    DATASET_CLASS = Divafn
    BUILDER_CONFIG_NAMES_TO_TEST = ["e2h_c3d", "e2h_idt"]
    SPLITS = {"pool": 45}
    SKIP_CHECKSUMS = True


@pytest.mark.heavy  # builds and reads 6 configs
class B2uTest(_NoSessionHelper, tfds.testing.DatasetBuilderTestCase):
    """BU101→UCF101, official splits 1-3: 2 train and 1 test video per class
    of the 21 dummy classes."""
    DATASET_CLASS = Divafn
    BUILDER_CONFIG_NAMES_TO_TEST = [f"b2u_split{s}_{kind}" for s in (1, 2, 3)
                                    for kind in ("c3d", "idt")]
    SPLITS = {"train": 42, "test": 21}
    SKIP_CHECKSUMS = True


def _build(data_dir, config, manual_dir=DUMMY, **kwargs):
    builder = tfds.builder(f"divafn/{config}", data_dir=str(data_dir), **kwargs)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=str(manual_dir)))
    return builder


def _examples(builder, split):
    return list(tfds.as_numpy(builder.as_dataset(split=split,
                                                 shuffle_files=False)))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tfds")


def test_s2u_triplets_pair_videos_and_images_of_one_class(data_dir):
    builder = _build(data_dir, "s2u_c3d")
    names = builder.info.features["label"].names
    assert names == [p.video_class for p in class_tables.S2U]
    examples = _examples(builder, "pool")
    by_class = {}
    for ex in examples:
        by_class.setdefault(int(ex["label"]), []).append(ex)
        assert ex["keyframes"].shape == (1, 224, 224, 3)
        assert ex["image"].shape[2] == 3
    for label, members in by_class.items():
        pair = class_tables.S2U[label]
        video_ids = sorted(ex["video_id"].decode() for ex in members)
        assert all(v.lower().startswith(f"v_{pair.video_class.lower()}_g")
                   for v in video_ids)
        # Videos g01, g02, g03 with Stanford40 images 001, 002, 001 (cycling).
        by_video = {ex["video_id"].decode(): ex["image_id"].decode()
                    for ex in members}
        assert [by_video[v] for v in video_ids] == [
            f"{pair.image_class}_001", f"{pair.image_class}_002",
            f"{pair.image_class}_001"]


def test_features_come_from_the_kind_and_format_of_the_config(data_dir):
    c3d = {ex["video_id"].decode(): ex["video_feature"]
           for ex in _examples(_build(data_dir, "s2u_c3d"), "pool")}
    idt = {ex["video_id"].decode(): ex["video_feature"]
           for ex in _examples(_build(data_dir, "s2u_idt"), "pool")}
    matrix = np.load(DUMMY / "features/ucf101_c3d/features.npy")
    index = (DUMMY / "features/ucf101_c3d/features_index.txt").read_text(
        ).split()
    for video_id, feature in c3d.items():
        assert feature.shape == (4096,)
        np.testing.assert_array_equal(feature, matrix[index.index(video_id)])
    for video_id, feature in idt.items():
        assert feature.shape == (2000,)
        np.testing.assert_array_equal(
            feature, np.load(DUMMY / f"features/ucf101_idt/{video_id}.npy"))


def test_metadata_holds_the_paper_phrases_and_their_word2vec_vectors(data_dir):
    builder = _build(data_dir, "s2u_idt")
    phrases = [p.phrase for p in class_tables.S2U]
    assert builder.info.metadata["class_phrases"] == phrases
    kv = semantics.load_word_vectors(DUMMY / dummy_manual.WORD2VEC)
    np.testing.assert_allclose(builder.info.metadata["class_vectors"],
                               semantics.class_vectors(kv, phrases), atol=1e-6)


def test_asd_grayscale_and_rgba_images_become_rgb(data_dir):
    builder = _build(data_dir, "a2u_c3d")
    names = builder.info.features["label"].names
    images = {(names[ex["label"]], ex["image_id"].decode()): ex["image"]
              for ex in _examples(builder, "pool")}
    assert all(image.ndim == 3 and image.shape[2] == 3
               for image in images.values())
    gray = images["Biking", "img_002"]           # ASD/riding_bike, 1 channel
    assert gray.shape == (24, 32, 3)
    assert np.array_equal(gray[..., 0], gray[..., 1])
    assert np.array_equal(gray[..., 0], gray[..., 2])
    rgba = images["PlayingViolin", "img_002"]    # ASD/playing_violin, RGBA PNG
    assert rgba.shape == (24, 32, 3)
    assert not np.array_equal(rgba[..., 0], rgba[..., 1])


def test_e2h_reads_hii_folders_and_falls_back_on_stanford40(data_dir):
    builder = _build(data_dir, "e2h_c3d")
    names = builder.info.features["label"].names
    image_ids = {}
    for ex in _examples(builder, "pool"):
        image_ids.setdefault(names[ex["label"]], set()).add(
            ex["image_id"].decode())
    for pair in class_tables.E2H:
        ids = image_ids[pair.video_class]
        if pair.image_class in class_tables.E2H_FROM_HII:
            folder = DUMMY / "EAD" / pair.image_class
        else:
            folder = DUMMY / "Stanford40" / "JPEGImages"
            assert not (DUMMY / "EAD" / pair.image_class).exists()
        on_disk = {p.stem for p in folder.iterdir()}
        assert ids and ids <= on_disk
        assert all(i.startswith(pair.image_class + "_") for i in ids)


def test_b2u_official_split_lists_and_quirks(data_dir):
    builder = _build(data_dir, "b2u_split2_c3d")
    names = builder.info.features["label"].names
    assert names == list(class_tables.UCF101_CLASSES)
    train = _examples(builder, "train")
    test = _examples(builder, "test")
    # Split 2: groups 2 and 3 train, group 1 tests.
    assert {ex["video_id"].decode()[-7:-4] for ex in train} == {"g02", "g03"}
    assert {ex["video_id"].decode()[-7:-4] for ex in test} == {"g01"}
    # The list says v_HandstandPushups_*, the file is v_HandStandPushups_*.
    assert "v_HandStandPushups_g01_c01" in {ex["video_id"].decode()
                                            for ex in test}
    archery = names.index("Archery")
    archery_images = sorted(ex["image_id"].decode() for ex in train
                            if ex["label"] == archery)
    assert len(set(archery_images)) == 2            # 3 images, 2 train videos
    single = [ex for ex in train if names[ex["label"]] == "HandstandPushups"]
    assert len(single) == 2 and len({ex["image_id"] for ex in single}) == 1


def test_more_keyframes_build_a_config_of_their_own(data_dir):
    config = divafn_dataset_builder.with_num_keyframes(
        Divafn.builder_configs["a2u_idt"], 3)
    assert config.name == "a2u_idt_k3"
    builder = tfds.builder("divafn", config=config, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=str(DUMMY)))
    example = _examples(builder, "pool")[0]
    assert example["keyframes"].shape == (3, 224, 224, 3)


def test_samples_per_class_keeps_the_first_files():
    spec = sources.PAIRS["s2u"]
    capped = sources.PairSpec(spec.name, spec.table, spec.video_dataset,
                              spec.image_source, samples_per_class=2)
    triplets = sources.pool_triplets(capped, DUMMY)
    assert len(triplets) == 20
    first = [t for t in triplets if t.label == 0]
    assert [t.video.name for t in first] == ["v_Archery_g01_c01.avi",
                                              "v_Archery_g02_c01.avi"]


def test_out_of_vocabulary_words_stop_the_build_with_the_list(tmp_path):
    manual = dummy_manual.copy(tmp_path)
    dummy_manual.drop_words(manual, {"archery", "mopping"})
    builder = tfds.builder("divafn/s2u_c3d", data_dir=str(tmp_path / "data"))
    with pytest.raises(semantics.OutOfVocabularyError) as info:
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    message = str(info.value)
    assert "'archery' in \"archery\"" in message
    assert "'mopping' in \"mopping floor\"" in message
    assert "--oov=skip_word" in message and "negative300.bin" in message
    assert not builder.data_path.exists()
    # "mopping floor" keeps "floor"; "archery" has no word left: still an error.
    with pytest.raises(semantics.OutOfVocabularyError, match="'archery'"):
        _build(tmp_path / "data", "s2u_c3d", manual, oov="skip_word")


@pytest.mark.parametrize("damage, expected", [
    (lambda m: shutil.rmtree(m / "UCF-101" / "Rowing"),
     "UCF-101: no folder for class 'Rowing'"),
    (lambda m: (m / "features/ucf101_idt/v_Rowing_g02_c01.npy").unlink(),
     "no <video id>.npy for 1 video(s): v_Rowing_g02_c01"),
    (lambda m: np.save(m / "features/ucf101_idt/v_Rowing_g02_c01.npy",
                       np.zeros(2001, np.float32)),
     "v_Rowing_g02_c01.npy: expected a numeric vector of shape (2000,)"),
    (lambda m: (m / "Stanford40/JPEGImages/rowing_a_boat_001.jpg").write_bytes(
        (m / "Stanford40/JPEGImages/rowing_a_boat_001.jpg").read_bytes()[:200]),
     "rowing_a_boat_001.jpg: not a decodable image"),
    (lambda m: (m / "UCF-101/Rowing/v_Rowing_g01_c01.avi").write_bytes(b"x" * 99),
     "v_Rowing_g01_c01.avi"),
], ids=["class_folder", "feature_file", "feature_dim", "truncated_jpeg",
        "undecodable_video"])
def test_bad_input_names_the_file_and_leaves_no_dataset(tmp_path, damage,
                                                        expected):
    manual = dummy_manual.copy(tmp_path)
    damage(manual)
    builder = tfds.builder("divafn/s2u_idt", data_dir=str(tmp_path / "data"))
    with pytest.raises(ValueError) as info:
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    assert expected in str(info.value)
    assert not builder.data_path.exists()
    assert list((tmp_path / "data").glob("divafn/s2u_idt/*")) == []


def test_missing_manual_dir_says_what_to_download(tmp_path):
    builder = tfds.builder("divafn/a2u_c3d", data_dir=str(tmp_path / "data"))
    with pytest.raises(AssertionError, match="ASD/<class>/<image>"):
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
            manual_dir=str(tmp_path / "empty")))


def test_find_class_folder_matches_case_and_separators(tmp_path):
    (tmp_path / "walking_with_dog").mkdir()
    assert sources.find_class_folder(tmp_path, "WalkingWithDog").name == \
        "walking_with_dog"
    with pytest.raises(RawDataError, match="no folder for class 'Rowing'"):
        sources.find_class_folder(tmp_path, "Rowing")
    (tmp_path / "Walking-With-Dog").mkdir()
    with pytest.raises(RawDataError, match="several folders"):
        sources.find_class_folder(tmp_path, "WalkingWithDog")
    # An exact name is no exception: two folders of one class are ambiguous.
    (tmp_path / "WalkingWithDog").mkdir()
    (tmp_path / "walking_with_dog").rmdir()
    (tmp_path / "Walking-With-Dog").rmdir()
    assert sources.find_class_folder(tmp_path, "walking with dog").name == \
        "WalkingWithDog"
    (tmp_path / "walking with dog").mkdir()
    with pytest.raises(RawDataError, match="several folders"):
        sources.find_class_folder(tmp_path, "WalkingWithDog")


def test_cmyk_jpeg_is_converted_not_refused(tmp_path):
    from PIL import Image
    manual = dummy_manual.copy(tmp_path)
    target = manual / "ASD" / "riding_bike" / "img_001.jpg"
    rgb = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(target, "JPEG", quality=95)
    builder = _build(tmp_path / "data", "a2u_idt", manual)
    names = builder.info.features["label"].names
    image = next(ex["image"] for ex in _examples(builder, "pool")
                 if names[ex["label"]] == "Biking"
                 and ex["image_id"].decode() == "img_001")
    assert image.shape == (24, 32, 3)
    assert np.abs(image.astype(int) - rgb).mean() < 12     # the same picture


# The synthetic configs: no manual dir, the raw files come from the generator.

SYNTHETIC_TINY = "divafn/synthetic_tiny"
TINY = Divafn.builder_configs["synthetic_tiny"]


def _build_synthetic(data_dir, **kwargs):
    builder = tfds.builder(SYNTHETIC_TINY, data_dir=str(data_dir))
    builder.download_and_prepare(**kwargs)
    return builder


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
    return _build_synthetic(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="module")
def examples(builder):
    return _examples(builder, "pool")


def test_config(builder):
    cfg = builder.builder_config
    assert cfg.image_size == (32, 32) and cfg.num_keyframes == 2
    assert cfg.video_feature_dim == 64
    assert cfg.synthetic == synthetic.SyntheticParams(
        num_classes=4, images_per_class=12, videos_per_class=12,
        frames_per_video=8, seed=0)
    assert [c.name for c in builder.BUILDER_CONFIGS] == [
        "synthetic", "synthetic_val", "synthetic_tiny",
        "s2u_c3d", "s2u_idt", "s2u_frames", "a2u_c3d", "a2u_idt", "a2u_frames",
        "e2h_c3d", "e2h_idt", "e2h_frames",
        "b2u_split1_c3d", "b2u_split1_idt", "b2u_split1_frames",
        "b2u_split2_c3d", "b2u_split2_idt", "b2u_split2_frames",
        "b2u_split3_c3d", "b2u_split3_idt", "b2u_split3_frames"]


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
    reloaded = tfds.builder(SYNTHETIC_TINY, data_dir=builder.data_dir_root)
    np.testing.assert_allclose(reloaded.info.metadata["class_vectors"],
                               builder.info.metadata["class_vectors"])


def test_same_seed_gives_identical_data(tmp_path, examples):
    again = _examples(_build_synthetic(tmp_path), "pool")
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
    builder = tfds.builder(SYNTHETIC_TINY, data_dir=str(tmp_path / "data"))
    with pytest.raises(divafn_dataset_builder.RawDataError) as info:
        builder.download_and_prepare(download_dir=str(download_dir))
    assert str(bad) in str(info.value)
    assert ("(64,)" in str(info.value) if bad_value.size != 64
            else "finite" in str(info.value))
    assert not builder.is_prepared()
    assert not builder.data_path.exists()
    version_dirs = list((tmp_path / "data").glob("divafn/synthetic_tiny/*"))
    assert version_dirs == []                       # no incomplete dir either
