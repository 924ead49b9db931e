"""Inference: latency and throughput of the exported DIVAFN SavedModel.

What is measured
----------------
The ``serving_default`` signature of a SavedModel written by the project's
own export path (`divafn_tf.export.export_saved_model`), reloaded with
`tf.saved_model.load`, on videos with one 224×224 keyframe (uint8
[N, 224, 224, 3]) and a 4096-d video feature (float32 [N, 4096]), at batch
sizes 1 and 64 (``--batch_sizes``).

The model has the paper's full-size networks (docs/design.md §3), as
`divafn_tf.train.build_model` builds them from the default `RunConfig`:
keyframe network CNN-F (width 1, fc6/fc7 4096, fc8 d = 4096), video network
fc 8192 ReLU → fc 4096 on a 4096-d C3D-like feature, k = 300, 101 classes,
W_H, W_G, W_E random; all weights random (timing does not depend on their
values). The SVM is `classifier.train_linear_svm` (StandardScaler +
SquaredHingeOvR) fitted on random eq.-(25) features (3k = 900-d) of
``--svm_videos`` videos (default 2 per class, so each of the 101 classes has
its column). The signature resizes the keyframe to the training size (here
224 → 224), runs the keyframe and video networks, fuses (eq. 25) and scores.

The model is built and exported in a subprocess (or reused from
``--export_dir`` with ``--reuse``); this process only loads and times it.
Inputs are made once (random pixels, ReLU'd Gaussian features) outside the
timed region. Per batch size: ``--warmup`` calls are excluded, then
``--repeats`` timed calls (wall clock around the call and ``.numpy()`` of the
outputs); the median and the 90th percentile of the call time are reported,
with per-video latency = call time / batch and throughput = batch / call time.

Profile (``--profile``, on by default): in the export subprocess, the
components of the served graph are timed separately as tf.functions at the
same batch sizes -- the resize, the keyframe network (CNN-F), the video
network, and fusion + SVM -- to show what dominates, plus the whole serving
function before saving (to compare with the reloaded SavedModel).

Target (issue 6): ≤ 50 ms per video at batch 64 on this CPU.

Usage::

    python benchmarks/bench_predict.py
    python benchmarks/bench_predict.py --batch_sizes 1 16 64 --repeats 20
    python benchmarks/bench_predict.py --reuse --export_dir /tmp/divafn_export

The default run took under a minute on a 2-core AMD EPYC (building and
exporting the ~0.56 GB model takes ~10 s; most of the rest is the batch-64
calls of the profile and of the timing, ~0.6 s each).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from measure import benchmark_parser, loadavg, time_calls  # noqa: E402
from model_fixture import unit_class_vectors  # noqa: E402
from results import append_results, markdown_table  # noqa: E402

IMAGE_SIZE, VIDEO_DIM, NUM_CLASSES, K = 224, 4096, 101, 300
TARGET_MS_PER_VIDEO = 50.0
TARGET_BATCH = 64


def _percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def make_inputs(batch: int, seed: int = 0):
    rng = np.random.default_rng([seed, batch])
    keyframes = rng.integers(0, 256, (batch, IMAGE_SIZE, IMAGE_SIZE, 3),
                             dtype=np.uint8)
    video = np.maximum(rng.standard_normal((batch, VIDEO_DIM)), 0)
    return keyframes, video.astype(np.float32)


def _configure_threads(args) -> None:
    import tensorflow as tf
    if args.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(
            args.intra_op_threads)
    if args.inter_op_threads:
        tf.config.threading.set_inter_op_parallelism_threads(
            args.inter_op_threads)


# --------------------------------------------------------------------------
# Subprocess: build the full-size model, export it, optionally profile.
# --------------------------------------------------------------------------
def build_and_export(args) -> None:
    sys.path.insert(0, REPO)
    _configure_threads(args)
    import keras
    from divafn_tf import classifier, export, train
    from divafn_tf.config import RunConfig

    out = {}
    config = RunConfig(image_size=IMAGE_SIZE)       # paper sizes (defaults)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    class_vectors = unit_class_vectors(rng, NUM_CLASSES, K)
    n_svm = args.svm_videos
    labels = np.arange(n_svm) % NUM_CLASSES
    start = time.perf_counter()
    model = train.build_model(config, class_vectors, labels, VIDEO_DIM)
    for w in (model.w_h, model.w_g, model.w_e):
        w.assign(0.01 * rng.standard_normal(w.shape).astype(np.float32))
    out["build_s"] = time.perf_counter() - start
    out["keyframe_net_params"] = int(model.keyframe_net.count_params())
    out["video_net_params"] = int(model.video_net.count_params())
    out["config"] = {"d": config.d, "fc_units": config.fc_units,
                     "cnn_width": config.cnn_width,
                     "video_hidden": config.video_hidden,
                     "image_size": config.image_size}

    start = time.perf_counter()
    fused = rng.standard_normal((n_svm, 3 * K)) + 0.5 * class_vectors[
        labels] @ rng.standard_normal((K, 3 * K))
    svm = classifier.train_linear_svm(fused, labels, seed=args.seed)
    out["svm_fit_s"] = time.perf_counter() - start
    class_names = [f"class_{i:03d}" for i in range(NUM_CLASSES)]

    if args.profile:
        out["profile"] = profile_components(args, model, svm, class_names,
                                            config)

    start = time.perf_counter()
    export.export_saved_model(model, svm, class_names, IMAGE_SIZE, VIDEO_DIM,
                              args.export_dir)
    out["export_s"] = time.perf_counter() - start
    out["export_mib"] = sum(
        os.path.getsize(os.path.join(root, f))
        for root, _, files in os.walk(args.export_dir) for f in files) / 2**20
    print("RESULT " + json.dumps(out), flush=True)


def profile_components(args, model, svm, class_names, config) -> list[dict]:
    """Times the served graph's parts as separate tf.functions."""
    import tensorflow as tf
    from divafn_tf import classifier, export
    from divafn_tf.model import mean_keyframe_embedding
    from divafn_tf.prep.images import resize_uint8

    recognizer = export.VideoRecognizer(model, svm, class_names, IMAGE_SIZE,
                                        VIDEO_DIM)
    d = model.embedding_dim

    @tf.function
    def resize(frames):
        return resize_uint8(frames, IMAGE_SIZE)

    @tf.function
    def keyframe(frames):
        return mean_keyframe_embedding(model.keyframe_net, frames, d)

    @tf.function
    def video(features):
        return model.video_net(features, training=False)

    @tf.function
    def fuse_score(h, g):
        fused = classifier.fused_features_tf(recognizer.w_h, recognizer.w_g,
                                             recognizer.w_e, h, g)
        return recognizer.scorer(fused)

    rows = []
    for batch in args.batch_sizes:
        frames, feats = make_inputs(batch, args.seed)
        frames4 = tf.constant(frames)                   # [B, S, S, 3]
        frames5 = tf.constant(frames[:, None])          # [B, 1, S, S, 3]
        feats = tf.constant(feats)
        h = keyframe(frames5)
        g = video(feats)
        parts = {
            "resize 224→224": lambda: resize(frames5).numpy(),
            "keyframe net (CNN-F)": lambda: keyframe(frames5).numpy(),
            "video net (MLP)": lambda: video(feats).numpy(),
            "fusion (eq. 25) + SVM": lambda: fuse_score(h, g)[0].numpy(),
            "whole serve fn (not saved)": lambda: recognizer.serve(
                frames4, feats)["scores"].numpy(),
        }
        for name, fn in parts.items():
            times = time_calls(fn, max(3, args.profile_repeats),
                               args.warmup)
            med = statistics.median(times)
            rows.append({"batch": batch, "component": name,
                         "median_ms_per_call": 1e3 * med,
                         "median_ms_per_video": 1e3 * med / batch})
            print(f"  profile batch {batch:3d} {name:28s} "
                  f"{1e3 * med:9.2f} ms/call {1e3 * med / batch:8.2f} "
                  f"ms/video", flush=True)
    return rows


# --------------------------------------------------------------------------
# Main: load the SavedModel and time serving_default.
# --------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=20,
                        help="timed calls per batch size")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed calls per batch size before timing")
    parser.add_argument("--export_dir", default="",
                        help="where to write the SavedModel (default: a "
                             "temporary directory, deleted afterwards)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse an existing SavedModel in --export_dir")
    parser.add_argument("--svm_videos", type=int, default=2 * NUM_CLASSES,
                        help="random fused-feature rows the SVM is fitted on")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction,
                        default=True,
                        help="time resize / keyframe net / video net / "
                             "fusion+SVM separately (in the export process)")
    parser.add_argument("--profile_repeats", type=int, default=10)
    parser.add_argument("--intra_op_threads", type=int, default=0,
                        help="TF intra-op threads (0 = TF default)")
    parser.add_argument("--inter_op_threads", type=int, default=0,
                        help="TF inter-op threads (0 = TF default)")
    parser.add_argument("--_export", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._export:
        build_and_export(args)
        return 0

    load_before = loadavg()
    print(f"load average before: {load_before}", flush=True)
    temp_dir = None
    if not args.export_dir:
        temp_dir = tempfile.mkdtemp(prefix="bench_predict_")
        args.export_dir = os.path.join(temp_dir, "export")
    build = {}
    if not (args.reuse and os.path.isdir(args.export_dir)):
        cmd = [sys.executable, os.path.abspath(__file__), "--_export",
               "--export_dir", args.export_dir, "--seed", str(args.seed),
               "--svm_videos", str(args.svm_videos),
               "--warmup", str(args.warmup),
               "--profile_repeats", str(args.profile_repeats),
               "--intra_op_threads", str(args.intra_op_threads),
               "--inter_op_threads", str(args.inter_op_threads),
               "--batch_sizes", *map(str, args.batch_sizes),
               "--profile" if args.profile else "--no-profile"]
        print("building + exporting the full-size model "
              "(and profiling components)...", flush=True)
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        for line in proc.stdout.splitlines():
            if not line.startswith("RESULT "):
                print(line)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-5000:])
            return 1
        build = json.loads([line for line in proc.stdout.splitlines()
                            if line.startswith("RESULT ")][-1][7:])
        print(f"  built in {build['build_s']:.1f} s, exported in "
              f"{build['export_s']:.1f} s ({build['export_mib']:.0f} MiB); "
              f"keyframe net {build['keyframe_net_params'] / 1e6:.1f} M "
              f"params, video net {build['video_net_params'] / 1e6:.1f} M",
              flush=True)

    sys.path.insert(0, REPO)
    _configure_threads(args)
    import tensorflow as tf

    start = time.perf_counter()
    loaded = tf.saved_model.load(args.export_dir)
    serve = loaded.signatures["serving_default"]
    load_s = time.perf_counter() - start
    print(f"loaded in {load_s:.1f} s; intra-op threads "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'default'}",
          flush=True)

    rows, met = [], None
    for batch in args.batch_sizes:
        frames, feats = make_inputs(batch, args.seed)
        frames, feats = tf.constant(frames), tf.constant(feats)

        def call():
            out = serve(keyframes=frames, video_feature=feats)
            return {key: value.numpy() for key, value in out.items()}

        first = time.perf_counter()
        out = call()
        first = time.perf_counter() - first
        assert out["scores"].shape == (batch, NUM_CLASSES), out["scores"].shape
        times = time_calls(call, args.repeats, max(0, args.warmup - 1))
        med, p90 = statistics.median(times), _percentile(times, 90)
        row = {
            "batch": batch,
            "keyframes": "1 × 224×224",
            "median ms/call": 1e3 * med,
            "p90 ms/call": 1e3 * p90,
            "median ms/video": 1e3 * med / batch,
            "p90 ms/video": 1e3 * p90 / batch,
            "videos/s (median)": batch / med,
            "first call ms": 1e3 * first,
            "repeats": args.repeats,
        }
        if batch == TARGET_BATCH:
            met = 1e3 * med / batch <= TARGET_MS_PER_VIDEO
            row["target ≤ 50 ms/video"] = "met" if met else "NOT met"
        rows.append(row)
        print(f"batch {batch:3d}: median {1e3 * med:.1f} ms/call "
              f"(p90 {1e3 * p90:.1f}) = {1e3 * med / batch:.2f} ms/video, "
              f"{batch / med:.1f} videos/s", flush=True)
    load_after = loadavg()
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)

    print("\n" + markdown_table(rows))
    notes = [
        f"Target: ≤ {TARGET_MS_PER_VIDEO:g} ms per video at batch "
        f"{TARGET_BATCH}: **{'met' if met else 'NOT met' if met is not None else 'not measured'}**.",
        "Model: the project's export path (`export.export_saved_model`) on "
        "`train.build_model` with the default RunConfig (CNN-F width 1, "
        "fc 4096, d 4096, video net 4096→8192→4096, k 300, 101 classes), "
        "random weights, LinearSVC fitted on random fused features of "
        f"{args.svm_videos} videos; reloaded with `tf.saved_model.load`, "
        f"`serving_default` timed: {args.warmup} warm-up calls excluded, "
        f"median / p90 of {args.repeats} calls (outputs fetched).",
    ]
    if build:
        notes.append(
            f"SavedModel {build['export_mib']:.0f} MiB; keyframe net "
            f"{build['keyframe_net_params'] / 1e6:.1f} M params, video net "
            f"{build['video_net_params'] / 1e6:.1f} M; load {load_s:.1f} s.")
    notes.append(f"TF threads: intra-op "
                 f"{args.intra_op_threads or 'default'}, inter-op "
                 f"{args.inter_op_threads or 'default'}. Load average before "
                 f"({load_before}), after ({load_after}) "
                 f"({os.cpu_count()} cores).")
    profile = build.get("profile")
    if profile:
        table = markdown_table(profile)
        print("Profile (tf.functions in the export process):\n" + table)
        notes.append("\nProfile of the served graph's parts (separate "
                     "tf.functions, same batch sizes, export process):\n\n"
                     + table)
    notes_text = "\n".join(notes)
    print(notes_text)
    if not args.no_append:
        append_results("bench_predict (SavedModel inference)", rows,
                       notes_text, path=args.results_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
