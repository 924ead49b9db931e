"""The real datasets' files in a manual dir, as their sources distribute them.

The four image→video pairs of the paper (§IV.A) read one manual dir; each
pair uses the parts it needs::

    UCF-101/<Class>/v_<Class>_gXX_cYY.avi           UCF101 videos
    ucfTrainTestlist/classInd.txt, trainlist0N.txt, testlist0N.txt
    hmdb51/<class>/<video>.avi                      HMDB51 videos
    Stanford40/JPEGImages/<class>_<nnn>.jpg         Stanford40 images
    ASD/<source class>/<image>                      one folder per class
    EAD/<source class>/<image>                      (HII classes; Stanford40
                                                    classes fall back on
                                                    Stanford40/JPEGImages)
    BU101/<Class>/<image>                           one folder per class
    features/<ucf101|hmdb51>_<c3d|idt>/             video features, either
        <video id>.npy  (one per video)  or  features.npy + features_index.txt
    GoogleNews-vectors-negative300.bin[.gz]         word2vec (binary); the
                                                    default word vectors

Choices where the paper is silent (documented in the README too):

* Selection. S→U, A→U and E→H use a fixed number of samples per class
  ("110 samples for both image and video modalities", §IV.A): the first N
  videos and the first N images of the class in file-name order. A class
  with fewer keeps what it has (logged).
* Pairing. Images and videos are not paired in content (docs/design.md §2): in a
  class, the i-th video (file-name order) gets the (i mod n_images)-th image.
  One triplet per video: surplus images are unused.
* B→U. The videos of one official split (train and test lists), each class's
  BU101 images paired with its train videos and, again from the first image,
  with its test videos.
* Folder names. Class folders are matched by ``semantics.class_key``,
  ignoring case, spaces, ``_`` and ``-`` ("walking_with_dog" is
  ``WalkingWithDog``), so BU101/ASD/EAD copies named either way are found;
  two folders of one class are an error.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from absl import logging

from divafn_tf.prep import semantics
from divafn_tf.prep.keyframes import VIDEO_EXTENSIONS
from tfds_builders.divafn import class_tables, official_splits
from divafn_tf.prep.video_features import RawDataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff",
                    ".webp")
WORD2VEC_FILES = ("GoogleNews-vectors-negative300.bin",
                  "GoogleNews-vectors-negative300.bin.gz")
# The folder (after ``<set>_``) of each builder config kind's features: the
# frames configs read what ``python -m divafn_tf.features
# --kind=frames_efficientnet_lite0`` writes.
FEATURE_FOLDERS = {"c3d": "c3d", "idt": "idt",
                   "frames": "frames_efficientnet_lite0"}
_UCF_ROOT, _UCF_LISTS, _HMDB_ROOT = "UCF-101", "ucfTrainTestlist", "hmdb51"
# Phrase tables shipped with the package (phrases/<name>.json): the UCF101
# and HMDB51 names whose split words lack a vector in GloVe 6B or GoogleNews
# word2vec, or mean something else (README.md in this folder).
PHRASES_DIR = Path(__file__).parent / "phrases"
SHIPPED_PHRASE_TABLES = ("ucf101", "hmdb51")
_STANFORD40_IMAGES = "Stanford40/JPEGImages"


@dataclasses.dataclass(frozen=True)
class Triplet:
    """The files of one training triplet (docs/design.md §2)."""

    label: int
    image: Path
    video: Path
    video_id: str     # the video's file name without extension


def _class_folders(root: Path, class_name: str) -> list[Path]:
    """The folders of ``root`` named as ``class_name`` (``class_key``)."""
    key = semantics.class_key(class_name)
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and semantics.class_key(p.name) == key)


def find_class_folder(root: Path, class_name: str) -> Path:
    """The one folder of ``root`` named as ``class_name``, ignoring case,
    spaces, ``_`` and ``-``.

    Raises:
      RawDataError: no folder, or several, match.
    """
    if not root.is_dir():
        raise RawDataError(f"missing directory {root}")
    matches = _class_folders(root, class_name)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise RawDataError(f"{root}: several folders match class "
                           f"{class_name!r}: {[p.name for p in matches]}")
    raise RawDataError(f"{root}: no folder for class {class_name!r} (expected "
                       f"{root / class_name}, or a name differing only in "
                       f"case, spaces, '_' or '-')")


def files_in(folder: Path, extensions: Sequence[str]) -> list[Path]:
    """The files of ``folder`` with one of ``extensions``, sorted by name.

    Raises:
      RawDataError: the folder is missing or holds no such file.
    """
    if not folder.is_dir():
        raise RawDataError(f"missing directory {folder}")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in extensions)
    if not files:
        raise RawDataError(f"{folder}: no file with an extension in "
                           f"{tuple(extensions)}")
    return files


def stanford40_images(manual_dir: Path, class_name: str) -> list[Path]:
    """Stanford40's ``JPEGImages/<class>_<nnn>.jpg`` of one action, sorted."""
    folder = manual_dir / _STANFORD40_IMAGES
    if not folder.is_dir():
        raise RawDataError(f"missing directory {folder} (Stanford40's "
                           "JPEGImages, as extracted from its archive)")
    pattern = re.compile(re.escape(class_name) + r"_\d+\.jpe?g", re.IGNORECASE)
    images = sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name))
    if not images:
        raise RawDataError(f"{folder}: no image named {class_name}_<number>.jpg "
                           f"(Stanford40 action {class_name!r})")
    return images


def _first(items: list[Path], limit: int | None,
           short: list[str], what: str) -> list[Path]:
    """The first ``limit`` items; records ``what`` in ``short`` if fewer."""
    if limit is not None and len(items) < limit:
        short.append(f"{what} ({len(items)})")
    return items[:limit]


def pair_by_class(label: int, images: list[Path],
                  videos: list[Path]) -> list[Triplet]:
    """Video i of a class with image i mod len(images) (module docstring)."""
    return [Triplet(label, images[i % len(images)], video, video.stem)
            for i, video in enumerate(videos)]


@dataclasses.dataclass(frozen=True)
class PairSpec:
    """Where one pair's images and videos come from."""

    name: str                          # s2u | a2u | e2h | b2u
    table: tuple[class_tables.ClassPair, ...]
    video_dataset: str                 # ucf101 | hmdb51
    image_source: str                  # stanford40 | ASD | EAD | BU101
    samples_per_class: int | None      # None: all (B→U)


# B→U: all 101 UCF101 classes, BU101 folders named as them (§IV.A.4); the
# phrase of a class is its CamelCase name split into words.
B2U = tuple(class_tables.ClassPair(c, c, " ".join(semantics.class_name_words(c)))
            for c in class_tables.UCF101_CLASSES)

PAIRS = {
    "s2u": PairSpec("s2u", class_tables.S2U, "ucf101", "stanford40", 110),
    "a2u": PairSpec("a2u", class_tables.A2U, "ucf101", "ASD", 50),
    "e2h": PairSpec("e2h", class_tables.E2H, "hmdb51", "EAD", 100),
    "b2u": PairSpec("b2u", B2U, "ucf101", "BU101", None),
}


def _has_class_folder(root: Path, class_name: str) -> bool:
    return root.is_dir() and bool(_class_folders(root, class_name))


def _image_files(spec: PairSpec, manual_dir: Path,
                 pair: class_tables.ClassPair) -> list[Path]:
    """The image files of one class of a pair, sorted by name.

    E→H's Stanford40 classes come from ``EAD/<class>/`` when that folder
    exists, else straight from Stanford40's ``JPEGImages``.
    """
    root = manual_dir / spec.image_source
    if spec.image_source == "stanford40" or (
            spec.name == "e2h"
            and pair.image_class not in class_tables.E2H_FROM_HII
            and not _has_class_folder(root, pair.image_class)):
        return stanford40_images(manual_dir, pair.image_class)
    return files_in(find_class_folder(root, pair.image_class), IMAGE_EXTENSIONS)


def _video_root(spec: PairSpec, manual_dir: Path) -> Path:
    return manual_dir / (_UCF_ROOT if spec.video_dataset == "ucf101"
                         else _HMDB_ROOT)


def pool_triplets(spec: PairSpec, manual_dir: Path) -> list[Triplet]:
    """S→U, A→U, E→H: N images and N videos per class, paired (module doc)."""
    video_root, limit = _video_root(spec, manual_dir), spec.samples_per_class
    triplets, short = [], []
    for label, pair in enumerate(spec.table):
        videos = files_in(find_class_folder(video_root, pair.video_class),
                          VIDEO_EXTENSIONS)
        triplets += pair_by_class(
            label,
            _first(_image_files(spec, manual_dir, pair), limit, short,
                   f"images of {pair.image_class!r}"),
            _first(videos, limit, short, f"videos of {pair.video_class!r}"))
    if short:
        logging.warning("%s: %d class lists have fewer files than the %d per "
                        "class of the paper, and are used whole: %s", spec.name,
                        len(short), limit, ", ".join(short))
    return triplets


def official_split_triplets(spec: PairSpec, manual_dir: Path, split: int
                            ) -> dict[str, list[Triplet]]:
    """B→U: {"train", "test"} triplets of UCF101's official split 1-3."""
    lists, root = manual_dir / _UCF_LISTS, manual_dir / _UCF_ROOT
    class_names = [pair.video_class for pair in spec.table]
    class_index = official_splits.read_ucf101_class_index(
        str(lists / "classInd.txt"))
    listed = sorted(class_index, key=class_index.get)
    if list(map(semantics.class_key, listed)) != list(
            map(semantics.class_key, class_names)):
        raise RawDataError(f"{lists / 'classInd.txt'}: expected UCF101's 101 "
                           "classes in their official order")
    entries = dict(zip(("train", "test"), official_splits.read_ucf101_split(
        str(lists), split, str(root))))
    images: dict[int, list[Path]] = {}
    result = {}
    for split_name, split_entries in entries.items():
        by_class: dict[int, list[Path]] = {}
        for entry in split_entries:
            by_class.setdefault(class_index[entry.class_name], []).append(
                Path(entry.path))
        triplets = []
        for label in sorted(by_class):
            if label not in images:
                images[label] = files_in(
                    find_class_folder(manual_dir / spec.image_source,
                                      class_names[label]), IMAGE_EXTENSIONS)
            triplets += pair_by_class(label, images[label],
                                      sorted(by_class[label]))
        result[split_name] = triplets
    return result


def feature_dir(manual_dir: Path, spec: PairSpec, kind: str) -> Path:
    """``features/<ucf101|hmdb51>_<folder>``: the video features of a pair
    (folder: `FEATURE_FOLDERS` of the kind)."""
    return manual_dir / "features" / f"{spec.video_dataset}_{FEATURE_FOLDERS[kind]}"


def phrase_table_file(value: str) -> Path:
    """The phrase table a ``--phrases`` value names: a JSON file, or the name
    of a shipped table (``SHIPPED_PHRASE_TABLES``, e.g. ``ucf101``).

    Raises:
      RawDataError: neither a file nor a shipped table.
    """
    if Path(value).is_file():
        return Path(value)
    if value in SHIPPED_PHRASE_TABLES:
        return PHRASES_DIR / f"{value}.json"
    raise RawDataError(f"--phrases={value}: no such file; expected a JSON "
                       "file {class name: phrase} or a shipped table: "
                       f"{', '.join(SHIPPED_PHRASE_TABLES)}")


def word_vectors_file(manual_dir: Path) -> Path:
    """The default word vectors: the manual dir's GoogleNews word2vec file
    (.bin or .bin.gz)."""
    for name in WORD2VEC_FILES:
        if (manual_dir / name).is_file():
            return manual_dir / name
    raise RawDataError(f"{manual_dir}: missing the word2vec vectors, expected "
                       f"{' or '.join(WORD2VEC_FILES)} (or give another "
                       f"word-vector file with --word_vectors=FILE, or the "
                       f"class vectors with --class_vectors=FILE)")
