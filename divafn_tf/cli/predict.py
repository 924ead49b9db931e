"""Recognise the actions of videos with an exported DIVAFN SavedModel.

One video::

    python -m divafn_tf.predict --saved_model=run/export \\
        --video=clip.avi --video_feature=clip.npy

A folder (every ``<id>.<ext>`` video, ext one of
`keyframes.VIDEO_EXTENSIONS` -- avi/mp4/mpg/mpeg/mkv/webm/mov, the builders'
list -- case-insensitive, is paired with ``<feature_dir>/<id>.npy``)::

    python -m divafn_tf.predict --saved_model=run/export \\
        --video_dir=videos/ --feature_dir=features/ --output=predictions.csv

For every video the keyframes come from `keyframes.extract_keyframes` (the
histogram difference method, ``--num_keyframes`` of them) and the video
feature from its ``.npy`` file (loaded without pickle; it must be a finite
1-D float array of the length ``dv`` declared by the SavedModel's
``serving_default`` signature). Videos go through the signature in batches
of ``--batch_size``. One line per video is printed::

    clip.avi: jump (class 1) | wave 0.8123, jump 0.1201, ...

followed by the number of videos. With ``--output`` the predictions are also
written as CSV (atomically: a temporary file in the same folder, then a
rename). The CSV layout is::

    video,class_id,class_name,top1,top2,...,top<k>

where ``video`` is the video path as given, and ``top<i>`` is
``<class name>:<score>`` for the class with the i-th highest SVM decision
value (score printed with 6 decimals; a class name may itself contain ``:``,
so split on the last one). k is ``min(--top_k, number of classes)``.

Class names of the top-k list come from the SavedModel's ``class_names``
signature (the name of each column of ``scores``).

Any bad input (a video that cannot be decoded, a feature file that is
missing, unreadable, of the wrong shape or dtype, or not finite) stops the
run with a message naming the file on stderr and exit status 1.
"""
from __future__ import annotations

from absl import app, flags

from divafn_tf.errors import exit_on_user_error
from divafn_tf.prep.keyframes import VIDEO_EXTENSIONS
from divafn_tf.serving import (format_prediction, pair_videos_with_features,
                               predict_videos, write_csv)


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
        "Optional CSV file for the predictions: video, class_id, class_name, "
        "top1..topk as name:score (written atomically).", **fv)
    flags.mark_flag_as_required("saved_model", flag_values=flag_values)


FLAGS = flags.FLAGS


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def videos_from_flags() -> list[tuple[str, str]]:
    """The (video, feature) pairs selected by the flags.

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
    return pair_videos_with_features(FLAGS.video_dir, FLAGS.feature_dir)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    with exit_on_user_error():
        videos = videos_from_flags()
        results = predict_videos(FLAGS.saved_model, videos,
                                 num_keyframes=FLAGS.num_keyframes,
                                 batch_size=FLAGS.batch_size,
                                 top_k=FLAGS.top_k)
    for result in results:
        print(format_prediction(result))
    print(f"{len(results)} video(s) predicted")
    if FLAGS.output:
        write_csv(FLAGS.output, results)
        print(f"predictions written to {FLAGS.output}")


def run() -> None:
    """``python -m divafn_tf.predict``: defines and parses the flags, runs `main`."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
