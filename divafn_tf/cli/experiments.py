"""The experiments command: its flags and ``main`` (`divafn_tf.experiments`
does the work).

``python -m divafn_tf.experiments`` (``divafn_tf/experiments/__main__.py``)
runs `run`; the command's user documentation (the methods, sweeps and
outputs) is the docstring of the package `divafn_tf.experiments`, which
``--help`` prints. The run flags are those of ``divafn_tf.main``
(`divafn_tf.cli.flags`).
"""
from __future__ import annotations

import os
import sys

from absl import flags, logging

from divafn_tf import distribute, errors, train
from divafn_tf.cli import command
from divafn_tf.cli import flags as _run_flags  # noqa: F401  (defines the run flags)
from divafn_tf.cli.train import config_from_flags
from divafn_tf.experiments import (METHODS, SWEEPS, figures, plan,
                                   read_results, rows_of, run_jobs,
                                   write_tables)

flags.DEFINE_list("methods", ["svm", "kvc", "diva", "divf", "divafn",
                              "divafn_no_images"],
                  f"Methods to compare, any of: {', '.join(METHODS)}.")
flags.DEFINE_list("ratios", ["0.1", "0.2", "0.3", "0.4", "0.5"],
                  "Training ratios (per class; of the train split for B→U).")
flags.DEFINE_integer("repeats", 5, "Splits per ratio (seeds --seed + 0 ...).",
                     lower_bound=1)
flags.DEFINE_string("output_dir", "runs/experiments",
                    "Where results.csv, table.md and hparams/ go.")
flags.DEFINE_enum("sweep", "none", ["none", *SWEEPS],
                  "Instead of --methods, sweep DIVAFN's parameters: "
                  "beta_lambda (Fig. 5), abc (Table VIII) or d.")
flags.DEFINE_bool("plot_only", False,
                  "Compute nothing: redraw the run's figure (accuracy.png, "
                  "beta_lambda.png, d.png or abc.png) from the rows of "
                  "--output_dir/results.csv that these flags' jobs name; give "
                  "the run's flags (its --flagfile, --methods, --ratios, "
                  "--repeats, --sweep).")
FLAGS = flags.FLAGS


def ratios_from_flag(values: list[str]) -> list[float]:
    """The training ratios of ``--ratios``, each a share in (0, 1].

    Raises:
      errors.UserInputError: a value that is not a number in (0, 1].
    """
    ratios = []
    for value in values:
        try:
            ratio = float(value)
        except ValueError:
            ratio = float("nan")
        if not 0.0 < ratio <= 1.0:
            raise errors.UserInputError(
                f"--ratios={','.join(values)}: expected shares of each "
                f"class's videos in (0, 1], got {value!r}")
        ratios.append(ratio)
    return ratios


def plotted_rows(jobs: list, output_dir: str) -> list[dict]:
    """The rows of ``output_dir``/results.csv that are ``jobs``' (--plot_only).

    Raises:
      errors.UserInputError: there are none.
    """
    path = os.path.join(output_dir, "results.csv")
    rows = rows_of(jobs, read_results(path))
    if not rows:
        raise errors.UserInputError(
            f"--plot_only: {path} holds no row of these flags' jobs; give "
            "--plot_only the flags of the run that wrote it (its --flagfile, "
            "--methods, --ratios, --repeats and --sweep)")
    return rows


def main(argv: list[str]) -> None:
    command.start(argv, logging.WARNING)
    distribute.split_cpu(FLAGS.num_cpu_devices)
    config = config_from_flags()
    title = f"{config.dataset}, {config.epochs} epochs"
    with errors.exit_on_user_error():
        ratios = ratios_from_flag(FLAGS.ratios)
        jobs = plan(config, FLAGS.methods, ratios, FLAGS.repeats, FLAGS.sweep)
        if FLAGS.plot_only:
            rows = plotted_rows(jobs, FLAGS.output_dir)
        else:
            hparams_dir = os.path.join(FLAGS.output_dir, "hparams")
            train.check_output_dir("--output_dir", FLAGS.output_dir)
            os.makedirs(hparams_dir, exist_ok=True)
            rows = rows_of(jobs, run_jobs(config, jobs, FLAGS.output_dir))
            path = write_tables(rows, FLAGS.methods, FLAGS.sweep,
                                FLAGS.output_dir, title)
        figure = figures.write_figure(
            rows, FLAGS.methods, FLAGS.sweep, FLAGS.output_dir, title,
            config.dataset, figures.semantic_of(config.class_vectors))
    if FLAGS.plot_only:
        print(f"plot: {figure} ({len(rows)} of {len(jobs)} rows)")
        return
    with open(path) as f:
        print(f.read())
    print(f"results: {os.path.join(FLAGS.output_dir, 'results.csv')}; "
          f"table: {path}; plot: {figure}; "
          f"HParams: tensorboard --logdir {hparams_dir}")


def run() -> None:
    """``python -m divafn_tf.experiments``: parses the flags and runs `main`.

    The command's flags are made key flags of the main module, so ``--help``
    lists them under the package docstring, as when the command was one
    module.
    """
    for flag in FLAGS.get_key_flags_for_module(__name__):
        FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    command.run(main)


if __name__ == "__main__":
    run()
