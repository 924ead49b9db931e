"""Pieces shared by the benchmarks: machine-state readings, timing, arguments.

CPU used by other processes, load average, the process's RSS figures and
resetting its peak RSS (Linux /proc), so each benchmark can say how quiet the
machine was and how much memory one measured piece needed; the timing loop,
the finiteness check of timed losses, and the arguments every benchmark has.
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import time


class CpuMeter:
    """CPU used by *other* processes while a measurement runs, in cores.

    /proc/stat busy time of the whole machine minus this process's (and its
    waited-for children's) CPU time, over the wall time; also the steal time
    (host contention). The load average alone cannot say this: this
    process's own threads count in it.
    """

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except OSError:
            fields = [0] * 8
        user, nice, system, _, _, irq, softirq, steal = fields[:8]
        own = sum(getattr(resource.getrusage(who), attr)
                  for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                  for attr in ("ru_utime", "ru_stime"))
        return (user + nice + system + irq + softirq, steal, own,
                time.monotonic())

    def others(self) -> tuple[float, float]:
        """(other processes' CPU, steal) in cores since construction."""
        end = self._sample()
        hz = os.sysconf("SC_CLK_TCK")
        wall = max(end[3] - self.start[3], 1e-9)
        busy = (end[0] - self.start[0]) / hz
        own = end[2] - self.start[2]
        return max(0.0, busy - own) / wall, (end[1] - self.start[1]) / hz / wall


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as text."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def proc_status_kib(field: str) -> int | None:
    """A KiB field of /proc/self/status (VmRSS, VmHWM, ...); None if absent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Resets VmHWM to the current RSS (/proc/self/clear_refs = 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def benchmark_parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser described by the first paragraph of ``doc``, with
    the arguments every benchmark has: --seed, --no_append, --results_path."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random problem data")
    parser.add_argument("--no_append", action="store_true",
                        help="do not append to benchmarks/RESULTS.md")
    parser.add_argument("--results_path", default=None,
                        help="append here instead of benchmarks/RESULTS.md")
    return parser


def time_calls(fn, repeats: int, warmup: int = 0) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup``
    untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def require_finite(value) -> float:
    """``value`` as a float; an error if it is Inf/NaN (timings of Inf/NaN
    arithmetic would not be the real ones)."""
    value = float(value)
    if not math.isfinite(value):
        raise FloatingPointError(
            "non-finite loss: the timings would be of Inf/NaN arithmetic "
            "(use a smaller --learning_rate)")
    return value
