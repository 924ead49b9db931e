"""Improved Dense Trajectories: reading ``improved_trajectory``'s text output.

The paper's IDT video feature (§IV.B) starts from Heng Wang's improved
trajectories (Wang & Schmid 2013, "Action Recognition with Improved
Trajectories", ICCV), computed by the ``DenseTrackStab`` binary of
``improved_trajectory_release`` (``DenseTrackStab video.avi | gzip >
video.gz``). It prints one trajectory per line, tab separated (every field,
the last included, is followed by a tab): at the default parameters
(``-L 15`` track length, ``-N 32`` patch size, ``-s 2`` spatial and ``-t 3``
temporal cells) 436 numbers:

=========  =======  =====================================================
columns    count    what
=========  =======  =====================================================
1-10       10       frameNum, mean_x, mean_y, var_x, var_y, length,
                    scale, x_pos, y_pos, t_pos (information, not a
                    descriptor)
11-40      30       Trajectory: 15 displacements (x, y), normalised by
                    the sum of their magnitudes
41-136     96       HOG: 8 bins × 2 × 2 cells × 3 time cells
137-244    108      HOF: 9 bins × 2 × 2 × 3
245-340    96       MBHx: 8 × 2 × 2 × 3
341-436    96       MBHy: 8 × 2 × 2 × 3
=========  =======  =====================================================

(``DenseTrackStab.cpp``'s ``printf`` of the 10 information fields and of the
displacements, then ``PrintDesc`` of HOG, HOF, MBHx and MBHy, each
``ntCells`` × ``nBins·nxCells·nyCells`` values, ``InitDescInfo(&hofInfo, 9,
...)`` for HOF's 9 bins, 8 for the others.)

Descriptor used by default: the five descriptors concatenated, Trajectory +
HOG + HOF + MBHx + MBHy, 426-d, coded with one codebook (`divafn_tf.prep.llc`).
The paper does not say which parts it codes; the five descriptors are what
Wang & Schmid call the IDT feature, and one concatenated descriptor keeps
one codebook of 2000 as §IV.B states (per-descriptor codebooks would give a
5 × 2000-d feature). The information fields are positions and scales, not
descriptors, and are never coded. ``parts`` selects a subset.

Files may be plain text or gzipped (detected by the gzip magic bytes, not by
the name), and are read streaming, a block of lines at a time. Every line
must have 436 finite numbers; a line that has not raises `IdtFileError`
naming ``file:line``, the column and its field. A file without trajectories
(a video in which none survived) gives an array of shape [0, D].
"""
from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from divafn_tf.errors import UserInputError

# The fields of one line at improved_trajectory's default parameters, in order.
INFO_COLUMNS = 10
PART_SIZES = {"trajectory": 30, "hog": 96, "hof": 108, "mbhx": 96, "mbhy": 96}
PARTS = tuple(PART_SIZES)
NUM_COLUMNS = INFO_COLUMNS + sum(PART_SIZES.values())   # 436
DEFAULT_PARTS = PARTS                                     # 426-d

_GZIP_MAGIC = b"\x1f\x8b"
_BLOCK_LINES = 4096
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class IdtFileError(UserInputError):
    """An ``improved_trajectory`` output file that cannot be read as such."""


def expected_line() -> str:
    """What every line of a trajectory file must be, as errors say it."""
    return (f"expected {NUM_COLUMNS} whitespace-separated finite numbers "
            f"(improved_trajectory at its default parameters: "
            f"{INFO_COLUMNS} information fields, then "
            + ", ".join(f"{name} {size}" for name, size in PART_SIZES.items())
            + ")")


def _part_ranges() -> dict[str, tuple[int, int]]:
    """Part name → (first, end) 0-based column range in a line."""
    ranges, start = {}, INFO_COLUMNS
    for name, size in PART_SIZES.items():
        ranges[name] = (start, start + size)
        start += size
    return ranges


def check_parts(parts: Iterable[str]) -> tuple[str, ...]:
    """``parts`` as a tuple of known part names, in the file's order.

    Raises:
      UserInputError: an unknown or repeated name, or no name.
    """
    parts = tuple(parts)
    unknown = [p for p in parts if p not in PART_SIZES]
    if unknown or not parts or len(set(parts)) != len(parts):
        raise UserInputError(
            f"IDT descriptor parts {list(parts)}: expected one or more "
            f"distinct names of {', '.join(PARTS)}")
    return tuple(p for p in PARTS if p in parts)


def descriptor_dim(parts: Iterable[str] = DEFAULT_PARTS) -> int:
    """The dimension D of the descriptor of ``parts`` (426 for all five)."""
    return sum(PART_SIZES[p] for p in check_parts(parts))


def part_columns(parts: Iterable[str] = DEFAULT_PARTS) -> np.ndarray:
    """The 0-based columns of a line that make up the descriptor of ``parts``."""
    ranges = _part_ranges()
    return np.concatenate([np.arange(*ranges[p]) for p in check_parts(parts)])


def field_of_column(column: int) -> str:
    """The field a 0-based column belongs to, as errors name it."""
    if column < INFO_COLUMNS:
        return "information field"
    for name, (start, end) in _part_ranges().items():
        if start <= column < end:
            return f"{name} descriptor"
    return "beyond the last field"


def _open_binary(path: Path):
    """``path`` opened for reading bytes, through gzip if it starts with the
    gzip magic bytes."""
    with path.open("rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else path.open("rb")


def _numbered_blocks(path: Path) -> Iterator[tuple[list[int], list[str]]]:
    """(line numbers, lines) of the non-blank lines, a block at a time."""
    numbers, lines = [], []
    try:
        with _open_binary(path) as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                numbers.append(number)
                lines.append(raw.decode("utf-8", "replace"))
                if len(lines) == _BLOCK_LINES:
                    yield numbers, lines
                    numbers, lines = [], []
    except (OSError, EOFError, zlib.error) as e:
        raise IdtFileError(f"{path}: cannot be read as plain or gzipped text "
                           f"({e}); {expected_line()}") from e
    if lines:
        yield numbers, lines


def _checked_line(path: Path, number: int, line: str) -> list[float]:
    """One line's 436 numbers; `IdtFileError` naming ``file:line`` and the
    column if it has not 436 finite numbers."""
    where, fields = f"{path}:{number}", line.split()
    if len(fields) != NUM_COLUMNS:
        raise IdtFileError(f"{where}: {len(fields)} fields; {expected_line()}")
    values = []
    for column, text in enumerate(fields):
        field = f"column {column + 1} ({field_of_column(column)}) is {text[:20]!r}"
        try:
            value = float(text)
        except ValueError:
            raise IdtFileError(f"{where}: {field}, not a number; "
                               f"{expected_line()}") from None
        if not np.isfinite(value) or abs(value) > _FLOAT32_MAX:
            raise IdtFileError(f"{where}: {field}, not finite in float32; "
                               f"{expected_line()}")
        values.append(value)
    return values


def _parse_block(path: Path, numbers: list[int], lines: list[str]) -> np.ndarray:
    """The lines as float32 [n, 436]: numpy's parser, and line by line (to
    name the first bad line) if it fails or finds a wrong or non-finite row."""
    try:
        block = np.loadtxt(lines, dtype=np.float32, ndmin=2)
        if (block.shape == (len(lines), NUM_COLUMNS)
                and np.isfinite(block).all()):
            return block
    except ValueError:
        pass
    return np.array([_checked_line(path, number, line)
                     for number, line in zip(numbers, lines)], np.float32)


def read_trajectories(path: str | Path,
                      parts: Sequence[str] = DEFAULT_PARTS) -> np.ndarray:
    """The descriptors of one video's improved trajectories: float32 [n, D].

    Args:
      path: ``DenseTrackStab``'s output for one video, plain or gzipped
        (module docstring for the line layout).
      parts: the descriptor parts to keep, concatenated in the file's order
        (Trajectory, HOG, HOF, MBHx, MBHy); all five (D = 426) by default.

    Returns:
      One row per trajectory (line); [0, D] for a file without trajectories.

    Raises:
      IdtFileError: a missing or unreadable file, or a line without 436
        finite numbers (the message names ``file:line`` and the column).
    """
    path = Path(path)
    columns = part_columns(parts)
    if not path.is_file():
        raise IdtFileError(f"{path}: no such trajectory file; {expected_line()}")
    blocks = [_parse_block(path, numbers, lines)[:, columns]
              for numbers, lines in _numbered_blocks(path)]
    if not blocks:
        return np.zeros((0, columns.size), np.float32)
    return np.concatenate(blocks)
