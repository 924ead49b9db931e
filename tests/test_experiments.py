"""The experiments runner on the tiny synthetic dataset: rows, tables, HParams, resume."""
import csv
import glob
import types

import pytest
import tensorflow as tf

from divafn_tf import train
from divafn_tf.experiments import methods, runner, tables
from divafn_tf.config import RunConfig
from divafn_tf.errors import UserInputError

METHODS = ["svm", "baseline", "finetuned", "kvc", "diva", "divf", "divafn",
           "divafn_no_images", "coral"]


def _tiny(data_dir) -> RunConfig:
    return RunConfig(dataset="divafn/synthetic_tiny", data_dir=str(data_dir),
                     image_size=64, cnn_width=0.25, fc_units=64,
                     video_hidden=64, d=32, optimizer="adam",
                     learning_rate=1e-3, batch_size=16, epochs=1)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("experiments")
    config = _tiny(tmp / "data")
    jobs = runner.plan(config, METHODS, [0.3], 1, "none")
    rows = runner.run_jobs(config, jobs, str(tmp / "out"))
    return config, jobs, rows, tmp / "out"


@pytest.mark.e2e  # tiny_run: runner.run_jobs
def test_one_row_per_method_with_an_accuracy(tiny_run):
    _, _, rows, out = tiny_run
    assert [r["method"] for r in rows] == METHODS
    for row in rows:
        assert 0.0 <= float(row["accuracy"]) <= 1.0
        assert row["ratio"] == "0.3" and row["repeat"] == "0" and row["seed"] == "0"
    with open(out / "results.csv", newline="") as f:
        assert tuple(csv.DictReader(f).fieldnames) == runner.CSV_FIELDS


@pytest.mark.e2e  # tiny_run: runner.run_jobs
def test_table_has_the_papers_layout(tiny_run):
    _, _, rows, out = tiny_run
    path = tables.write_tables(rows, METHODS, "none", str(out), "tiny")
    lines = open(path).read().splitlines()
    assert "| ratio | " + " | ".join(METHODS) + " |" in lines
    row = next(line for line in lines if line.startswith("| 30% |"))
    svm = float(next(r["accuracy"] for r in rows if r["method"] == "svm"))
    assert row.split(" | ")[1] == f"{100 * svm:.1f} ± 0.0"


@pytest.mark.e2e  # tiny_run: runner.run_jobs
def test_hparams_runs_are_logged(tiny_run):
    _, _, rows, out = tiny_run
    runs = sorted(glob.glob(str(out / "hparams" / "run*")))
    assert len(runs) == len(rows)
    tags = set()
    for path in glob.glob(runs[0] + "/events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    assert "accuracy" in tags and "_hparams_/session_start_info" in tags


@pytest.mark.e2e  # tiny_run: runner.run_jobs
def test_a_rerun_computes_nothing_again(tiny_run, monkeypatch):
    config, jobs, rows, out = tiny_run

    def must_not_run(*args):
        raise AssertionError("a finished result was computed again")

    monkeypatch.setattr(methods, "evaluate", must_not_run)
    assert runner.run_jobs(config, jobs, str(out)) == rows


class _Stop(Exception):
    """Ends a method right after it asked for training."""


def test_diva_and_no_images_train_what_they_say(tmp_path, monkeypatch):
    """diva: β = λ = 0; divafn_no_images: --noimages, all else as divafn."""
    seen = []

    def record(config, *args, **kwargs):
        seen.append((config.beta, config.lam, config.images))
        raise _Stop

    monkeypatch.setattr(train, "fit", record)
    config = _tiny(tmp_path)
    feats = types.SimpleNamespace(inputs=None)
    for method in (methods._diva, methods._divafn,
                   methods._divafn_no_images):
        with pytest.raises(_Stop):
            method(config, None, feats)
    assert seen == [(0.0, 0.0, True), (config.beta, config.lam, True),
                    (config.beta, config.lam, False)]


def test_sweeps_and_repeats_plan_the_papers_settings():
    config = RunConfig(seed=10)
    abc = runner.plan(config, ["svm"], [0.1], 1, "abc")
    assert {(j.config.a, j.config.b, j.config.c) for j in abc} == {
        (a, b, c) for a in (1.0, 0.1) for b in (1.0, 0.1) for c in (1.0, 0.1)}
    assert all(j.method == "divafn" and j.config.beta == 0.1 for j in abc)
    grid = runner.plan(config, ["svm"], [0.1], 1, "beta_lambda")
    assert len(grid) == 25 and all(j.config.a == j.config.b == j.config.c == 1.0
                                   for j in grid)
    assert [j.config.d for j in runner.plan(config, [], [0.1], 1, "d")] == [
        512, 1024, 2048, 4096]
    jobs = runner.plan(config, ["svm", "kvc"], [0.1, 0.3], 2, "none")
    # Every method of a (ratio, repeat) shares its split's seed.
    assert [(j.ratio, j.config.seed) for j in jobs] == [
        (0.1, 10), (0.1, 10), (0.1, 11), (0.1, 11),
        (0.3, 10), (0.3, 10), (0.3, 11), (0.3, 11)]
    with pytest.raises(UserInputError, match="unknown \\['svn'\\]"):
        runner.plan(config, ["svn"], [0.1], 1, "none")


def test_sweep_table_has_one_column_per_setting():
    rows = [dict(method="divafn", ratio="0.1", repeat=str(r), seed="0",
                 a="1", b="1", c="1", beta=str(beta), lam="0.01", d="4096",
                 accuracy=str(acc), seconds="1")
            for r, (beta, acc) in enumerate([(0.1, 0.5), (1.0, 0.7), (0.1, 0.7)])]
    text = tables.table(rows, ["beta=0.1", "beta=1"],
                        lambda r: f"beta={float(r['beta']):g}")
    assert "| 10% | 60.0 ± 10.0 | 70.0 ± 0.0 |" in text


def test_beta_lambda_sweep_table_is_a_grid(tmp_path):
    """Fig. 5's layout: β down, λ across, one grid per ratio."""
    rows = [dict(method="divafn", ratio=str(ratio), repeat="0", seed="0",
                 a="1", b="1", c="1", beta=str(beta), lam=str(lam), d="4096",
                 accuracy=str(acc), seconds="1")
            for ratio, beta, lam, acc in [(0.3, 0.1, 0.01, 0.5),
                                          (0.3, 0.1, 1.0, 0.6),
                                          (0.3, 1.0, 0.01, 0.7),
                                          (0.1, 0.1, 0.01, 0.2)]]
    path = tables.write_tables(rows, ["divafn"], "beta_lambda",
                               str(tmp_path), "tiny")
    text = open(path).read()
    assert path.endswith("table_beta_lambda.md")
    assert "| beta \\ lam | 0.01 | 1 |" in text
    ratio_30 = text[text.index("Ratio 30%"):text.index("Ratio 10%")]
    assert "| 0.1 | 50.0 ± 0.0 | 60.0 ± 0.0 |" in ratio_30
    assert "| 1 | 70.0 ± 0.0 |  |" in ratio_30
    assert "| 0.1 | 20.0 ± 0.0 |  |" in text[text.index("Ratio 10%"):]


@pytest.mark.e2e  # tiny_run: runner.run_jobs
def test_accuracy_plot_is_a_picture_of_the_rows(tiny_run, tmp_path):
    import matplotlib.image
    from divafn_tf import plots
    _, _, rows, _ = tiny_run
    path = plots.accuracy_plot(rows, METHODS, str(tmp_path / "accuracy.png"),
                               "tiny")
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (540, 840)       # 7 × 4.5 in at 120 dpi
    assert pixels[..., :3].std() > 0.05         # lines and text, not blank


def _row(method="svm", repeat="0", accuracy="0.5") -> dict:
    return dict(method=method, ratio="0.3", repeat=repeat, seed=repeat,
                a="0.1", b="0.1", c="1.0", beta="0.1", lam="0.01", d="32",
                accuracy=accuracy, seconds="0.1")


def test_a_row_twice_in_results_csv_is_refused_naming_both_lines(tmp_path):
    """Before: both kept, and the table averaged the row twice."""
    path = str(tmp_path / "results.csv")
    runner._write_results(path, [_row(), _row("kvc"), _row(accuracy="0.7")])
    with pytest.raises(UserInputError, match="results.csv: line 4: expected "
                       "one row per method, ratio, repeat and setting, but "
                       "line 2 has the same svm, 0.3, 0"):
        runner.read_results(path)


def test_a_row_of_more_fields_is_refused(tmp_path):
    path = tmp_path / "results.csv"
    runner._write_results(str(path), [_row()])
    path.write_text(path.read_text() + "kvc,0.3,0,0,0.1,0.1,1,0.1,0.01,32,0.5,0.1,9\n")
    with pytest.raises(UserInputError, match="line 3: expected 12 fields, got 13"):
        runner.read_results(str(path))


def test_a_write_killed_midway_leaves_the_previous_table(tmp_path, monkeypatch):
    """The rows go to results.csv.partial, renamed over results.csv whole."""
    path = str(tmp_path / "results.csv")
    runner._write_results(path, [_row()])
    before = open(path, "rb").read()

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        runner._write_results(path, [_row(), _row("kvc")])
    assert open(path, "rb").read() == before
    assert [r["method"] for r in runner.read_results(path)] == ["svm"]
