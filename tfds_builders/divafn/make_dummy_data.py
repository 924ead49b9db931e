"""Writes ``dummy_data/``, the manual dir of the ``divafn`` builder tests.

``python -m tfds_builders.divafn.make_dummy_data [--out DIR]`` (default: the
``dummy_data/`` folder next to this file) deletes and recreates DIR, then
writes tiny real files in the layouts the real datasets are distributed in,
so that ``tfds.testing.DatasetBuilderTestCase`` runs the builder's real
readers. Everything follows from ``np.random.default_rng(0)`` and the class
tables (``class_tables.py``)::

    UCF-101/<Class>/v_<Class>_g0N_c01.avi            N = 1-3, 21 classes: the
        video classes of S2U and A2U, plus HandstandPushups, whose files are
        v_HandStandPushups_g0N_c01.avi (UCF101's own quirk). Xvid AVI,
        48x36, 6 frames at 25 fps: a background and a growing, moving,
        hue-shifting rectangle, coloured by class and video.
    ucfTrainTestlist/                                CRLF, as distributed
        classInd.txt                                 "<i> <Class>", all 101
        trainlist0S.txt                              "<Class>/<video>.avi <i>"
        testlist0S.txt                               "<Class>/<video>.avi"
            S = 1-3, the 21 classes only; split 1 trains on g01, g02 and
            tests on g03, split 2 trains on g02, g03 / tests on g01, split 3
            trains on g01, g03 / tests on g02. HandstandPushups is listed as
            HandstandPushups/v_HandstandPushups_g0N_c01.avi, differing in
            case from the file on disk, as in the real lists.
    hmdb51/<class>/Dummy_Movie_<class>_f_cm_np1_fr_med_<n>.avi
        n = 0-2, the 15 E2H video classes; videos as UCF101's, 40x30.
    Stanford40/JPEGImages/<action>_00M.jpg           M = 1-2, the image
        classes of S2U and of E2H but hug, kiss, shake_hands; 32x24 JPEGs.
    Stanford40/ImageSplits/actions.txt               "action_name<TAB>
        number_of_images", then "<action><TAB><count>" per action here.
    ASD/<class>/img_00M.jpg                          M = 1-2, the 10 A2U image
        classes; riding_bike/img_002.jpg is a grayscale JPEG and
        playing_violin/img_002.png an RGBA PNG, which readers must convert.
    EAD/<class>/<class>_000M.jpg                     M = 1-2, hug, kiss,
        shake_hands (HII); E2H's other classes come from Stanford40.
    BU101/<folder>/<folder>_000M.jpg                 the 21 UCF101 classes;
        folders named as the class, but handstand_pushups, playing_guitar
        and walking_with_dog; 3 images for Archery, 1 for the others.
    features/                                        video features, values
        in multiples of 1/4 in [0, 1]: a sparse class pattern plus sparse
        noise; video id = the video's file name on disk without extension
        ucf101_c3d/features.npy + features_index.txt   float16 [63, 4096],
            line i of the index = the video id of row i, ids sorted
        ucf101_idt/<video id>.npy                      float32 [2000]
        hmdb51_c3d/<video id>.npy                      float32 [4096]
        hmdb51_idt/features.npy + features_index.txt   float16 [45, 2000]
    GoogleNews-vectors-negative300.bin               word2vec binary (gensim),
        300-d float32 Gaussian vectors of the words of every S2U, A2U and
        E2H phrase and of all 101 UCF101 class names (B2U), plus 10
        distractor words.
"""
from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from gensim.models import KeyedVectors

from divafn_tf.prep import semantics
from tfds_builders.divafn import class_tables
from tfds_builders.divafn.dummy_media import (IMAGE_SIZE, class_hue,
                                              image_pixels, video_frames,
                                              write_image, write_lines,
                                              write_video)

DEFAULT_OUT = Path(__file__).resolve().parent / "dummy_data"
SEED = 0

UCF_ROOT, UCF_LISTS, HMDB_ROOT = "UCF-101", "ucfTrainTestlist", "hmdb51"
STANFORD40, ASD, EAD, BU101 = "Stanford40", "ASD", "EAD", "BU101"
FEATURES = "features"
WORD2VEC_FILE = "GoogleNews-vectors-negative300.bin"
# What --out may hold before it is deleted: only what this script writes.
_OUTPUTS = frozenset({UCF_ROOT, UCF_LISTS, HMDB_ROOT, STANFORD40, ASD, EAD,
                      BU101, FEATURES, WORD2VEC_FILE})

UCF_FRAME_SIZE, HMDB_FRAME_SIZE = (48, 36), (40, 30)   # width, height

UCF_EXTRA_CLASS = "HandstandPushups"
# UCF101 class -> the spelling of the class in its files' names on disk.
UCF_FILE_SPELLING = {"HandstandPushups": "HandStandPushups"}
UCF_GROUPS = (1, 2, 3)
# Split -> (train groups, test groups).
UCF_SPLITS = {1: ((1, 2), (3,)), 2: ((2, 3), (1,)), 3: ((1, 3), (2,))}
HMDB_VIDEOS_PER_CLASS = 3
IMAGES_PER_CLASS = 2      # Stanford40, ASD, EAD
ASD_GRAYSCALE = ("riding_bike", 2)        # (class, image number)
ASD_RGBA_PNG = ("playing_violin", 2)
BU101_FOLDERS = {"HandstandPushups": "handstand_pushups",
                 "PlayingGuitar": "playing_guitar",
                 "WalkingWithDog": "walking_with_dog"}
BU101_IMAGE_COUNTS = {"Archery": 3}       # 1 for the other classes

C3D_DIM, IDT_DIM = 4096, 2000
WORD_DIM = 300
DISTRACTOR_WORDS = ("teapot", "volcano", "umbrella", "glacier", "lantern",
                    "pineapple", "saxophone", "cathedral", "microscope",
                    "tornado")


# --------------------------------------------------------------------------
# The output folder; videos (pixels and file writers: dummy_media.py).


def _reset(out: Path) -> None:
    """Deletes ``out`` (if it holds only this script's outputs), remakes it."""
    if out.exists():
        foreign = sorted(p.name for p in out.iterdir()
                         if p.name not in _OUTPUTS)
        if foreign:
            raise SystemExit(f"{out}: refusing to delete it, it holds files "
                             f"this script does not write: {foreign}")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def ucf_classes() -> list[str]:
    """The dummy UCF101 classes, in classInd order."""
    wanted = {p.video_class for p in class_tables.S2U + class_tables.A2U}
    wanted.add(UCF_EXTRA_CLASS)
    return [c for c in class_tables.UCF101_CLASSES if c in wanted]


def ucf_video_id(class_name: str, group: int, on_disk: bool = True) -> str:
    """``v_<Class>_g0N_c01``, spelled as on disk or as in the split lists."""
    spelling = (UCF_FILE_SPELLING.get(class_name, class_name) if on_disk
                else class_name)
    return f"v_{spelling}_g{group:02d}_c01"


def write_ucf101(out: Path) -> dict[str, int]:
    """The UCF101 videos; returns {video id: index in ``ucf_classes()``}."""
    classes, labels = ucf_classes(), {}
    for label, class_name in enumerate(classes):
        hue = class_hue(label, len(classes))
        for video, group in enumerate(UCF_GROUPS):
            video_id = ucf_video_id(class_name, group)
            write_video(out / UCF_ROOT / class_name / f"{video_id}.avi",
                         video_frames(hue, video, UCF_FRAME_SIZE))
            labels[video_id] = label
    return labels


def write_ucf_lists(out: Path) -> None:
    """classInd.txt and the train/test lists of the 3 splits, CRLF."""
    lists = out / UCF_LISTS
    number = {c: i for i, c in enumerate(class_tables.UCF101_CLASSES, start=1)}
    write_lines(lists / "classInd.txt",
                 [f"{i} {c}" for c, i in number.items()], "\r\n")
    for split, (train_groups, test_groups) in UCF_SPLITS.items():
        for kind, groups in (("train", train_groups), ("test", test_groups)):
            lines = []
            for class_name in ucf_classes():
                for group in groups:
                    video_id = ucf_video_id(class_name, group, on_disk=False)
                    entry = f"{class_name}/{video_id}.avi"
                    lines.append(f"{entry} {number[class_name]}"
                                 if kind == "train" else entry)
            write_lines(lists / f"{kind}list0{split}.txt", lines, "\r\n")


def hmdb_classes() -> list[str]:
    """The dummy HMDB51 classes: E2H's video classes, in table order."""
    return [p.video_class for p in class_tables.E2H]


def write_hmdb51(out: Path) -> dict[str, int]:
    """The HMDB51 videos; returns {video id: index in ``hmdb_classes()``}."""
    classes, labels = hmdb_classes(), {}
    for label, class_name in enumerate(classes):
        hue = class_hue(label, len(classes))
        for video in range(HMDB_VIDEOS_PER_CLASS):
            video_id = f"Dummy_Movie_{class_name}_f_cm_np1_fr_med_{video}"
            write_video(out / HMDB_ROOT / class_name / f"{video_id}.avi",
                         video_frames(hue, video, HMDB_FRAME_SIZE))
            labels[video_id] = label
    return labels


# --------------------------------------------------------------------------
# Images.


def stanford40_actions() -> list[str]:
    """S2U's image classes and E2H's Stanford40 ones, each once."""
    pairs = class_tables.S2U + tuple(
        p for p in class_tables.E2H
        if p.image_class not in class_tables.E2H_FROM_HII)
    return list(dict.fromkeys(p.image_class for p in pairs))


def write_stanford40(out: Path, rng: np.random.Generator) -> None:
    """JPEGImages/<action>_00M.jpg and ImageSplits/actions.txt."""
    actions, images = stanford40_actions(), out / STANFORD40 / "JPEGImages"
    for i, action in enumerate(actions):
        for m in range(1, IMAGES_PER_CLASS + 1):
            write_image(images / f"{action}_{m:03d}.jpg",
                         image_pixels(rng, class_hue(i, len(actions)), m - 1))
    write_lines(out / STANFORD40 / "ImageSplits" / "actions.txt",
                 ["action_name\tnumber_of_images"]
                 + [f"{a}\t{IMAGES_PER_CLASS}" for a in sorted(actions)])


def _asd_image(rng: np.random.Generator, class_name: str, class_hue: int,
               m: int) -> tuple[str, np.ndarray]:
    """(file name, pixels) of ASD image ``m``, grayscale or RGBA for two."""
    image = image_pixels(rng, class_hue, m - 1)
    if (class_name, m) == ASD_GRAYSCALE:
        return f"img_{m:03d}.jpg", cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if (class_name, m) == ASD_RGBA_PNG:
        bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
        bgra[:, : IMAGE_SIZE[0] // 2, 3] = 128     # a half-transparent half
        return f"img_{m:03d}.png", bgra
    return f"img_{m:03d}.jpg", image


def write_asd(out: Path, rng: np.random.Generator) -> None:
    """ASD/<class>/img_00M.* for A2U's image classes."""
    for i, pair in enumerate(class_tables.A2U):
        hue = class_hue(i, len(class_tables.A2U))
        for m in range(1, IMAGES_PER_CLASS + 1):
            name, image = _asd_image(rng, pair.image_class, hue, m)
            write_image(out / ASD / pair.image_class / name, image)


def write_ead(out: Path, rng: np.random.Generator) -> None:
    """EAD/<class>/<class>_000M.jpg for E2H's HII classes."""
    classes = sorted(class_tables.E2H_FROM_HII)
    for i, class_name in enumerate(classes):
        for m in range(1, IMAGES_PER_CLASS + 1):
            write_image(out / EAD / class_name / f"{class_name}_{m:04d}.jpg",
                         image_pixels(rng, class_hue(i, len(classes)), m - 1))


def write_bu101(out: Path, rng: np.random.Generator) -> None:
    """BU101/<folder>/<folder>_000M.jpg for the dummy UCF101 classes."""
    classes = ucf_classes()
    for i, class_name in enumerate(classes):
        folder = BU101_FOLDERS.get(class_name, class_name)
        for m in range(1, BU101_IMAGE_COUNTS.get(class_name, 1) + 1):
            write_image(out / BU101 / folder / f"{folder}_{m:04d}.jpg",
                         image_pixels(rng, class_hue(i, len(classes)), m - 1))


# --------------------------------------------------------------------------
# Video features.


def _feature_rows(rng: np.random.Generator, labels: Sequence[int],
                  dim: int) -> np.ndarray:
    """Rows in multiples of 1/4 in [0, 1]: a sparse pattern of the row's
    class (1/8 of the entries in {1/4, 1/2, 3/4}) plus sparse +1/4 noise."""
    n_classes = max(labels) + 1
    active = rng.random((n_classes, dim)) < 0.125
    patterns = active * rng.integers(1, 4, (n_classes, dim))
    noise = rng.random((len(labels), dim)) < 0.02
    return (patterns[np.asarray(labels)] + noise) / 4


def _write_feature_matrix(folder: Path, rows: np.ndarray,
                          video_ids: Sequence[str]) -> None:
    """features.npy (float16) with features_index.txt, its video id per row."""
    folder.mkdir(parents=True)
    np.save(folder / "features.npy", rows.astype(np.float16))
    write_lines(folder / "features_index.txt", video_ids)


def _write_feature_files(folder: Path, rows: np.ndarray,
                         video_ids: Sequence[str]) -> None:
    """One float32 ``<video id>.npy`` per row."""
    folder.mkdir(parents=True)
    for video_id, row in zip(video_ids, rows):
        np.save(folder / f"{video_id}.npy", row.astype(np.float32))


def write_features(out: Path, rng: np.random.Generator,
                   ucf_labels: dict[str, int],
                   hmdb_labels: dict[str, int]) -> None:
    """C3D and IDT features of the UCF101 and HMDB51 videos (see module doc)."""
    for name, labels, dim, writer in (
            ("ucf101_c3d", ucf_labels, C3D_DIM, _write_feature_matrix),
            ("ucf101_idt", ucf_labels, IDT_DIM, _write_feature_files),
            ("hmdb51_c3d", hmdb_labels, C3D_DIM, _write_feature_files),
            ("hmdb51_idt", hmdb_labels, IDT_DIM, _write_feature_matrix)):
        video_ids = sorted(labels)
        rows = _feature_rows(rng, [labels[v] for v in video_ids], dim)
        writer(out / FEATURES / name, rows, video_ids)


# --------------------------------------------------------------------------
# Word vectors.


def vocabulary() -> list[str]:
    """The words of every pair's phrase and UCF101 class name, distractors."""
    phrases = [p.phrase for table in (class_tables.S2U, class_tables.A2U,
                                      class_tables.E2H) for p in table]
    phrases += [" ".join(semantics.class_name_words(c))
                for c in class_tables.UCF101_CLASSES]
    words = list(dict.fromkeys(w for phrase in phrases
                               for w in semantics.phrase_words(phrase)))
    assert not set(DISTRACTOR_WORDS) & set(words), "a distractor is used"
    return words + list(DISTRACTOR_WORDS)


def write_word2vec(out: Path, rng: np.random.Generator) -> None:
    """Gaussian vectors of ``vocabulary()``, word2vec binary, via gensim.

    Values are rounded to multiples of 1/256 so the file compresses well.
    """
    words = vocabulary()
    vectors = np.round(rng.standard_normal((len(words), WORD_DIM)) * 256) / 256
    keyed = KeyedVectors(WORD_DIM)
    keyed.add_vectors(words, vectors.astype(np.float32))
    keyed.save_word2vec_format(str(out / WORD2VEC_FILE), binary=True)


# --------------------------------------------------------------------------


def make_dummy_data(out: Path) -> None:
    """Deletes and rewrites the whole dummy manual dir ``out``."""
    _reset(out)
    rng = np.random.default_rng(SEED)
    ucf_labels = write_ucf101(out)
    write_ucf_lists(out)
    hmdb_labels = write_hmdb51(out)
    write_stanford40(out, rng)
    write_asd(out, rng)
    write_ead(out, rng)
    write_bu101(out, rng)
    write_features(out, rng, ucf_labels, hmdb_labels)
    write_word2vec(out, rng)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the dummy manual dir, deleted and rewritten "
                             "(default: %(default)s)")
    make_dummy_data(parser.parse_args(argv).out)


if __name__ == "__main__":
    main()
