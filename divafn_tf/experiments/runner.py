"""The jobs of a run: the plan, results.csv (with resume) and HParams logging.

A job is one row of ``results.csv``: a method (or a sweep's setting of
DIVAFN) on one (ratio, repeat) split. `plan` lists a run's jobs, grouped by
split; `run_jobs` computes those not yet in ``results.csv``, adding each
row as it finishes, so a killed run resumes where it stopped.

A row is identified by its key (method, ratio, repeat and the setting
a, b, c, β, λ, d; `Job.key`). Each finished row rewrites the whole file
(`_write_results`: a temporary file beside it, fsynced, then
``os.replace``), so a kill at any moment leaves the previous table or the
new one, never part of a row; a resumed run skips the keys already there,
and a file holding one key twice is refused (`read_results`). A row's
HParams run is written before its row, under the run's index, and rewritten
if a killed run left it without its row.
"""
from __future__ import annotations

import csv
import dataclasses
import itertools
import os
import shutil
import time
from collections.abc import Iterator, Sequence

import tensorflow as tf
from absl import logging
from tensorboard.plugins.hparams import api as hparams_api

from divafn_tf import errors, train
from divafn_tf.config import RunConfig
# As _methods: `plan` has an argument `methods` (the names of the methods).
from divafn_tf.experiments import methods as _methods
from divafn_tf.experiments.methods import METHODS

SWEEPS = {
    "beta_lambda": [dict(a=1.0, b=1.0, c=1.0, beta=beta, lam=lam)
                    for beta, lam in itertools.product(
                        (0.001, 0.01, 0.1, 1.0, 10.0), repeat=2)],
    "abc": [dict(a=a, b=b, c=c, beta=0.1, lam=0.01)
            for a, b, c in itertools.product((1.0, 0.1), repeat=3)],
    "d": [dict(d=d) for d in (512, 1024, 2048, 4096)],
}
SETTING_FIELDS = ("a", "b", "c", "beta", "lam", "d")
CSV_FIELDS = ("method", "ratio", "repeat", "seed", *SETTING_FIELDS,
              "accuracy", "seconds")


@dataclasses.dataclass(frozen=True)
class Job:
    """One row of results.csv still to compute."""

    method: str
    ratio: float
    repeat: int
    config: RunConfig

    def key(self) -> tuple:
        return (self.method, f"{self.ratio:g}", str(self.repeat),
                *(f"{getattr(self.config, f):g}" for f in SETTING_FIELDS))


def _row_key(row: dict) -> tuple:
    return (row["method"], f"{float(row['ratio']):g}", row["repeat"],
            *(f"{float(row[f]):g}" for f in SETTING_FIELDS))


def plan(config: RunConfig, methods: Sequence[str], ratios: Sequence[float],
         repeats: int, sweep: str) -> list[Job]:
    """The jobs of a run, grouped by split (ratio, repeat)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise errors.UserInputError(
            f"--methods: unknown {unknown}; expected some of {', '.join(METHODS)}")
    settings = ([{}] if sweep == "none" else SWEEPS[sweep])
    names = list(methods) if sweep == "none" else ["divafn"]
    return [Job(method, ratio, repeat,
                dataclasses.replace(config, seed=config.seed + repeat, **setting))
            for ratio in ratios for repeat in range(repeats)
            for setting in settings for method in names]


def read_results(path: str) -> list[dict]:
    """The rows of results.csv ([] if there is none yet).

    Raises:
      errors.UserInputError: other columns than `CSV_FIELDS`, a row of
        more fields, a field that is not a number, or two rows with one key
        (`Job.key`); each names the file and line.
    """
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and set(rows[0]) != set(CSV_FIELDS):
        raise errors.UserInputError(
            f"{path}: columns {sorted(rows[0])} are not this version's "
            f"{list(CSV_FIELDS)}; use another --output_dir")
    first_line: dict[tuple, int] = {}
    for line, row in enumerate(rows, start=2):
        if None in row:
            raise errors.UserInputError(
                f"{path}: line {line}: expected {len(CSV_FIELDS)} fields, got "
                f"{len(CSV_FIELDS) + len(row[None])}; correct or delete the "
                f"row, or use another --output_dir")
        for field in CSV_FIELDS[1:]:
            try:
                float(row[field])
            except (TypeError, ValueError):
                raise errors.UserInputError(
                    f"{path}: line {line}: column {field!r}: expected a "
                    f"number, got {row[field]!r}; correct or delete the row, "
                    f"or use another --output_dir") from None
        key = _row_key(row)
        if key in first_line:
            raise errors.UserInputError(
                f"{path}: line {line}: expected one row per method, ratio, "
                f"repeat and setting, but line {first_line[key]} has the same "
                f"{', '.join(key)}; delete one of the two")
        first_line[key] = line
    return rows


def rows_of(jobs: Sequence[Job], rows: Sequence[dict]) -> list[dict]:
    """The rows of results.csv that are ``jobs``' (a file may hold others)."""
    wanted = {job.key() for job in jobs}
    return [row for row in rows if _row_key(row) in wanted]


def _write_results(path: str, rows: Sequence[dict]) -> None:
    """Replaces results.csv by ``rows``, atomically: written to
    ``results.csv.partial`` beside it, fsynced, renamed over it
    (``os.replace``) and the folder fsynced, so that a kill at any moment
    leaves the old file or the new one whole."""
    partial = f"{path}.partial"
    with open(partial, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
    folder = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _log_hparams(output_dir: str, index: int, job: Job, accuracy: float) -> None:
    """One HParams run: the method, ratio, repeat and setting, and accuracy.

    What a killed run left under the same index (a run without its row)
    is removed first.
    """
    run_dir = os.path.join(output_dir, "hparams", f"run{index:04d}")
    shutil.rmtree(run_dir, ignore_errors=True)
    writer = tf.summary.create_file_writer(run_dir)
    with writer.as_default():
        hparams_api.hparams({
            "method": job.method, "ratio": job.ratio, "repeat": job.repeat,
            **{f: float(getattr(job.config, f)) for f in SETTING_FIELDS}})
        tf.summary.scalar("accuracy", accuracy, step=0)
    writer.close()


def _splits(jobs: list[Job]) -> Iterator[tuple[tuple[float, int], list[Job]]]:
    for key, group in itertools.groupby(jobs, lambda j: (j.ratio, j.repeat)):
        yield key, list(group)


def run_jobs(config: RunConfig, jobs: list[Job], output_dir: str) -> list[dict]:
    """Runs the jobs not yet in results.csv; returns every row of it."""
    os.makedirs(output_dir, exist_ok=True)
    results_path = os.path.join(output_dir, "results.csv")
    rows = read_results(results_path)
    done = {_row_key(row) for row in rows}
    todo = [job for job in jobs if job.key() not in done]
    logging.info("%d of %d results to compute (%d already in %s)", len(todo),
                 len(jobs), len(jobs) - len(todo), results_path)
    pool, class_vectors = train.load_dataset(config)
    index = len(rows)
    for (ratio, repeat), group in _splits(todo):
        experiment = train.split(pool, class_vectors, ratio, group[0].config.seed)
        feats = _methods.SplitFeatures(group[0].config, experiment)
        for job in group:
            started = time.perf_counter()
            accuracy = _methods.evaluate(job.method, job.config, experiment,
                                         feats)
            seconds = time.perf_counter() - started
            _log_hparams(output_dir, index, job, accuracy)
            rows.append({
                "method": job.method, "ratio": ratio, "repeat": repeat,
                "seed": job.config.seed,
                **{f: getattr(job.config, f) for f in SETTING_FIELDS},
                "accuracy": f"{accuracy:.6f}", "seconds": f"{seconds:.1f}"})
            _write_results(results_path, rows)
            index += 1
            print(f"[{index}/{len(jobs)}] {job.method} ratio {ratio:g} repeat "
                  f"{repeat}{_setting_label(job.config, config)}: "
                  f"{accuracy:.4f} ({seconds:.0f} s)", flush=True)
    return read_results(results_path)


def _setting_label(config: RunConfig, base: RunConfig) -> str:
    changed = [f"{f}={getattr(config, f):g}" for f in SETTING_FIELDS
               if getattr(config, f) != getattr(base, f)]
    return f" ({', '.join(changed)})" if changed else ""
