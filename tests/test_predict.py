"""`divafn_tf.predict` on a tiny exported model and short real AVI videos."""
import csv
import os
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
    assert rows[0] == ["video", "class_id", "class_name", "top1", "top2"]
    assert len(rows) == 1 + len(VIDEOS)
    for row, result in zip(rows[1:], expected):
        assert row[0] == result["video"]
        assert int(row[1]) == result["class_id"]
        assert row[2] == result["class_name"]
        for cell, (name, score) in zip(row[3:], result["top_k"]):
            cell_name, cell_score = cell.rsplit(":", 1)
            assert cell_name == name
            assert float(cell_score) == pytest.approx(score, abs=1e-5)
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
