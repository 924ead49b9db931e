"""Video feature files: one ``<video_id>.npy`` per video, or one matrix and its index.

Formats (dimension dv checked against the builder config):

* per video: ``<features dir>/<video_id>.npy``, a float vector [dv];
* one matrix: ``features.npy`` [N, dv] with ``features_index.txt`` beside it,
  line i the video id of row i (CRLF tolerated).

Files are read with ``np.load(allow_pickle=False)``: nothing is unpickled.
Every feature is a float array (any float dtype) of length dv, finite once
cast to float32, the dtype it is returned in: one rule for the builders and
for ``divafn_tf.predict`` (`serving.load_video_feature`). Every error names
the file and says what was expected.
"""
from __future__ import annotations

import os
import tokenize
from pathlib import Path

import numpy as np

from divafn_tf.errors import UserInputError

MATRIX_FILE = "features.npy"
INDEX_FILE = "features_index.txt"


class RawDataError(UserInputError):
    """A raw directory that does not hold what the config expects."""


def expected_feature(dim: int) -> str:
    """What a video feature must be, as error messages say it."""
    return f"expected a numeric vector of shape ({dim},), float and finite"


def _checked(feature: np.ndarray, dim: int, where: str) -> np.ndarray:
    """The one rule of a video feature: a float array of shape (dim,), finite
    once cast to float32 (the dtype it is returned in)."""
    expected = expected_feature(dim)
    if not np.issubdtype(feature.dtype, np.floating):
        raise RawDataError(f"{where}: {expected}; it has dtype {feature.dtype}")
    if feature.shape != (dim,):
        raise RawDataError(f"{where}: {expected}; it has shape {feature.shape}")
    feature = feature.astype(np.float32)
    bad = int(np.sum(~np.isfinite(feature)))
    if bad:
        raise RawDataError(f"{where}: expected finite values, got {bad} "
                           f"non-finite (NaN/inf) in float32 ({expected})")
    return feature


def npy_read_error(error: Exception) -> str:
    """Why ``np.load(allow_pickle=False)`` refused a file, in a few words
    (numpy's message for a file without the .npy header, or one of Python
    objects, is two sentences of advice to unpickle it)."""
    text = str(error)
    if "pickle" in text:
        return ("no .npy header, or an array of Python objects, which is "
                "never unpickled")
    if isinstance(error, MemoryError):
        return "its header announces an array larger than memory"
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


# What numpy raises on a damaged .npy header: its parser tokenizes the
# header's dict (TokenError, SyntaxError), a huge shape overflows a C long.
_NPY_ERRORS = (OSError, ValueError, EOFError, OverflowError, MemoryError,
               SyntaxError, tokenize.TokenError)


def _check_npy_size(f) -> None:
    """Raises ValueError if the .npy header at ``f``'s start announces more
    bytes than the file holds (before numpy allocates them); ``f`` is left
    at its start. A file that is no .npy is left to numpy to refuse."""
    if f.read(6) != b"\x93NUMPY":
        f.seek(0)
        return
    f.seek(0)
    version = np.lib.format.read_magic(f)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read_header(f)
    size = dtype.itemsize * int(np.prod(shape, dtype=object))
    left = os.fstat(f.fileno()).st_size - f.tell()
    f.seek(0)
    if not dtype.hasobject and size > left:
        raise ValueError(f"its header announces shape {shape} of {dtype} "
                         f"({size} bytes), the file holds {left} bytes after "
                         "it: truncated, or a damaged header")


def read_npy(path: str | Path, memory_map: bool = False):
    """A .npy array (an .npz archive if the file is one), never unpickled;
    memory-mapped (read-only) if asked.

    ``open_memmap`` refuses arrays of Python objects by itself; other reads
    go through ``np.load(file object, allow_pickle=False)``.

    Raises:
      ValueError: why it cannot be read, in a few words (`npy_read_error`),
        whatever numpy raised (a damaged header, a shape larger than the
        file, a truncated array, no .npy at all).
    """
    try:
        with Path(path).open("rb") as f:
            _check_npy_size(f)
            if memory_map:
                return np.lib.format.open_memmap(path, mode="r")
            return np.load(f, allow_pickle=False)
    except _NPY_ERRORS as e:
        raise ValueError(npy_read_error(e)) from e


def _load_npy(path: Path, expected: str, memory_map: bool = False) -> np.ndarray:
    """A .npy array (`read_npy`); ``expected`` ends the error messages."""
    try:
        array = read_npy(path, memory_map)
    except ValueError as e:
        raise RawDataError(f"{path}: cannot read a .npy array without pickle "
                           f"({e}); {expected}") from e
    if not isinstance(array, np.ndarray):   # an .npz archive
        raise RawDataError(f"{path}: not a single .npy array; {expected}")
    return array


def load_video_feature(path: str | Path, dim: int) -> np.ndarray:
    """Reads a per-video ``.npy`` feature: float32 [dim] (see `_checked`).

    Raises:
      RawDataError: the file is missing or unreadable, or not a finite 1-D
        float array of shape (dim,); the message names the file and the
        expected shape.
    """
    path = Path(path)
    if not path.is_file():
        raise RawDataError(f"{path}: no such video feature file "
                           f"({expected_feature(dim)})")
    return _checked(_load_npy(path, expected_feature(dim)), dim, str(path))


def numbered_lines(path: str | Path, layout: str = "") -> list[tuple[int, str]]:
    """(line number, stripped line) of the non-blank lines of a UTF-8 text
    file (CRLF tolerated), the split lists' and feature indexes' reader.

    Raises:
      RawDataError: a line that is not UTF-8, named ``file:line`` with the
        byte and its column; ``layout`` (e.g. " (a video id a line)")
        follows "expected UTF-8 text" in the message.
    """
    lines = []
    for number, raw in enumerate(Path(path).read_bytes().splitlines(), 1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError as e:
            raise RawDataError(f"{path}:{number}: expected UTF-8 text{layout}, "
                               f"got the byte {raw[e.start]:#04x} at column "
                               f"{e.start + 1}") from None
        if line:
            lines.append((number, line))
    return lines


def _index_ids(path: Path) -> list[str]:
    """The video ids of ``features_index.txt``, one a line."""
    return [line for _, line in numbered_lines(path, " (a video id a line)")]


class FeatureMatrix:
    """``features.npy`` [N, dv] + ``features_index.txt`` (video id per row)."""

    def __init__(self, folder: Path, dim: int):
        folder = Path(folder)
        self.matrix_path = folder / MATRIX_FILE
        index_path = folder / INDEX_FILE
        if not index_path.is_file():
            raise RawDataError(f"{index_path}: missing (the video id of each "
                               f"row of {MATRIX_FILE}, one per line)")
        ids = _index_ids(index_path)
        self.matrix = _load_npy(self.matrix_path, f"expected a matrix [N, {dim}]",
                                memory_map=True)
        if self.matrix.ndim != 2 or self.matrix.shape[1] != dim:
            raise RawDataError(f"{self.matrix_path}: expected a matrix [N, {dim}], "
                               f"got shape {self.matrix.shape}")
        if len(ids) != self.matrix.shape[0]:
            raise RawDataError(f"{index_path}: {len(ids)} video ids for the "
                               f"{self.matrix.shape[0]} rows of {MATRIX_FILE}")
        self.rows = {video_id: row for row, video_id in enumerate(ids)}
        if len(self.rows) != len(ids):
            raise RawDataError(f"{index_path}: video ids must be unique")
        self.dim = dim

    def __contains__(self, video_id: str) -> bool:
        return video_id in self.rows

    def get(self, video_id: str) -> np.ndarray:
        """The checked feature of ``video_id``."""
        if video_id not in self.rows:
            raise RawDataError(f"{self.matrix_path}: no row for video "
                               f"{video_id!r} in {INDEX_FILE}")
        row = self.rows[video_id]
        return _checked(np.asarray(self.matrix[row]), self.dim,
                        f"{self.matrix_path} row {row} ({video_id})")


class FeatureSource:
    """The video features of a folder, in either format (module docstring).

    ``features.npy`` in the folder selects the matrix format; otherwise each
    video has its ``<video_id>.npy``.
    """

    def __init__(self, folder: Path, dim: int):
        self.folder, self.dim = Path(folder), dim
        if not self.folder.is_dir():
            raise RawDataError(f"missing video feature directory {self.folder}")
        self._matrix = (FeatureMatrix(self.folder, dim)
                        if (self.folder / MATRIX_FILE).is_file() else None)

    def check_complete(self, video_ids: list[str]) -> None:
        """Raises RawDataError listing the videos that have no feature."""
        if self._matrix is not None:
            missing = [v for v in video_ids if v not in self._matrix]
            where = f"{self.folder / INDEX_FILE} has no line for"
        else:
            missing = [v for v in video_ids
                       if not (self.folder / f"{v}.npy").is_file()]
            where = f"{self.folder}: no <video id>.npy for"
        if missing:
            raise RawDataError(f"{where} {len(missing)} video(s): "
                               + ", ".join(missing[:5])
                               + (", ..." if len(missing) > 5 else ""))

    def get(self, video_id: str) -> np.ndarray:
        """The checked float32 [dim] feature of a video."""
        if self._matrix is not None:
            return self._matrix.get(video_id)
        return load_video_feature(self.folder / f"{video_id}.npy", self.dim)
