"""Shared helper: append a benchmark's figures to ``benchmarks/RESULTS.md``.

Each call appends one markdown section::

    ## <benchmark> -- <UTC date/time>

    Machine: <CPU model> (<n> logical cores, <RAM> GiB RAM), load average ...
    Versions: Python x.y.z, TensorFlow a.b.c, numpy ..., scipy ...

    | col1 | col2 | ... |
    |---|---|---|
    | ... | ... | ... |

    <notes>

Stable API (other benchmark scripts import it)::

    from benchmarks.results import append_results
    append_results("bench_sylvester", [{"size": "...", "time_s": 1.2}, ...],
                   notes="free text")

``rows`` is a list of dicts; the table's columns are the union of their keys
in first-seen order (missing cells are left blank). Floats are formatted with
4 significant digits (scientific notation for very small/large values).

Scripts run as ``python benchmarks/bench_x.py`` can also do
``from results import append_results`` (the script's directory is on
``sys.path``); both spellings import this same file.
"""
from __future__ import annotations

import datetime
import fcntl
import os
import platform
import sys
from typing import Any, Iterable

RESULTS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "RESULTS.md")

_HEADER = ("# Benchmark results\n\n"
           "Appended by the scripts in `benchmarks/` (via "
           "`benchmarks/results.py`); newest sections at the bottom.\n")


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (falls back to platform)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 ** 2
    except OSError:
        pass
    return None


def machine_info() -> str:
    """One line: CPU model, logical cores, RAM, current load average."""
    parts = [f"{cpu_model()} ({os.cpu_count()} logical cores"]
    mem = _mem_total_gib()
    if mem is not None:
        parts[0] += f", {mem:.1f} GiB RAM"
    parts[0] += ")"
    try:
        load = os.getloadavg()
        parts.append("load average at write time "
                     + ", ".join(f"{x:.2f}" for x in load))
    except OSError:
        pass
    return "; ".join(parts)


def _version(module: str) -> str | None:
    mod = sys.modules.get(module)
    if mod is not None and getattr(mod, "__version__", None):
        return mod.__version__
    # Installed distribution metadata: no (slow) import of TensorFlow.
    from importlib import metadata
    for dist in (module, f"{module}-cpu"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def versions() -> str:
    """Python / TensorFlow / numpy / scipy versions (those installed)."""
    out = [f"Python {platform.python_version()}"]
    for name, label in (("tensorflow", "TensorFlow"), ("numpy", "numpy"),
                        ("scipy", "scipy")):
        v = _version(name)
        if v is not None:
            out.append(f"{label} {v}")
    return ", ".join(out)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if value == 0.0:
            return "0"
        a = abs(value)
        if a < 1e-3 or a >= 1e6:
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Iterable[dict]) -> str:
    """Markdown table whose columns are the union of the rows' keys."""
    rows = list(rows)
    cols: list[str] = []
    for row in rows:
        for key in row:
            if key not in cols:
                cols.append(key)
    if not cols:
        return "(no rows)\n"
    lines = ["| " + " | ".join(cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def append_results(benchmark: str, rows: list[dict], notes: str = "",
                   path: str | None = None) -> None:
    """Append a section for ``benchmark`` with ``rows`` as a table.

    Args:
      benchmark: section title, e.g. ``"bench_sylvester"``.
      rows: one dict per table row (column -> value).
      notes: free markdown text after the table (targets met, caveats).
      path: file to append to (default ``benchmarks/RESULTS.md``).
    """
    path = path or RESULTS_PATH
    now = datetime.datetime.now(datetime.timezone.utc)
    section = [
        f"\n## {benchmark} -- {now.strftime('%Y-%m-%d %H:%M UTC')}\n",
        f"Machine: {machine_info()}  ",
        f"Versions: {versions()}  ",
        f"Command: `{' '.join([os.path.basename(sys.argv[0])] + sys.argv[1:])}`"
        if sys.argv and sys.argv[0] else "",
        "",
        markdown_table(rows),
    ]
    if notes:
        section.append(notes.rstrip() + "\n")
    text = "\n".join(s for s in section if s is not None)
    # Exclusive lock: several benchmarks may append concurrently.
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                f.write(_HEADER)
            f.write(text)
            f.flush()
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


__all__ = ["append_results", "machine_info", "versions", "cpu_model",
           "markdown_table", "RESULTS_PATH"]
