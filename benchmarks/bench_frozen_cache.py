"""Frozen-layer cache: DIVAFN epoch time with the frozen image layers
computed once (``--frozen_cache``, the default) against every step.

What is measured
----------------
The embedded demo (``flags/demo.cfg``): ``divafn/synthetic`` (built in the
TFDS data dir), ``train_ratio=0.3``, EfficientNet-Lite0 image and keyframe
networks at 224 px, ``video_hidden=1024``, ``d=256``, Adam at lr 1e-4,
batch 32, no periodic evaluation or histograms, trained with
``divafn_tf.train.fit`` (the library's own loop: build, compile, the first
bank fill, ``model.fit`` with the W-update callback) for ``--epochs`` epochs.

For each ``--train_image_layers`` setting (``top``: only fc8 trains;
``from:block7a_expand_conv``: the cut inside the backbone) the run is made
twice, ``frozen_cache=True`` and ``frozen_cache=False``, each in its own
Python subprocess (one does not warm the other's caches or traced graphs).
Inside it, by wrapping library functions (no library file changes):

* one-off = ``train.make_inputs`` wall time: with the cache the stems'
  pass over the training images and keyframes and the test keyframes;
  without it only the (lazy) pixel datasets are made, ≈ 0;
* first bank fill = the first ``Divafn.fill_banks`` before training;
* epoch times from a Keras callback appended last to ``model.fit``'s
  callbacks (``on_epoch_begin`` → ``on_epoch_end``, after the W update);
  epoch 1 (tracing, the tf.data pixel cache filling) is reported apart,
  the steady epoch time is the median over epochs 2..E.

speed-up = uncached ÷ cached steady epoch time; break-even = the number of
epochs after which the cached run has caught up its extra one-off cost
(stem pass + first bank fill + first epoch, against the same of the
uncached run) by its cheaper steady epochs. The test keyframes' stem pass is
in the cached one-off; an uncached run pays it at evaluation instead, so the
real break-even comes earlier still.

Check: both runs of a setting have the same seed and the same batches, so
the trained image fc8 kernels must agree: relative difference
‖K_cache − K_nocache‖ / ‖K_nocache‖ ≤ 1e-4 (float32 reduction orders differ).

Run time: ≈ 6 min on 2 CPU cores shared with other jobs (load average ≈ 7)
with the defaults (4 epochs, both settings, four subprocesses of 70-105 s);
each extra epoch adds ≈ 10 s, almost all of it in the uncached runs.

Usage::

    python benchmarks/bench_frozen_cache.py
    python benchmarks/bench_frozen_cache.py --settings top --epochs 3 --no_append
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
from measure import CpuMeter, benchmark_parser, loadavg  # noqa: E402
from results import append_results, markdown_table  # noqa: E402

TOLERANCE = 1e-4


def parse_args(argv=None):
    parser = benchmark_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=4,
                        help="epochs per run (steady time over epochs 2..E)")
    parser.add_argument("--settings", default="top,from:block7a_expand_conv",
                        help="comma-separated --train_image_layers values")
    parser.add_argument("--dataset", default="divafn/synthetic")
    parser.add_argument("--data_dir", default=None,
                        help="TFDS data dir (default: ~/tensorflow_datasets)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--frozen_cache", type=int, default=1,
                        help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def demo_config(args, layers: str, frozen_cache: bool):
    from divafn_tf.config import RunConfig
    return RunConfig(dataset=args.dataset, data_dir=args.data_dir,
                     train_ratio=0.3, image_backbone="efficientnet_lite0",
                     train_image_layers=layers, image_size=224,
                     video_hidden=1024, d=256, optimizer="adam",
                     learning_rate=1e-4, batch_size=32, epochs=args.epochs,
                     eval_every=0, histogram_every=0, seed=args.seed,
                     frozen_cache=frozen_cache)


# --------------------------------------------------------------------------
# One run (in its own subprocess).
# --------------------------------------------------------------------------
def worker(args) -> None:
    import keras
    import numpy as np
    import tensorflow as tf
    from divafn_tf import train
    from divafn_tf.model import Divafn

    started = time.perf_counter()
    config = demo_config(args, args.worker, bool(args.frozen_cache))
    pool, class_vectors = train.load_dataset(config)
    experiment = train.split(pool, class_vectors, config.train_ratio,
                             config.seed)
    record = {"make_inputs_s": None, "fill_banks_s": [], "epochs": []}

    make_inputs = train.make_inputs

    def timed_make_inputs(*a, **k):
        start = time.perf_counter()
        out = make_inputs(*a, **k)
        record["make_inputs_s"] = time.perf_counter() - start
        return out

    train.make_inputs = timed_make_inputs

    fill_banks = Divafn.fill_banks

    def timed_fill_banks(self, *a, **k):
        start = time.perf_counter()
        out = fill_banks(self, *a, **k)
        record["fill_banks_s"].append(time.perf_counter() - start)
        return out

    Divafn.fill_banks = timed_fill_banks

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            record["epochs"].append(time.perf_counter() - self._start)
            j = (logs or {}).get("J")
            record.setdefault("J", []).append(
                None if j is None else float(np.asarray(j).reshape(-1)[0]))

    fit = Divafn.fit

    def fit_with_timer(self, *a, callbacks=None, **k):
        return fit(self, *a, callbacks=list(callbacks or []) + [EpochTimer()],
                   **k)

    Divafn.fit = fit_with_timer

    fit_start = time.perf_counter()
    model, _ = train.fit(config, experiment, tf.distribute.get_strategy(),
                         None)
    record["fit_s"] = time.perf_counter() - fit_start
    record["stems"] = sorted(model.stems)
    record["num_train"] = len(experiment.train_set)
    record["num_test"] = len(experiment.test_set)
    fc8 = next(l for l in model.image_net._flatten_layers()
               if l.name.endswith("_fc8"))
    np.save(args.out + ".fc8.npy", np.asarray(fc8.kernel.numpy()))
    record["trainable_params"] = int(sum(
        np.prod(v.shape) for v in model.trainable_variables))
    record["worker_s"] = time.perf_counter() - started
    with open(args.out, "w") as f:
        json.dump(record, f)


def run_worker(args, layers: str, frozen_cache: bool, out: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", layers,
           "--frozen_cache", str(int(frozen_cache)), "--epochs",
           str(args.epochs), "--seed", str(args.seed), "--dataset",
           args.dataset, "--out", out, "--no_append"]
    if args.data_dir:
        cmd += ["--data_dir", args.data_dir]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"worker {layers} frozen_cache={frozen_cache} "
                           f"failed ({proc.returncode})")
    with open(out) as f:
        record = json.load(f)
    record["process_s"] = time.perf_counter() - start
    return record


# --------------------------------------------------------------------------
# Table.
# --------------------------------------------------------------------------
def summarise(cached: dict, uncached: dict) -> tuple[list[dict], dict]:
    rows, steady = [], {}
    for name, rec in (("frozen_cache", cached), ("no cache", uncached)):
        epochs = rec["epochs"]
        steady[name] = (statistics.median(epochs[1:]) if len(epochs) > 1
                        else float("nan"))
        rec["one_off_s"] = (rec["make_inputs_s"] + rec["fill_banks_s"][0]
                            + epochs[0])
    saving = steady["no cache"] - steady["frozen_cache"]
    extra = cached["one_off_s"] - uncached["one_off_s"]
    if saving <= 0:
        break_even = "never"
    elif extra <= 0:
        break_even = "0 (at once)"
    else:
        break_even = str(math.ceil(extra / saving))
    speedup = steady["no cache"] / steady["frozen_cache"]
    for name, rec in (("frozen_cache", cached), ("no cache", uncached)):
        epochs = rec["epochs"]
        rows.append({
            "run": name,
            "stems cut": ",".join(rec["stems"]) or "none",
            "one-off: make_inputs s": rec["make_inputs_s"],
            "first fill_banks s": rec["fill_banks_s"][0],
            "epoch 1 s": epochs[0],
            "s / epoch (median 2..E)": steady[name],
            "epochs 2..E s": ", ".join(f"{e:.2f}" for e in epochs[1:]),
            "fit s": rec["fit_s"],
            "speed-up / epoch": speedup if name == "frozen_cache" else 1.0,
            "break-even epochs": break_even if name == "frozen_cache" else "",
        })
    return rows, {"speedup": speedup, "break_even": break_even,
                  "saving": saving, "extra": extra}


def main():
    args = parse_args()
    if args.worker is not None:
        worker(args)
        return
    t0 = time.perf_counter()
    meter = CpuMeter()
    load_before = loadavg()
    settings = [s for s in args.settings.split(",") if s]
    rows, checks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        import numpy as np
        for layers in settings:
            recs = {}
            for frozen_cache in (True, False):
                out = os.path.join(tmp, f"{layers.replace(':', '_')}_"
                                        f"{int(frozen_cache)}.json")
                print(f"{layers}, frozen_cache={frozen_cache}: running "
                      f"{args.epochs} epochs (load {loadavg()})", flush=True)
                recs[frozen_cache] = run_worker(args, layers, frozen_cache, out)
                rec = recs[frozen_cache]
                print(f"  make_inputs {rec['make_inputs_s']:.1f} s, first "
                      f"fill_banks {rec['fill_banks_s'][0]:.1f} s, epochs "
                      + ", ".join(f"{e:.2f}" for e in rec["epochs"])
                      + f" s; process {rec['process_s']:.0f} s", flush=True)
                recs[frozen_cache]["fc8"] = np.load(out + ".fc8.npy")
            setting_rows, summary = summarise(recs[True], recs[False])
            a, b = recs[True]["fc8"], recs[False]["fc8"]
            rel = float(np.linalg.norm(a - b) / np.linalg.norm(b))
            checks.append(f"`{layers}`: fc8 kernels after {args.epochs} "
                          f"epochs, relative difference {rel:.2e} "
                          f"({'within' if rel <= TOLERANCE else 'OVER'} "
                          f"{TOLERANCE:g}); J last epoch "
                          f"{recs[True]['J'][-1]:.6g} vs "
                          f"{recs[False]['J'][-1]:.6g}")
            for row in setting_rows:
                rows.append({"train_image_layers": layers, **row})
            rows[-2]["fc8 rel. diff"] = rel
            print(f"  {layers}: speed-up {summary['speedup']:.2f}x per epoch, "
                  f"break-even after {summary['break_even']} epochs; "
                  + checks[-1], flush=True)
    total = time.perf_counter() - t0
    others, steal = meter.others()
    print()
    print(markdown_table(rows))
    for c in checks:
        print(c)
    machine = (f"Total run time {total:.0f} s; load average before "
               f"({load_before}), after ({loadavg()}); other processes' CPU "
               f"{others:.2f} cores, steal {steal:.2f}.")
    print(machine)
    notes = (
        "Demo settings (efficientnet_lite0, 224 px, d 256, video_hidden 1024, "
        f"Adam 1e-4, batch 32, train_ratio 0.3, {args.epochs} epochs, "
        "eval_every 0), `train.fit` in one subprocess per run. 'one-off: "
        "make_inputs' = the stems' pass over the training images/keyframes "
        "and the test keyframes (cached) or building the lazy pixel datasets "
        "(no cache); 's / epoch' = median `on_epoch_begin`→`on_epoch_end` "
        "(after the W update) over epochs 2..E; speed-up = no cache ÷ cache; "
        "break-even = ceil((cached − uncached)(make_inputs + first "
        "fill_banks + epoch 1) ÷ per-epoch saving). Check of identical "
        "training (same seed, same batches): " + "; ".join(checks) + ". "
        + machine)
    if not args.no_append:
        append_results("bench_frozen_cache (frozen layers computed once vs "
                       "every step)", rows, notes=notes,
                       path=args.results_path)


if __name__ == "__main__":
    main()
