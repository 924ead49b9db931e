"""Serving an exported DIVAFN SavedModel: videos in, predicted actions out.

`predict_videos` takes (video, ``.npy`` feature) pairs, extracts each video's
keyframes (`keyframes.extract_keyframes`, the histogram difference method),
loads the feature (no pickle; a finite 1-D float array of the length ``dv``
declared by the ``serving_default`` signature) and runs the signature in
batches. `pair_videos_with_features` pairs a folder of videos with a folder
of ``<id>.npy`` features; `format_prediction` and `write_predictions` give
the printed line and the CSV or JSON Lines file of the command
``python -m divafn_tf.predict`` (whose docstring, in
``divafn_tf/predict.py``, documents the layouts). The scores are the linear
SVM's decision values (margins), not probabilities: the files call them
``svm_margin``. Given a list, `pair_videos_with_features` and
`predict_videos` collect a video's failure there and go on with the others
(``--skip_errors``); otherwise the first failure is raised.

TensorFlow is imported only when a SavedModel is loaded, so importing this
module is light.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from typing import Any, Sequence, TextIO

import numpy as np

from divafn_tf.errors import UserInputError
from divafn_tf.prep import video_features
from divafn_tf.prep.keyframes import VIDEO_EXTENSIONS, extract_keyframes
from divafn_tf.prep.video_features import RawDataError

# The SavedModel's signatures (written by `export.export_saved_model`).
SIGNATURE = "serving_default"
CLASS_NAMES_SIGNATURE = "class_names"

MAX_LISTED_MISSING = 5
OUTPUT_FORMATS = (".csv", ".jsonl")   # --output, told by its extension


class PredictError(UserInputError):
    """A bad input of the prediction run (the message names the file)."""


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def pair_videos_with_features(video_dir: str, feature_dir: str,
                              failures: list[tuple[str, str]] | None = None
                              ) -> list[tuple[str, str]]:
    """Pairs every video of a folder with its feature file.

    Args:
      video_dir: folder of videos ``<id>.<ext>``, ext one of
        `VIDEO_EXTENSIONS` (case-insensitive); other files are ignored.
      feature_dir: folder holding ``<id>.npy`` for every such video.
      failures: if a list, each video without a feature file is appended
        as (video path, reason) and left out, instead of an error.

    Returns:
      (video path, feature path) pairs sorted by video file name.

    Raises:
      PredictError: a folder does not exist, there is no video, or (without
        ``failures``) some videos have no feature file (up to
        `MAX_LISTED_MISSING` are listed with both paths).
    """
    for name, folder in (("video", video_dir), ("feature", feature_dir)):
        if not os.path.isdir(folder):
            raise PredictError(f"{name} folder {folder!r} does not exist")
    pairs, missing = [], []
    for name in sorted(os.listdir(video_dir)):
        stem, ext = os.path.splitext(name)
        path = os.path.join(video_dir, name)
        if (name.startswith(".") or ext.lower() not in VIDEO_EXTENSIONS
                or not os.path.isfile(path)):
            continue
        feature = os.path.join(feature_dir, stem + ".npy")
        if os.path.isfile(feature):
            pairs.append((path, feature))
        else:
            missing.append((path, feature))
    if missing and failures is not None:
        failures.extend((v, f"no feature file {f!r}") for v, f in missing)
    elif missing:
        listed = "; ".join(f"video {v!r} has no feature file {f!r}"
                           for v, f in missing[:MAX_LISTED_MISSING])
        more = len(missing) - MAX_LISTED_MISSING
        raise PredictError(
            f"{len(missing)} video(s) in {video_dir!r} have no feature file "
            f"in {feature_dir!r}: {listed}"
            + (f"; and {more} more" if more > 0 else ""))
    if not pairs and not missing:
        raise PredictError(f"no video ({'/'.join(VIDEO_EXTENSIONS)}) in "
                           f"folder {video_dir!r}")
    return pairs


def load_video_feature(path: str, dim: int) -> np.ndarray:
    """One video feature, float32 [dim]: `video_features.load_video_feature`
    (the builders' rule), its error a `PredictError` naming the file and the
    expected shape."""
    try:
        return video_features.load_video_feature(path, dim)
    except RawDataError as error:
        raise PredictError(str(error)) from None


# --------------------------------------------------------------------------
# The SavedModel
# --------------------------------------------------------------------------

def load_signature(saved_model_dir: str) -> tuple[Any, Any]:
    """Loads the SavedModel; returns (loaded object, ``serving_default``).

    The loaded object must be kept alive while the signature is used.

    Raises:
      PredictError: no SavedModel there, one that cannot be loaded (a
        damaged or partial copy), or one without ``serving_default``.
    """
    import tensorflow as tf
    if not tf.saved_model.contains_saved_model(saved_model_dir):
        raise PredictError(f"no SavedModel in {saved_model_dir!r} (expected "
                           "the export/ folder that divafn_tf.main writes "
                           "under its --model_dir)")
    try:
        loaded = tf.saved_model.load(saved_model_dir)
    except (OSError, ValueError, tf.errors.OpError) as e:
        reason = str(getattr(e, "message", e)).strip().splitlines()
        raise PredictError(
            f"{saved_model_dir}: cannot load the SavedModel "
            f"({reason[0].rstrip('.') if reason else type(e).__name__}); is "
            "it a complete copy of what divafn_tf.main exported?") from None
    if SIGNATURE not in loaded.signatures:
        raise PredictError(f"SavedModel {saved_model_dir!r} has no "
                           f"{SIGNATURE!r} signature "
                           f"(has {sorted(loaded.signatures)})")
    return loaded, loaded.signatures[SIGNATURE]


def video_feature_dim(serving_fn: Any) -> int:
    """dv, read from the signature's ``video_feature`` input spec [N, dv]."""
    _, kwargs = serving_fn.structured_input_signature
    spec = kwargs.get("video_feature")
    if spec is None or spec.shape.rank != 2 or spec.shape[1] is None:
        raise PredictError(f"the {SIGNATURE!r} signature has no video_feature "
                           f"input of shape [N, dv] (inputs: {kwargs})")
    return int(spec.shape[1])


def class_name_table(loaded: Any, saved_model_dir: str) -> list[str]:
    """All C class names, from the SavedModel's ``class_names`` signature."""
    if CLASS_NAMES_SIGNATURE not in loaded.signatures:
        raise PredictError(f"{saved_model_dir}: no {CLASS_NAMES_SIGNATURE!r} "
                           f"signature (export it with divafn_tf.export)")
    names = loaded.signatures[CLASS_NAMES_SIGNATURE]()["class_names"]
    return [n.decode("utf-8") for n in names.numpy()]


# --------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------

def _top_k(scores: np.ndarray, names: list[str], k: int) -> list[tuple[str, float]]:
    """The k best (name, score) pairs; equal scores go to the lower id."""
    order = np.argsort(-scores, kind="stable")[:k]
    return [(names[i], float(scores[i])) for i in order]


def _serve_batch(serving_fn: Any, keyframes: list[np.ndarray],
                 features: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Runs the signature on videos whose keyframes may differ in shape.

    Videos with equal keyframe shapes [K, H, W, 3] are stacked into one call;
    the model resizes each frame on its own, so grouping does not change any
    result.
    """
    import tensorflow as tf
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, frames in enumerate(keyframes):
        groups.setdefault(frames.shape, []).append(i)
    results: list[dict[str, np.ndarray] | None] = [None] * len(keyframes)
    for indices in groups.values():
        out = serving_fn(
            keyframes=tf.constant(np.stack([keyframes[i] for i in indices])),
            video_feature=tf.constant(np.stack([features[i] for i in indices])))
        out = {key: value.numpy() for key, value in out.items()}
        for row, i in enumerate(indices):
            results[i] = {key: value[row] for key, value in out.items()}
    return {key: np.stack([r[key] for r in results]) for key in results[0]}


def _read_inputs(videos: list[tuple[str, str]], dim: int, num_keyframes: int,
                 failures: list[tuple[str, str]] | None
                 ) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(video, feature path, keyframes, feature) of each readable video.

    Every feature is read before any video is decoded, so a bad feature
    fails fast; with ``failures`` a video whose feature or keyframes cannot
    be read is appended there as (video, reason) and left out.
    """
    def attempt(read, video):
        try:
            return read()
        except UserInputError as error:
            if failures is None:
                raise
            failures.append((video, str(error)))
            return None

    features = [(v, f, attempt(lambda: load_video_feature(f, dim), v))
                for v, f in videos]
    readable = []
    for video, path, feature in features:
        if feature is None:
            continue
        frames = attempt(lambda: extract_keyframes(video, num_keyframes), video)
        if frames is not None:
            readable.append((video, path, frames, feature))
    return readable


def predict_videos(saved_model_dir: str, videos: Sequence[tuple[str, str]],
                   num_keyframes: int = 1, batch_size: int = 16,
                   top_k: int = 5,
                   failures: list[tuple[str, str]] | None = None
                   ) -> list[dict[str, Any]]:
    """Predicts the action class of videos with an exported SavedModel.

    Every feature file is checked before any video is decoded, so a bad
    feature fails fast.

    Args:
      saved_model_dir: directory of the SavedModel (`export.export_saved_model`).
      videos: (video path, ``.npy`` feature path) pairs.
      num_keyframes: K, keyframes extracted per video.
      batch_size: videos per call of the signature.
      top_k: number of best-scoring classes listed per video (at most C).
      failures: if a list, a video whose feature or keyframes cannot be read
        is appended as (video path, reason) and left out (``--skip_errors``);
        otherwise its error is raised before any prediction.

    Returns:
      One dict per predicted video, in input order, with keys ``video`` and
      ``feature`` (the paths), ``class_id`` (int), ``class_name`` (str),
      ``scores`` (float32 [C], the SVM decision values: margins, not
      probabilities) and ``top_k`` (list of (class name, margin), best
      first).

    Raises:
      PredictError: bad arguments, SavedModel or (without ``failures``)
        feature file.
      KeyframeError: (without ``failures``) a video is missing, cannot be
        opened or decoded, or is truncated.
    """
    if num_keyframes < 1 or batch_size < 1 or top_k < 1:
        raise PredictError(f"num_keyframes ({num_keyframes}), batch_size "
                           f"({batch_size}) and top_k ({top_k}) must be >= 1")
    videos = [(os.fspath(v), os.fspath(f)) for v, f in videos]
    if not videos:
        return []
    loaded, serving_fn = load_signature(saved_model_dir)
    names = class_name_table(loaded, saved_model_dir)
    k = min(top_k, len(names))
    inputs = _read_inputs(videos, video_feature_dim(serving_fn),
                          num_keyframes, failures)

    results = []
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start:start + batch_size]
        out = _serve_batch(serving_fn, [frames for _, _, frames, _ in batch],
                           [feature for _, _, _, feature in batch])
        for row, (video, feature, _, _) in enumerate(batch):
            scores = out["scores"][row]
            results.append(dict(video=video, feature=feature,
                                class_id=int(out["class_id"][row]),
                                class_name=out["class_name"][row].decode("utf-8"),
                                scores=scores,
                                top_k=_top_k(scores, names, k)))
    del loaded
    return results


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def format_prediction(result: dict[str, Any]) -> str:
    """The printed line of one video: predicted class, then the top-k SVM
    margins."""
    top = ", ".join(f"{name} {score:.4f}" for name, score in result["top_k"])
    return (f"{result['video']}: {result['class_name']} "
            f"(class {result['class_id']}) | SVM margins: {top}")


def check_output_path(path: str) -> str:
    """Checks the predictions file ``path`` (`OUTPUT_FORMATS`) and creates
    its folder; returns the folder.

    Raises:
      PredictError: ``path`` is a folder, has another extension, or its
        folder cannot be created.
    """
    if os.path.isdir(path):
        raise PredictError(f"{path}: expected a .csv or .jsonl file name for "
                           "the predictions, it is a folder")
    if os.path.splitext(path)[1].lower() not in OUTPUT_FORMATS:
        raise PredictError(f"--output={path}: expected a file name ending in "
                           ".csv or .jsonl (the format of the predictions)")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise PredictError(f"{path}: its folder {folder} is a file")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise PredictError(f"{path}: cannot create its folder {folder} "
                           f"({e.strerror or e})") from None
    return folder


def _write_csv_rows(stream: TextIO, results: Sequence[dict[str, Any]]) -> None:
    """The CSV layout: video, class_id, class_name, then top<i>_class and
    top<i>_svm_margin for i = 1 … k."""
    k = max((len(r["top_k"]) for r in results), default=0)
    writer = csv.writer(stream)
    writer.writerow(["video", "class_id", "class_name"]
                    + [f"top{i + 1}_{field}" for i in range(k)
                       for field in ("class", "svm_margin")])
    for r in results:
        writer.writerow([r["video"], r["class_id"], r["class_name"]]
                        + [cell for name, score in r["top_k"]
                           for cell in (name, f"{score:.6f}")])


def _write_jsonl_rows(stream: TextIO, results: Sequence[dict[str, Any]]) -> None:
    """The JSON Lines layout: one object per video (`predict.py`'s docstring)."""
    for r in results:
        stream.write(json.dumps({
            "video": r["video"], "feature": r["feature"],
            "class_id": r["class_id"], "class_name": r["class_name"],
            "top_k": [{"class_name": name, "svm_margin": round(score, 6)}
                      for name, score in r["top_k"]],
        }, ensure_ascii=False) + "\n")


def write_predictions(path: str, results: Sequence[dict[str, Any]]) -> None:
    """Writes the predictions as CSV or JSON Lines (by ``path``'s extension),
    atomically.

    The rows go to a temporary file in the same folder, which is then renamed
    to ``path``; on failure the temporary file is removed and ``path`` is
    left untouched.
    """
    folder = check_output_path(path)
    write_rows = (_write_jsonl_rows if path.lower().endswith(".jsonl")
                  else _write_csv_rows)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".",
                                   suffix=".tmp", dir=folder)
    except OSError as e:
        raise PredictError(f"{path}: cannot write the predictions there "
                           f"({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as stream:
            write_rows(stream, results)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise PredictError(f"{path}: cannot write the predictions there "
                           f"({e.strerror or e})") from None
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
