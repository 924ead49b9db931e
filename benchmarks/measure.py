"""Pieces shared by the benchmarks: machine-state readings and model sizes.

CPU used by other processes, load average, the process's RSS figures and
resetting its peak RSS (Linux /proc), so each benchmark can say how quiet the
machine was and how much memory one measured piece needed; and the
command-line arguments that size the model.
"""
from __future__ import annotations

import argparse
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


def add_model_size_arguments(parser: argparse.ArgumentParser, *,
                             video_hidden: int, cnn_width: float,
                             fc_units: int) -> None:
    """--batch_size, --d, --k, --classes, --video_dim and the network sizes
    (defaults: the paper's d = 4096, k = 300, B→U's 101 classes, C3D 4096),
    and --learning_rate (0: the same SGD ops without divergence)."""
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--d", type=int, default=4096)
    parser.add_argument("--k", type=int, default=300)
    parser.add_argument("--classes", type=int, default=101)
    parser.add_argument("--video_dim", type=int, default=4096)
    parser.add_argument("--video_hidden", type=int, default=video_hidden)
    parser.add_argument("--cnn_width", type=float, default=cnn_width)
    parser.add_argument("--fc_units", type=int, default=fc_units)
    parser.add_argument("--learning_rate", type=float, default=0.0,
                        help="SGD learning rate (0: same ops, no divergence)")
