"""Scale: memory, train_step time and W solve time as the bank size n grows.

A B→U-sized synthetic setup (BU101→UCF101: 23.8K images, 13,320 videos,
101 classes; the banks hold one row per training triplet, so n is the number
of training videos, up to 13,320), d = 4096, k = 300, video feature 4096
(C3D). Issue 6, deliverable 3.

What is measured
----------------
For n in ``--ns`` (default 1000, 4000, 13320) plus a reference n0 = the
batch size (64), the model is built as the trainer builds it
(``divafn_tf.train.build_model``) with random banks (class centre + noise
per row) and W:

1. **Time per train_step vs n** (one process, all models alive): the
   ``tf.function`` of ``Divafn.train_step`` of every n runs round-robin for
   ``--rounds`` rounds (the order rotates each round), after one warm-up
   call each; medians. SGD runs at learning rate 0 (``--learning_rate``; the
   same update ops, while random networks stepped repeatedly on one random
   batch diverge to Inf/NaN, whose arithmetic would distort timings; every
   call is checked finite). The networks are deliberately small (64×64 input,
   CNN-F width 0.25, fc6/fc7 512, video hidden 1024; d = 4096 and
   k = 300 as in the paper) so that the n-dependent part -- the six [B, n]
   likelihood blocks (forward and backward: 24·B·n·d flops) and the bank
   writes -- is most of the step; the networks' share is the same at every n
   and is removed by subtracting the n0 time. "No worse than linear": the
   log-log slope of (t(n) − t(n0)) over n is ≤ 1.1 (1 = linear, the 0.1 is
   measurement noise), and the per-column cost (t(n) − t(n0)) / (n − n0)
   does not grow with n.
2. **No n×n matrix** (graph): the traced train_step's concrete function
   graph (forward, gradient, optimizer, bank writes) is walked; every op
   output's static shape is checked for two dimensions equal to n, and --
   where n is larger than every other dimension in the graph, as at n =
   13320 -- for two dimensions ≥ n. Unknown dimensions are counted (they
   would hide a shape) and nested function graphs are walked too. The
   largest tensor in the graph is reported against the bank's n·d.
3. **Memory and W solve** (a fresh subprocess per n, so peak RSS is that
   n's alone): bank memory 3 × n × d × 4 bytes (from the variables); peak
   RSS while building and filling the banks (numpy temporaries included, as
   ``Divafn.fill_banks`` has them too) and RSS after building; peak
   RSS (VmHWM, reset after the build) over a few train_steps;
   then, with the peak reset (``/proc/self/clear_refs``), the W update of
   one epoch as training runs it -- ``callbacks.AutoencoderWeightsUpdate
   .solve()``: four ``sylvester.solve_autoencoder_w`` min_norm solves, W_F,
   W_H, W_G at dim d and W_E at 2d -- its wall time, the per-solve times
   (``SylvesterSolution.seconds``), the largest relative residual and the
   peak RSS during the solves. For n ≤ ``--single_thread_max_n`` (default
   4000) the same four solves are timed again on one BLAS thread
   (``threadpoolctl``), against the solver's own thread rule
   (``sylvester.blas_threads_for``: one thread below 2e9 flops, else all).
   Peak RSS growth with n is compared with the
   banks' 3·d·4 bytes per column: an n×n float32 matrix would add 4·n
   bytes per column (≈ 710 MB at n = 13320).

The load average is printed before and after; the machine may be shared.

Usage::

    python benchmarks/bench_scale.py                  # ≈ 3 min on 2 cores
    python benchmarks/bench_scale.py --ns 1000,4000 --rounds 4 --no_append
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)
from measure import (CpuMeter, benchmark_parser, loadavg,  # noqa: E402
                     proc_status_kib, require_finite, reset_peak_rss,
                     time_calls)
from model_fixture import (add_model_size_arguments,  # noqa: E402
                           build_model_and_batch)
from results import append_results  # noqa: E402

SLOPE_TARGET = 1.1
MIB = 1024 ** 2


def parse_args(argv=None):
    parser = benchmark_parser(__doc__)
    parser.add_argument("--ns", default="1000,4000,13320",
                        help="comma-separated bank sizes n")
    add_model_size_arguments(parser, video_hidden=1024, cnn_width=0.25,
                             fc_units=512)
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--train_steps", type=int, default=3,
                        help="train_steps run in each memory subprocess")
    parser.add_argument("--single_thread_max_n", type=int, default=4000,
                        help="also time the W solve on 1 BLAS thread for "
                        "n up to this (0: never)")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction,
                        default=True, help="run the memory / W solve part")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child_out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.ns = [int(v) for v in args.ns.split(",") if v]
    return args


# --------------------------------------------------------------------------
def build(args, n: int):
    """Model (as the trainer builds it) with filled banks and W, and a batch."""
    import numpy as np

    rng = np.random.default_rng([args.seed, n])
    model, _, class_vectors, train_labels, batch = build_model_and_batch(
        args, args.image_size, n, rng)
    centres = rng.standard_normal((args.classes, args.d), dtype=np.float32)
    for bank in (model.bank_f, model.bank_h, model.bank_g):
        rows = 0.5 * rng.standard_normal((n, args.d), dtype=np.float32)
        rows += centres[train_labels]
        bank.assign(0.05 * rows)
        del rows
    for w in (model.w_f, model.w_h, model.w_g, model.w_e):
        w.assign(0.01 * rng.standard_normal(w.shape, dtype=np.float32))
    return model, class_vectors, train_labels, batch


def _graphs(graph, seen=None):
    """The graph and every function graph nested in it (calls, loops, conds)."""
    seen = set() if seen is None else seen
    if id(graph) in seen:
        return
    seen.add(id(graph))
    yield graph
    for fn in getattr(graph, "_functions", {}).values():
        sub = getattr(fn, "graph", None)
        if sub is not None:
            yield from _graphs(sub, seen)


def inspect_graph(concrete, n: int) -> dict:
    """Shapes of every op output of a traced train_step (module docstring)."""
    tensors, unknown, nn_equal, big = 0, [], [], None
    shapes = []
    nested = calls = 0
    call_types = {"PartitionedCall", "StatefulPartitionedCall", "While",
                  "StatelessWhile", "If", "StatelessIf", "Case"}
    for i, graph in enumerate(_graphs(concrete.graph)):
        nested += i > 0
        for op in graph.get_operations():
            calls += op.type in call_types
            for out in op.outputs:
                tensors += 1
                shape = out.shape
                if shape.rank is None:
                    unknown.append(f"{op.type}:{op.name}")
                    continue
                dims = shape.as_list()
                if any(d is None for d in dims):
                    unknown.append(f"{op.type}:{op.name}{dims}")
                    continue
                shapes.append((dims, op))
                if sum(d == n for d in dims) >= 2:
                    nn_equal.append(f"{op.type}:{op.name}{dims}")
                size = math.prod(dims) if dims else 1
                if big is None or size > big[0]:
                    big = (size, dims, op.type, op.name)
    # Dimensions other than n: if n exceeds all of them, "two dims ≥ n" is
    # a complete test for an n×n (or larger) matrix.
    other = max((d for dims, _ in shapes for d in dims if d != n), default=0)
    ge_check = n > other
    nn_ge = [f"{op.type}:{op.name}{dims}" for dims, op in shapes
             if sum(d >= n for d in dims) >= 2] if ge_check else []
    return {"tensors": tensors, "nested_graphs": nested, "call_ops": calls,
            "unknown": unknown, "nn_equal": nn_equal,
            "ge_check": ge_check, "nn_ge": nn_ge, "max_other_dim": other,
            "largest": big}


def time_vs_n(args) -> tuple[list[dict], dict]:
    import tensorflow as tf

    n0 = args.batch_size
    ns = [n0] + [n for n in args.ns if n != n0]
    runs = {}
    for n in ns:
        model, _, _, batch = build(args, n)
        fn = tf.function(model.train_step)
        concrete = fn.get_concrete_function(batch)
        check = inspect_graph(concrete, n) if n != n0 else None
        require_finite(fn(batch)["J"])          # trace + first call
        require_finite(fn(batch)["J"])          # warm-up
        runs[n] = {"model": model, "fn": fn, "batch": batch, "check": check,
                   "times": []}
        if check:
            size, dims, op_type, name = check["largest"]
            print(f"  n = {n}: graph of {check['tensors']} tensors "
                  f"({check['call_ops']} function-call/control-flow ops, "
                  f"{check['nested_graphs']} nested graphs walked), n×n (two dims "
                  f"= n): {len(check['nn_equal'])}, two dims ≥ n: "
                  + (str(len(check["nn_ge"])) if check["ge_check"] else
                     f"not decisive (other dims up to {check['max_other_dim']})")
                  + f", unknown shapes: {len(check['unknown'])}, largest "
                  f"{op_type} {dims}", flush=True)
    for r in range(args.rounds):
        order = ns[r % len(ns):] + ns[:r % len(ns)]
        for n in order:
            run = runs[n]
            start = time.perf_counter()
            require_finite(run["fn"](run["batch"])["J"])
            run["times"].append(time.perf_counter() - start)
        print(f"    round {r + 1}: " + ", ".join(
            f"n={n} {runs[n]['times'][-1]:.3f} s" for n in ns), flush=True)
    t0 = statistics.median(runs[n0]["times"])
    rows = []
    for n in ns:
        t = statistics.median(runs[n]["times"])
        row = {"n": n, "step s (median)": t,
               "step min-max s": f"{min(runs[n]['times']):.3f}-"
                                 f"{max(runs[n]['times']):.3f}"}
        if n != n0:
            row["bank part s (t − t(n0))"] = t - t0
            row["bank part ms per 1K columns"] = 1e3 * (t - t0) / (n - n0) * 1000
            check = runs[n]["check"]
            row["n×n tensors in graph"] = (
                len(check["nn_equal"]) + len(check["nn_ge"]))
            row["two-dims-≥-n test"] = ("decisive" if check["ge_check"]
                                        else "dims = n only")
            row["unknown-shape tensors"] = len(check["unknown"])
            size, dims, op_type, _ = check["largest"]
            row["largest graph tensor"] = f"{op_type} {dims}"
            row["largest / (n·d)"] = size / (n * args.d)
        rows.append(row)
    fit = [(n, statistics.median(runs[n]["times"]) - t0) for n in ns if n != n0]
    slope = None
    if len(fit) >= 2 and all(t > 0 for _, t in fit):
        xs = [math.log(n) for n, _ in fit]
        ys = [math.log(t) for _, t in fit]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = (sum((x - mx) * (y - my) for x, y in zip(xs, ys))
                 / sum((x - mx) ** 2 for x in xs))
    details = {n: runs[n]["check"] for n in ns if n != n0}
    for n in ns:
        del runs[n]["model"], runs[n]["fn"]
    return rows, {"slope": slope, "t0": t0, "checks": details}


# --------------------------------------------------------------------------
@contextlib.contextmanager
def recorded_solve_seconds():
    """A list that collects `SylvesterSolution.seconds` of every
    ``sylvester.solve_autoencoder_w`` call made inside the block."""
    from divafn_tf import sylvester

    original = sylvester.solve_autoencoder_w
    seconds = []

    def recording(*args, **kwargs):
        solution = original(*args, **kwargs)
        seconds.append(solution.seconds)
        return solution

    sylvester.solve_autoencoder_w = recording
    try:
        yield seconds
    finally:
        sylvester.solve_autoencoder_w = original


def child(args) -> None:
    """One n: memory during build / training / W solve, W solve times."""
    import numpy as np
    import tensorflow as tf
    import threadpoolctl
    from divafn_tf import callbacks, sylvester

    n = args.child
    rss_start = proc_status_kib("VmRSS")
    model, class_vectors, train_labels, batch = build(args, n)
    bank_bytes = sum(int(np.prod(b.shape)) * 4 for b in
                     (model.bank_f, model.bank_h, model.bank_g))
    w_bytes = sum(int(np.prod(w.shape)) * 4 for w in
                  (model.w_f, model.w_h, model.w_g, model.w_e))
    rss_built = proc_status_kib("VmRSS")
    peak_build = proc_status_kib("VmHWM")
    reset_peak_rss()            # peak of the train_steps alone from here
    fn = tf.function(model.train_step)
    times = time_calls(lambda: require_finite(fn(batch)["J"]),
                       args.train_steps)
    peak_train = proc_status_kib("VmHWM")
    rss_trained = proc_status_kib("VmRSS")

    update = callbacks.AutoencoderWeightsUpdate(
        class_vectors, train_labels, model.objective_weights.beta,
        model.objective_weights.lam, "min_norm")
    update.set_model(model)
    reset = reset_peak_rss()
    rss_before_solve = proc_status_kib("VmRSS")
    with recorded_solve_seconds() as solves:
        start = time.perf_counter()
        result = update.solve()
        wall = time.perf_counter() - start
    peak_solve = proc_status_kib("VmHWM")
    # The same solves on one BLAS thread (the solver's own limit of None
    # leaves this outer limit in place): evidence for the thread rule.
    single, single_solves = None, []
    if n <= args.single_thread_max_n:
        with recorded_solve_seconds() as single_solves, \
                threadpoolctl.threadpool_limits(1):
            start = time.perf_counter()
            update.solve()
            single = time.perf_counter() - start
    out = {
        "n": n, "bank_bytes": bank_bytes, "w_bytes": w_bytes,
        "rss_start_kib": rss_start, "rss_built_kib": rss_built,
        "rss_trained_kib": rss_trained, "peak_train_kib": peak_train,
        "peak_build_kib": peak_build,
        "rss_before_solve_kib": rss_before_solve,
        "peak_solve_kib": peak_solve, "peak_reset": reset,
        "step_times": times, "solve_wall_s": wall,
        "solve_reported_s": result["w_solve_seconds"],
        "residual_max": result["w_residual_max"], "solves": solves,
        "single_thread_s": single, "single_solves": single_solves,
        "blas_threads": [sylvester.blas_threads_for(dim, n) for dim in
                         (args.d, args.d, args.d, 2 * args.d)],
    }
    with open(args.child_out, "w") as f:
        json.dump(out, f)


def memory_and_solve(args) -> list[dict]:
    import tempfile
    results = []
    for n in args.ns:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out = tmp.name
        cmd = [sys.executable, os.path.abspath(__file__), "--child", str(n),
               "--child_out", out] + [
            f"--{name}={getattr(args, name)}" for name in (
                "batch_size", "d", "k", "classes", "video_dim", "video_hidden",
                "image_size", "cnn_width", "fc_units", "train_steps", "seed",
                "learning_rate", "single_thread_max_n")]
        print(f"  n = {n}: subprocess", flush=True)
        start = time.perf_counter()
        meter = CpuMeter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        others = meter.others()[0]
        if proc.returncode:
            sys.stderr.write(proc.stderr[-4000:])
            raise RuntimeError(f"memory subprocess for n = {n} failed")
        with open(out) as f:
            res = json.load(f)
        os.unlink(out)
        res["subprocess_s"] = time.perf_counter() - start
        res["others_cores"] = others
        solves = ", ".join(f"{v:.1f}" for v in res["solves"])
        if res["single_thread_s"] is not None:
            solves += (f"; one BLAS thread {res['single_thread_s']:.1f} s: "
                       + ", ".join(f"{v:.1f}" for v in res["single_solves"]))
        print(f"    banks {res['bank_bytes'] / MIB:.0f} MiB, RSS built "
              f"{res['rss_built_kib'] / 1024:.0f} MiB, peak train_steps "
              f"{res['peak_train_kib'] / 1024:.0f} MiB, peak W solve "
              f"{res['peak_solve_kib'] / 1024:.0f} MiB; W solve "
              f"{res['solve_wall_s']:.1f} s (F, H, G, E: {solves}), residual ≤ "
              f"{res['residual_max']:.1e}; other processes used "
              f"{others:.2f} cores", flush=True)
        results.append(res)
    return results


# --------------------------------------------------------------------------
def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        child(args)
        return
    load_before = loadavg()
    run_meter = CpuMeter()
    print(f"load average before: {load_before} ({os.cpu_count()} cores)")
    print("Time per train_step vs n (all models in one process, round-robin)")
    meter = CpuMeter()
    step_rows, fit = time_vs_n(args)
    step_others, step_steal = meter.others()
    print(f"  other processes used {step_others:.2f} cores (steal "
          f"{step_steal:.2f}) during the step timing", flush=True)
    import keras
    keras.backend.clear_session()

    mem = memory_and_solve(args) if args.memory else []
    load_after = loadavg()
    run_others, run_steal = run_meter.others()
    print(f"load average after: {load_after}; other processes used "
          f"{run_others:.2f} cores on average during the run (steal "
          f"{run_steal:.2f})")

    slope = fit["slope"]
    per_col = [r["bank part ms per 1K columns"] for r in step_rows
               if "bank part ms per 1K columns" in r]
    slope_met = slope is not None and slope <= SLOPE_TARGET
    no_nn_graph = all(r.get("n×n tensors in graph", 0) == 0 for r in step_rows)
    decisive = any(r.get("two-dims-≥-n test") == "decisive" for r in step_rows)
    no_unknown = all(r.get("unknown-shape tensors", 0) == 0 for r in step_rows)

    mem_rows = []
    for res in mem:
        n = res["n"]
        row = {
            "n": n, "steps/epoch": math.ceil(n / args.batch_size),
            "bank memory MiB (3·n·d·4 B)": res["bank_bytes"] / MIB,
            "W memory MiB": res["w_bytes"] / MIB,
            "peak RSS build MiB": res["peak_build_kib"] / 1024,
            "RSS after build MiB": res["rss_built_kib"] / 1024,
            "peak RSS train_steps MiB": res["peak_train_kib"] / 1024,
            "peak RSS W solve MiB": res["peak_solve_kib"] / 1024,
            "BLAS threads (solver rule)": "/".join(
                "all" if t is None else str(t) for t in res["blas_threads"]),
            "W_F/H/G Gram": "XᵀX (n×n)" if n < args.d else "X Xᵀ (d×d)",
            "W solve / epoch s": res["solve_wall_s"],
            "W_F, W_H, W_G s": " / ".join(f"{v:.1f}" for v in res["solves"][:3]),
            "W_E (2d) s": res["solves"][3] if len(res["solves"]) > 3 else None,
            "same on 1 BLAS thread s": res["single_thread_s"],
            "1 thread: W_F, W_H, W_G / W_E s": (
                " / ".join(f"{v:.1f}" for v in res["single_solves"])
                if res["single_solves"] else "not run"),
            "residual max": res["residual_max"],
            "other procs' CPU (cores)": res["others_cores"],
        }
        mem_rows.append(row)
    mem_note = ""
    if len(mem) >= 2:
        first, last = mem[0], mem[-1]
        dn = last["n"] - first["n"]
        train_per_col = (last["peak_train_kib"] - first["peak_train_kib"]) * 1024 / dn
        solve_per_col = (last["peak_solve_kib"] - first["peak_solve_kib"]) * 1024 / dn
        bank_per_col = 3 * args.d * 4
        nn_at_last = 4 * last["n"] ** 2 / MIB
        mem_note = (
            f"Peak RSS growth from n = {first['n']} to {last['n']}: training "
            f"{train_per_col / 1024:.0f} KiB per column, W solve "
            f"{solve_per_col / 1024:.0f} KiB per column, against the banks' "
            f"{bank_per_col / 1024:.0f} KiB per column (3·d·4 B; the step's "
            f"bank write makes a new copy of each bank, the W solve float64 "
            f"copies of the banks). An n×n float32 matrix would "
            f"add {nn_at_last:.0f} MiB at n = {last['n']} "
            f"({4 * last['n'] / 1024:.0f} KiB per column at that n, growing "
            f"with n). Note: when n < dim the min-norm W solve forms the "
            f"Gram matrix XᵀX (n×n, float64); it is min(n, dim)² ≤ n·dim, so "
            f"never larger than X itself, and at n ≥ dim there is none (the "
            f"dim×dim Gram matrix X Xᵀ is used instead).")
    notes = [
        f"Setup: d = {args.d}, k = {args.k}, {args.classes} classes, batch "
        f"{args.batch_size}, video feature {args.video_dim} → hidden "
        f"{args.video_hidden} → d; small image networks for the step-vs-n "
        f"timing ({args.image_size}×{args.image_size}, CNN-F width "
        f"{args.cnn_width}, fc6/fc7 {args.fc_units}) so the n-dependent bank "
        f"terms dominate; n0 = {args.batch_size} is the reference whose time "
        f"(networks + fixed costs) is subtracted. {args.rounds} round-robin "
        f"rounds, medians. Load average before: {load_before}; after: "
        f"{load_after}; other processes' CPU: {step_others:.2f} cores during "
        f"the step timing, {run_others:.2f} on average over the whole run "
        f"(steal {run_steal:.2f})"
        + (" -- the machine was shared, timings are inflated/noisy."
           if max(step_others, run_others) >= 0.5 else "."),
        "",
        f"Step grows no worse than linearly in n (log-log slope of t(n) − "
        f"t(n0) ≤ {SLOPE_TARGET}): "
        + (f"slope {slope:.2f}, " if slope is not None else "slope n/a, ")
        + ("met" if slope_met else "NOT met")
        + "; per-1K-column cost " + ", ".join(f"{c:.1f}" for c in per_col)
        + " ms at n = " + ", ".join(str(n) for n in args.ns) + ".",
        "No n×n matrix in the traced train_step graph (forward, gradient, "
        "SGD, bank writes): " + ("met" if no_nn_graph else "NOT met")
        + (" (two-dims-≥-n test decisive at the largest n)" if decisive else "")
        + ("" if no_unknown else "; some tensors have unknown shapes")
        + "; largest tensor in each graph is a bank-sized [n, d] (ratio to "
        "n·d in the table).",
    ]
    if mem_note:
        notes += ["", mem_note]
    text = "\n".join(notes)
    print()
    print(text)
    if not args.no_append:
        append_results("bench_scale (train_step vs n, graph check)", step_rows,
                       text, path=args.results_path)
        if mem_rows:
            append_results("bench_scale (memory and W solve per epoch)",
                           mem_rows, "See the section above for the setup "
                           "and load. W solve = callbacks."
                           "AutoencoderWeightsUpdate.solve(): 4 min_norm "
                           "solves (W_F, W_H, W_G at dim d, W_E at 2d), as "
                           "run once per epoch.", path=args.results_path)


if __name__ == "__main__":
    main()
