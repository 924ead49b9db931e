"""The figure of a run, beside its table: drawn from results.csv rows.

``--sweep=none`` → ``accuracy.png`` (the paper's Tables IV-VII, IX, X as
curves), ``beta_lambda`` → ``beta_lambda.png`` (Fig. 5), ``d`` → ``d.png``
(the d columns of Tables IV-VII), ``abc`` → ``abc.png`` (Table VIII). On one
of the paper's pairs the paper's numbers (`paper.py`) are drawn beside the
run's; the drawing is `divafn_tf.plots`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from divafn_tf import plots
from divafn_tf.experiments import paper

FIGURES = {"none": "accuracy.png", "beta_lambda": "beta_lambda.png",
           "d": "d.png", "abc": "abc.png"}


def semantic_of(class_vectors: str | None) -> str:
    """The semantic feature of a run: the dataset's word vectors, or the
    ``--class_vectors`` file (the paper's other kind, attributes)."""
    return "attribute" if class_vectors else "word2vec"


def write_figure(rows: list[dict], methods: Sequence[str], sweep: str,
                 output_dir: str, title: str, dataset: str,
                 semantic: str = "word2vec") -> str:
    """Writes the figure of ``sweep`` (`FIGURES`) into ``output_dir``; returns
    its path. ``dataset`` (its pair) chooses the paper's numbers drawn."""
    path = os.path.join(output_dir, FIGURES[sweep])
    if sweep == "none":
        return plots.accuracy_plot(
            rows, methods, path, title,
            paper.paper_curves(dataset, semantic, list(methods)))
    if sweep == "beta_lambda":
        return plots.beta_lambda_plot(
            rows, path, title,
            paper.FIG5_BEST if paper.pair_of(dataset) else None)
    if sweep == "d":
        return plots.d_plot(rows, path, title, paper.paper_d_curves(dataset))
    return plots.abc_plot(rows, path, title, paper.paper_abc(dataset))
