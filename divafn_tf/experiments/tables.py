"""The markdown tables of results.csv rows: mean ± std (%) over the repeats.

`table` is the paper's layout (ratios down, methods or settings across),
`grid_table` Fig. 5's (β down, λ across, one grid per ratio), and
`write_tables` writes the one a run asks for as ``table.md`` or
``table_<sweep>.md``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from divafn_tf.experiments.runner import SWEEPS


def _cell(values: list[float]) -> str:
    percent = 100.0 * np.asarray(values)
    return f"{percent.mean():.1f} ± {percent.std():.1f}"


def table(rows: list[dict], columns: Sequence[str], column_of) -> str:
    """Mean ± std (%) per ratio (rows, descending, as the paper) and column."""
    ratios = sorted({float(r["ratio"]) for r in rows}, reverse=True)
    lines = ["| ratio | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for ratio in ratios:
        cells = []
        for column in columns:
            values = [float(r["accuracy"]) for r in rows
                      if float(r["ratio"]) == ratio and column_of(r) == column]
            cells.append(_cell(values) if values else "")
        lines.append(f"| {ratio:.0%} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def grid_table(rows: list[dict], row_field: str, column_field: str) -> str:
    """Mean ± std (%) on a row_field × column_field grid, one per ratio.

    The layout of Fig. 5 (β down, λ across) for ``--sweep=beta_lambda``.
    """
    accuracies: dict[tuple[float, float, float], list[float]] = {}
    for r in rows:
        key = (float(r["ratio"]), float(r[row_field]), float(r[column_field]))
        accuracies.setdefault(key, []).append(float(r["accuracy"]))
    ratios, row_values, column_values = (sorted(set(v)) for v in
                                          zip(*accuracies))
    blocks = []
    for ratio in reversed(ratios):
        lines = [f"Ratio {ratio:.0%}:", "",
                 f"| {row_field} \\ {column_field} | "
                 + " | ".join(f"{v:g}" for v in column_values) + " |",
                 "|---|" + "---|" * len(column_values)]
        for row_value in row_values:
            cells = [_cell(accuracies[ratio, row_value, column_value])
                     if (ratio, row_value, column_value) in accuracies else ""
                     for column_value in column_values]
            lines.append(f"| {row_value:g} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def write_tables(rows: list[dict], methods: Sequence[str], sweep: str,
                 output_dir: str, title: str) -> str:
    """Writes table.md (or table_<sweep>.md); returns its path."""
    if sweep == "none":
        text = table(rows, list(methods), lambda r: r["method"])
        path = os.path.join(output_dir, "table.md")
    elif sweep == "beta_lambda":
        text = grid_table(rows, "beta", "lam")
        path = os.path.join(output_dir, f"table_{sweep}.md")
    else:
        label = lambda r: ", ".join(  # noqa: E731
            f"{f}={float(r[f]):g}" for f in _sweep_fields(sweep))
        settings = list(dict.fromkeys(label(r) for r in rows))
        text = table(rows, settings, label)
        path = os.path.join(output_dir, f"table_{sweep}.md")
    repeats = len({r["repeat"] for r in rows})
    with open(path, "w") as f:
        f.write(f"# {title}\n\nAccuracy (%) on the test videos, mean ± std "
                f"over {repeats} repeat(s).\n\n{text}")
    return path


def _sweep_fields(sweep: str) -> tuple[str, ...]:
    return tuple(SWEEPS[sweep][0])
