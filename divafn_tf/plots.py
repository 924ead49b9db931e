"""Figures of the experiments, drawn from results.csv rows (matplotlib, no display).

``accuracy_plot``: accuracy against the training ratio, one line per method,
the standard deviation over repeats as error bars: the paper's Tables IV-X
read as curves.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")   # files only: no display, no GUI toolkit
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _mean_std(rows: list[dict], method: str, ratios: list[float]
              ) -> tuple[np.ndarray, np.ndarray]:
    means, stds = [], []
    for ratio in ratios:
        values = [100.0 * float(r["accuracy"]) for r in rows
                  if r["method"] == method and float(r["ratio"]) == ratio]
        means.append(np.mean(values) if values else np.nan)
        stds.append(np.std(values) if values else np.nan)
    return np.asarray(means), np.asarray(stds)


def accuracy_plot(rows: list[dict], methods: Sequence[str], path: str,
                  title: str) -> str:
    """Writes accuracy (%) against ratio, mean ± std per method, to ``path`` (PNG)."""
    ratios = sorted({float(r["ratio"]) for r in rows})
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    for method in methods:
        mean, std = _mean_std(rows, method, ratios)
        if np.all(np.isnan(mean)):
            continue
        axes.errorbar([100 * r for r in ratios], mean, yerr=std, marker="o",
                      capsize=3, label=method)
    axes.set_xlabel("training videos per class (%)")
    axes.set_ylabel("test accuracy (%)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    tmp = f"{path}.tmp.png"
    figure.savefig(tmp)
    plt.close(figure)
    os.replace(tmp, path)
    return path
