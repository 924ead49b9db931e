"""Keyframe extraction by colour-histogram differences.

DIVAFN feeds one or more keyframes of each video to its keyframe network; the
paper extracts them "by histogram difference based method [20]" (docs/design.md
§2). The variant implemented here:

* the frames are decoded with OpenCV one at a time and converted to HSV;
* its colour histogram is the joint HSV histogram with 16 hue x 4 saturation
  x 4 value bins (256 bins, OpenCV ranges H in [0, 180), S and V in
  [0, 256)), normalised to sum to 1;
* the change at frame ``t >= 1`` is the L1 distance between the histograms
  of frames ``t - 1`` and ``t`` (a number in [0, 2]);
* the keyframes are the frames right after the K largest changes, returned
  in temporal order.

Deterministic rules:

* ties between equal changes go to the earlier frame;
* frame 0 has nothing before it and counts as a change of 0: it comes after
  every real (positive) change and first among frames without change, so
  it is chosen when the video has fewer than K positive changes (a static
  video gives frame 0 for K = 1);
* a video with fewer than K frames uses all its frames, each repeated to give
  K frames: output ``i`` is frame ``floor(i * N / K)``.

Memory: one pass over the video keeps the previous frame's histogram and the
K best frames so far (a heap), never the whole video, so the memory held is
K + 2 frames whatever the video's length.

Decoding errors: a missing path, a file OpenCV cannot open, a file without a
decodable frame and a truncated file (more than max(2, 1 %) frames fewer
decoded than its container declares: the slack allows for containers that
only estimate the count) each raise `KeyframeError` with their own message.
"""
from __future__ import annotations

import heapq
import os
from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from divafn_tf.errors import UserInputError

HUE_BINS, SATURATION_BINS, VALUE_BINS = 16, 4, 4
# The video files read by `divafn_tf.predict --video_dir` and the dataset
# builders (lower case; compare with ``ext.lower()``).
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mpg", ".mpeg", ".mkv", ".webm", ".mov")


class KeyframeError(UserInputError):
    """A video path that is missing, or a file that cannot be opened, has no
    decodable frame or is truncated."""


def open_video(path: str) -> cv2.VideoCapture:
    """An opened capture of ``path``; a `KeyframeError` if there is none."""
    if not os.path.exists(path):
        raise KeyframeError(f"no such video file {path!r}")
    if os.path.isdir(path):
        raise KeyframeError(f"video path {path!r} is a directory, not a file")
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        capture.release()
        raise KeyframeError(
            f"cannot open video file {path!r}: not a video OpenCV's FFmpeg "
            f"can decode (corrupt, truncated or an unknown codec)")
    return capture


def _truncation_slack(declared: int) -> int:
    """Frames a complete video may decode short of its container's count:
    some containers (Matroska, WebM) only estimate it from the duration."""
    return max(2, declared // 100)


def check_complete(path: str, decoded: int, declared: int) -> None:
    """Raises `KeyframeError` for a video with no frame or cut short."""
    if decoded == 0:
        raise KeyframeError(f"no decodable frame in video file {path!r} "
                            f"(corrupt, truncated or empty)")
    if declared > 0 and decoded + _truncation_slack(declared) < declared:
        raise KeyframeError(
            f"video file {path!r} is truncated: its container declares "
            f"{declared} frames but decoding stopped after {decoded}")


def iter_frames(video_path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Decodes a video one frame at a time.

    Args:
      video_path: path of a video file OpenCV can read.

    Yields:
      uint8 RGB frames [H, W, 3], in order.

    Raises:
      KeyframeError: the path does not exist, the file cannot be opened,
        yields no frame, or is truncated (raised after its last frame).
    """
    path = os.fspath(video_path)
    capture = open_video(path)
    decoded = 0
    try:
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            decoded += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
    check_complete(path, decoded, declared)


def read_frames(video_path: str | os.PathLike) -> np.ndarray:
    """Decodes every frame of a video into one array (short clips only:
    `extract_keyframes` does not need it).

    Returns:
      uint8 RGB frames, shape [N, H, W, 3], N >= 1.

    Raises:
      KeyframeError: as `iter_frames`.
    """
    return np.stack(list(iter_frames(video_path)))


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    """Joint HSV histogram of one uint8 RGB frame, normalised to sum 1."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None,
                        [HUE_BINS, SATURATION_BINS, VALUE_BINS],
                        [0, 180, 0, 256, 0, 256]).ravel()
    return hist / hist.sum()


def _best_changes(frames: Iterable[np.ndarray], num_keyframes: int
                  ) -> list[tuple[int, np.ndarray]]:
    """One pass: the K frames right after the largest changes (module rules).

    Returns:
      (index, frame) pairs in temporal order, min(K, number of frames) of them.
    """
    # Min-heap of (score, -index, frame): its root is the worst kept frame,
    # the lowest score and, among equal scores, the latest frame.
    heap: list[tuple[float, int, np.ndarray]] = []
    previous = None
    for index, frame in enumerate(frames):
        hist = colour_histogram(frame)
        # Frame 0 scores 0 (nothing before it).
        score = 0.0 if previous is None else float(
            np.abs(hist - previous).sum())
        previous = hist
        item = (score, -index, frame)
        if len(heap) < num_keyframes:
            heapq.heappush(heap, item)
        else:
            heapq.heappushpop(heap, item)  # keeps item only if it beats the root
        del frame, item  # a frame not kept is freed before the next decodes
    return sorted((-neg_index, frame) for _, neg_index, frame in heap)


def _check_num_keyframes(num_keyframes: int) -> None:
    if num_keyframes < 1:
        raise ValueError(f"num_keyframes must be >= 1, got {num_keyframes}")


def _repeat_to(count: int, num_keyframes: int) -> np.ndarray:
    """Positions 0..count-1 repeated to K: output i is floor(i * count / K)."""
    return (np.arange(num_keyframes) * count) // num_keyframes


def select_keyframes(frames: Iterable[np.ndarray],
                     num_keyframes: int) -> np.ndarray:
    """Indices of the keyframes of decoded frames (see the module rules).

    Args:
      frames: uint8 RGB frames [H, W, 3] (an array [N, H, W, 3] or any
        iterable of frames), N >= 1.
      num_keyframes: K >= 1.

    Returns:
      int array [K] of frame indices, non-decreasing.
    """
    _check_num_keyframes(num_keyframes)
    kept = _best_changes(frames, num_keyframes)
    chosen = np.array([index for index, _ in kept], dtype=np.int64)
    return chosen[_repeat_to(len(chosen), num_keyframes)]


def extract_keyframes(video_path: str | os.PathLike, num_keyframes: int,
                      size: tuple[int, int] | None = None) -> np.ndarray:
    """Keyframes of a video by the histogram difference method.

    This is the keyframe extraction of DIVAFN ("histogram difference based
    method [20]", docs/design.md §2); the module docstring gives the exact
    variant and its tie-breaking rules.

    Args:
      video_path: path of a video file OpenCV can read.
      num_keyframes: K >= 1, the number of keyframes to return.
      size: (height, width) to resize the keyframes to (area interpolation
        when shrinking, bilinear when enlarging); None keeps the frame size.

    Returns:
      uint8 RGB keyframes [K, H, W, 3] in temporal order.

    Raises:
      KeyframeError: the path does not exist, or the file cannot be opened,
        has no decodable frame or is truncated.
    """
    _check_num_keyframes(num_keyframes)
    kept = _best_changes(iter_frames(video_path), num_keyframes)
    keyframes = np.stack([frame for _, frame in kept])
    keyframes = keyframes[_repeat_to(len(kept), num_keyframes)]
    if size is None or tuple(size) == keyframes.shape[1:3]:
        return keyframes
    height, width = size
    shrink = height * width < keyframes.shape[1] * keyframes.shape[2]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (width, height), interpolation=interpolation)
                     for f in keyframes])
