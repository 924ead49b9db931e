"""The paper's numbers, as data: Tables IV-X of Liu et al. (IEEE TIP 2020).

Accuracies (%) on the test videos, averaged over five repeats, as printed.
`PAPER_TABLES` holds one entry per table: its pair (the dataset's prefix,
``s2u``, ``a2u``, ``e2h``, ``b2u``), the video and semantic features it used,
and its columns (method of ``divafn_tf.experiments.METHODS``, or a d of the
``d`` sweep) by training ratio. Tables IV-VII are DIVAFN at d = 512 … 4096
beside SVM, baseline and finetuned; their d = 4096 column is ``divafn``
(the paper's chosen d). Tables IX-X are the ablation (SVM, KVC, DIVA, DIVF,
DIVAFN). Table VIII is the (a, b, c) sweep at β = 0.1, λ = 0.01, d = 4096,
ratio 10 % (5 % for B→U, split 1). Fig. 5 gives no numbers in the text,
only its best cell: β = 0.1, λ = 0.01 on all four pairs (`FIG5_BEST`).

`paper_curves`, `paper_d_curves` and `paper_abc` pick what a run's plots
draw as the paper's reference.
"""
from __future__ import annotations

import dataclasses

RATIOS_IV_VI = (0.5, 0.4, 0.3, 0.2, 0.1)
RATIOS_VII = (1.0, 0.5, 0.33, 0.2, 0.1, 0.05)


@dataclasses.dataclass(frozen=True)
class PaperTable:
    """One of the paper's tables: accuracies (%) per column and ratio."""

    name: str               # e.g. "Table IV"
    pair: str               # s2u, a2u, e2h, b2u
    video_feature: str      # idt or c3d
    semantic: str           # word2vec or attribute
    columns: dict[str, dict[float, float]]   # method or "d=<d>" → ratio → %


def _columns(ratios: tuple[float, ...], names: tuple[str, ...],
             rows: tuple[tuple[float, ...], ...]) -> dict[str, dict[float, float]]:
    """Columns of a table printed as rows (one per ratio, in ``ratios``' order)."""
    return {name: {ratio: row[i] for ratio, row in zip(ratios, rows)}
            for i, name in enumerate(names)}


_IV_VII = ("svm", "baseline", "finetuned", "d=512", "d=1024", "d=2048",
           "d=4096")
_IX_X = ("svm", "kvc", "diva", "divf", "divafn")

PAPER_TABLES = (
    PaperTable("Table IV", "s2u", "idt", "word2vec", _columns(
        RATIOS_IV_VI, _IV_VII,
        ((92.6, 94.0, 95.5, 99.2, 99.4, 99.5, 99.8),
         (92.1, 93.3, 94.1, 98.4, 98.9, 99.2, 99.6),
         (88.5, 92.8, 92.4, 97.2, 98.3, 98.4, 99.4),
         (87.1, 89.4, 89.1, 97.2, 98.0, 98.1, 98.1),
         (78.9, 84.9, 84.0, 89.7, 94.9, 95.5, 95.6)))),
    PaperTable("Table V", "a2u", "idt", "word2vec", _columns(
        RATIOS_IV_VI, _IV_VII,
        ((85.0, 87.6, 81.2, 94.0, 94.4, 95.2, 97.2),
         (78.9, 83.0, 79.2, 91.6, 94.0, 94.0, 94.3),
         (76.1, 80.0, 75.8, 88.0, 88.5, 90.5, 92.8),
         (71.5, 70.8, 71.4, 81.7, 84.2, 86.7, 87.0),
         (60.8, 65.1, 61.3, 76.0, 76.8, 77.5, 78.2)))),
    PaperTable("Table VI", "e2h", "idt", "word2vec", _columns(
        RATIOS_IV_VI, _IV_VII,
        ((61.6, 70.1, 60.6, 71.7, 72.6, 74.6, 76.2),
         (61.4, 67.7, 58.9, 69.6, 71.0, 73.0, 74.7),
         (56.0, 64.1, 56.1, 68.0, 68.6, 70.0, 71.1),
         (53.0, 60.6, 51.6, 63.5, 66.1, 66.7, 67.0),
         (42.8, 50.7, 44.4, 52.5, 56.3, 56.6, 60.1)))),
    # Averaged over the three official splits.
    PaperTable("Table VII", "b2u", "c3d", "word2vec", _columns(
        RATIOS_VII, _IV_VII,
        ((81.7, 79.1, 53.0, 84.6, 86.7, 87.4, 88.4),
         (81.7, 79.3, 51.4, 84.6, 86.4, 87.2, 87.8),
         (81.0, 78.2, 50.3, 84.1, 85.3, 86.2, 86.6),
         (80.0, 77.1, 47.4, 83.6, 85.2, 86.1, 86.1),
         (76.5, 73.5, 42.9, 80.0, 81.4, 82.1, 82.1),
         (70.5, 68.0, 35.8, 73.3, 74.4, 75.2, 75.4)))),
    PaperTable("Table IX", "s2u", "idt", "word2vec", _columns(
        RATIOS_IV_VI, _IX_X,
        ((92.6, 96.7, 98.1, 98.9, 99.8),
         (92.1, 96.3, 98.4, 99.0, 99.6),
         (88.5, 94.9, 97.2, 98.7, 99.4),
         (87.1, 93.4, 96.1, 97.9, 98.1),
         (78.9, 86.8, 91.8, 95.4, 95.6)))),
    PaperTable("Table X", "a2u", "idt", "attribute", _columns(
        RATIOS_IV_VI, _IX_X,
        ((85.0, 84.2, 91.2, 90.0, 95.2),
         (78.9, 82.5, 92.0, 89.0, 94.0),
         (76.1, 78.2, 89.7, 82.1, 88.2),
         (71.5, 73.2, 80.7, 77.9, 86.0),
         (60.8, 61.2, 72.6, 67.8, 75.5)))),
)

# Table VIII: (a, b, c) → accuracy (%) per pair; β = 0.1, λ = 0.01, d = 4096,
# C3D and word2vec, ratio 10 % (S→U, A→U, E→H) and 5 % (B→U, split 1).
TABLE_VIII_RATIO = {"s2u": 0.1, "a2u": 0.1, "e2h": 0.1, "b2u": 0.05}
TABLE_VIII = {
    (1.0, 1.0, 1.0): {"s2u": 96.4, "a2u": 78.6, "e2h": 62.2, "b2u": 75.6},
    (1.0, 1.0, 0.1): {"s2u": 95.5, "a2u": 78.6, "e2h": 62.5, "b2u": 75.7},
    (1.0, 0.1, 1.0): {"s2u": 96.4, "a2u": 78.2, "e2h": 63.1, "b2u": 74.9},
    (1.0, 0.1, 0.1): {"s2u": 96.4, "a2u": 79.1, "e2h": 63.4, "b2u": 76.0},
    (0.1, 1.0, 1.0): {"s2u": 96.3, "a2u": 77.5, "e2h": 63.5, "b2u": 75.9},
    (0.1, 1.0, 0.1): {"s2u": 96.4, "a2u": 77.7, "e2h": 61.9, "b2u": 75.2},
    (0.1, 0.1, 1.0): {"s2u": 96.5, "a2u": 79.7, "e2h": 64.0, "b2u": 76.3},
    (0.1, 0.1, 0.1): {"s2u": 96.4, "a2u": 78.6, "e2h": 62.5, "b2u": 75.0},
}

# Fig. 5 (β × λ at a = b = c = 1, d = 4096, ratio 10 %; 5 % for B→U): the
# best cell on all four pairs, as the text states (no values are printed).
FIG5_BEST = (0.1, 0.01)


def pair_of(dataset: str) -> str | None:
    """The paper's pair of a dataset name (``divafn/a2u_idt`` → ``a2u``), or
    None for the synthetic and other datasets."""
    config = dataset.split("/")[-1]
    pair = config.split("_")[0]
    return pair if pair in TABLE_VIII_RATIO else None


def _tables(dataset: str, semantic: str) -> list[PaperTable]:
    """The pair's tables, those of the run's semantic feature first."""
    pair = pair_of(dataset)
    found = [t for t in PAPER_TABLES if t.pair == pair]
    return sorted(found, key=lambda t: t.semantic != semantic)


def paper_curves(dataset: str, semantic: str, methods: list[str]
                 ) -> dict[str, tuple[str, dict[float, float]]]:
    """method → (table name, ratio → %) for the run's methods (Tables IV-VII,
    IX, X; ``divafn`` is Tables IV-VII's d = 4096 column or Tables IX-X's,
    the table of the run's ``semantic`` feature first)."""
    curves: dict[str, tuple[str, dict[float, float]]] = {}
    for table in _tables(dataset, semantic):
        columns = dict(table.columns)
        if "d=4096" in columns:
            columns["divafn"] = columns["d=4096"]
        for method in methods:
            if method in columns and method not in curves:
                curves[method] = (table.name, columns[method])
    return curves


def paper_d_curves(dataset: str) -> dict[int, tuple[str, dict[float, float]]]:
    """d → (table name, ratio → %): Tables IV-VII's DIVAFN columns."""
    for table in _tables(dataset, "word2vec"):
        ds = {int(name[2:]): (table.name, values)
              for name, values in table.columns.items()
              if name.startswith("d=")}
        if ds:
            return ds
    return {}


def paper_abc(dataset: str) -> tuple[float, dict[tuple[float, float, float], float]] | None:
    """(ratio, (a, b, c) → %) of Table VIII for the dataset's pair, or None."""
    pair = pair_of(dataset)
    if pair is None:
        return None
    return TABLE_VIII_RATIO[pair], {abc: row[pair]
                                    for abc, row in TABLE_VIII.items()}
