"""The engine of `divafn_tf.features`: resumable, atomic, overlapped.

* **Inputs**: (video id, file) pairs; the video id is the file name without
  its extension, the name the dataset builders look up
  (``features/<set>_<kind>/<video id>.npy``).
* **Resumable**: a video whose ``<video id>.npy`` exists is skipped; every
  file is written to a hidden temporary file in the same folder, flushed to
  disk and renamed over its name (``os.replace``), so a killed run leaves
  whole files or none (the hidden leftovers are removed at the next start).
* **Overlapped**: a thread pool runs the kind's ``prepare`` (decoding,
  resizing, reading descriptor files: OpenCV and numpy release the GIL)
  ahead of the main thread, which sends ``batch_videos`` prepared videos
  through the kind's ``compute`` (the network) at once.
* **Failures**: a video whose ``prepare`` raises a `UserInputError`
  (missing, unreadable, truncated, malformed) is named in the log and in
  the report; the others are still written.
* **Progress**: a tqdm bar (videos/s and ETA) on a terminal, otherwise a
  log line about every 30 s.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import tqdm
from absl import logging

from divafn_tf.errors import UserInputError
from divafn_tf.prep.video_features import RawDataError, load_video_feature

TEMP_PREFIX = "."
TEMP_SUFFIX = ".partial"
LOG_EVERY_SECONDS = 30.0


class FeatureKind(Protocol):
    """What `extract` needs of a kind (see `kinds`)."""

    name: str
    dim: int

    def prepare(self, source: Path) -> Any:
        """CPU work of one video, thread-safe (decoding, resizing)."""

    def compute(self, prepared: list[Any]) -> np.ndarray:
        """The features [len(prepared), dim] of prepared videos."""


@dataclasses.dataclass
class Report:
    """What a run did. ``failed``: (video id, one-sentence reason)."""
    written: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    prepare_seconds: float = 0.0   # Summed over the threads.
    compute_seconds: float = 0.0


def feature_path(output_dir: Path, video_id: str) -> Path:
    return Path(output_dir) / f"{video_id}.npy"


def inputs_in(folder: Path, extensions: Sequence[str]) -> list[tuple[str, Path]]:
    """(video id, file) of every file under ``folder`` (recursively) whose
    name ends with one of ``extensions`` (case-insensitive), sorted by id;
    hidden files are ignored.

    Raises:
      UserInputError: the folder is missing, holds no such file, or two
        files have the same video id.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserInputError(f"{folder}: no such folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        name = path.name.lower()
        suffix = next((e for e in extensions if name.endswith(e)), None)
        if suffix is None or name.startswith(".") or not path.is_file():
            continue
        video_id = path.name[:-len(suffix)]
        if video_id in found:
            raise UserInputError(f"{found[video_id]} and {path} have the same "
                                 f"video id {video_id!r} (file name without "
                                 "extension); keep one of them")
        found[video_id] = path
    if not found:
        raise UserInputError(f"{folder}: no file ending in "
                             f"{'/'.join(extensions)} in it or its subfolders")
    return sorted(found.items())


def write_atomically(path: Path, feature: np.ndarray) -> None:
    """Saves ``feature`` as ``path`` (.npy) via a hidden temporary file in
    the same folder, fsync and rename: never a half-written ``path``."""
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}"
                          f".{threading.get_ident()}{TEMP_SUFFIX}")
    try:
        with open(temp, "wb") as f:
            np.save(f, feature, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()


def remove_leftovers(output_dir: Path) -> int:
    """Deletes the temporary files of killed runs; returns how many."""
    leftovers = [p for p in Path(output_dir).glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}")]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)


class _Progress:
    """tqdm on a terminal, a log line every `LOG_EVERY_SECONDS` otherwise."""

    def __init__(self, total: int, name: str):
        self.total, self.name, self.done = total, name, 0
        self.start = self.last_log = time.monotonic()
        self.bar = (tqdm.tqdm(total=total, unit="video", desc=name,
                              dynamic_ncols=True)
                    if sys.stderr.isatty() else None)

    def advance(self, count: int, failed: int) -> None:
        self.done += count
        if self.bar is not None:
            self.bar.update(count)
            self.bar.set_postfix(failed=failed, refresh=False)
            return
        now = time.monotonic()
        if now - self.last_log >= LOG_EVERY_SECONDS or self.done == self.total:
            self.last_log = now
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            logging.info("%s: %d/%d videos (%.0f %%), %.2f videos/s, ETA %s, "
                         "%d failed", self.name, self.done, self.total,
                         100 * self.done / self.total, rate,
                         _duration(eta), failed)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "?"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def _timed(prepare: Callable[[Path], Any], source: Path) -> tuple[Any, float]:
    start = time.thread_time()
    result = prepare(source)
    return result, time.thread_time() - start


def extract(kind: FeatureKind, inputs: Sequence[tuple[str, Path]],
            output_dir: Path, batch_videos: int = 4,
            threads: int = 2) -> Report:
    """Writes ``<output_dir>/<video id>.npy`` (float32 [kind.dim]) for every
    input not yet written (module docstring).

    Args:
      kind: what to compute (`FeatureKind`).
      inputs: (video id, file) pairs, e.g. from `inputs_in`.
      output_dir: created if missing.
      batch_videos: videos per ``compute`` call.
      threads: ``prepare`` threads (decoding runs ahead by 2 batches).

    Returns:
      the `Report`; failed videos are listed in it, not raised.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    removed = remove_leftovers(output_dir)
    if removed:
        logging.info("%s: removed %d partial file(s) of an interrupted run",
                     output_dir, removed)
    report = Report()
    todo = [(v, s) for v, s in inputs
            if not feature_path(output_dir, v).is_file()]
    report.skipped = len(inputs) - len(todo)
    if report.skipped:
        logging.info("%s: %d of %d videos already written, skipped",
                     output_dir, report.skipped, len(inputs))
    start = time.monotonic()
    progress = _Progress(len(todo), kind.name)
    batch: list[tuple[str, Any]] = []

    def flush():
        compute_start = time.monotonic()
        features = np.asarray(kind.compute([p for _, p in batch]), np.float32)
        report.compute_seconds += time.monotonic() - compute_start
        if features.shape != (len(batch), kind.dim):
            raise AssertionError(f"{kind.name} computed {features.shape} for "
                                 f"{len(batch)} videos of {kind.dim}-d")
        for (video_id, _), feature in zip(batch, features):
            write_atomically(feature_path(output_dir, video_id), feature)
        report.written += len(batch)
        progress.advance(len(batch), len(report.failed))
        batch.clear()

    with concurrent.futures.ThreadPoolExecutor(max(1, threads)) as pool:
        pending: collections.deque = collections.deque()
        queue = iter(todo)

        def top_up():
            while len(pending) < 2 * batch_videos + threads:
                item = next(queue, None)
                if item is None:
                    return
                pending.append((item[0], pool.submit(_timed, kind.prepare,
                                                     item[1])))
        try:
            top_up()
            while pending:
                video_id, future = pending.popleft()
                top_up()
                try:
                    prepared, seconds = future.result()
                except UserInputError as e:
                    report.failed.append((video_id, str(e)))
                    logging.warning("%s: %s", video_id, e)
                    progress.advance(1, len(report.failed))
                    continue
                report.prepare_seconds += seconds
                batch.append((video_id, prepared))
                if len(batch) == batch_videos:
                    flush()
            if batch:
                flush()
        finally:
            for _, future in pending:
                future.cancel()
            progress.close()
    report.seconds = time.monotonic() - start
    return report


@dataclasses.dataclass
class CheckReport:
    """``--check``: files that are fine, missing or bad (id, reason)."""
    good: int = 0
    missing: list[str] = dataclasses.field(default_factory=list)
    bad: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def check(output_dir: Path, video_ids: Sequence[str], dim: int) -> CheckReport:
    """Verifies every video's ``.npy``: present, a float vector [dim],
    finite (`video_features.load_video_feature`, the builders' rule)."""
    report = CheckReport()
    for video_id in video_ids:
        path = feature_path(output_dir, video_id)
        if not path.is_file():
            report.missing.append(video_id)
            continue
        try:
            load_video_feature(path, dim)
        except RawDataError as e:
            report.bad.append((video_id, str(e)))
            continue
        report.good += 1
    return report
