"""The experiments' figures: each PNG is a picture (size, not blank), the same
rows give the same bytes, and ``--plot_only`` redraws a run's figure from its
results.csv alone (issue 16, item 1)."""
import csv
import os
import shutil
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest

from divafn_tf import plots
from divafn_tf.config import RunConfig
from divafn_tf.experiments import figures, paper, runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The tiny run's flags (flags/tiny.cfg, one epoch) and the jobs they plan.
TINY = RunConfig(dataset="divafn/synthetic_tiny", image_size=64,
                 cnn_width=0.25, fc_units=64, video_hidden=64, d=32,
                 optimizer="adam", learning_rate=1e-3, batch_size=16, epochs=1)
RATIOS = [0.1, 0.3]


def _rows(sweep: str, methods=("divafn",), repeats=2, seed=0) -> list[dict]:
    """results.csv rows of the tiny run's plan, with made-up accuracies."""
    rng = np.random.default_rng(seed)
    return [{"method": job.method, "ratio": f"{job.ratio:g}",
             "repeat": str(job.repeat), "seed": str(job.config.seed),
             **{f: f"{getattr(job.config, f):g}" for f in runner.SETTING_FIELDS},
             "accuracy": f"{rng.uniform(0.4, 0.9):.6f}", "seconds": "1.0"}
            for job in runner.plan(TINY, list(methods), RATIOS, repeats, sweep)]


def _write_csv(rows: list[dict], folder) -> None:
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=runner.CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _assert_picture(path: str, min_size=(300, 500)) -> None:
    """A PNG of at least ``min_size`` (h, w) pixels that is not blank."""
    pixels = matplotlib.image.imread(path)[..., :3]
    assert pixels.shape[0] >= min_size[0] and pixels.shape[1] >= min_size[1]
    assert pixels.std() > 0.05                               # not one colour
    assert np.mean(np.any(pixels < 0.95, axis=-1)) > 0.03    # ink on the page


SWEEP_CASES = [("none", ["svm", "kvc", "divafn"], "divafn/a2u_idt"),
               ("beta_lambda", ["divafn"], "divafn/s2u_idt"),
               ("d", ["divafn"], "divafn/e2h_idt"),
               ("abc", ["divafn"], "divafn/b2u_split1_c3d")]


@pytest.mark.parametrize("sweep, methods, dataset", SWEEP_CASES)
def test_each_figure_is_a_picture_and_the_same_rows_give_the_same_bytes(
        tmp_path, sweep, methods, dataset):
    rows = _rows(sweep, methods)
    for folder in ("a", "b"):
        os.makedirs(tmp_path / folder)
    first = figures.write_figure(rows, methods, sweep, str(tmp_path / "a"),
                                 "tiny", dataset)
    assert os.path.basename(first) == figures.FIGURES[sweep]
    _assert_picture(first)
    second = figures.write_figure(rows, methods, sweep, str(tmp_path / "b"),
                                  "tiny", dataset)
    assert open(first, "rb").read() == open(second, "rb").read()
    assert not [p for p in os.listdir(tmp_path / "a") if p.endswith(".tmp.png")]


def test_the_accuracy_plot_has_its_size_and_draws_the_papers_lines(tmp_path):
    rows = _rows("none", ["svm", "divafn"])
    with_paper = plots.accuracy_plot(
        rows, ["svm", "divafn"], str(tmp_path / "paper.png"), "tiny",
        paper.paper_curves("divafn/a2u_idt", "word2vec", ["svm", "divafn"]))
    without = plots.accuracy_plot(rows, ["svm", "divafn"],
                                  str(tmp_path / "plain.png"), "tiny")
    a, b = (matplotlib.image.imread(p) for p in (with_paper, without))
    assert a.shape[:2] == (540, 840)        # 7 × 4.5 in at 120 dpi
    assert not np.array_equal(a, b)         # the dashed lines are drawn


def test_the_papers_numbers_are_its_tables():
    tables = {t.name: t for t in paper.PAPER_TABLES}
    # Table IX's DIVAFN is Table IV's d = 4096 column (both IDT, word2vec).
    assert tables["Table IX"].columns["divafn"] == tables["Table IV"].columns["d=4096"]
    assert tables["Table VII"].columns["finetuned"][0.05] == 35.8
    assert paper.pair_of("divafn/b2u_split2_c3d") == "b2u"
    assert paper.pair_of("divafn/synthetic") is None
    curves = paper.paper_curves("divafn/a2u_idt", "attribute",
                                ["svm", "kvc", "divafn", "coral"])
    assert curves["divafn"] == ("Table X", tables["Table X"].columns["divafn"])
    assert curves["kvc"][0] == "Table X" and "coral" not in curves
    assert paper.paper_curves("divafn/a2u_idt", "word2vec",
                              ["divafn"])["divafn"][0] == "Table V"
    assert sorted(paper.paper_d_curves("divafn/s2u_idt")) == [512, 1024, 2048, 4096]
    ratio, abc = paper.paper_abc("divafn/b2u_split1_c3d")
    assert ratio == 0.05 and abc[0.1, 0.1, 1.0] == 76.3 and len(abc) == 8
    assert paper.paper_curves("divafn/synthetic", "word2vec", ["svm"]) == {}


def test_the_confusion_matrix_image_is_rgb_pixels():
    labels = np.array([0, 0, 1, 2, 2, 2])
    pixels = plots.confusion_matrix_image(labels, np.array([0, 1, 1, 2, 2, 0]),
                                          ["wave", "jump", "clap"], "test")
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert pixels.std() > 10


def _experiments(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "divafn_tf.experiments",
         f"--flagfile={ROOT}/flags/tiny.cfg", "--epochs=1", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.e2e  # runs the experiments command
def test_plot_only_redraws_each_sweeps_figure_from_results_csv(tmp_path):
    for sweep, methods, _ in SWEEP_CASES[1:]:
        out = tmp_path / sweep
        rows = _rows(sweep, methods)
        _write_csv(rows, out)
        proc = _experiments("--plot_only", f"--sweep={sweep}",
                            "--ratios=0.1,0.3", "--repeats=2",
                            f"--output_dir={out}")
        assert proc.returncode == 0, proc.stderr[-3000:]
        drawn = out / figures.FIGURES[sweep]
        _assert_picture(str(drawn))
        os.makedirs(tmp_path / "here" / sweep)
        here = figures.write_figure(rows, methods, sweep,
                                    str(tmp_path / "here" / sweep),
                                    "divafn/synthetic_tiny, 1 epochs",
                                    "divafn/synthetic_tiny")
        assert drawn.read_bytes() == open(here, "rb").read(), sweep
        assert not (out / "hparams").exists()           # nothing computed


@pytest.mark.e2e  # runs the experiments command
def test_a_run_draws_accuracy_png_and_plot_only_reproduces_it(tmp_path):
    out, data = tmp_path / "out", tmp_path / "data"
    common = ("--methods=svm,kvc", "--ratios=0.3", "--repeats=1",
              f"--data_dir={data}", f"--output_dir={out}")
    proc = _experiments(*common)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figure = out / "accuracy.png"
    _assert_picture(str(figure))
    shutil.move(figure, tmp_path / "first.png")
    proc = _experiments(*common, "--plot_only")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "plot: " in proc.stdout and "(2 of 2 rows)" in proc.stdout
    assert figure.read_bytes() == (tmp_path / "first.png").read_bytes()
    # Other flags than the run's: no row of theirs, one sentence.
    proc = _experiments(*common[:-1], "--plot_only", "--sweep=d",
                        f"--output_dir={out}")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: --plot_only: ")
    assert proc.stderr.count("\n") == 1
