"""Keyframe extraction by colour-histogram differences.

DIVAFN feeds one or more keyframes of each video to its keyframe network; the
paper extracts them "by histogram difference based method [20]" (DESIGN.md
§2). The variant implemented here:

* every frame is decoded with OpenCV and converted to HSV;
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
"""
from __future__ import annotations

import cv2
import numpy as np

from divafn_tf.errors import UserInputError

HUE_BINS, SATURATION_BINS, VALUE_BINS = 16, 4, 4


class KeyframeError(UserInputError):
    """A video that cannot be opened or decoded, or has no frame."""


def read_frames(video_path: str) -> np.ndarray:
    """Decodes every frame of a video.

    Args:
      video_path: path of a video file OpenCV can read.

    Returns:
      uint8 RGB frames, shape [N, H, W, 3], N >= 1.

    Raises:
      KeyframeError: the file cannot be opened or yields no frame.
    """
    capture = cv2.VideoCapture(str(video_path))
    try:
        if not capture.isOpened():
            raise KeyframeError(
                f"cannot open video file {video_path!r}: not a video OpenCV's "
                f"FFmpeg can decode (corrupt, truncated or an unknown codec)")
        frames = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    if not frames:
        raise KeyframeError(f"no decodable frame in video file {video_path!r} "
                            f"(corrupt, truncated or empty)")
    return np.stack(frames)


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    """Joint HSV histogram of one uint8 RGB frame, normalised to sum 1."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None,
                        [HUE_BINS, SATURATION_BINS, VALUE_BINS],
                        [0, 180, 0, 256, 0, 256]).ravel()
    return hist / hist.sum()


def select_keyframes(frames: np.ndarray, num_keyframes: int) -> np.ndarray:
    """Indices of the keyframes of a decoded video (see the module rules).

    Args:
      frames: uint8 RGB frames [N, H, W, 3], N >= 1.
      num_keyframes: K >= 1.

    Returns:
      int array [K] of frame indices, non-decreasing.
    """
    if num_keyframes < 1:
        raise ValueError(f"num_keyframes must be >= 1, got {num_keyframes}")
    hists = np.stack([colour_histogram(f) for f in frames])
    changes = np.abs(np.diff(hists, axis=0)).sum(axis=1)
    # Frame 0 scores 0; a stable sort on the negated score keeps the earlier
    # frame first among equal scores.
    score = np.concatenate([[0.0], changes])
    ranked = np.argsort(-score, kind="stable")
    chosen = np.sort(ranked[:num_keyframes])
    repeat = (np.arange(num_keyframes) * len(chosen)) // num_keyframes
    return chosen[repeat]


def extract_keyframes(video_path: str, num_keyframes: int,
                      size: tuple[int, int] | None = None) -> np.ndarray:
    """Keyframes of a video by the histogram difference method.

    This is the keyframe extraction of DIVAFN ("histogram difference based
    method [20]", DESIGN.md §2); the module docstring gives the exact
    variant and its tie-breaking rules.

    Args:
      video_path: path of a video file OpenCV can read.
      num_keyframes: K, the number of keyframes to return.
      size: (height, width) to resize the keyframes to (area interpolation
        when shrinking, bilinear when enlarging); None keeps the frame size.

    Returns:
      uint8 RGB keyframes [K, H, W, 3] in temporal order.

    Raises:
      KeyframeError: the file cannot be opened or decoded, or has no frame.
    """
    frames = read_frames(video_path)
    keyframes = frames[select_keyframes(frames, num_keyframes)]
    if size is None or tuple(size) == keyframes.shape[1:3]:
        return keyframes
    height, width = size
    shrink = height * width < keyframes.shape[1] * keyframes.shape[2]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (width, height), interpolation=interpolation)
                     for f in keyframes])
