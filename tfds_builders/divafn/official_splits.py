"""Readers of the official video split files, as distributed.

UCF101 (``ucfTrainTestlist/``): ``classInd.txt`` ("1 ApplyEyeMakeup"),
``trainlist0N.txt`` ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1") and
``testlist0N.txt`` (the path alone). Known quirks handled here: CRLF line
endings; the class ``HandstandPushups`` whose files are
``v_HandStandPushups_*`` (file names are matched case-insensitively inside
their class folder); blank lines.

Class names in the lists match ``classInd.txt`` by ``semantics.class_key``
(ignoring case, spaces, ``_`` and ``-``).

Every error (``RawDataError``) names the file (and line) and says what was
expected.
"""
from __future__ import annotations

import dataclasses
import os

from divafn_tf.prep import semantics
from divafn_tf.prep.video_features import RawDataError, numbered_lines


@dataclasses.dataclass(frozen=True)
class VideoEntry:
    """One video of a split: its path on disk, class folder and id."""

    path: str
    class_name: str
    video_id: str     # the file's name on disk, without extension


def _lines(path: str) -> list[tuple[int, str]]:
    """(line number, stripped line) of the non-blank lines of a UTF-8 file."""
    if not os.path.isfile(path):
        raise RawDataError(f"{path}: split file not found")
    return numbered_lines(path)


def _resolve(root: str, class_dir: str, file_name: str, source: str) -> str:
    """root/class_dir/file_name, matching the file name case-insensitively."""
    folder = os.path.join(root, class_dir)
    exact = os.path.join(folder, file_name)
    if os.path.isfile(exact):
        return exact
    if os.path.isdir(folder):
        for candidate in os.listdir(folder):
            if candidate.lower() == file_name.lower():
                return os.path.join(folder, candidate)
    raise RawDataError(f"{source}: lists {class_dir}/{file_name}, which "
                            f"is not in {folder}")


def _entry(path: str, class_name: str) -> VideoEntry:
    """The id is the file name on disk (features are named after it)."""
    return VideoEntry(path, class_name,
                      os.path.splitext(os.path.basename(path))[0])


def read_ucf101_class_index(path: str) -> dict[str, int]:
    """classInd.txt → {class name: 0-based label}."""
    index = {}
    for number, line in _lines(path):
        parts = line.split()
        if (len(parts) != 2 or not parts[0].isascii()
                or not parts[0].isdigit()):
            raise RawDataError(f"{path}:{number}: expected '<number> <ClassName>', "
                             f"got {line!r}")
        index[parts[1]] = int(parts[0]) - 1
    if sorted(index.values()) != list(range(len(index))):
        raise RawDataError(f"{path}: class numbers must be 1..{len(index)}")
    return index


def read_ucf101_split(list_dir: str, split: int, ucf_root: str
                      ) -> tuple[list[VideoEntry], list[VideoEntry]]:
    """(train, test) videos of UCF101's official split 1, 2 or 3."""
    if split not in (1, 2, 3):
        raise RawDataError(f"UCF101 has splits 1, 2 and 3, not {split}")
    index_path = os.path.join(list_dir, "classInd.txt")
    names = list(read_ucf101_class_index(index_path))
    classes = {key: names[label] for key, label in
               semantics.class_index(names, index_path).items()}
    result = []
    for kind in ("train", "test"):
        path = os.path.join(list_dir, f"{kind}list0{split}.txt")
        entries = []
        for number, line in _lines(path):
            relative = line.split()[0].replace("\\", "/")
            if relative.count("/") != 1:
                raise RawDataError(f"{path}:{number}: expected "
                                 f"'<Class>/<video>.avi', got {line!r}")
            class_dir, file_name = relative.split("/")
            key = semantics.class_key(class_dir)
            if key not in classes:
                raise RawDataError(f"{path}:{number}: class {class_dir!r} is not "
                                 f"in classInd.txt")
            entries.append(_entry(
                _resolve(ucf_root, class_dir, file_name, f"{path}:{number}"),
                classes[key]))
        result.append(entries)
    return result[0], result[1]
