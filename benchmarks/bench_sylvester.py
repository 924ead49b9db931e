"""W solve: the project's min-norm solver against scipy's Bartels-Stewart.

What is measured
----------------
The closed-form autoencoder update of eq. (21), A W + W B = C with
A = β S Sᵀ (k×k), B = λ X Xᵀ (dim×dim), C = (β+λ) S Xᵀ, β = 0.1, λ = 0.01,
k = 300, solved by `divafn_tf.sylvester.solve_autoencoder_w` with

* ``method="min_norm"`` (the project's default: restriction to range(A),
  whose rank is ≤ #classes, and the Hessenberg-Schur method -- one
  tridiagonalisation of the Gram matrix of X's smaller side, no
  eigenvectors of it; see the `divafn_tf.sylvester` docstring), and
* ``method="bartels_stewart"`` (the paper's solver: B and C are formed and
  handed to `scipy.linalg.solve_sylvester`, i.e. two real Schur
  decompositions and LAPACK ``trsyl``).

Default sizes (dim, n, classes): (1024, 500, 10), (4096, 500, 10),
(4096, 13000, 101), (8192, 13000, 101) -- the last one is W_E at B→U size
(E = [H; G], 4096 + 4096).

Problem data (fixed seed, identical for both solvers): S holds one unit-norm
k-dim class vector per class (Gaussian, normalised), repeated for every sample
(balanced classes, label = i mod classes). X imitates CNN fc features: a
256-d latent per sample (class centre + Gaussian noise) through a fixed random
linear map to dim, plus small independent noise, shifted and ReLU'd (≈ 60 %
zeros, non-negative, fast-decaying spectrum; full rank min(dim, n)). X is
held as the transpose of a row-major [n, dim] bank, as in training.

For every size and solver a *fresh subprocess* builds the data and solves it
``--repeats`` (``--bs_repeats`` for scipy) times, and more (up to 30) until
the solves total ``--min_seconds`` (10 s): fast solves are repeated many
times on this noisy shared machine, slow ones run once; the median is
reported. Both solvers get the same number of BLAS threads: the rule that
`solve_autoencoder_w` applies itself, `divafn_tf.sylvester.blas_threads_for`
(one thread below 2e9 flops, i.e. the two n = 500 sizes; all cores above),
which is what a training run uses; ``--blas_threads N`` caps the larger
sizes at N threads.
Per solve:

* time: `SylvesterSolution.seconds` -- forming A (and B, C for scipy),
  decompositions and solve; the residual check that every method runs
  afterwards is excluded;
* relative residual ‖AW + WB − C‖_F / ‖C‖_F (as computed by the library,
  without forming B);
* ‖W‖_F, its ratio to the min-norm solution's, and ‖W_bs − W_mn‖/‖W_mn‖ with
  the cosine between W_mn and W_bs − W_mn (≈ 0 confirms that W_mn is the
  minimum-norm member of the solution set: any other exact solution differs
  from it by a null-space component orthogonal to it);
* peak memory: the process's peak RSS is reset just before the solve
  (``/proc/self/clear_refs`` = 5) and read after it (``VmHWM``); the table
  gives the peak RSS *above* the RSS before the solve (the data S, X already
  resident are excluded) and the absolute peak. Where clear_refs is not
  available, ``ru_maxrss`` of the subprocess is used (absolute only).
  ``--tracemalloc`` additionally reports tracemalloc's peak of Python/numpy
  allocations (LAPACK/OpenBLAS internal buffers are not seen by it).

scipy on dim = 8192 is a dense 8192² Schur decomposition. Before running it
the script extrapolates its time from the largest dim already measured with
the same n (×(8192/dim)³, Schur being cubic); if that exceeds
``--scipy_limit_minutes`` (default 20) the case is skipped and the
extrapolation is reported as such (marked "extrapolated").

Targets (issue 6): ≥ 50× faster where n < dim, ≥ 5× where n ≥ dim, relative
residual ≤ 1e-8, ‖W‖ no larger than the min-norm solution's.

Usage::

    python benchmarks/bench_sylvester.py                     # all sizes
    python benchmarks/bench_sylvester.py --sizes 1024,500,10 4096,500,10
    python benchmarks/bench_sylvester.py --repeats 5 --no_append

The default run took 7.5 minutes on a 2-core AMD EPYC, most of it in the
dim-8192 case (scipy alone 4.5 minutes); pass e.g.
``--scipy_limit_minutes 2`` to report it extrapolated from the dim-4096
measurement instead of running it, or ``--sizes`` without it.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from measure import (benchmark_parser, loadavg,  # noqa: E402
                     proc_status_kib, reset_peak_rss)
from model_fixture import unit_class_vectors  # noqa: E402
from results import append_results, markdown_table  # noqa: E402

sys.path.insert(0, REPO)
from divafn_tf import sylvester  # noqa: E402

BETA, LAM, K = 0.1, 0.01, 300
DEFAULT_SIZES = ((1024, 500, 10), (4096, 500, 10), (4096, 13000, 101),
                 (8192, 13000, 101))
METHODS = ("min_norm", "bartels_stewart")
LABELS = {"min_norm": "min_norm (library default)",
          "bartels_stewart": "scipy solve_sylvester"}
RESIDUAL_TARGET = 1e-8
MAX_REPEATS = 30


# --------------------------------------------------------------------------
# Problem data.
# --------------------------------------------------------------------------
def make_problem(dim: int, n: int, classes: int, k: int = K, seed: int = 0,
                 latent: int = 256):
    """S (k×n) and X (dim×n, the F-ordered transpose of an [n, dim] bank)."""
    rng = np.random.default_rng([seed, dim, n, classes])
    labels = np.arange(n) % classes
    class_vectors = unit_class_vectors(rng, classes, k)
    s = np.ascontiguousarray(class_vectors[labels].T)            # k × n
    centres = rng.standard_normal((classes, latent))
    z = centres[labels] + 0.7 * rng.standard_normal((n, latent))
    mixing = rng.standard_normal((latent, dim)) / np.sqrt(latent)
    bank = z @ mixing                                            # n × dim
    bank += 0.3 * rng.standard_normal((n, dim))
    bank -= 0.3
    np.maximum(bank, 0.0, out=bank)                              # ReLU
    return s, bank.T                                             # X: dim × n


# --------------------------------------------------------------------------
# Worker: one solver, one size, in a fresh process.
# --------------------------------------------------------------------------
def worker(args) -> None:
    sys.path.insert(0, REPO)
    s, x = make_problem(args.dim, args.n, args.classes, K, args.seed)
    zeros_fraction = float((x == 0).mean())
    times, result = [], {}
    rep = 0
    while rep < args.repeats or (sum(times) < args.min_seconds
                                 and rep < MAX_REPEATS):
        rss_before = proc_status_kib("VmRSS")
        can_reset = reset_peak_rss()
        if args.tracemalloc and rep == 0:
            import tracemalloc
            tracemalloc.start()
        sol = sylvester.solve_autoencoder_w(s, x, BETA, LAM,
                                            method=args.method)
        times.append(sol.seconds)
        if rep == 0:
            result = {
                "residual": sol.relative_residual,
                "w_norm": float(np.linalg.norm(sol.w)),
                "w_finite": bool(np.isfinite(sol.w).all()),
                "rss_before_mib": (rss_before or 0) / 1024,
                "peak_rss_mib": ((proc_status_kib("VmHWM") or 0) / 1024
                                 if can_reset else None),
                "ru_maxrss_mib": resource.getrusage(
                    resource.RUSAGE_SELF).ru_maxrss / 1024,
                "x_zeros_fraction": zeros_fraction,
            }
            if args.tracemalloc:
                import tracemalloc
                result["tracemalloc_peak_mib"] = (
                    tracemalloc.get_traced_memory()[1] / 2**20)
                tracemalloc.stop()
            if args.save_w:
                np.save(args.save_w, sol.w)
        del sol
        rep += 1
    result["seconds"] = times
    print("RESULT " + json.dumps(result), flush=True)


def run_worker(dim, n, classes, method, repeats, seed, save_w, tracemalloc,
               blas_threads=None, min_seconds=0.0):
    env = dict(os.environ)
    if blas_threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS"):
            env[var] = str(blas_threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker",
           "--dim", str(dim), "--n", str(n), "--classes", str(classes),
           "--method", method, "--repeats", str(repeats),
           "--seed", str(seed), "--save_w", save_w,
           "--min_seconds", str(min_seconds)]
    if tracemalloc:
        cmd.append("--tracemalloc")
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                          env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"worker {method} {dim},{n},{classes} failed:\n"
                           f"{proc.stderr[-3000:]}")
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
    out = json.loads(line[len("RESULT "):])
    out["process_wall_s"] = wall
    return out


# --------------------------------------------------------------------------
# Driver.
# --------------------------------------------------------------------------
def parse_size(text: str):
    parts = [int(p) for p in text.replace("x", ",").split(",")]
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(
            f"size must be dim,n,classes, got {text!r}")
    return tuple(parts)


def _above(r):
    """Peak RSS during the solve minus RSS before it (MiB), if known."""
    if r.get("peak_rss_mib"):
        return r["peak_rss_mib"] - r["rss_before_mib"]
    return float("nan")


def _load(path):
    return np.load(path) if os.path.exists(path) else None


def main(argv=None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sizes", nargs="+", type=parse_size,
                        default=list(DEFAULT_SIZES),
                        help="dim,n,classes triples (default: the 4 sizes "
                             "of issue 6)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="min-norm solves per size (median reported)")
    parser.add_argument("--bs_repeats", type=int, default=1,
                        help="scipy solves per size (slow; median)")
    parser.add_argument("--min_seconds", type=float, default=10.0,
                        help="every solver repeats (beyond --repeats / "
                             "--bs_repeats, up to %d solves) until its solves "
                             "total this many seconds: medians of fast "
                             "solves on a noisy machine" % MAX_REPEATS)
    parser.add_argument("--scipy_limit_minutes", type=float, default=20.0,
                        help="skip scipy where its extrapolated time exceeds "
                             "this (reported as extrapolated)")
    parser.add_argument("--blas_threads", type=int, default=0,
                        help="at most this many BLAS/LAPACK threads for both "
                             "solvers (sets OPENBLAS/OMP/MKL_NUM_THREADS in "
                             "the workers; 0 = all cores); small sizes run "
                             "on one thread by sylvester.blas_threads_for")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report tracemalloc's peak (first solve)")
    # Internal: one solver/size in this process.
    parser.add_argument("--_worker", action="store_true",
                        help=argparse.SUPPRESS)
    parser.add_argument("--dim", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--classes", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--save_w", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._worker:
        worker(args)
        return 0

    load_before = loadavg()
    print(f"load average before: {load_before}", flush=True)
    rows, all_met, notes, threads_used = [], True, [], {}
    measured_bs = {}   # n -> (dim, seconds) of the largest dim measured
    tmp = tempfile.mkdtemp(prefix="bench_sylvester_")
    for dim, n, classes in sorted(args.sizes, key=lambda t: (t[1], t[0])):
        label = f"{dim}, {n}, {classes}"
        print(f"\n== dim={dim} n={n} classes={classes} k={K}", flush=True)
        w_paths = {m: os.path.join(tmp, f"w_{m}_{dim}_{n}_{classes}.npy")
                   for m in METHODS}
        threads_used[label] = (sylvester.blas_threads_for(dim, n)
                               or args.blas_threads or "all")
        mn = run_worker(dim, n, classes, "min_norm", args.repeats, args.seed,
                        w_paths["min_norm"], args.tracemalloc,
                        args.blas_threads, args.min_seconds)
        res = {"min_norm": mn}
        print(f"  min_norm  {statistics.median(mn['seconds']):8.3f} s "
              f"(all {', '.join('%.3f' % t for t in mn['seconds'])}), "
              f"residual {mn['residual']:.2e}, |W| {mn['w_norm']:.6g}, "
              f"peak RSS +{_above(mn):.0f} MiB", flush=True)
        # Estimate scipy's time before running it.
        estimate, skip, d0, t0 = None, False, None, None
        smaller = [(d, t) for (nn, d), t in measured_bs.items()
                   if nn == n and d < dim]
        if smaller:
            d0, t0 = max(smaller)
            estimate = t0 * (dim / d0) ** 3
            print(f"  scipy estimate from dim {d0}: {estimate / 60:.1f} min",
                  flush=True)
            skip = estimate > 60 * args.scipy_limit_minutes
        bs = None
        if skip:
            notes.append(
                f"({label}): scipy NOT run; its time {estimate:.0f} s is "
                f"extrapolated from the measured dim-{d0} time "
                f"{t0:.1f} s × ({dim}/{d0})³ (> --scipy_limit_minutes "
                f"{args.scipy_limit_minutes:g}).")
        else:
            bs = run_worker(dim, n, classes, "bartels_stewart",
                            args.bs_repeats, args.seed,
                            w_paths["bartels_stewart"], args.tracemalloc,
                            args.blas_threads, args.min_seconds)
            res["bartels_stewart"] = bs
            t_bs = statistics.median(bs["seconds"])
            measured_bs[(n, dim)] = t_bs
            print(f"  scipy     {t_bs:8.3f} s, residual {bs['residual']:.2e}, "
                  f"|W| {bs['w_norm']:.6g}, peak RSS +{_above(bs):.0f} MiB",
                  flush=True)
            if estimate is not None:
                notes.append(f"({label}): scipy estimated at {estimate:.0f} s "
                             f"before running (cubic extrapolation from dim "
                             f"{d0}); measured {t_bs:.0f} s.")
        t_bs = statistics.median(bs["seconds"]) if bs else estimate
        need = 50.0 if n < dim else 5.0
        w_mn = _load(w_paths["min_norm"])
        for method in METHODS:
            r = res.get(method)
            row = {"dim, n, classes": label, "solver": LABELS[method]}
            if r is None:
                if method == "bartels_stewart":
                    row["time_s"] = f"{estimate:.0f} (extrapolated, not run)"
                    rows.append(row)
                continue
            t = statistics.median(r["seconds"])
            w = _load(w_paths[method])
            diff = cos = None
            if w is not None and np.isfinite(w).all():
                dw = w - w_mn
                dn = float(np.linalg.norm(dw))
                diff = dn / float(np.linalg.norm(w_mn))
                cos = (float(np.vdot(w_mn, dw) / (np.linalg.norm(w_mn) * dn))
                       if dn > 0 else None)
            speed = ("" if method == "bartels_stewart" else
                     f"{t_bs / t:.1f}×" + (" (extrap.)" if bs is None else ""))
            met = {}
            if method != "bartels_stewart":
                met["speed"] = t_bs / t >= need
                met["residual"] = r["residual"] <= RESIDUAL_TARGET
                met["norm"] = (bs is None or r["w_norm"]
                               <= bs["w_norm"] * (1 + 1e-9)) and (
                    r["w_norm"] <= mn["w_norm"] * (1 + 1e-9))
                all_met &= all(met.values())
            peak = r["peak_rss_mib"]
            row.update({
                "time_s": t,
                "solves": len(r["seconds"]),
                "speed-up vs scipy": speed,
                "speed-up target": "" if method == "bartels_stewart" else (
                    f"≥ {need:g}× (n {'<' if n < dim else '≥'} dim)"),
                "rel. residual": r["residual"],
                "‖W‖_F": r["w_norm"],
                "‖W‖/‖W_mn‖": r["w_norm"] / mn["w_norm"],
                "‖W−W_mn‖/‖W_mn‖": diff,
                "cos(W_mn, W−W_mn)": cos,
                "peak RSS above data (MiB)": _above(r),
                "peak RSS (MiB)": peak if peak else r["ru_maxrss_mib"],
                "targets": ("; ".join(f"{k} {'met' if v else 'NOT met'}"
                                      for k, v in met.items()) or "-"),
            })
            if args.tracemalloc:
                row["tracemalloc peak (MiB)"] = r.get("tracemalloc_peak_mib")
            rows.append(row)
            if method != "bartels_stewart":
                print(f"  {method}: speed-up {t_bs / t:.1f}× (target ≥ "
                      f"{need:g}×), ‖W−W_mn‖/‖W_mn‖ {diff}; "
                      f"{row['targets']}", flush=True)
            else:
                print(f"  scipy: ‖W−W_mn‖/‖W_mn‖ = {diff}, cos = {cos}",
                      flush=True)
        for p in w_paths.values():
            if os.path.exists(p):
                os.remove(p)
    os.rmdir(tmp)
    load_after = loadavg()

    print("\n" + markdown_table(rows))
    notes_text = "\n".join(
        [f"Targets: speed-up ≥ 50× where n < dim, ≥ 5× where n ≥ dim; "
         f"min-norm relative residual ≤ {RESIDUAL_TARGET:g}; ‖W‖ ≤ the "
         f"min-norm solution's (scipy's ‖W‖/‖W_mn‖ ≥ 1). "
         f"**All targets met by the library's default (min_norm): "
         f"{'yes' if all_met else 'NO'}.**",
         "min_norm restricts to range(A) (rank ≤ #classes) and uses the "
         "Hessenberg-Schur method on the Gram matrix of X's smaller side "
         "(dsytrd tridiagonalisation, dormqr, dptsv per row); see "
         "`divafn_tf/sylvester.py`.",
         f"β = {BETA}, λ = {LAM}, k = {K}; repeats: ≥ {args.repeats} "
         f"(min-norm), ≥ {args.bs_repeats} (scipy), more until "
         f"{args.min_seconds:g} s of solves (max {MAX_REPEATS}); times are "
         f"medians (column 'solves'); BLAS threads: "
         f"{', '.join(f'({k}) {v}' for k, v in threads_used.items())}"
         f" (the same for both solvers). Time excludes the "
         f"residual check; each solver and size in a fresh subprocess; peak "
         f"RSS reset (clear_refs) just before the solve, 'above data' = "
         f"peak − RSS before the solve.",
         f"Load average before ({load_before}), after ({load_after}) "
         f"({os.cpu_count()} cores)."] + notes)
    print(notes_text)
    if not args.no_append:
        append_results("bench_sylvester (W solve, eq. 21)", rows, notes_text,
                       path=args.results_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
