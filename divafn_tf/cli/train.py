"""The training command: train DIVAFN, report video accuracy, export a SavedModel.

    python -m divafn_tf.main --flagfile=flags/demo.cfg

(``divafn_tf/main.py`` is the entry point; the command is here.)

Outputs under --model_dir: ``logs/`` (TensorBoard: every term of J, J,
learning rate, W solve time and residual, test accuracy, bank histograms),
``results.json`` (accuracies and the flags used) and ``export/`` (the
SavedModel, signature ``serving_default``).
"""
from __future__ import annotations

import dataclasses

from absl import flags, logging

from divafn_tf import distribute, errors, train
from divafn_tf.config import RunConfig
from divafn_tf.cli import command
from divafn_tf.cli import flags as _flags  # noqa: F401  (defines the flags)

FLAGS = flags.FLAGS


def config_from_flags() -> RunConfig:
    """The parsed flags as a RunConfig (field names are flag names).

    A value RunConfig refuses (``--train_ratio``) is one sentence, exit 1.
    """
    with errors.exit_on_user_error():
        return RunConfig(**{field.name: getattr(FLAGS, field.name)
                            for field in dataclasses.fields(RunConfig)})


def main(argv: list[str]) -> None:
    command.start(argv, logging.INFO)
    # Logical CPU devices must exist before TensorFlow touches any device.
    distribute.split_cpu(FLAGS.num_cpu_devices)

    config = config_from_flags()
    with errors.exit_on_user_error():
        results = train.run(config)
    print(summary(config, results))


def summary(config: RunConfig, results: dict) -> str:
    """The lines a run ends with: the three accuracies and the likelihood check."""
    accuracy, likelihood = results["accuracy"], results["likelihood"]
    prior = likelihood["class_prior"]
    nll = likelihood["nll_keyframe_video"]
    verdict = ("below it: the networks learnt which pairs share a class"
               if nll < 0.9 * prior else
               "NOT clearly below it: the likelihood learnt little beyond the "
               "class sizes (train longer or raise --learning_rate)")
    lines = [
        f"\nDIVAFN on {config.dataset}: {results['num_classes']} classes, "
        f"train ratio {config.train_ratio} ({results['num_train']} training "
        f"triplets, {results['num_test']} test videos), {config.epochs} "
        f"epochs, {results['seconds']:.0f} s",
        f"  DIVAFN (SVM on eq. 25 features):          {accuracy['divafn']:.4f}",
        f"  KVC (SVM on [untrained keyframe; video]): {accuracy['kvc']:.4f}",
        f"  SVM on the video feature alone:           {accuracy['svm']:.4f}",
        f"  keyframe-video NLL per training row {nll:.1f}, class-prior level "
        f"{prior:.1f}: {verdict}",
        f"  results: {config.model_dir}/results.json",
    ]
    if "export_dir" in results:
        lines.append(f"  SavedModel: {results['export_dir']}")
    return "\n".join(lines)


def run() -> None:
    """``python -m divafn_tf.main``: parses the flags and runs `main`."""
    command.run(main)


if __name__ == "__main__":
    run()
