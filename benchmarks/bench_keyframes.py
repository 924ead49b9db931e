"""Keyframe extraction: peak memory (RSS) and time against the video's length.

What is measured
----------------
`keyframes.extract_keyframes` (``--num_keyframes``, default 1) on 1280×720
videos that this script writes with OpenCV into a temporary folder: MPEG-4
Part 2 (XVID) AVIs at 25 fps, ``--short_seconds`` (default 12 s, 300 frames)
and ``--long_seconds`` (default 600 s: the 10-minute video, 15,000 frames).
The picture is a coloured background that changes every 4 s with a moving
square, so the histogram differences have real scene changes.

Each extraction runs in its own subprocess (this script with ``--worker``),
which imports the module, resets its peak RSS (VmHWM, /proc/self/clear_refs),
reads the RSS after the imports, extracts, and reports its peak RSS, the
increase over the post-import RSS, and the wall time. The increase is the
memory the extraction needed; the peak includes Python, numpy and OpenCV.

Before issue 13 every frame was held twice (the list and its np.stack): the
issue measured 1.7 GB for 300 720p frames, 3.3 GB for 600, i.e. ~40 GB for
this 10-minute video. Target (issue 13): peak RSS ≤ 500 MB on the 10-minute
720p video.

Usage::

    python benchmarks/bench_keyframes.py
    python benchmarks/bench_keyframes.py --long_seconds 120 --no_append

The default run takes ~5 minutes on a 2-core AMD EPYC (most of it writing
and decoding the 15,000 frames of the long video).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from measure import (benchmark_parser, loadavg, proc_status_kib,  # noqa: E402
                     reset_peak_rss)
from results import append_results  # noqa: E402

WIDTH, HEIGHT, FPS, SCENE_SECONDS = 1280, 720, 25, 4
TARGET_PEAK_MB = 500


def write_video(path: str, seconds: float, seed: int) -> int:
    """Writes the 720p XVID test video; returns its number of frames."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"XVID"), FPS,
                             (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write XVID to {path}")
    num_frames = int(seconds * FPS)
    frame = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    for t in range(num_frames):
        if t % (SCENE_SECONDS * FPS) == 0:
            background = rng.integers(0, 256, 3).tolist()
            colour = rng.integers(0, 256, 3).tolist()
        frame[:] = background
        x = (t * 8) % (WIDTH - 200)
        cv2.rectangle(frame, (x, 260), (x + 200, 460), colour, -1)
        writer.write(frame)
    writer.release()
    return num_frames


def worker(path: str, num_keyframes: int) -> None:
    """Subprocess: extract, print {peak, post-import RSS, seconds} as JSON."""
    from divafn_tf.prep import keyframes
    reset_peak_rss()
    base_kib = proc_status_kib("VmRSS")
    start = time.perf_counter()
    out = keyframes.extract_keyframes(path, num_keyframes)
    seconds = time.perf_counter() - start
    print(json.dumps(dict(peak_kib=proc_status_kib("VmHWM"),
                          base_kib=base_kib, seconds=seconds,
                          shape=list(out.shape))))


def measure(path: str, num_keyframes: int) -> dict:
    """Runs `worker` in a subprocess and returns its figures."""
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", path,
         "--num_keyframes", str(num_keyframes)],
        cwd=REPO, capture_output=True, text=True, check=True,
        env=dict(os.environ, PYTHONPATH=REPO))
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--short_seconds", type=float, default=12)
    parser.add_argument("--long_seconds", type=float, default=600)
    parser.add_argument("--num_keyframes", type=int, default=1)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.num_keyframes)
        return
    print(f"load average before: {loadavg()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seconds in (args.short_seconds, args.long_seconds):
            path = os.path.join(folder, f"video_{seconds:g}s.avi")
            start = time.perf_counter()
            frames = write_video(path, seconds, args.seed)
            write_s = time.perf_counter() - start
            figures = measure(path, args.num_keyframes)
            row = dict(video=f"{WIDTH}x{HEIGHT} XVID {seconds:g} s",
                       frames=frames,
                       file_mb=os.path.getsize(path) / 2 ** 20,
                       num_keyframes=args.num_keyframes,
                       peak_rss_mb=figures["peak_kib"] / 1024,
                       rss_after_imports_mb=figures["base_kib"] / 1024,
                       extraction_increase_mb=(figures["peak_kib"]
                                               - figures["base_kib"]) / 1024,
                       extract_s=figures["seconds"], write_s=write_s)
            rows.append(row)
            print(f"{row['video']} ({frames} frames): peak RSS "
                  f"{row['peak_rss_mb']:.0f} MB (+"
                  f"{row['extraction_increase_mb']:.0f} MB over the imports), "
                  f"extraction {row['extract_s']:.1f} s", flush=True)
    long_peak = rows[-1]["peak_rss_mb"]
    notes = (f"Peak RSS of the {args.long_seconds:g}-s 720p video: "
             f"{long_peak:.0f} MB (target ≤ {TARGET_PEAK_MB} MB for 10 "
             f"minutes: {'met' if long_peak <= TARGET_PEAK_MB else 'NOT met'})"
             f"; before issue 13 about 5.6 MB per frame was held (1.7 GB for "
             f"300 frames). Load average after: {loadavg()}.")
    print(notes)
    if not args.no_append:
        append_results("bench_keyframes", rows, notes=notes,
                       path=args.results_path)


if __name__ == "__main__":
    main()
