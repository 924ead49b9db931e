"""Tests of histogram-difference keyframe extraction on real AVI files."""
import cv2
import numpy as np
import pytest

from divafn_tf import keyframes

BLACK, WHITE, RED, GREEN, BLUE = ((0, 0, 0), (255, 255, 255), (255, 0, 0),
                                  (0, 255, 0), (0, 0, 255))


def _write_avi(path, frames):
    """Writes uint8 RGB frames [N, H, W, 3] as an MJPG AVI."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                             (w, h))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return str(path)


def _frame(quadrants):
    """64x64 frame whose four 32x32 quadrants have the given RGB colours."""
    frame = np.zeros((64, 64, 3), np.uint8)
    for k, colour in enumerate(quadrants):
        frame[32 * (k // 2):32 * (k // 2 + 1),
              32 * (k % 2):32 * (k % 2 + 1)] = colour
    return frame


@pytest.fixture
def graded_video(tmp_path):
    """11 frames; changes of 1/4 of the area at frame 2, all of it at 5,
    half of it at 8 (L1 histogram distances 0.5, 2, 1)."""
    a = _frame([BLACK] * 4)
    b = _frame([WHITE, BLACK, BLACK, BLACK])
    c = _frame([RED] * 4)
    d = _frame([GREEN, GREEN, RED, RED])
    return _write_avi(tmp_path / "graded.avi", [a, a, b, b, b, c, c, c, d, d, d])


@pytest.mark.parametrize("k, expected", [(1, [5]), (2, [5, 8]),
                                         (3, [2, 5, 8]), (4, [0, 2, 5, 8])])
def test_largest_changes_in_temporal_order(graded_video, k, expected):
    frames = keyframes.read_frames(graded_video)
    assert frames.shape == (11, 64, 64, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(keyframes.select_keyframes(frames, k),
                                  expected)
    out = keyframes.extract_keyframes(graded_video, k)
    assert out.shape == (k, 64, 64, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, frames[expected])


def test_frames_are_rgb(graded_video):
    frame = keyframes.extract_keyframes(graded_video, 1)[0]
    assert frame[..., 0].mean() > 200 > 50 > frame[..., 1:].mean()  # red


def test_ties_go_to_the_earlier_frame(tmp_path):
    red, green, blue = _frame([RED] * 4), _frame([GREEN] * 4), _frame([BLUE] * 4)
    path = _write_avi(tmp_path / "ties.avi", [red, red, green, green, blue])
    np.testing.assert_array_equal(
        keyframes.select_keyframes(keyframes.read_frames(path), 1), [2])
    np.testing.assert_array_equal(
        keyframes.select_keyframes(keyframes.read_frames(path), 2), [2, 4])


def test_fewer_frames_than_k_repeats_frames(tmp_path):
    first, second = _frame([RED] * 4), _frame([BLUE] * 4)
    path = _write_avi(tmp_path / "short.avi", [first, second])
    frames = keyframes.read_frames(path)
    out = keyframes.extract_keyframes(path, 5)
    assert out.shape == (5, 64, 64, 3)
    np.testing.assert_array_equal(out, frames[[0, 0, 0, 1, 1]])


def test_single_frame_video(tmp_path):
    path = _write_avi(tmp_path / "one.avi", [_frame([GREEN] * 4)])
    out = keyframes.extract_keyframes(path, 3)
    np.testing.assert_array_equal(out, np.repeat(keyframes.read_frames(path), 3,
                                                 axis=0))


def test_resize(graded_video):
    out = keyframes.extract_keyframes(graded_video, 2, size=(16, 24))
    assert out.shape == (2, 16, 24, 3) and out.dtype == np.uint8
    assert keyframes.extract_keyframes(graded_video, 1, size=(96, 80)).shape == (
        1, 96, 80, 3)


@pytest.mark.parametrize("content", [b"", b"not a video" * 100])
def test_undecodable_file_names_the_file(tmp_path, content):
    path = tmp_path / "broken.avi"
    path.write_bytes(content)
    with pytest.raises(keyframes.KeyframeError, match="broken.avi"):
        keyframes.extract_keyframes(str(path), 1)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(keyframes.KeyframeError, match="absent.avi"):
        keyframes.extract_keyframes(str(tmp_path / "absent.avi"), 1)


def test_keyframe_error_is_a_value_error():
    assert issubclass(keyframes.KeyframeError, ValueError)


def test_invalid_k(graded_video):
    with pytest.raises(ValueError, match="num_keyframes"):
        keyframes.extract_keyframes(graded_video, 0)


def test_static_video_gives_the_first_frame(tmp_path):
    frame = _frame([BLUE] * 4)
    path = _write_avi(tmp_path / "static.avi", [frame] * 6)
    frames = keyframes.read_frames(path)
    np.testing.assert_array_equal(keyframes.select_keyframes(frames, 1), [0])
    np.testing.assert_array_equal(keyframes.select_keyframes(frames, 3),
                                  [0, 1, 2])
