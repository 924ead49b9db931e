"""Training throughput: one DIVAFN train_step against its backbones alone,
and the input pipeline against the training consumption rate.

What is measured
----------------
1. **Training step** (issue 6, deliverable 2). For each (image size S, bank
   size n) of ``--configs`` the model is built exactly as the trainer builds
   it (``divafn_tf.train.build_model``: two CNN-F, the video MLP; paper sizes
   by default: CNN-F width 1, fc6/fc7 4096, d = 4096, video feature 4096
   (C3D), video hidden 8192, k = 300, 101 classes, batch 64, one keyframe,
   plain SGD as in the paper, dropout 0.5). Its banks F, H, G
   ([n, d]) and W are filled with random values. Two functions are traced
   with ``tf.function`` (no XLA, as Keras on a CPU-only machine) and run on
   the *same* in-memory batch (uint8 image and keyframe, float32 video
   feature):

   * ``divafn``: ``Divafn.train_step`` -- forward of the three networks, the
     six [B, n] likelihood blocks against the banks, the four autoencoder
     terms, the gradient, the SGD update and the bank writes (what
     ``model.fit`` runs per batch);
   * ``backbones``: forward + backward of the image net, the keyframe net
     and the video net alone on the same inputs, loss = the sum of the mean
     squares of their outputs, the same SGD (a second instance with the same
     learning rate) applied to the same variables.

   * ``divafn bf16``: the same ``train_step`` of a second ``Divafn`` that
     shares the three networks but has ``bank_dtype="bfloat16"`` (the
     library's ``--bank_dtype=bfloat16``: banks stored in bfloat16, the six
     bank matmuls in bfloat16), banks holding the same values rounded.

   After ``--warmup`` untimed calls of each, ``--rounds`` rounds run all
   three, the order rotating each round (so none always goes first).
   Figures are medians over rounds; ratio = divafn examples/s ÷ backbones
   examples/s (= median backbone time / median divafn time). The min/max of
   the per-round paired ratios are given as a noise indicator. Target:
   ≥ 0.85.

   The SGD learning rate is 0 by default (``--learning_rate``): the update
   ops are the same (Keras's SGD has no shortcut for a zero rate), but
   randomly initialised networks stepped repeatedly on one random batch at
   the paper's 1e-4 diverge to Inf/NaN within ~5 steps, and Inf/NaN
   arithmetic would distort the timings. Every timed call is checked finite.

   Pieces (``--pieces``, on by default), to say where the extra time goes:
   the objective alone (``objective.batch_objective`` on random f, h, g
   [B, d] against the model's banks, forward + gradient with respect to
   f, h, g: the 12 [B, n, d] matmuls plus the autoencoder terms), the bank
   write alone (``Divafn._write_banks``, 3 banks), and the same objective
   on the bfloat16 banks, with its relative gradient error against float32.

   Profile (``--profile``, on by default): one step of each function under
   ``tf.profiler``; the trace's XSpace protobuf is parsed (no TensorBoard
   plugin needed) and op durations are summed per category (network ops by
   their layer scope, bank writes, everything else = objective, optimizer,
   metrics) in thread-seconds; the categories that grow most from backbones
   to divafn and the top non-network ops are reported.

2. **Input pipeline** (``--pipeline``, on by default). ``divafn/synthetic``
   (500 triplets) is built with TFDS under ``--data_dir`` (default: a fresh
   temporary directory, removed afterwards). ``data.training_dataset`` over a
   90 % per-class training selection (450 triplets), ``cache=False`` so every
   epoch really reads the TFRecords and decodes and resizes the images
   (shuffle, parallel map, batch 64, prefetch), repeated; examples/s over
   ``--pipeline_batches`` batches after 10 start-up batches, at each image size
   of ``--configs``, compared with the fastest DIVAFN training rate measured
   at that size. Target: ≥ 5×.

   The synthetic images are small (64-96 px JPEG, 64×64 PNG keyframes); real
   BU101 images are larger. A second row decodes JPEG images of
   ``--real_image_size`` (default 480×360) and 224×224 PNG keyframes (the
   stored size of the real configs' keyframes), with TF's image decoder and
   ``prep.images.resize_uint8`` in the same parallel map / batch / prefetch, from
   memory (no TFRecord reading): the decode + resize cost of real data.

The machine's load average is printed before and after (other jobs on a
shared machine inflate times; the ratios, measured side by side, are the
robust figures).

Usage::

    python benchmarks/bench_train.py                       # ≈ 5 min on 2 cores
    python benchmarks/bench_train.py --configs 112:4096 --rounds 3 --no_append
"""
from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
from measure import (CpuMeter, benchmark_parser, loadavg,  # noqa: E402
                     require_finite, time_calls)
from model_fixture import (add_model_size_arguments,  # noqa: E402
                           build_model_and_batch)
from results import append_results  # noqa: E402

RATIO_TARGET = 0.85
PIPELINE_TARGET = 5.0


def parse_args(argv=None):
    parser = benchmark_parser(__doc__)
    parser.add_argument("--configs", default="112:4096,224:4096,224:13320",
                        help="comma-separated IMAGE_SIZE:N (bank columns)")
    add_model_size_arguments(parser, video_hidden=8192, cnn_width=1.0,
                             fc_units=4096)
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed calls of each function after tracing")
    parser.add_argument("--rounds", type=int, default=4,
                        help="timed rounds, each runs both functions")
    parser.add_argument("--piece_repeats", type=int, default=5)
    parser.add_argument("--pieces", action=argparse.BooleanOptionalAction,
                        default=True)
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction,
                        default=True, help="tf.profiler op breakdown of one "
                        "step of each function, per config")
    parser.add_argument("--pipeline", action=argparse.BooleanOptionalAction,
                        default=True)
    parser.add_argument("--pipeline_batches", type=int, default=40)
    parser.add_argument("--real_image_size", default="480x360",
                        help="WxH of the JPEGs of the real-size decode row")
    parser.add_argument("--data_dir", default="",
                        help="TFDS data dir for divafn/synthetic (default: "
                        "a temporary directory, removed afterwards)")
    args = parser.parse_args(argv)
    args.configs = [tuple(int(v) for v in c.split(":"))
                    for c in args.configs.split(",") if c]
    return args


# --------------------------------------------------------------------------
# Training step.
# --------------------------------------------------------------------------
def build(args, image_size: int, n: int):
    """The model as the trainer builds it, banks/W filled, and one batch."""
    import numpy as np

    rng = np.random.default_rng(args.seed)
    model, config, _, _, batch = build_model_and_batch(args, image_size, n,
                                                       rng)
    # Banks at the scale of the networks' initial outputs; W small.
    out = model(batch, training=False)
    scale = float(np.std(out["g"].numpy())) or 0.01
    for bank in (model.bank_f, model.bank_h, model.bank_g):
        bank.assign(scale * rng.standard_normal((n, args.d), dtype=np.float32))
    for w in (model.w_f, model.w_h, model.w_g, model.w_e):
        w.assign(0.01 * rng.standard_normal(w.shape, dtype=np.float32))
    return model, config, batch


def bfloat16_twin(model, config):
    """A Divafn sharing ``model``'s networks and W, banks in bfloat16."""
    import tensorflow as tf
    from divafn_tf import train
    from divafn_tf.model import Divafn

    twin = Divafn(model.image_net, model.keyframe_net, model.video_net,
                  class_vectors=model.class_vectors,
                  train_labels=model.train_labels,
                  weights=model.objective_weights, bank_dtype="bfloat16")
    twin.compile(optimizer=train.make_optimizer(config))
    for name in ("bank_f", "bank_h", "bank_g", "w_f", "w_h", "w_g", "w_e"):
        source = getattr(model, name)
        getattr(twin, name).assign(tf.cast(source, getattr(twin, name).dtype))
    return twin


def backbone_step_fn(model, config):
    """Forward + backward of the three networks alone, plain MSE loss."""
    import tensorflow as tf
    from divafn_tf import train

    optimizer = train.make_optimizer(config)
    nets = (model.image_net, model.keyframe_net, model.video_net)
    variables = [v for net in nets for v in net.trainable_variables]
    optimizer.build(variables)

    @tf.function
    def step(data):
        keyframes = data["keyframes"]
        flat = tf.reshape(keyframes, tf.concat([[-1], tf.shape(keyframes)[2:]], 0))
        with tf.GradientTape() as tape:
            f = model.image_net(data["image"], training=True)
            h = model.keyframe_net(flat, training=True)
            g = model.video_net(data["video_feature"], training=True)
            loss = (tf.reduce_mean(tf.square(f)) + tf.reduce_mean(tf.square(h))
                    + tf.reduce_mean(tf.square(g)))
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss
    return step


def time_steps(args, model, model16, config, batch) -> dict:
    import tensorflow as tf

    divafn = tf.function(model.train_step)
    divafn16 = tf.function(model16.train_step)
    backbones = backbone_step_fn(model, config)
    runners = {
        "divafn": lambda: require_finite(divafn(batch)["J"]),
        "divafn_bf16": lambda: require_finite(divafn16(batch)["J"]),
        "backbones": lambda: require_finite(backbones(batch)),
    }
    trace = {}
    for name, run in runners.items():
        start = time.perf_counter()
        run()
        trace[name] = time.perf_counter() - start
    for _ in range(args.warmup):
        for run in runners.values():
            run()
    times = {name: [] for name in runners}
    names = list(runners)
    for r in range(args.rounds):
        for name in names[r % 3:] + names[:r % 3]:
            start = time.perf_counter()
            runners[name]()
            times[name].append(time.perf_counter() - start)
        print(f"    round {r + 1}: " + ", ".join(
            f"{name} {times[name][-1]:.2f} s" for name in names), flush=True)
    out = {"trace_s": trace}
    for name in names:
        out[f"{name}_s"] = statistics.median(times[name])
    for name in ("divafn", "divafn_bf16"):
        paired = [b / d for b, d in zip(times["backbones"], times[name])]
        out[f"{name}_paired"] = f"{min(paired):.3f}-{max(paired):.3f}"
    return out


def time_pieces(args, model, model16, batch) -> dict:
    """The objective (float32 and bfloat16 banks) and the bank write alone."""
    import numpy as np
    import tensorflow as tf
    from divafn_tf import objective

    b, d = args.batch_size, args.d
    rng = np.random.default_rng(args.seed + 1)
    scale = float(np.std(model.bank_g.numpy()[:1000]))
    fhg = [tf.constant(scale * rng.standard_normal((b, d), dtype=np.float32))
           for _ in range(3)]
    labels = tf.cast(batch["label"], tf.int32)
    semantics = model._semantics_of(labels)
    bank_labels = tf.constant(model.train_labels)
    w = (model.w_f, model.w_h, model.w_g, model.w_e)
    weights = model.objective_weights
    # The bfloat16 banks as the float32 ones rounded (the timed train_steps
    # wrote different dropout outputs into the two models' banks).
    banks16 = (model16.bank_f, model16.bank_h, model16.bank_g)
    for bank16, bank in zip(banks16, (model.bank_f, model.bank_h, model.bank_g)):
        bank16.assign(tf.cast(bank, bank16.dtype))

    def objective_gradient(banks):
        """Forward + gradient w.r.t. f, h, g of the objective on ``banks``."""
        @tf.function
        def gradient(f, h, g):
            with tf.GradientTape() as tape:
                tape.watch([f, h, g])
                per_row, _ = objective.batch_objective(
                    f, h, g, labels, semantics,
                    tuple(tf.convert_to_tensor(x) for x in banks),
                    bank_labels, w, weights)
                loss = tf.reduce_sum(per_row) / b
            return tape.gradient(loss, [f, h, g])
        return gradient

    fp32 = objective_gradient((model.bank_f, model.bank_h, model.bank_g))
    bf16 = objective_gradient(banks16)

    index = tf.cast(batch["index"], tf.int32)

    @tf.function
    def write(f, h, g):
        model._write_banks(index, f, h, g)
        return tf.constant(0)

    grads32 = [t.numpy() for t in fp32(*fhg)]
    if not all(np.isfinite(t).all() for t in grads32):
        raise FloatingPointError("non-finite objective gradient")
    grads16 = [t.numpy() for t in bf16(*fhg)]
    rel_err = max(float(np.linalg.norm(a - c) / np.linalg.norm(a))
                  for a, c in zip(grads32, grads16))
    write(*fhg)
    out = {}
    for name, fn in (("objective_fp32_s", fp32), ("objective_bf16_s", bf16),
                     ("bank_write_s", write)):
        out[name] = statistics.median(time_calls(
            lambda fn=fn: [t.numpy() for t in tf.nest.flatten(fn(*fhg))],
            args.piece_repeats))
    out["bf16_grad_rel_err"] = rel_err
    return out


# --------------------------------------------------------------------------
# Op-level profile (tf.profiler trace, parsed from its XSpace protobuf).
# --------------------------------------------------------------------------
def profile_ops(run, logdir: str) -> dict:
    """Seconds per TF op of one call of ``run``, from a tf.profiler trace.

    Sums the durations of the executor's op events (``name:type`` on the
    ``tf_*`` threads) by op name; ops run on several threads at once, so the
    sums are thread-seconds, not wall time.
    """
    import glob

    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    tf.profiler.experimental.start(logdir)
    try:
        run()
    finally:
        tf.profiler.experimental.stop()
    paths = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"),
                             recursive=True), key=os.path.getmtime)
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as f:
        space.ParseFromString(f.read())
    ops: dict[str, float] = {}
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or name.startswith("ExecutorState"):
                    continue
                ops[name] = ops.get(name, 0.0) + event.duration_ps * 1e-12
    return ops


def classify(op: str) -> str:
    """Where an op of the train_step belongs (by its name and type)."""
    name, op_type = op.rsplit(":", 1)
    lowered = name.lower()
    if "scatter" in op_type.lower() or "assignvariable" in op_type.lower():
        return f"bank write / variable assign ({op_type})"
    if any(net in lowered for net in ("image_net", "keyframe_net", "video_net")):
        return f"networks: {op_type}"
    return f"other (objective, optimizer, metrics): {op_type}"


def profile_summary(args, model, config, batch, logdir: str, top: int = 8):
    """Thread-seconds by category for one divafn and one backbones step."""
    import tensorflow as tf

    divafn = tf.function(model.train_step)
    backbones = backbone_step_fn(model, config)
    divafn(batch)
    backbones(batch)
    out = {}
    for name, run in (("divafn", lambda: divafn(batch)["J"].numpy()),
                      ("backbones", lambda: backbones(batch).numpy())):
        ops = profile_ops(run, os.path.join(logdir, name))
        cats: dict[str, float] = {}
        for op, sec in ops.items():
            cats[classify(op)] = cats.get(classify(op), 0.0) + sec
        out[name] = {"total": sum(ops.values()), "cats": cats,
                     "top_ops": sorted(ops.items(), key=lambda kv: -kv[1])[:top]}
    return out


def profile_text(prof: dict, top: int = 6) -> str:
    """The categories whose thread-seconds grew most from backbones to divafn."""
    d, b = prof["divafn"], prof["backbones"]
    diff = {c: d["cats"].get(c, 0.0) - b["cats"].get(c, 0.0)
            for c in set(d["cats"]) | set(b["cats"])}
    largest = sorted(diff.items(), key=lambda kv: -kv[1])[:top]
    objective_ops = [(op, sec) for op, sec in d["top_ops"]
                     if classify(op).startswith(("other", "bank"))][:3]
    return (f"thread-s divafn {d['total']:.2f} vs backbones {b['total']:.2f}; "
            "largest increases: "
            + "; ".join(f"{c} {v:+.3f}" for c, v in largest)
            + ("\ntop non-network ops of divafn: "
               + "; ".join(f"{op.rsplit('/', 1)[-1]} {sec:.3f}"
                           for op, sec in objective_ops)
               if objective_ops else ""))


# --------------------------------------------------------------------------
# Input pipeline.
# --------------------------------------------------------------------------
def pipeline_rate(dataset, batches: int) -> float:
    # Steady state: the clock starts at the 10th batch, when the prefetch
    # and parallel-map buffers filled during start-up have been drained (a
    # warm-up followed by a pause would let them refill and the timed
    # batches would partly be dequeued, not produced).
    it = iter(dataset)
    for _ in range(10):
        next(it)
    count = 0
    start = time.perf_counter()
    for _ in range(batches):
        count += int(next(it)["label"].shape[0])
    return count / (time.perf_counter() - start)


def synthetic_pipeline(args, data_dir: str, sizes) -> tuple[dict, int]:
    """examples/s of data.training_dataset (cache off) per image size."""
    import tfds_builders.divafn  # noqa: F401  (registers the builder)
    from divafn_tf import data

    start = time.perf_counter()
    pool = data.load_pool("divafn/synthetic", data_dir)
    print(f"  divafn/synthetic ready in {time.perf_counter() - start:.1f} s "
          f"({data_dir})", flush=True)
    train_set, _ = data.select(pool, 0.9, args.seed)
    rates = {}
    for size in sizes:
        ds = data.training_dataset(pool, train_set, size, args.batch_size,
                                   args.seed, cache=False).repeat()
        rates[size] = pipeline_rate(ds, args.pipeline_batches)
        print(f"  synthetic TFRecords → {size}×{size}: {rates[size]:.0f} "
              f"examples/s", flush=True)
    return rates, len(train_set)


def real_size_decode(args, sizes) -> dict:
    """Decode JPEG images of a real size + 224² PNG keyframes, resize, batch."""
    import cv2
    import numpy as np
    import tensorflow as tf
    from divafn_tf.prep.images import resize_uint8

    width, height = (int(v) for v in args.real_image_size.split("x"))
    rng = np.random.default_rng(args.seed)
    images, keyframes = [], []
    for _ in range(32):
        # Smooth content plus noise: JPEG/PNG sizes like photographs'.
        small = rng.integers(0, 256, (height // 16, width // 16, 3), np.uint8)
        img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        images.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
                      .tobytes())
        key = cv2.resize(img, (224, 224), interpolation=cv2.INTER_AREA)
        keyframes.append(cv2.imencode(".png", key)[1].tobytes())
    source = tf.data.Dataset.from_tensor_slices(
        {"image": images, "keyframe": keyframes,
         "label": np.arange(len(images), dtype=np.int64)})
    rates = {}
    for size in sizes:
        def decode(ex, size=size):
            image = tf.io.decode_image(ex["image"], channels=3,
                                       expand_animations=False)
            key = tf.io.decode_image(ex["keyframe"], channels=3,
                                     expand_animations=False)
            return {"image": resize_uint8(image, size),
                    "keyframes": resize_uint8(key[None], size),
                    "label": ex["label"]}
        ds = (source.repeat().map(decode, num_parallel_calls=tf.data.AUTOTUNE)
              .batch(args.batch_size).prefetch(tf.data.AUTOTUNE))
        rates[size] = pipeline_rate(ds, args.pipeline_batches)
        print(f"  {width}×{height} JPEG + 224² PNG → {size}×{size}: "
              f"{rates[size]:.0f} examples/s", flush=True)
    return rates


# --------------------------------------------------------------------------
def main(argv=None) -> None:
    args = parse_args(argv)
    load_before = loadavg()
    run_meter = CpuMeter()
    print(f"load average before: {load_before} ({os.cpu_count()} cores)")
    import keras

    b = args.batch_size
    step_rows, train_rate, profiles = [], {}, []
    for image_size, n in args.configs:
        print(f"[{image_size}×{image_size}, n = {n}] building", flush=True)
        model, config, batch = build(args, image_size, n)
        model16 = bfloat16_twin(model, config)
        meter = CpuMeter()
        res = time_steps(args, model, model16, config, batch)
        others, steal = meter.others()
        base_rate = b / res["backbones_s"]
        div_rate, div16_rate = b / res["divafn_s"], b / res["divafn_bf16_s"]
        ratio, ratio16 = div_rate / base_rate, div16_rate / base_rate
        train_rate[image_size] = max(train_rate.get(image_size, 0.0), div_rate)
        row = {
            "image": f"{image_size}×{image_size}", "n": n, "batch": b,
            "backbones ex/s": base_rate,
            "divafn ex/s (float32 banks)": div_rate, "ratio": ratio,
            "paired ratio min-max": res["divafn_paired"],
            f"target ≥ {RATIO_TARGET}": ratio >= RATIO_TARGET,
            "divafn ex/s (bfloat16 banks)": div16_rate, "ratio bf16": ratio16,
            "paired bf16 min-max": res["divafn_bf16_paired"],
            f"bf16 target ≥ {RATIO_TARGET}": ratio16 >= RATIO_TARGET,
            "other procs' CPU (cores)": others,
        }
        print(f"  backbones {base_rate:.2f} ex/s ({res['backbones_s']:.2f} s), "
              f"divafn {div_rate:.2f} ex/s ({res['divafn_s']:.2f} s), ratio "
              f"{ratio:.3f} (paired {res['divafn_paired']}); bfloat16 banks "
              f"{div16_rate:.2f} ex/s, ratio {ratio16:.3f} (paired "
              f"{res['divafn_bf16_paired']}); first calls (trace) "
              + " / ".join(f"{v:.1f}" for v in res["trace_s"].values())
              + f" s; other processes used {others:.2f} cores (steal "
              f"{steal:.2f})", flush=True)
        if args.pieces:
            p = time_pieces(args, model, model16, batch)
            row.update({
                "overhead s/step": res["divafn_s"] - res["backbones_s"],
                "objective fp32 s": p["objective_fp32_s"],
                "bank write s": p["bank_write_s"],
                "objective bf16 s": p["objective_bf16_s"],
                "bf16 grad rel err": p["bf16_grad_rel_err"],
            })
            print(f"  pieces: objective fp32 {p['objective_fp32_s']:.3f} s, "
                  f"bf16 {p['objective_bf16_s']:.3f} s (grad rel err "
                  f"{p['bf16_grad_rel_err']:.1e}), bank write "
                  f"{p['bank_write_s']:.3f} s", flush=True)
        if args.profile:
            with tempfile.TemporaryDirectory(prefix="bench_train_prof_") as tmp:
                prof = profile_summary(args, model, config, batch, tmp)
            profiles.append((row["image"], n, prof))
            print("  " + profile_text(prof).replace("\n", "\n  "), flush=True)
        step_rows.append(row)
        del model, model16, batch
        keras.backend.clear_session()
        gc.collect()

    pipe_rows = []
    if args.pipeline:
        sizes = sorted(train_rate)
        meter = CpuMeter()
        data_dir = args.data_dir or tempfile.mkdtemp(prefix="bench_train_tfds_")
        try:
            rates, num_train = synthetic_pipeline(args, data_dir, sizes)
        finally:
            if not args.data_dir:
                shutil.rmtree(data_dir, ignore_errors=True)
        real = real_size_decode(args, sizes)
        pipe_others = meter.others()[0]
        for size in sizes:
            for source, rate in (
                    (f"divafn/synthetic TFRecords ({num_train} triplets), "
                     "training_dataset cache=False", rates[size]),
                    (f"{args.real_image_size} JPEG + 224² PNG from memory, "
                     "decode_image + resize_uint8", real[size])):
                multiple = rate / train_rate[size]
                pipe_rows.append({
                    "image": f"{size}×{size}", "source": source,
                    "pipeline ex/s": rate,
                    "training ex/s (divafn)": train_rate[size],
                    "pipeline / training": multiple,
                    f"target ≥ {PIPELINE_TARGET:g}×": multiple >= PIPELINE_TARGET,
                    "CPU share while training": f"{100 / multiple:.1f} %",
                    "other procs' CPU (cores)": pipe_others,
                })
    load_after = loadavg()
    run_others, run_steal = run_meter.others()
    print(f"load average after: {load_after}; other processes used "
          f"{run_others:.2f} cores on average during the run (steal "
          f"{run_steal:.2f})")

    # Other processes using ≥ half a core on average disturb the timings (the
    # load average also counts this script's own earlier work: not used).
    high = run_others >= 0.5
    settings = (
        f"Settings: batch {b}, CNN-F width {args.cnn_width}, fc6/fc7 "
        f"{args.fc_units}, d = {args.d}, video feature {args.video_dim} → "
        f"hidden {args.video_hidden} → d, k = {args.k}, {args.classes} classes, "
        f"1 keyframe, SGD lr {args.learning_rate}, dropout 0.5, float32, no XLA; "
        f"{args.warmup} warm-up call(s) after tracing, {args.rounds} alternating "
        f"rounds, medians. 'backbones' = forward+backward of image net + "
        f"keyframe net + video net, MSE loss, same SGD. Load average before: "
        f"{load_before}; after: {load_after}; other processes' CPU during the "
        f"run {run_others:.2f} cores on average, steal {run_steal:.2f}; "
        f"per config in the table"
        + (" (high: other jobs were running; absolute times are inflated, the "
           "side-by-side ratios less so)." if high else "."))
    notes = [settings, ""]
    for label, key, column in (
            ("float32 banks (default)", "ratio", f"target ≥ {RATIO_TARGET}"),
            ("bfloat16 banks (--bank_dtype=bfloat16)", "ratio bf16",
             f"bf16 target ≥ {RATIO_TARGET}")):
        met = all(r[column] for r in step_rows)
        notes.append(
            f"Training-step target (ratio ≥ {RATIO_TARGET}), {label}: "
            + ("met at every size" if met else "NOT met everywhere")
            + ": " + ", ".join(
                f"{r['image']} n={r['n']} {r[key]:.3f} ("
                + ("met" if r[column] else "not met") + ")"
                for r in step_rows) + ".")
    if args.pieces:
        notes.append(
            "Pieces: 'objective fp32' = objective.batch_objective forward + "
            "gradient w.r.t. f, h, g alone (6 [B,n] blocks forward and "
            "backward, i.e. 24·B·n·d flops, plus the autoencoder terms); "
            "'bank write' = Divafn._write_banks (tensor_scatter_nd_update + "
            "assign: copies each [n, d] bank once per step); 'objective bf16' "
            "= the same on the bfloat16 banks of --bank_dtype=bfloat16 (the "
            "six bank matmuls in bfloat16, float32 accumulation, softplus "
            "and sums in float32); 'bf16 grad rel err' = max over f, h, g of "
            "‖∇_bf16 − ∇_fp32‖ / ‖∇_fp32‖.")
    if profiles:
        notes.append("")
        notes.append(
            "Profile (tf.profiler trace of one step of each function, op "
            "durations summed per category in thread-seconds; ops overlap on "
            "the 2 cores, so the totals exceed wall time):")
        for image, n, prof in profiles:
            notes.append(f"- {image}, n = {n}: "
                         + profile_text(prof).replace("\n", " "))
    if pipe_rows:
        pipe_met = all(r[f"target ≥ {PIPELINE_TARGET:g}×"] for r in pipe_rows)
        notes.append("")
        notes.append(
            f"Input-pipeline target (≥ {PIPELINE_TARGET:g}× the training "
            "consumption rate): " + ("met" if pipe_met else "NOT met") +
            ". Pipeline measured alone (both cores); 'CPU share while "
            "training' = training rate / pipeline rate, the fraction of the "
            "machine the pipeline needs to keep up.")
    text = "\n".join(notes)
    print()
    print(text)
    if not args.no_append:
        append_results("bench_train (training step)", step_rows, text,
                       path=args.results_path)
        if pipe_rows:
            append_results("bench_train (input pipeline)", pipe_rows,
                           "See the training-step section above for the "
                           "training rates and the machine load.",
                           path=args.results_path)


if __name__ == "__main__":
    main()
