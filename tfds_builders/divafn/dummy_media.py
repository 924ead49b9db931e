"""The pixels and files of the dummy manual dir (``make_dummy_data.py``).

Tiny deterministic images (a class-coloured background, a random disc and
bar) and Xvid AVI clips (a moving, growing, hue-shifting rectangle), and
the writers of image, video and text files.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

IMAGE_SIZE = (32, 24)                                    # width, height
FRAMES, FPS = 6, 25
JPEG_QUALITY = 90


def write_lines(path: Path, lines: Sequence[str], newline: str = "\n") -> None:
    """Writes ``lines``, each ended by ``newline``, as UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(line + newline for line in lines))


def class_hue(index: int, count: int) -> int:
    """Distinct OpenCV hues (0-179) for the ``count`` classes of one set."""
    return 180 * index // count


def bgr(hue: int, saturation: int, value: int) -> tuple[int, int, int]:
    """The BGR colour of an OpenCV HSV colour."""
    pixel = np.array([[[hue % 180, saturation, value]]], dtype=np.uint8)
    blue, green, red = cv2.cvtColor(pixel, cv2.COLOR_HSV2BGR)[0, 0]
    return int(blue), int(green), int(red)


def write_image(path: Path, image: np.ndarray) -> None:
    """Encodes ``image`` by the extension of ``path`` (JPEG or PNG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    params = ([cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
              if path.suffix == ".jpg" else [])
    ok, encoded = cv2.imencode(path.suffix, image, params)
    assert ok, f"cannot encode {path}"
    path.write_bytes(encoded.tobytes())


def video_frames(class_hue: int, video: int,
                  size: tuple[int, int]) -> list[np.ndarray]:
    """A class- and video-coloured background with a rectangle that moves,
    grows and changes hue, so consecutive frames' histograms differ."""
    width, height = size
    hue = class_hue + 25 * video
    background = bgr(hue, 120, 70 + 40 * video)
    box_width, box_height = width // 4, height // 3
    top = (height - box_height) * (video % 3 + 1) // 4
    step = (width - box_width - FRAMES) // (FRAMES - 1)
    frames = []
    for t in range(FRAMES):
        left = (step * t if video % 2 == 0
                else width - box_width - FRAMES - step * t)
        frame = np.empty((height, width, 3), dtype=np.uint8)
        frame[:] = background
        cv2.rectangle(frame, (left, top),
                      (left + box_width + t, top + box_height + t // 2),
                      bgr(hue + 90 + 12 * t, 220, 235), thickness=-1)
        frames.append(frame)
    return frames


def write_video(path: Path, frames: Sequence[np.ndarray]) -> None:
    """An Xvid AVI of ``frames`` (BGR) at ``FPS``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"XVID"), FPS,
                             (width, height))
    assert writer.isOpened(), f"OpenCV cannot write Xvid AVI {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()


def image_pixels(rng: np.random.Generator, class_hue: int, index: int) -> np.ndarray:
    """A BGR image: class-coloured background, a random disc and bar."""
    width, height = IMAGE_SIZE
    hue = class_hue + 30 * index
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = bgr(hue, 100, 200 - 40 * index)
    center = (int(rng.integers(6, width - 6)), int(rng.integers(6, height - 6)))
    cv2.circle(image, center, int(rng.integers(3, 8)), bgr(hue + 60, 230, 220),
               thickness=-1)
    top = int(rng.integers(0, height - 4))
    bar = bgr(hue + 120, 200, int(rng.integers(40, 160)))
    cv2.rectangle(image, (0, top), (width - 1, top + 3), bar, thickness=-1)
    return image
