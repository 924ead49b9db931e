"""Figures of the experiments, drawn from results.csv rows (matplotlib, no display).

* `accuracy_plot`: accuracy against the training ratio, one line per method,
  the standard deviation over repeats as error bars, the paper's numbers
  (Tables IV-VII, IX, X) as dashed lines: the paper's tables read as curves.
* `beta_lambda_plot`: Fig. 5's β × λ grid as a heat map, one panel per ratio,
  mean ± std written in each cell.
* `d_plot`: accuracy against d (the d columns of Tables IV-VII), one line
  per ratio.
* `abc_plot`: Table VIII's eight (a, b, c) settings as bars.
* `confusion_matrix_image`: a confusion matrix as RGB pixels (TensorBoard).

A PNG is written with a fixed size, dpi and no metadata that changes
(no software version, no date), so the same rows give the same bytes
(``--plot_only`` redraws a run's figures from its results.csv).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")   # files only: no display, no GUI toolkit
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 120
# PNG text chunks: none (matplotlib would write its version).
_PNG_METADATA = {"Software": None}

Stats = dict[object, tuple[float, float, int]]   # key → (mean %, std %, repeats)


def _stats(rows: Sequence[dict], key: Callable[[dict], object]) -> Stats:
    """Mean and std (%) of the accuracy of the rows of each key."""
    values: dict[object, list[float]] = {}
    for row in rows:
        values.setdefault(key(row), []).append(100.0 * float(row["accuracy"]))
    return {k: (float(np.mean(v)), float(np.std(v)), len(v))
            for k, v in values.items()}


def _finish_line_plot(figure: plt.Figure, axes, title: str, path: str) -> str:
    """Title, grid and legend of a line plot; writes it (`_save`)."""
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    return _save(figure, path)


def _save(figure: plt.Figure, path: str) -> str:
    """Writes ``figure`` to ``path`` (PNG) atomically; closes it."""
    tmp = f"{path}.tmp.png"
    figure.savefig(tmp, dpi=DPI, metadata=_PNG_METADATA)
    plt.close(figure)
    os.replace(tmp, path)
    return path


def _ratios(rows: Sequence[dict]) -> list[float]:
    return sorted({float(r["ratio"]) for r in rows})


def accuracy_plot(rows: list[dict], methods: Sequence[str], path: str,
                  title: str,
                  paper: dict[str, tuple[str, dict[float, float]]] | None = None
                  ) -> str:
    """Writes accuracy (%) against ratio, mean ± std per method, to ``path``.

    ``paper``: method → (table name, ratio → %), drawn dashed in the
    method's colour (`experiments.paper.paper_curves`).
    """
    stats = _stats(rows, lambda r: (r["method"], float(r["ratio"])))
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for method in methods:
        ratios = [x for x in _ratios(rows) if (method, x) in stats]
        if not ratios:
            continue
        mean, std, _ = zip(*(stats[method, x] for x in ratios))
        line = axes.errorbar([100 * x for x in ratios], mean, yerr=std,
                             marker="o", capsize=3, label=method)
        if paper and method in paper:
            table, values = paper[method]
            xs = sorted(values)
            axes.plot([100 * x for x in xs], [values[x] for x in xs], "--",
                      color=line.lines[0].get_color(), alpha=0.7,
                      label=f"{method}, paper ({table})")
    axes.set_xlabel("training videos per class (%)")
    axes.set_ylabel("test accuracy (%)")
    return _finish_line_plot(figure, axes, title, path)


def beta_lambda_plot(rows: list[dict], path: str, title: str,
                     best: tuple[float, float] | None = None) -> str:
    """Writes Fig. 5's grid (β down, λ across) as heat maps, one per ratio.

    Each cell holds the mean ± std (%) over the repeats (the mean alone
    for one repeat); ``best`` (β, λ),
    the paper's best cell (Fig. 5), is outlined.
    """
    stats = _stats(rows, lambda r: (float(r["ratio"]), float(r["beta"]),
                                    float(r["lam"])))
    ratios = sorted({k[0] for k in stats}, reverse=True)
    betas = sorted({k[1] for k in stats})
    lams = sorted({k[2] for k in stats})
    means = np.array([v[0] for v in stats.values()])
    width = len(ratios) * (0.9 * len(lams) + 1.2) + 1.6
    figure, panels = plt.subplots(1, len(ratios), squeeze=False,
                                  figsize=(width, 0.55 * len(betas) + 2.2),
                                  layout="constrained")
    for axes, ratio in zip(panels[0], ratios):
        grid = np.full((len(betas), len(lams)), np.nan)
        for i, beta in enumerate(betas):
            for j, lam in enumerate(lams):
                if (ratio, beta, lam) in stats:
                    mean, std, count = stats[ratio, beta, lam]
                    grid[i, j] = mean
                    spread = f"\n±{std:.1f}" if count > 1 else ""
                    axes.text(j, i, f"{mean:.1f}{spread}", ha="center",
                              va="center", fontsize=7)
        image = axes.imshow(grid, cmap="viridis", vmin=means.min(),
                            vmax=means.max(), alpha=0.85)
        if best is not None and best[0] in betas and best[1] in lams:
            i, j = betas.index(best[0]), lams.index(best[1])
            axes.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                         edgecolor="red", linewidth=2))
        axes.set_xticks(range(len(lams)), [f"{v:g}" for v in lams])
        axes.set_yticks(range(len(betas)), [f"{v:g}" for v in betas])
        axes.set_xlabel("λ")
        axes.set_ylabel("β")
        axes.set_title(f"ratio {ratio:.0%}", fontsize="medium")
    figure.colorbar(image, ax=panels[0].tolist(), label="test accuracy (%)")
    figure.suptitle(title + (f"\nred: the paper's best (Fig. 5), β = "
                             f"{best[0]:g}, λ = {best[1]:g}" if best else ""),
                    fontsize="medium")
    return _save(figure, path)


def d_plot(rows: list[dict], path: str, title: str,
           paper: dict[int, tuple[str, dict[float, float]]] | None = None
           ) -> str:
    """Writes accuracy (%) against d, mean ± std, one line per ratio.

    ``paper``: d → (table name, ratio → %), Tables IV-VII's DIVAFN columns,
    dashed for the ratios the run has (`experiments.paper.paper_d_curves`).
    """
    stats = _stats(rows, lambda r: (float(r["ratio"]), int(float(r["d"]))))
    ds = sorted({k[1] for k in stats})
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for ratio in _ratios(rows):
        xs = [d for d in ds if (ratio, d) in stats]
        mean, std, _ = zip(*(stats[ratio, d] for d in xs))
        line = axes.errorbar(xs, mean, yerr=std, marker="o", capsize=3,
                             label=f"ratio {ratio:.0%}")
        known = sorted(d for d in (paper or {}) if ratio in paper[d][1])
        if known:
            axes.plot(known, [paper[d][1][ratio] for d in known], "--",
                      color=line.lines[0].get_color(), alpha=0.7,
                      label=f"ratio {ratio:.0%}, paper ({paper[known[0]][0]})")
    axes.set_xscale("log", base=2)
    axes.set_xticks(ds, [str(d) for d in ds])
    axes.minorticks_off()
    axes.set_xlabel("d (dimension of the shared space)")
    axes.set_ylabel("test accuracy (%)")
    return _finish_line_plot(figure, axes, title, path)


def abc_plot(rows: list[dict], path: str, title: str,
             paper: tuple[float, dict[tuple[float, float, float], float]]
             | None = None) -> str:
    """Writes Table VIII's (a, b, c) settings as bars, one group per setting,
    one bar per ratio (mean ± std); ``paper``: (its ratio, (a, b, c) → %),
    black marks (`experiments.paper.paper_abc`)."""
    def setting(r: dict) -> tuple[float, float, float]:
        return (float(r["a"]), float(r["b"]), float(r["c"]))

    stats = _stats(rows, lambda r: (float(r["ratio"]), setting(r)))
    settings = list(dict.fromkeys(setting(r) for r in rows))
    ratios = _ratios(rows)
    width = 0.8 / len(ratios)
    figure, axes = plt.subplots(figsize=(max(7.0, 0.9 * len(settings) + 1), 4.5))
    for k, ratio in enumerate(ratios):
        xs = [i for i, s in enumerate(settings) if (ratio, s) in stats]
        mean, std, _ = zip(*(stats[ratio, settings[i]] for i in xs))
        axes.bar([i - 0.4 + width * (k + 0.5) for i in xs], mean, width,
                 yerr=std, capsize=3, label=f"ratio {ratio:.0%}")
    if paper is not None:
        paper_ratio, values = paper
        # On the bars of the paper's ratio when the run has it.
        shift = (width * (ratios.index(paper_ratio) + 0.5) - 0.4
                 if paper_ratio in ratios else 0.0)
        xs = [i for i, s in enumerate(settings) if s in values]
        axes.plot([i + shift for i in xs], [values[settings[i]] for i in xs],
                  "k_", markersize=min(22.0, 40 * width), markeredgewidth=2,
                  label=f"paper (Table VIII, ratio {paper_ratio:.0%})")
    axes.set_xticks(range(len(settings)),
                    [f"({a:g}, {b:g}, {c:g})" for a, b, c in settings],
                    rotation=30, fontsize="small")
    axes.set_xlabel("(a, b, c)")
    axes.set_ylabel("test accuracy (%)")
    axes.set_title(title)
    axes.grid(alpha=0.3, axis="y")
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    return _save(figure, path)


def confusion_matrix_image(labels: np.ndarray, predictions: np.ndarray,
                           class_names: Sequence[str], title: str) -> np.ndarray:
    """The confusion matrix (true class down, predicted across, counts in the
    cells, class names on the axes) as uint8 RGB pixels [H, W, 3]."""
    count = len(class_names)
    matrix = np.zeros((count, count), np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    side = min(24.0, 3.0 + 0.45 * count)
    figure, axes = plt.subplots(figsize=(side + 1.0, side), dpi=80)
    axes.imshow(matrix, cmap="Blues")
    if count <= 30:
        for (i, j), value in np.ndenumerate(matrix):
            if value:
                axes.text(j, i, str(value), ha="center", va="center",
                          fontsize=7, color="white" if value > matrix.max() / 2
                          else "black")
    axes.set_xticks(range(count), class_names, rotation=90, fontsize=7)
    axes.set_yticks(range(count), class_names, fontsize=7)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title, fontsize="medium")
    figure.tight_layout()
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return pixels
