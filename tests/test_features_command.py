"""``python -m divafn_tf.features`` as a user runs it, on the dummy manual dir.

From raw videos only: the command writes the frame features of UCF-101/,
is resumed, checks them, names a broken video, and the ``a2u_frames``
dataset config is built from what it wrote.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

import dummy_manual
from tfds_builders.divafn import divafn_dataset_builder, sources  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
KIND = "frames_efficientnet_lite0"


def _features(*flags):
    return subprocess.run(
        [sys.executable, "-m", "divafn_tf.features", *flags],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.e2e
def test_frame_features_from_raw_videos_to_a_built_pair(tmp_path):
    manual = dummy_manual.copy(tmp_path)
    videos = manual / "UCF-101"
    count = len(list(videos.rglob("*.avi")))
    broken = next(videos.rglob("v_Rowing_*.avi"))
    good_bytes = broken.read_bytes()
    broken.write_bytes(b"not a video")

    first = _features(f"--videos={videos}", f"--kind={KIND}", "--num_frames=2")
    out = manual / "features" / f"ucf101_{sources.FEATURE_FOLDERS['frames']}"
    assert first.returncode == 1, first.stderr
    assert f"{count - 1} written, 0 already there, 1 failed" in first.stdout
    assert f"failed: {broken.stem}:" in first.stdout
    assert first.stderr.strip().splitlines()[-1] == (
        f"error: 1 of {count} videos could not be read (listed above); the "
        "others were written")
    assert len(list(out.glob("*.npy"))) == count - 1

    broken.write_bytes(good_bytes)
    second = _features(f"--videos={videos}", f"--kind={KIND}", "--num_frames=2")
    assert second.returncode == 0, second.stderr
    assert f"1 written, {count - 1} already there, 0 failed" in second.stdout

    check = _features(f"--videos={videos}", f"--kind={KIND}", "--check")
    assert check.returncode == 0, check.stderr
    assert f"{count} of {count} video features good (1280-d)" in check.stdout
    np.save(out / f"{broken.stem}.npy", np.zeros(3, np.float32))
    check = _features(f"--videos={videos}", f"--kind={KIND}", "--check")
    assert check.returncode == 1
    assert f"bad: {broken.stem}:" in check.stdout

    np.save(out / f"{broken.stem}.npy", np.load(
        out / f"{next(iter(sorted(out.glob('v_*.npy')))).stem}.npy"))
    builder = tfds.builder("divafn/a2u_frames", data_dir=str(tmp_path / "data"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=str(manual)))
    examples = list(tfds.as_numpy(builder.as_dataset(split="pool")))
    assert examples and builder.info.features["video_feature"].shape == (1280,)
    for example in examples:
        np.testing.assert_array_equal(
            example["video_feature"],
            np.load(out / f"{example['video_id'].decode()}.npy"))


@pytest.mark.e2e
def test_features_command_usage_errors_are_one_sentence(tmp_path):
    result = _features(f"--videos={tmp_path}", f"--kind={KIND}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: give --output_dir, or --manual_dir and --dataset, or --videos "
        "as a manual dir's UCF-101 or hmdb51 folder"]
    result = _features("--kind=idt", f"--output_dir={tmp_path}")
    assert result.stderr.strip().splitlines() == [
        "error: --kind=idt needs --trajectories=DIR (the improved_trajectory "
        "output of each video)"]


@pytest.mark.e2e
def test_idt_features_from_trajectory_files(tmp_path):
    from test_idt_llc import wang_line, write_wang_file
    rng = np.random.default_rng(1)
    folder = tmp_path / "trajectories"
    folder.mkdir()
    for i in range(5):
        write_wang_file(folder / f"v_{i}.txt", [wang_line(rng)[0]
                                                 for _ in range(12)])
    (tmp_path / "trainlist.txt").write_text("a/v_0.avi 1\na/v_1.avi 1\n"
                                            "b/v_2.avi 2\n")
    flags = ("--kind=idt", f"--trajectories={folder}",
             f"--output_dir={tmp_path / 'out'}", "--codebook_size=6",
             "--codebook_per_video=8", f"--codebook_videos={tmp_path / 'trainlist.txt'}")
    result = _features(*flags)
    assert result.returncode == 0, result.stderr
    assert "5 written, 0 already there, 0 failed" in result.stdout
    codebook = np.load(tmp_path / "out_codebook.npy")
    assert codebook.shape == (6, 426)
    for i in range(5):
        assert np.load(tmp_path / "out" / f"v_{i}.npy").shape == (6,)
    (tmp_path / "out" / "v_4.npy").unlink()
    (folder / "v_4.txt").write_text("1 2 3\n")
    result = _features(*flags)
    assert result.returncode == 1
    assert "loaded" in result.stderr           # The codebook, not retrained.
    assert f"failed: v_4: {folder / 'v_4.txt'}:1:" in result.stdout
    assert "0 written, 4 already there, 1 failed" in result.stdout
