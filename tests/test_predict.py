"""`divafn_tf.predict` on a tiny exported model and short real AVI videos."""
import csv
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf

import tiny_model
from divafn_tf import export, serving
from divafn_tf.prep.keyframes import KeyframeError, extract_keyframes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASS_NAMES = ["wave", "jump", "clap"]
# (id, frame size (h, w), frames): different sizes exercise the per-shape
# grouping inside one batch.
VIDEOS = [("a_wave", (48, 64), 6), ("b_jump", (48, 64), 5),
          ("c_clap", (40, 56), 7)]


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    return tiny_model.export_tiny(
        str(tmp_path_factory.mktemp("model") / "export"), CLASS_NAMES)[3]


def write_avi(path, size, num_frames, seed):
    """A short MJPG AVI of random colour blocks (changes between frames)."""
    rng = np.random.default_rng(seed)
    height, width = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                             (width, height))
    assert writer.isOpened()
    for _ in range(num_frames):
        frame = np.repeat(np.repeat(
            rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8),
            8, axis=0), 8, axis=1)
        writer.write(frame)
    writer.release()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    video_dir, feature_dir = root / "videos", root / "features"
    video_dir.mkdir()
    feature_dir.mkdir()
    rng = np.random.default_rng(7)
    for i, (name, size, frames) in enumerate(VIDEOS):
        write_avi(video_dir / f"{name}.avi", size, frames, seed=i)
        np.save(feature_dir / f"{name}.npy",
                rng.normal(size=tiny_model.DV).astype(np.float32))
    (video_dir / "notes.txt").write_text("not a video")  # ignored
    return video_dir, feature_dir


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "divafn_tf.predict", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_pairs_every_video_with_its_feature(folders):
    video_dir, feature_dir = folders
    pairs = serving.pair_videos_with_features(str(video_dir), str(feature_dir))
    assert pairs == [(str(video_dir / f"{n}.avi"), str(feature_dir / f"{n}.npy"))
                     for n, _, _ in VIDEOS]


@pytest.mark.heavy  # the only in-process user of the exported saved_model
@pytest.mark.parametrize("num_keyframes", [1, 2])
def test_predict_videos_equals_the_signature_called_directly(
        saved_model, folders, num_keyframes):
    video_dir, feature_dir = folders
    pairs = serving.pair_videos_with_features(str(video_dir), str(feature_dir))
    results = serving.predict_videos(saved_model, pairs,
                                     num_keyframes=num_keyframes,
                                     batch_size=2, top_k=5)
    serve = tf.saved_model.load(saved_model).signatures[export.SIGNATURE]
    assert [r["video"] for r in results] == [v for v, _ in pairs]
    for result, (video, feature) in zip(results, pairs):
        frames = extract_keyframes(video, num_keyframes)
        out = serve(keyframes=tf.constant(frames[None]),
                    video_feature=tf.constant(np.load(feature)[None]))
        assert result["class_id"] == int(out["class_id"][0])
        assert result["class_name"] == out["class_name"][0].numpy().decode()
        assert result["class_name"] == CLASS_NAMES[result["class_id"]]
        # Batched convolutions round differently from one-video calls.
        np.testing.assert_allclose(result["scores"], out["scores"][0],
                                   rtol=1e-3, atol=1e-3)
        # top_k is min(5, C) classes, best first, with the full name table.
        assert len(result["top_k"]) == len(CLASS_NAMES)
        assert result["top_k"][0][0] == result["class_name"]
        assert sorted(n for n, _ in result["top_k"]) == sorted(CLASS_NAMES)
        scores = [s for _, s in result["top_k"]]
        assert scores == sorted(scores, reverse=True)


@pytest.mark.e2e  # runs the predict command
def test_cli_folder_writes_csv_and_prints_one_line_per_video(
        saved_model, folders, tmp_path):
    video_dir, feature_dir = folders
    output = tmp_path / "out" / "predictions.csv"
    proc = run_cli(f"--saved_model={saved_model}", f"--video_dir={video_dir}",
                   f"--feature_dir={feature_dir}", "--batch_size=2",
                   "--top_k=2", f"--output={output}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = serving.predict_videos(
        saved_model,
        serving.pair_videos_with_features(str(video_dir), str(feature_dir)),
        batch_size=2, top_k=2)
    with open(output, newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["video", "class_id", "class_name", "top1_class",
                       "top1_svm_margin", "top2_class", "top2_svm_margin"]
    assert len(rows) == 1 + len(VIDEOS)
    for row, result in zip(rows[1:], expected):
        assert row[0] == result["video"]
        assert int(row[1]) == result["class_id"]
        assert row[2] == result["class_name"]
        for i, (name, score) in enumerate(result["top_k"]):
            assert row[3 + 2 * i] == name
            assert float(row[4 + 2 * i]) == pytest.approx(score, abs=1e-5)
    assert not [p for p in os.listdir(output.parent) if p.endswith(".tmp")]
    lines = proc.stdout.strip().splitlines()
    assert lines[-2] == f"{len(VIDEOS)} video(s) predicted"
    for line, result in zip(lines, expected):
        assert line.startswith(f"{result['video']}: {result['class_name']} ")


@pytest.mark.e2e  # runs the predict command
def test_cli_single_video(saved_model, folders):
    video_dir, feature_dir = folders
    name = VIDEOS[0][0]
    proc = run_cli(f"--saved_model={saved_model}",
                   f"--video={video_dir / (name + '.avi')}",
                   f"--video_feature={feature_dir / (name + '.npy')}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "1 video(s) predicted"


@pytest.mark.e2e  # runs the predict command
def test_cli_rejects_undecodable_video(saved_model, tmp_path):
    video = tmp_path / "broken.avi"
    video.write_bytes(b"this is not a video" * 100)
    feature = tmp_path / "broken.npy"
    np.save(feature, np.zeros(tiny_model.DV, np.float32))
    proc = run_cli(f"--saved_model={saved_model}", f"--video={video}",
                   f"--video_feature={feature}")
    assert proc.returncode != 0
    assert str(video) in proc.stderr
    assert "error:" in proc.stderr
    with pytest.raises(KeyframeError, match="broken.avi"):
        serving.predict_videos(saved_model, [(str(video), str(feature))])


@pytest.mark.e2e  # runs the predict command
def test_cli_rejects_feature_of_wrong_dimension(saved_model, folders, tmp_path):
    video_dir, _ = folders
    feature = tmp_path / "short.npy"
    np.save(feature, np.zeros(tiny_model.DV + 1, np.float32))
    proc = run_cli(f"--saved_model={saved_model}",
                   f"--video={video_dir / (VIDEOS[0][0] + '.avi')}",
                   f"--video_feature={feature}")
    assert proc.returncode != 0
    assert str(feature) in proc.stderr
    assert f"shape ({tiny_model.DV},)" in proc.stderr


@pytest.mark.e2e  # runs the predict command
def test_cli_rejects_missing_feature_file(saved_model, folders, tmp_path):
    video_dir, feature_dir = folders
    partial = tmp_path / "features"
    partial.mkdir()
    first = VIDEOS[0][0]
    (partial / f"{first}.npy").write_bytes((feature_dir / f"{first}.npy").read_bytes())
    proc = run_cli(f"--saved_model={saved_model}", f"--video_dir={video_dir}",
                   f"--feature_dir={partial}")
    assert proc.returncode != 0
    assert "2 video(s)" in proc.stderr
    for name, _, _ in VIDEOS[1:]:
        assert str(video_dir / f"{name}.avi") in proc.stderr
        assert str(partial / f"{name}.npy") in proc.stderr


@pytest.mark.parametrize("array, message", [
    (np.zeros((1, tiny_model.DV), np.float32), "has shape (1, 12)"),
    (np.zeros(tiny_model.DV, np.int64), "has dtype int64"),
    (np.full(tiny_model.DV, np.nan, np.float32), "non-finite"),
    (np.array([{"a": 1}], dtype=object), "without pickle"),
])
def test_load_video_feature_names_file_and_expected_shape(tmp_path, array, message):
    path = tmp_path / "feature.npy"
    np.save(path, array)  # np.save pickles object arrays
    with pytest.raises(serving.PredictError) as error:
        serving.load_video_feature(str(path), tiny_model.DV)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert f"({tiny_model.DV},)" in str(error.value)


def test_missing_list_is_capped_at_five(tmp_path):
    video_dir, feature_dir = tmp_path / "v", tmp_path / "f"
    video_dir.mkdir()
    feature_dir.mkdir()
    for i in range(8):
        (video_dir / f"clip{i}.mp4").write_bytes(b"")
    with pytest.raises(serving.PredictError) as error:
        serving.pair_videos_with_features(str(video_dir), str(feature_dir))
    text = str(error.value)
    assert text.startswith("8 video(s)")
    assert text.count("has no feature file") == 5
    assert "and 3 more" in text


def test_video_extensions_are_the_builders(tmp_path):
    from tfds_builders.divafn import sources
    assert serving.VIDEO_EXTENSIONS is sources.VIDEO_EXTENSIONS
    video_dir, feature_dir = tmp_path / "v", tmp_path / "f"
    video_dir.mkdir()
    feature_dir.mkdir()
    names = [f"clip{i}{ext.upper() if i % 2 else ext}"
             for i, ext in enumerate(sources.VIDEO_EXTENSIONS)]
    for name in names + ["notes.txt"]:
        (video_dir / name).write_bytes(b"")
        (feature_dir / (os.path.splitext(name)[0] + ".npy")).write_bytes(b"")
    pairs = serving.pair_videos_with_features(str(video_dir), str(feature_dir))
    assert [os.path.basename(v) for v, _ in pairs] == names


@pytest.mark.e2e  # runs the predict command
def test_cli_names_a_missing_video(saved_model, folders):
    _, feature_dir = folders
    result = run_cli(f"--saved_model={saved_model}", "--video=absent.avi",
                     f"--video_feature={feature_dir / 'a_wave.npy'}")
    assert result.returncode == 1
    assert "error: no such video file 'absent.avi'" in result.stderr


RESULTS = [dict(video="v/a.avi", feature="f/a.npy", class_id=1,
                class_name="jump", scores=np.array([-0.5, 0.75, -1.25]),
                top_k=[("jump", 0.75), ("wave", -0.5)]),
           dict(video="v/b,c.avi", feature="f/b,c.npy", class_id=0,
                class_name="wave", scores=np.array([0.25, -0.5, -2.0]),
                top_k=[("wave", 0.25), ("jump", -0.5)])]


def test_predictions_are_written_as_csv_or_json_lines_by_extension(tmp_path):
    serving.write_predictions(str(tmp_path / "p.jsonl"), RESULTS)
    lines = (tmp_path / "p.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"video": "v/a.avi", "feature": "f/a.npy", "class_id": 1,
         "class_name": "jump", "top_k": [
             {"class_name": "jump", "svm_margin": 0.75},
             {"class_name": "wave", "svm_margin": -0.5}]},
        {"video": "v/b,c.avi", "feature": "f/b,c.npy", "class_id": 0,
         "class_name": "wave", "top_k": [
             {"class_name": "wave", "svm_margin": 0.25},
             {"class_name": "jump", "svm_margin": -0.5}]}]
    serving.write_predictions(str(tmp_path / "p.CSV"), RESULTS)
    with open(tmp_path / "p.CSV", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows == [["video", "class_id", "class_name", "top1_class",
                     "top1_svm_margin", "top2_class", "top2_svm_margin"],
                    ["v/a.avi", "1", "jump", "jump", "0.750000", "wave",
                     "-0.500000"],
                    ["v/b,c.avi", "0", "wave", "wave", "0.250000", "jump",
                     "-0.500000"]]
    with pytest.raises(serving.PredictError,
                       match=r"^--output=.*p\.txt: expected a file name "
                             r"ending in \.csv or \.jsonl"):
        serving.write_predictions(str(tmp_path / "p.txt"), RESULTS)
    assert sorted(os.listdir(tmp_path)) == ["p.CSV", "p.jsonl"]


def test_a_folder_pairing_can_collect_the_videos_without_a_feature(tmp_path):
    video_dir, feature_dir = tmp_path / "v", tmp_path / "f"
    video_dir.mkdir()
    feature_dir.mkdir()
    for name in ("a", "b"):
        (video_dir / f"{name}.avi").write_bytes(b"")
    (feature_dir / "a.npy").write_bytes(b"")
    failures = []
    pairs = serving.pair_videos_with_features(str(video_dir), str(feature_dir),
                                              failures)
    assert pairs == [(str(video_dir / "a.avi"), str(feature_dir / "a.npy"))]
    assert failures == [(str(video_dir / "b.avi"),
                         f"no feature file {str(feature_dir / 'b.npy')!r}")]


@pytest.fixture(scope="module")
def broken_folders(folders, tmp_path_factory):
    """The good videos and one that cannot be decoded (with its feature)."""
    video_dir, feature_dir = folders
    root = tmp_path_factory.mktemp("broken")
    shutil.copytree(video_dir, root / "videos")
    shutil.copytree(feature_dir, root / "features")
    (root / "videos" / "b_broken.avi").write_bytes(b"not a video" * 100)
    np.save(root / "features" / "b_broken.npy",
            np.zeros(tiny_model.DV, np.float32))
    return root / "videos", root / "features"


@pytest.mark.e2e  # runs the predict command
def test_skip_errors_writes_the_good_videos_and_lists_the_failures(
        saved_model, broken_folders, tmp_path):
    video_dir = tmp_path / "videos"
    shutil.copytree(broken_folders[0], video_dir)
    feature_dir = broken_folders[1]
    # A good video without a feature file fails too.
    shutil.copy(video_dir / "a_wave.avi", video_dir / "d_orphan.avi")
    output = tmp_path / "predictions.jsonl"
    proc = run_cli(f"--saved_model={saved_model}", f"--video_dir={video_dir}",
                   f"--feature_dir={feature_dir}", "--top_k=2",
                   f"--output={output}", "--skip_errors")
    assert proc.returncode == 1
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [os.path.basename(r["video"]) for r in rows] == [
        f"{name}.avi" for name, _, _ in VIDEOS]
    assert all(len(r["top_k"]) == 2 and set(r["top_k"][0]) ==
               {"class_name", "svm_margin"} for r in rows)
    assert f"{len(VIDEOS)} video(s) predicted" in proc.stdout
    errors = proc.stderr.strip().splitlines()
    assert errors[-3] == (f"failed: {video_dir / 'd_orphan.avi'}: no feature "
                          f"file {str(feature_dir / 'd_orphan.npy')!r}")
    assert errors[-2].startswith(f"failed: {video_dir / 'b_broken.avi'}: ")
    assert errors[-1] == (
        f"error: 2 of {len(VIDEOS) + 2} video(s) could not be predicted "
        f"(listed above, each 'failed: <video>: <reason>'); the other "
        f"{len(VIDEOS)} were (written to {output})")


@pytest.mark.e2e  # runs the predict command
def test_without_skip_errors_the_first_failure_stops_before_any_output(
        saved_model, broken_folders, tmp_path):
    video_dir, feature_dir = broken_folders
    output = tmp_path / "predictions.csv"
    proc = run_cli(f"--saved_model={saved_model}", f"--video_dir={video_dir}",
                   f"--feature_dir={feature_dir}", f"--output={output}")
    assert proc.returncode == 1
    assert proc.stdout == ""                      # no prediction printed
    assert not os.listdir(tmp_path)               # nothing written
    assert proc.stderr.startswith("error: ") and "b_broken.avi" in proc.stderr
    assert proc.stderr.count("\n") == 1
