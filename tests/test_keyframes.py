"""Tests of histogram-difference keyframe extraction on real video files.

The first tests use MJPG AVIs; the "real codec" tests below use inter-frame
lossy codecs: MPEG-4 Part 2 in an xvid AVI (written by OpenCV) and H.264 in an
MP4 (written by PyAV's libx264, since OpenCV's wheels cannot encode H.264).
"""
import tracemalloc

import cv2
import numpy as np
import pytest

from divafn_tf.prep import keyframes
from video_files import WRITERS, write_h264_mp4, write_xvid_avi

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
    path = str(tmp_path / "absent.avi")
    with pytest.raises(keyframes.KeyframeError) as error:
        keyframes.extract_keyframes(path, 1)
    assert str(error.value) == f"no such video file {path!r}"


def test_directory_is_not_a_video(tmp_path):
    with pytest.raises(keyframes.KeyframeError, match="is a directory"):
        keyframes.extract_keyframes(tmp_path, 1)


def _random_blocks(rng, num_frames, size=(48, 64)):
    """Frames of random 8x8 colour blocks, a new picture every frame."""
    height, width = size
    blocks = rng.integers(0, 256, (num_frames, height // 8, width // 8, 3),
                          dtype=np.uint8)
    return np.repeat(np.repeat(blocks, 8, axis=1), 8, axis=2)


def test_truncated_avi(tmp_path):
    path = _write_avi(tmp_path / "cut.avi",
                      _random_blocks(np.random.default_rng(0), 40))
    assert len(keyframes.read_frames(path)) == 40
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(keyframes.KeyframeError) as error:
        keyframes.extract_keyframes(path, 1)
    message = str(error.value)
    assert message.startswith(f"video file {path!r} is truncated: its "
                              f"container declares 40 frames but decoding "
                              f"stopped after ")
    with pytest.raises(keyframes.KeyframeError, match="truncated"):
        keyframes.read_frames(path)


def _select_keyframes_before_issue_13(frames, num_keyframes):
    """The previous implementation (all histograms at once, argsort)."""
    hists = np.stack([keyframes.colour_histogram(f) for f in frames])
    changes = np.abs(np.diff(hists, axis=0)).sum(axis=1)
    score = np.concatenate([[0.0], changes])
    chosen = np.sort(np.argsort(-score, kind="stable")[:num_keyframes])
    return chosen[(np.arange(num_keyframes) * len(chosen)) // num_keyframes]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 12])
def test_same_keyframes_as_before(graded_video, tmp_path, k):
    rng = np.random.default_rng(1)
    red, blue = _frame([RED] * 4), _frame([BLUE] * 4)
    videos = [graded_video,
              _write_avi(tmp_path / "ties.avi", [red, red, blue, blue, red]),
              _write_avi(tmp_path / "static.avi", [blue] * 6),
              _write_avi(tmp_path / "blocks.avi", _random_blocks(rng, 30)),
              write_xvid_avi(tmp_path / "scenes.avi", SCENE_FRAMES),
              write_h264_mp4(tmp_path / "scenes.mp4", SCENE_FRAMES)]
    for path in videos:
        frames = keyframes.read_frames(path)
        expected = _select_keyframes_before_issue_13(frames, k)
        np.testing.assert_array_equal(keyframes.select_keyframes(frames, k),
                                      expected)
        np.testing.assert_array_equal(keyframes.extract_keyframes(path, k),
                                      frames[expected])


def _traced_peak_bytes(fn) -> int:
    """Peak bytes allocated by Python and numpy (tracemalloc) during fn()."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_video_length(tmp_path):
    rng = np.random.default_rng(2)
    short = _write_avi(tmp_path / "short.avi", _random_blocks(rng, 200))
    long = _write_avi(tmp_path / "long.avi", _random_blocks(rng, 2000))
    frame_bytes = 48 * 64 * 3
    peaks = {name: _traced_peak_bytes(
        lambda path=path: keyframes.extract_keyframes(path, 3))
             for name, path in (("short", short), ("long", long))}
    # 3 keyframes, the frame being decoded and its BGR original: a few frames,
    # the same for 200 and 2,000 frames (all of them would be 2000 x 9 KiB).
    assert peaks["long"] < peaks["short"] + 10 * frame_bytes
    assert peaks["long"] < 20 * frame_bytes


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


# ---------------------------------------------------------------------------
# Real inter-frame codecs: xvid (MPEG-4 Part 2) AVI and H.264 MP4.


def _hsv_colour(hue_bin, saturation_bin, value_bin):
    """RGB colour at the centre of one bin of keyframes.colour_histogram, so
    that lossy coding and chroma subsampling cannot move it to another bin."""
    hsv = np.uint8([[[round((hue_bin + 0.5) * 180 / keyframes.HUE_BINS),
                      (saturation_bin + 0.5) * 256 / keyframes.SATURATION_BINS,
                      (value_bin + 0.5) * 256 / keyframes.VALUE_BINS]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


# Four colours in four different histogram bins (orange, green, blue, magenta).
ORANGE, LIME, NAVY, MAGENTA = (_hsv_colour(1, 2, 3), _hsv_colour(5, 3, 3),
                               _hsv_colour(10, 2, 2), _hsv_colour(13, 3, 3))

# 12 frames, scene changes at frames 3 (a quarter of the area: L1 histogram
# distance 0.5), 6 (all of it: 2) and 9 (half of it: 1); no change elsewhere.
SCENE_FRAMES = ([_frame([ORANGE] * 4)] * 3
                + [_frame([LIME, ORANGE, ORANGE, ORANGE])] * 3
                + [_frame([NAVY] * 4)] * 3
                + [_frame([MAGENTA, MAGENTA, NAVY, NAVY])] * 3)
SCENE_KEYFRAMES = {1: [6], 2: [6, 9], 3: [3, 6, 9]}




@pytest.fixture(params=sorted(WRITERS))
def scene_video(request, tmp_path):
    """Path of SCENE_FRAMES written with each real codec."""
    write, extension = WRITERS[request.param]
    return write(tmp_path / f"scenes{extension}", SCENE_FRAMES)


def test_scene_design_on_the_source_frames():
    source = np.stack(SCENE_FRAMES)
    for k, expected in SCENE_KEYFRAMES.items():
        np.testing.assert_array_equal(keyframes.select_keyframes(source, k),
                                      expected)


def test_real_codec_decodes_every_frame(scene_video):
    frames = keyframes.read_frames(scene_video)
    assert frames.shape == (12, 64, 64, 3) and frames.dtype == np.uint8
    # Lossy, but the decoded frames are the written ones (RGB order included).
    error = np.abs(frames.astype(int) - np.stack(SCENE_FRAMES))
    assert error.mean() < 4 and np.percentile(error, 99) < 16


@pytest.mark.parametrize("k", sorted(SCENE_KEYFRAMES))
def test_real_codec_largest_changes_in_temporal_order(scene_video, k):
    frames = keyframes.read_frames(scene_video)
    expected = SCENE_KEYFRAMES[k]
    np.testing.assert_array_equal(keyframes.select_keyframes(frames, k),
                                  expected)
    out = keyframes.extract_keyframes(scene_video, k)
    assert out.shape == (k, 64, 64, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, frames[expected])


@pytest.mark.parametrize("size", [(24, 40), (80, 96)])  # shrink, enlarge
def test_real_codec_requested_size(scene_video, size):
    height, width = size
    out = keyframes.extract_keyframes(scene_video, 3, size=size)
    assert out.shape == (3, height, width, 3) and out.dtype == np.uint8
    frames = keyframes.read_frames(scene_video)[SCENE_KEYFRAMES[3]]
    nearest = np.stack([cv2.resize(f, (width, height),
                                   interpolation=cv2.INTER_NEAREST)
                        for f in frames])
    # Same picture: only the pixels along the quadrant edges may differ much.
    assert np.abs(out.astype(int) - nearest).mean() < 8


def test_real_codec_extraction_is_deterministic(scene_video):
    for size in (None, (24, 40)):
        first = keyframes.extract_keyframes(scene_video, 3, size=size)
        second = keyframes.extract_keyframes(scene_video, 3, size=size)
        assert first.dtype == second.dtype == np.uint8
        np.testing.assert_array_equal(first, second)


def test_xvid_fewer_frames_than_k_repeats_frames(tmp_path):
    path = write_xvid_avi(tmp_path / "short.avi",
                           [_frame([NAVY] * 4), _frame([MAGENTA] * 4)])
    frames = keyframes.read_frames(path)
    assert frames.shape == (2, 64, 64, 3)
    out = keyframes.extract_keyframes(path, 5)
    assert out.shape == (5, 64, 64, 3) and out.dtype == np.uint8
    # Output i is frame floor(i * N / K) = floor(i * 2 / 5).
    np.testing.assert_array_equal(out, frames[[0, 0, 0, 1, 1]])
    assert not np.array_equal(frames[0], frames[1])


@pytest.mark.parametrize("name, content", [
    ("random.avi", np.random.default_rng(0).bytes(64 * 1024)),
    ("empty.mp4", b""),
])
def test_non_video_raises_with_the_path(tmp_path, name, content):
    path = tmp_path / "not video" / name
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(keyframes.KeyframeError) as error:
        keyframes.extract_keyframes(str(path), 1)
    assert str(path) in str(error.value)
