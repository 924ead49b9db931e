"""The predict command: its flags and ``main`` (`divafn_tf.serving` does the work).

``python -m divafn_tf.predict`` runs `run`; the command's user documentation
(input modes, printed lines, the CSV and JSON Lines layouts,
``--skip_errors``) is the docstring of
``divafn_tf/predict.py``, which ``--help`` prints.
"""
from __future__ import annotations

import sys

from absl import app, flags

from divafn_tf.cli import command
from divafn_tf.errors import UserInputError, exit_on_user_error
from divafn_tf.prep.keyframes import VIDEO_EXTENSIONS
from divafn_tf.serving import (check_output_path, format_prediction,
                               pair_videos_with_features,
                               predict_videos, write_predictions)


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines the command-line flags (called under ``python -m`` only).

    They are not defined at import time: ``--batch_size`` also exists in
    `divafn_tf.cli.flags`, and one process (e.g. pytest) may import both modules.
    """
    fv = dict(flag_values=flag_values)
    flags.DEFINE_string(
        "saved_model", None,
        "Directory of the SavedModel written by divafn_tf.main "
        "(<model_dir>/export). Required.", **fv)
    flags.DEFINE_string(
        "video", None,
        "One video file to recognise (needs --video_feature).", **fv)
    flags.DEFINE_string(
        "video_feature", None,
        "The .npy video feature of --video: a finite 1-D float array of the "
        "SavedModel's feature length dv.", **fv)
    flags.DEFINE_string(
        "video_dir", None,
        f"Folder of videos <id>{'/'.join(VIDEO_EXTENSIONS)} to recognise "
        "(needs --feature_dir).", **fv)
    flags.DEFINE_string(
        "feature_dir", None,
        "Folder holding <id>.npy, the video feature of every video "
        "<id>.<ext> of --video_dir.", **fv)
    flags.DEFINE_integer(
        "num_keyframes", 1,
        "Keyframes extracted per video (histogram difference method); the "
        "keyframe embedding is their mean.", lower_bound=1, **fv)
    flags.DEFINE_integer(
        "batch_size", 16, "Videos per call of the SavedModel signature.",
        lower_bound=1, **fv)
    flags.DEFINE_integer(
        "top_k", 5,
        "Number of best-scoring classes printed and written per video "
        "(at most the number of classes).", lower_bound=1, **fv)
    flags.DEFINE_string(
        "output", None,
        "Optional file for the predictions, its format by its extension "
        "(written atomically): .csv (video, class_id, class_name, then "
        "top<i>_class, top<i>_svm_margin for i = 1..k) or .jsonl (one JSON "
        "object per video: video, feature, class_id, class_name, top_k as "
        "[{class_name, svm_margin}]). The scores are the linear SVM's "
        "margins (decision values), not probabilities.", **fv)
    flags.DEFINE_bool(
        "skip_errors", False,
        "Go on past a video that cannot be predicted (undecodable video, "
        "missing or bad feature file): every other video is printed and "
        "written, the failures are listed at the end, and the exit status "
        "is 1. Without it the first failure stops the command before "
        "anything is written.", **fv)
    flags.mark_flag_as_required("saved_model", flag_values=flag_values)


FLAGS = flags.FLAGS


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def videos_from_flags(failures: list[tuple[str, str]] | None
                      ) -> list[tuple[str, str]]:
    """The (video, feature) pairs selected by the flags (videos without a
    feature file go to ``failures`` when it is a list).

    Raises:
      app.UsageError: not exactly one of the two input modes is given.
      serving.PredictError: see `pair_videos_with_features`.
    """
    single = FLAGS.video is not None or FLAGS.video_feature is not None
    folder = FLAGS.video_dir is not None or FLAGS.feature_dir is not None
    if single == folder:
        raise app.UsageError("give either --video and --video_feature, or "
                             "--video_dir and --feature_dir")
    if single:
        if FLAGS.video is None or FLAGS.video_feature is None:
            raise app.UsageError("--video and --video_feature go together")
        return [(FLAGS.video, FLAGS.video_feature)]
    if FLAGS.video_dir is None or FLAGS.feature_dir is None:
        raise app.UsageError("--video_dir and --feature_dir go together")
    return pair_videos_with_features(FLAGS.video_dir, FLAGS.feature_dir,
                                     failures)


def report_failures(failures: list[tuple[str, str]], predicted: int) -> None:
    """Lists the videos that could not be predicted (``--skip_errors``), one
    line each on stderr.

    Raises:
      UserInputError: there is one: the sentence counts them (exit status 1).
    """
    if not failures:
        return
    for video, reason in failures:
        print(f"failed: {video}: {reason}", file=sys.stderr)
    written = f" (written to {FLAGS.output})" if FLAGS.output else ""
    raise UserInputError(
        f"{len(failures)} of {len(failures) + predicted} video(s) could not "
        f"be predicted (listed above, each 'failed: <video>: <reason>'); the "
        f"other {predicted} were{written}")


def main(argv: list[str]) -> None:
    command.start(argv)
    failures: list[tuple[str, str]] | None = [] if FLAGS.skip_errors else None
    with exit_on_user_error():
        if FLAGS.output:   # before the work, which a bad path would waste
            check_output_path(FLAGS.output)
        videos = videos_from_flags(failures)
        results = predict_videos(FLAGS.saved_model, videos,
                                 num_keyframes=FLAGS.num_keyframes,
                                 batch_size=FLAGS.batch_size,
                                 top_k=FLAGS.top_k, failures=failures)
    for result in results:
        print(format_prediction(result))
    print(f"{len(results)} video(s) predicted")
    with exit_on_user_error():
        if FLAGS.output:
            write_predictions(FLAGS.output, results)
            print(f"predictions written to {FLAGS.output}")
        report_failures(failures or [], len(results))


def run() -> None:
    """``python -m divafn_tf.predict``: defines and parses the flags, runs `main`.

    The flags are made key flags of the main module, so ``--help`` lists
    them under the entry point's docstring.
    """
    define_flags()
    for flag in FLAGS.get_key_flags_for_module(__name__):
        FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    command.run(main)


if __name__ == "__main__":
    run()
