"""Tests of frame sampling and of the resumable engine of ``divafn_tf.features``.

Videos are real files in real codecs (xvid AVI, H.264 MP4: `video_files`);
the engine is tested with a small numpy kind (the mean colour of each
video's sampled frames) and with the real ``frames_efficientnet_lite0``.
"""
import gzip

import numpy as np
import pytest

from divafn_tf.errors import UserInputError
from divafn_tf.feature_extraction import catalog, kinds, runner
from divafn_tf.nets import efficientnet_lite
from divafn_tf.prep import frame_sampling
from divafn_tf.prep.keyframes import KeyframeError
from video_files import WRITERS, write_xvid_avi

# Frame t of a test video is a flat grey of level LEVELS[t]: far enough
# apart that lossy codecs keep every frame recognisable.
LEVELS = np.arange(20, 240, 11)          # 20 frames


def _graded_frames(count=len(LEVELS), size=(48, 64)):
    return [np.full((*size, 3), LEVELS[t % len(LEVELS)], np.uint8)
            for t in range(count)]


def _frame_numbers(frames):
    """Which LEVELS each decoded frame shows."""
    means = frames.reshape(len(frames), -1).mean(1)
    return np.abs(means[:, None] - LEVELS[None, :]).argmin(1)


def test_uniform_indices_are_segment_centres():
    np.testing.assert_array_equal(frame_sampling.uniform_indices(20, 4),
                                  [2, 7, 12, 17])
    np.testing.assert_array_equal(frame_sampling.uniform_indices(3, 6),
                                  [0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError):
        frame_sampling.uniform_indices(0, 4)


@pytest.mark.parametrize("codec", sorted(WRITERS))
def test_sample_frames_picks_the_uniform_frames(codec, tmp_path):
    write, extension = WRITERS[codec]
    path = write(tmp_path / f"graded{extension}", _graded_frames())
    frames = frame_sampling.sample_frames(path, 4)
    assert frames.shape == (4, 48, 64, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(_frame_numbers(frames), [2, 7, 12, 17])


def test_sample_frames_of_a_short_video_repeats_its_frames(tmp_path):
    path = write_xvid_avi(tmp_path / "short.avi", _graded_frames(3))
    frames = frame_sampling.sample_frames(path, 6)
    np.testing.assert_array_equal(_frame_numbers(frames), [0, 0, 1, 1, 2, 2])


def test_sample_frames_resizes_and_crops_the_centre(tmp_path):
    frames = _graded_frames(4, size=(60, 100))
    for frame in frames:
        frame[:, :20] = 0                      # Left and right bands, cropped
        frame[:, 80:] = 255                    # away by the centre square.
    path = write_xvid_avi(tmp_path / "wide.avi", frames)
    out = frame_sampling.sample_frames(path, 2, size=30)
    assert out.shape == (2, 30, 30, 3)
    np.testing.assert_allclose(out.reshape(2, -1).mean(1),
                               LEVELS[[1, 3]], atol=4)


def test_centre_square_of_a_tall_frame():
    frame = np.zeros((100, 50, 3), np.uint8)
    frame[25:75] = 200
    out = frame_sampling.centre_square(frame, 20)
    assert out.shape == (20, 20, 3)
    assert out.min() == 200


def test_sample_frames_errors_name_the_file(tmp_path):
    with pytest.raises(KeyframeError, match="no such video file.*gone.avi"):
        frame_sampling.sample_frames(tmp_path / "gone.avi", 4)
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"RIFF\0\0\0\0AVI junk" * 10)
    with pytest.raises(KeyframeError, match="broken.avi"):
        frame_sampling.sample_frames(broken, 4)


def test_sample_frames_reports_a_truncated_video(tmp_path):
    path = tmp_path / "cut.avi"
    full = write_xvid_avi(tmp_path / "full.avi", _graded_frames(200))
    data = open(full, "rb").read()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(KeyframeError, match="truncated"):
        frame_sampling.sample_frames(path, 4)


class MeanColour:
    """A kind computed in numpy: the mean RGB of each video's 2 frames."""
    name, dim = "mean_colour", 3

    def __init__(self):
        self.batches = []

    def prepare(self, source):
        return frame_sampling.sample_frames(source, 2)

    def compute(self, prepared):
        self.batches.append(len(prepared))
        return np.stack([p.reshape(-1, 3).mean(0) for p in prepared])


def _videos(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        write_xvid_avi(folder / f"v{i}.avi", _graded_frames(6 + i))
    return runner.inputs_in(folder, (".avi",))


def test_extract_writes_every_video_in_batches(tmp_path):
    inputs = _videos(tmp_path / "videos", 5)
    kind = MeanColour()
    report = runner.extract(kind, inputs, tmp_path / "out", batch_videos=2)
    assert (report.written, report.skipped, report.failed) == (5, 0, [])
    assert kind.batches == [2, 2, 1]
    for video_id, source in inputs:
        saved = np.load(tmp_path / "out" / f"{video_id}.npy")
        assert saved.dtype == np.float32 and saved.shape == (3,)
        np.testing.assert_allclose(saved, kind.compute(
            [kind.prepare(source)])[0], rtol=1e-6)


def test_extract_skips_what_is_written_and_removes_leftovers(tmp_path):
    inputs = _videos(tmp_path / "videos", 3)
    out = tmp_path / "out"
    out.mkdir()
    np.save(out / "v1.npy", np.full(3, 7.0, np.float32))
    (out / ".v2.npy.123.456.partial").write_bytes(b"half a file")
    report = runner.extract(MeanColour(), inputs, out)
    assert (report.written, report.skipped) == (2, 1)
    np.testing.assert_array_equal(np.load(out / "v1.npy"), 7.0)
    assert sorted(p.name for p in out.iterdir()) == ["v0.npy", "v1.npy",
                                                      "v2.npy"]


def test_extract_lists_a_broken_video_and_writes_the_others(tmp_path):
    inputs = _videos(tmp_path / "videos", 3)
    broken = tmp_path / "videos" / "v1.avi"
    broken.write_bytes(b"not a video at all")
    report = runner.extract(MeanColour(), inputs, tmp_path / "out")
    assert report.written == 2
    assert [v for v, _ in report.failed] == ["v1"]
    assert "v1.avi" in report.failed[0][1]
    assert not (tmp_path / "out" / "v1.npy").exists()


def test_write_atomically_leaves_nothing_when_the_write_fails(tmp_path):
    target = tmp_path / "v.npy"
    with pytest.raises(ValueError):   # Object arrays are never pickled.
        runner.write_atomically(target, np.array([object()]))
    assert list(tmp_path.iterdir()) == []


def test_check_tells_good_missing_and_bad_files(tmp_path):
    np.save(tmp_path / "good.npy", np.ones(4, np.float32))
    np.save(tmp_path / "short.npy", np.ones(3, np.float32))
    np.save(tmp_path / "nan.npy", np.array([1, np.nan, 1, 1], np.float32))
    report = runner.check(tmp_path, ["good", "short", "nan", "gone"], 4)
    assert report.good == 1 and report.missing == ["gone"]
    assert [v for v, _ in report.bad] == ["short", "nan"]
    assert "shape (3,)" in report.bad[0][1]


def test_inputs_in_matches_long_extensions_and_refuses_duplicates(tmp_path):
    (tmp_path / "a").mkdir()
    with gzip.open(tmp_path / "a" / "v_X.txt.gz", "wt") as f:
        f.write("1 2 3\n")
    (tmp_path / "b.features").write_text("1 2 3\n")
    (tmp_path / ".hidden.txt").write_text("")
    assert [v for v, _ in runner.inputs_in(
        tmp_path, catalog.TRAJECTORY_EXTENSIONS)] == ["b", "v_X"]
    (tmp_path / "v_X.txt").write_text("")
    with pytest.raises(UserInputError, match="same video id 'v_X'"):
        runner.inputs_in(tmp_path, catalog.TRAJECTORY_EXTENSIONS)
    with pytest.raises(UserInputError, match="no file ending in .avi"):
        runner.inputs_in(tmp_path, (".avi",))


@pytest.mark.heavy  # an image backbone
def test_frames_efficientnet_lite0_is_the_mean_of_its_frames(tmp_path):
    inputs = _videos(tmp_path / "videos", 2)
    kind = kinds.FrameFeatures("efficientnet_lite0", num_frames=3)
    report = runner.extract(kind, inputs, tmp_path / "out", batch_videos=2)
    assert report.written == 2
    network = efficientnet_lite.build_efficientnet_lite0(224)
    efficientnet_lite.load_weights(network)
    for video_id, source in inputs:
        frames = frame_sampling.sample_frames(source, 3, size=224)
        expected = network.predict_on_batch(frames).mean(0)
        saved = np.load(tmp_path / "out" / f"{video_id}.npy")
        assert saved.shape == (catalog.dimension("frames_efficientnet_lite0"),)
        np.testing.assert_allclose(saved, expected, rtol=1e-4, atol=1e-5)


def test_frame_backbones_without_weights_say_what_to_give():
    with pytest.raises(UserInputError, match="--backbone_weights"):
        kinds.FrameFeatures("resnet50")


def test_catalog_sizes_are_the_networks():
    assert catalog.FRAME_BACKBONES["efficientnet_lite0"] == (
        efficientnet_lite.FEATURE_DIM)
    assert catalog.KINDS == ("frames_efficientnet_lite0", "frames_resnet50",
                             "frames_mobilenet_v2", "c3d", "idt")


def test_c3d_kind_streams_clips_and_averages_fc6(tmp_path):
    from test_c3d import random_weights, write_c3d_h5, WIDTH, FC
    from divafn_tf.nets import c3d
    from divafn_tf.prep.keyframes import read_frames
    weights = tmp_path / "c3d.h5"
    write_c3d_h5(weights, random_weights(size=c3d.CROP_SIZE))
    folder = tmp_path / "videos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, count in (("long", 40), ("short", 9)):
        write_xvid_avi(folder / f"{name}.avi",
                       list(rng.integers(0, 255, (count, 60, 80, 3), np.uint8)))
    kind = kinds.C3DFeatures(str(weights), width=WIDTH, fc6_units=FC)
    inputs = runner.inputs_in(folder, (".avi",))
    assert runner.extract(kind, inputs, tmp_path / "out").written == 2
    model = c3d.build_c3d(width=WIDTH, fc6_units=FC)
    c3d.load_c3d_weights(model, weights)
    for video_id, source in inputs:
        expected = c3d.c3d_video_feature(model, read_frames(source))
        np.testing.assert_allclose(np.load(tmp_path / "out" / f"{video_id}.npy"),
                                   expected, rtol=1e-4, atol=1e-6)
    assert len(kind.prepare(folder / "long.avi")) == 2   # 40 frames: 2 clips


@pytest.mark.e2e  # scikit-learn's k-means asks lscpu for the physical cores
def test_idt_kind_codes_each_file_on_a_saved_codebook(tmp_path):
    from test_idt_llc import wang_line, write_wang_file
    from divafn_tf.prep import idt, llc
    rng = np.random.default_rng(0)
    folder = tmp_path / "trajectories"
    folder.mkdir()
    for i in range(4):
        write_wang_file(folder / f"v{i}.txt.gz",
                        [wang_line(rng)[0] for _ in range(30)], gzipped=True)
    inputs = runner.inputs_in(folder, catalog.TRAJECTORY_EXTENSIONS)
    codebook_path = tmp_path / "codebook.npy"
    codebook = kinds.idt_codebook(codebook_path, inputs[:3], size=8,
                                  per_video=10, seed=0)
    assert codebook.shape == (8, idt.descriptor_dim())
    np.testing.assert_array_equal(
        kinds.idt_codebook(codebook_path, inputs, 8, 10, 0), codebook)
    with pytest.raises(UserInputError, match="--codebook_size=16"):
        kinds.idt_codebook(codebook_path, inputs, 16, 10, 0)
    kind = kinds.IdtFeatures(codebook)
    assert runner.extract(kind, inputs, tmp_path / "out").written == 4
    for video_id, source in inputs:
        saved = np.load(tmp_path / "out" / f"{video_id}.npy")
        np.testing.assert_allclose(saved, llc.llc_encode(
            idt.read_trajectories(source), codebook), rtol=1e-6)
        assert np.linalg.norm(saved) == pytest.approx(1.0, rel=1e-5)
