"""C3D video features on CPU: seconds per 16-frame clip, bare network against the whole pipeline.

What is measured
----------------
The full-size C3D of `divafn_tf.nets.c3d` (conv1 … fc6, 4096-d, random
weights: the speed does not depend on their values) on a generated 320×240
video of ``--seconds`` at ``--fps`` (moving colour gradients plus noise,
seeded; numpy frames, no decoding). Two timings, each the median of
``--repeats`` calls after one untimed call:

- **bare**: the network's forward pass alone on the video's clips, already
  made, in batches of ``--batch_size`` (what the network costs);
- **pipeline**: `c3d.c3d_video_feature` on the frames: resize to 128 × 171,
  centre crop, BGR, mean, the 16-frame clips (`clips_from_frames`), the same
  batches through the network, the mean over the clips.

Reported: seconds per clip of each, the preprocessing alone, and the ratio
bare / pipeline (issue 15's target: ≥ 0.8, the pipeline must not be the
bottleneck); the CPU other processes used meanwhile (`measure.CpuMeter`).

Usage::

    python benchmarks/bench_c3d.py
    python benchmarks/bench_c3d.py --seconds 3 --repeats 1 --no_append
"""
from __future__ import annotations

import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.measure import (CpuMeter, benchmark_parser, loadavg,  # noqa: E402
                                require_finite, time_calls)
from benchmarks.results import append_results  # noqa: E402
from divafn_tf.nets import c3d  # noqa: E402

WIDTH, HEIGHT = 320, 240
TARGET_RATIO = 0.8


def generated_video(seconds: float, fps: float, seed: int) -> np.ndarray:
    """uint8 RGB [T, 240, 320, 3]: gradients that move frame to frame, plus noise."""
    rng = np.random.default_rng(seed)
    num = int(round(seconds * fps))
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    frames = np.empty((num, HEIGHT, WIDTH, 3), np.uint8)
    for t in range(num):
        shift = 4.0 * t
        base = np.stack([(x + shift) % 256, (y + shift) % 256,
                         (x + y - shift) % 256], axis=-1)
        noise = rng.normal(0, 8, base.shape)
        frames[t] = np.clip(base + noise, 0, 255).astype(np.uint8)
    return frames


def bare_forward(model, clips: np.ndarray, batch_size: int) -> float:
    """The network alone over ``clips`` in batches; returns a finite checksum."""
    total = 0.0
    for start in range(0, len(clips), batch_size):
        total += float(model(clips[start:start + batch_size],
                             training=False).numpy().sum())
    return require_finite(total)


def measure(name: str, fn, num_clips: int, repeats: int) -> dict:
    meter = CpuMeter()
    seconds = statistics.median(time_calls(fn, repeats, warmup=1))
    others, steal = meter.others()
    print(f"{name}: {seconds:.2f} s per video, {seconds / num_clips:.3f} s "
          f"per clip (other processes used {others:.2f} cores)", flush=True)
    return dict(measurement=name, clips=num_clips, s_per_video=seconds,
                s_per_clip=seconds / num_clips, other_cpu_cores=others,
                steal_cores=steal)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--seconds", type=float, default=7.0,
                        help="length of the generated video")
    parser.add_argument("--fps", type=float, default=25.0,
                        help="frame rate of the generated video")
    parser.add_argument("--batch_size", type=int, default=8,
                        help="clips per forward pass")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed calls per measurement (median)")
    args = parser.parse_args()
    load_before = loadavg()
    print(f"load average before: {load_before}", flush=True)
    frames = generated_video(args.seconds, args.fps, args.seed)
    model = c3d.build_c3d()
    clips = c3d.clips_from_frames(frames)
    num_clips = len(clips)
    rows = [
        measure("bare network (clips made)", lambda: bare_forward(
            model, clips, args.batch_size), num_clips, args.repeats),
        measure("pipeline (frames → feature)", lambda: require_finite(
            c3d.c3d_video_feature(model, frames, batch_size=args.batch_size)
            .sum()), num_clips, args.repeats),
        measure("preprocessing alone (clips_from_frames)",
                lambda: c3d.clips_from_frames(frames), num_clips, args.repeats),
    ]
    ratio = rows[0]["s_per_clip"] / rows[1]["s_per_clip"]
    notes = (f"Full-size C3D (conv1 … fc6, random weights) on CPU; a "
             f"generated {WIDTH}×{HEIGHT} video of {args.seconds:g} s at "
             f"{args.fps:g} fps ({len(frames)} frames → {num_clips} "
             f"non-overlapping 16-frame clips), batches of {args.batch_size} "
             f"clips, median of {args.repeats} calls after one untimed call. "
             f"Ratio bare / pipeline = {ratio:.3f} (target ≥ {TARGET_RATIO}: "
             f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}). Load average "
             f"before: {load_before}, after: {loadavg()}; other processes' CPU "
             f"per row in the table.")
    print(notes)
    if not args.no_append:
        append_results("bench_c3d", rows, notes=notes, path=args.results_path)


if __name__ == "__main__":
    main()
