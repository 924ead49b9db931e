"""Machine-state readings shared by the benchmarks (Linux /proc).

CPU used by other processes, load average, the process's RSS figures and
resetting its peak RSS, so each benchmark can say how quiet the machine was
and how much memory one measured piece needed.
"""
from __future__ import annotations

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
