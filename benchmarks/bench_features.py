"""Frame features from raw videos: `divafn_tf.features --kind=frames_efficientnet_lite0`'s speed.

What is measured
----------------
The features command's engine (`feature_extraction.runner.extract` with
`kinds.FrameFeatures("efficientnet_lite0")`, T = ``--num_frames`` frames per
video, 4 videos per network batch, 2 decoding threads) on ``--videos``
generated xvid AVI clips of 320 × 240 at 25 fps and ``--seconds`` long
(UCF101's format and mean length: 7 s): moving textured shapes on a
gradient, so the codec has real work. Reported: videos/s (wall), the
share of the process's CPU time spent decoding (``prepare``: grabbing every
frame, converting and resizing the T kept ones; thread CPU time) and the
bare network's rate on the same number of frames (batches of 4T frames,
already decoded), i.e. how close the pipeline gets to the network alone.

Targets (issue 15): ≥ 5 videos/s on 2 CPU cores, decoding ≤ 30 % of the
time.

Usage::

    python benchmarks/bench_features.py
    python benchmarks/bench_features.py --videos 20 --no_append
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.measure import CpuMeter, benchmark_parser, loadavg  # noqa: E402
from benchmarks.results import append_results  # noqa: E402
from divafn_tf.feature_extraction import kinds, runner  # noqa: E402
from divafn_tf.prep.frame_sampling import sample_frames  # noqa: E402

WIDTH, HEIGHT, FPS = 320, 240, 25


def write_clip(path: Path, seconds: float, seed: int) -> None:
    """An xvid AVI of moving textured shapes on a gradient."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"XVID"), FPS,
                             (WIDTH, HEIGHT))
    assert writer.isOpened(), "OpenCV cannot write XVID"
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = np.stack([xs * 255 // WIDTH, ys * 255 // HEIGHT,
                     np.full_like(xs, int(rng.integers(0, 255)))], -1)
    texture = rng.integers(0, 40, (HEIGHT, WIDTH, 3))
    shapes = rng.uniform(0, 1, (5, 4))
    for t in range(int(seconds * FPS)):
        frame = (base + texture).astype(np.uint8)
        for k, (x0, y0, vx, vy) in enumerate(shapes):
            x = int((x0 * WIDTH + 4 * (vx - 0.5) * t) % WIDTH)
            y = int((y0 * HEIGHT + 3 * (vy - 0.5) * t) % HEIGHT)
            colour = tuple(int(c) for c in rng.integers(0, 255, 3)) if t == 0 \
                else (50 * k % 255, 90 * k % 255, 200 - 30 * k)
            cv2.circle(frame, (x, y), 15 + 5 * k, colour, -1)
        writer.write(frame)
    writer.release()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--videos", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=7.0)
    parser.add_argument("--num_frames", type=int, default=8)
    parser.add_argument("--batch_videos", type=int, default=4)
    args = parser.parse_args()
    load_before = loadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "videos"
        folder.mkdir()
        for i in range(args.videos):
            write_clip(folder / f"v{i:03d}.avi", args.seconds, args.seed + i)
        inputs = runner.inputs_in(folder, (".avi",))
        kind = kinds.FrameFeatures("efficientnet_lite0", args.num_frames)
        warm = [kind.prepare(inputs[0][1])] * args.batch_videos
        kind.compute(warm)                                   # tracing
        meter, cpu0 = CpuMeter(), cpu_seconds()
        report = runner.extract(kind, inputs, Path(tmp) / "out",
                                batch_videos=args.batch_videos)
        cpu = cpu_seconds() - cpu0
        others, steal = meter.others()
        frames = [sample_frames(s, args.num_frames, size=224)
                  for _, s in inputs[:args.batch_videos]]
        start, calls = time.monotonic(), 0
        while time.monotonic() - start < 10 or calls < 3:
            kind.compute(frames)
            calls += 1
        bare = calls * args.batch_videos / (time.monotonic() - start)
    rate = report.written / report.seconds
    decode_share = report.prepare_seconds / cpu
    row = {"videos": report.written, "seconds_each": args.seconds,
           "frames_per_video": args.num_frames, "wall_s": report.seconds,
           "videos_per_s": rate, "decode_cpu_share": decode_share,
           "network_alone_videos_per_s": bare,
           "pipeline_over_network": rate / bare,
           "other_cpu_cores": others, "steal_cores": steal,
           "target_5_per_s": "met" if rate >= 5 else "NOT met",
           "target_decode_30pct": "met" if decode_share <= 0.30 else "NOT met"}
    print(row)
    if not args.no_append:
        append_results("bench_features (frames_efficientnet_lite0)", [row], (
            f"{args.videos} generated xvid AVI clips, {WIDTH}×{HEIGHT} at "
            f"{FPS} fps, {args.seconds:g} s each; T = {args.num_frames}, "
            f"{args.batch_videos} videos per batch, 2 decoding threads. "
            "decode_cpu_share = the decoding threads' CPU time / the "
            "process's CPU time during the run; network alone = the same "
            "batches already decoded. Load average before: "
            f"{load_before}, after: {loadavg()}; other processes' CPU in the "
            "table."), path=args.results_path)


if __name__ == "__main__":
    main()
