"""T frames of a video, uniformly spaced in time, decoded without holding it.

The ``frames_<backbone>`` video features (issue 15, `divafn_tf.features`)
average a backbone's pooled features over T frames of each video. Frame
``i`` of T is the centre of the i-th of T equal parts of the video:
``floor((i + ½) · N / T)`` for a video of N frames (`uniform_indices`); a
video of fewer than T frames repeats its frames in order.

Memory: frames are grabbed (decoded, not converted) one at a time and only
the candidates are kept: the T frames the container's frame count points
at, or, when a container declares no count, every s-th frame with s doubled
whenever more than 2T are kept. The chosen frames are then the kept ones
nearest to the uniform positions of the N frames actually decoded (a count
that was only an estimate, as in Matroska, moves them by a frame or two).
Errors are those of `keyframes.iter_frames`: a missing path, a file that
cannot be opened, no decodable frame and a truncated file each raise
`keyframes.KeyframeError` with their own sentence.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from divafn_tf.prep.keyframes import check_complete, open_video


def uniform_indices(count: int, num_frames: int) -> np.ndarray:
    """``floor((i + ½) · count / T)`` for i < T: int64 [T], non-decreasing."""
    if count < 1 or num_frames < 1:
        raise ValueError(f"need count >= 1 and num_frames >= 1, got {count} "
                         f"and {num_frames}")
    return ((np.arange(num_frames) + 0.5) * count / num_frames).astype(np.int64)


def _thinned(kept: dict[int, np.ndarray], stride: int) -> dict[int, np.ndarray]:
    return {i: frame for i, frame in kept.items() if i % stride == 0}


def sample_frames(video_path: str | os.PathLike, num_frames: int,
                  size: int | None = None) -> np.ndarray:
    """T uniformly spaced frames of a video (module docstring).

    Args:
      video_path: a video file OpenCV's FFmpeg can decode.
      num_frames: T >= 1.
      size: if given, each frame's shorter side is resized to ``size`` (area
        interpolation when shrinking) and its centre ``size`` × ``size``
        cropped, as ImageNet networks are evaluated.

    Returns:
      uint8 RGB frames [T, H, W, 3] in temporal order.

    Raises:
      KeyframeError: missing, unreadable, empty or truncated video.
    """
    path = os.fspath(video_path)
    capture = open_video(path)
    try:
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        wanted = (set(uniform_indices(declared, num_frames).tolist())
                  if declared > 0 else None)
        kept: dict[int, np.ndarray] = {}
        stride, decoded = 1, 0
        while capture.grab():
            index, decoded = decoded, decoded + 1
            keep = (index in wanted) if wanted is not None else (
                index % stride == 0)
            if not keep:
                continue
            ok, frame = capture.retrieve()
            if ok:
                kept[index] = frame
            if wanted is None and len(kept) > 2 * num_frames:
                stride *= 2
                kept = _thinned(kept, stride)
    finally:
        capture.release()
    check_complete(path, decoded, declared)
    if not kept:    # Frames grabbed, none retrieved: none decodable.
        check_complete(path, 0, declared)
    available = np.array(sorted(kept))
    targets = uniform_indices(decoded, num_frames)
    nearest = available[np.abs(available[None, :] - targets[:, None]).argmin(1)]
    frames = [cv2.cvtColor(kept[i], cv2.COLOR_BGR2RGB) for i in nearest]
    if size is not None:
        frames = [centre_square(frame, size) for frame in frames]
    return np.stack(frames)


def centre_square(frame: np.ndarray, size: int) -> np.ndarray:
    """The centre ``size`` × ``size`` of a frame whose shorter side is
    resized to ``size`` (area interpolation when shrinking, bilinear when
    enlarging)."""
    height, width = frame.shape[:2]
    scale = size / min(height, width)
    new_height = max(size, round(height * scale))
    new_width = max(size, round(width * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(frame, (new_width, new_height),
                         interpolation=interpolation)
    top, left = (new_height - size) // 2, (new_width - size) // 2
    return resized[top:top + size, left:left + size]
