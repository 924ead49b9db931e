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

from divafn_tf import distribute, errors, plots, train
from divafn_tf.cli import command
from divafn_tf.cli import flags as _run_flags  # noqa: F401  (defines the run flags)
from divafn_tf.cli.train import config_from_flags
from divafn_tf.experiments import (METHODS, SWEEPS, plan, rows_of, run_jobs,
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


def main(argv: list[str]) -> None:
    command.start(argv, logging.WARNING)
    distribute.split_cpu(FLAGS.num_cpu_devices)
    config = config_from_flags()
    with errors.exit_on_user_error():
        ratios = ratios_from_flag(FLAGS.ratios)
        jobs = plan(config, FLAGS.methods, ratios, FLAGS.repeats, FLAGS.sweep)
        hparams_dir = os.path.join(FLAGS.output_dir, "hparams")
        train.check_output_dir("--output_dir", FLAGS.output_dir)
        os.makedirs(hparams_dir, exist_ok=True)
        rows = rows_of(jobs, run_jobs(config, jobs, FLAGS.output_dir))
        title = f"{config.dataset}, {config.epochs} epochs"
        path = write_tables(rows, FLAGS.methods, FLAGS.sweep, FLAGS.output_dir,
                            title)
        figure = (plots.accuracy_plot(
                      rows, FLAGS.methods,
                      os.path.join(FLAGS.output_dir, "accuracy.png"), title)
                  if FLAGS.sweep == "none" else None)
    with open(path) as f:
        print(f.read())
    print(f"results: {os.path.join(FLAGS.output_dir, 'results.csv')}; "
          f"table: {path}; " + (f"plot: {figure}; " if figure else "")
          + f"HParams: tensorboard --logdir {hparams_dir}")


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
