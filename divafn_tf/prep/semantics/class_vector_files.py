"""Precomputed class vectors: attribute files (``.npy``, CSV, text) and JSON tables.

Either can replace the word-vector class vectors (``--class_vectors``):
every loader returns float32 [C, k] with unit-L2 rows in the order of the
given class names.
"""
from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence

import numpy as np

from divafn_tf.prep.semantics.class_names import (class_index, class_key,
                                                  match_names)
from divafn_tf.prep.semantics.common import (SemanticsError, file_suffix,
                                             is_number, is_word2vec_header,
                                             read_json_object, read_text)
from divafn_tf.prep.video_features import read_npy

def _normalise_rows(matrix: np.ndarray, where: Sequence[str],
                    path: str) -> np.ndarray:
    """float32 unit-L2 rows; ``where[i]`` names row i in error messages."""
    matrix = np.asarray(matrix, dtype=np.float64)
    for i, row in enumerate(matrix):
        if not np.all(np.isfinite(row)):
            raise SemanticsError(f"{path}: {where[i]}: expected finite "
                                 "numbers, got NaN or Inf")
    # Scaled by the largest value first: squares of huge values overflow.
    scale = np.max(np.abs(matrix), axis=1, initial=0.0)
    for i, largest in enumerate(scale):
        if largest == 0:
            raise SemanticsError(f"{path}: {where[i]}: the vector is all zeros "
                                 "and cannot be L2-normalised")
    matrix = matrix / scale[:, None]
    return (matrix / np.linalg.norm(matrix, axis=1)[:, None]).astype(np.float32)


def _csv_fields(line: str) -> list[str]:
    """The fields of a CSV line (quotes allowed, a trailing comma ignored)."""
    fields = next(csv.reader(io.StringIO(line), skipinitialspace=True))
    fields = [f.strip() for f in fields]
    if fields and fields[-1] == "":
        fields.pop()
    return fields


def _read_attribute_text(
        path: str) -> tuple[list[tuple[int, list[str]]], bool]:
    """(line number, fields) of the data lines of a text/CSV file, is CSV.

    Blank lines and lines starting with '#' are skipped. A file whose first
    data line has a comma is read as CSV (quotes allowed); any other is split
    on whitespace (a comma further down is then a field's character).
    """
    lines = [(n, line) for n, line in
             enumerate(read_text(path).splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    is_csv = bool(lines) and "," in lines[0][1]
    if is_csv:
        return [(n, _csv_fields(line)) for n, line in lines], True
    return [(n, line.split()) for n, line in lines], False


def _parse_values(path: str, n: int, fields: Sequence[str]) -> list[float]:
    values = []
    for field in fields:
        try:
            values.append(float(field))
        except ValueError:
            raise SemanticsError(f"{path}: line {n}: expected a number, got "
                                 f"{field!r}") from None
    return values


_WORD_VECTOR_HINT = (" (it looks like a word-vector file, one word a line: "
                     "give it as word vectors, the build's --word_vectors, "
                     "not as class vectors)")


def _has_word2vec_header(path: str) -> bool:
    """Whether the file starts with word2vec's "<count> <dim>" line."""
    try:
        with open(path, "rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    return is_word2vec_header(first.decode("utf-8", errors="replace").split())


def _looks_like_word_vectors(rows: Sequence[tuple[int, list[str]]],
                             num_classes: int) -> bool:
    """Whether text rows look like a word-vector file: far more rows (over
    1,000 and 10 per class) than a class table has."""
    return len(rows) > max(1000, 10 * num_classes)


def _missing_classes_error(path: str, class_names: Sequence[str],
                           found: set[int], extra: Sequence[str]
                           ) -> SemanticsError:
    missing = [name for label, name in enumerate(class_names)
               if label not in found]
    message = (f"{path}: expected a row for every class; {len(missing)} "
               f"missing: {', '.join(map(repr, missing[:10]))}"
               + (" ..." if len(missing) > 10 else ""))
    if extra:
        message += (f" (rows of unknown classes: "
                    f"{', '.join(map(repr, extra[:10]))}"
                    + (" ...)" if len(extra) > 10 else ")"))
    return SemanticsError(message)


def _load_npy(path: str, class_names: Sequence[str]) -> np.ndarray:
    """A .npy attribute matrix [C, k], rows in class order."""
    try:
        matrix = read_npy(path)
    except ValueError as e:
        raise SemanticsError(f"{path}: expected a numeric .npy matrix: {e}"
                             ) from None
    if not isinstance(matrix, np.ndarray):   # an .npz archive
        raise SemanticsError(f"{path}: expected a numeric .npy matrix, got "
                             "an .npz archive")
    if matrix.dtype.kind not in "biuf" or matrix.ndim != 2:
        raise SemanticsError(f"{path}: expected a 2-D numeric matrix [C, k], "
                             f"got dtype {matrix.dtype} shape {matrix.shape}")
    if matrix.shape[0] != len(class_names) or matrix.shape[1] == 0:
        raise SemanticsError(f"{path}: expected {len(class_names)} rows (one "
                             f"per class, in class order) of at least one "
                             f"value, got shape {matrix.shape}")
    where = [f"row {i} (class {name!r})" for i, name in enumerate(class_names)]
    return _normalise_rows(matrix, where, path)


def load_attribute_vectors(path: str | os.PathLike,
                           class_names: Sequence[str]) -> np.ndarray:
    """Per-class attribute vectors, float32 [C, k], unit-L2 rows.

    An alternative to the paper's word-vector class embedding ("each class
    name by an L2-normalized 300 dimensional vector", §IV.B), e.g. UCF101's
    115 human-labelled attributes. Rows are L2-normalised like the word-vector
    class vectors, so that both live on the unit sphere; a zero row cannot be
    normalised and is an error.

    Accepted files:
      * ``.npy``: a numeric (float, int or bool) matrix [C, k] whose rows are
        in the order of ``class_names``. Read with ``allow_pickle=False``.
      * anything else, read as UTF-8 text, one row per class; blank lines and
        lines starting with '#' (e.g. a header) are skipped. Fields are
        separated by commas (CSV, if the first data line has a comma) or
        whitespace. Either every row starts with its class name
        (``name,v1,...,vk`` or ``name v1 ... vk``; with whitespace, the
        leading non-numeric fields form the name), matched to ``class_names``
        by ``class_key``, in any order, rows of other classes ignored; or
        rows are bare numbers in the order of ``class_names``, one per class.
        The first data line decides which.

    Args:
      path: the attribute file.
      class_names: class names in label order.

    Returns:
      float32 [len(class_names), k].

    Raises:
      SemanticsError: naming the file (and line or class) and what was
        expected: ragged rows, non-numbers, missing or repeated classes, a
        wrong row count, NaN/Inf values, zero rows, a word-vector file, or an
        unreadable file.
    """
    path = os.fspath(path)
    class_index(class_names, path)           # ambiguous class names: an error
    if file_suffix(path) == ".npy":
        return _load_npy(path, class_names)
    try:
        rows, is_csv = _read_attribute_text(path)
    except SemanticsError:
        if _has_word2vec_header(path):
            raise SemanticsError(
                f"{path}: a binary word2vec file, not class vectors (give it "
                "as word vectors, the build's --word_vectors)") from None
        raise
    if not rows:
        raise SemanticsError(f"{path}: expected one row per class, found no "
                             "data line")
    if is_word2vec_header(rows[0][1]) and (
            len(rows) == 1 or not is_number(rows[1][1][0])):
        raise SemanticsError(f"{path}: line {rows[0][0]}: a word2vec "
                             f"'<count> <dim>' line{_WORD_VECTOR_HINT}")
    try:
        return _parse_rows(path, rows, is_csv, class_names)
    except SemanticsError as e:
        if _looks_like_word_vectors(rows, len(class_names)):
            raise SemanticsError(f"{e}{_WORD_VECTOR_HINT}") from None
        raise


def _parse_rows(path: str, rows: list[tuple[int, list[str]]], is_csv: bool,
                class_names: Sequence[str]) -> np.ndarray:
    """The unit-L2 class rows of a text/CSV file's data lines (rows named
    by class or bare, in class order; ``load_attribute_vectors``)."""
    index = class_index(class_names, path)
    named = not is_number(rows[0][1][0])
    width_line = None
    width = None
    values: dict[int, tuple[int, list[float]]] = {}
    extra: list[str] = []
    for position, (n, fields) in enumerate(rows):
        if named:
            split = 1
            if not is_csv:
                # Whitespace names may span fields: up to the first number.
                while split < len(fields) and not is_number(fields[split]):
                    split += 1
            name, fields = " ".join(fields[:split]), fields[split:]
            if is_number(name):
                raise SemanticsError(f"{path}: line {n}: expected a class name "
                                     f"first (as on line {rows[0][0]}), got "
                                     f"{name!r}")
        row = _parse_values(path, n, fields)
        if not row:
            raise SemanticsError(
                f"{path}: line {n}: expected at least one value"
                + (f" after the class name {name!r}" if named else ""))
        if width is None:
            width, width_line = len(row), n
        elif len(row) != width:
            raise SemanticsError(f"{path}: line {n}: expected {width} values "
                                 f"(as on line {width_line}), got {len(row)}")
        if named:
            label = index.get(class_key(name))
            if label is None:
                extra.append(name)
                continue
            if label in values:
                raise SemanticsError(f"{path}: line {n}: class {name!r} "
                                     "already has a row on line "
                                     f"{values[label][0]}")
        else:
            label = position
            if label >= len(class_names):
                raise SemanticsError(f"{path}: expected {len(class_names)} "
                                     "rows (one per class, in class order), "
                                     f"got {len(rows)}")
        values[label] = (n, row)
    if len(values) != len(class_names):
        if not named:
            raise SemanticsError(f"{path}: expected {len(class_names)} rows "
                                 f"(one per class, in class order), got "
                                 f"{len(rows)}")
        raise _missing_classes_error(path, class_names, set(values), extra)
    matrix = np.array([values[label][1] for label in range(len(class_names))])
    where = [f"line {values[label][0]} (class {name!r})"
             for label, name in enumerate(class_names)]
    return _normalise_rows(matrix, where, path)


def _is_vector(value: object) -> bool:
    """Whether ``value`` is a non-empty JSON list of numbers."""
    return (isinstance(value, list) and bool(value) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))


def load_class_vector_file(path: str | os.PathLike,
                           class_names: Sequence[str]) -> np.ndarray:
    """Precomputed class vectors from a JSON {class name: [floats]} file.

    For class embeddings made elsewhere (e.g. "each class name by an
    L2-normalized 300 dimensional vector" built from other word vectors,
    §IV.B). Names are matched by ``class_key`` ("Apply Eye Makeup" is
    ``ApplyEyeMakeup``); entries of other classes are ignored. Rows are
    L2-normalised (a zero vector is an error).

    Args:
      path: the JSON file, a single object mapping class names to lists of
        numbers, all of the same length.
      class_names: class names in label order.

    Returns:
      float32 [len(class_names), k].

    Raises:
      SemanticsError: naming the file (and class) and what was expected: not
        a JSON object, a value that is not a non-empty list of numbers,
        vectors of different lengths, missing classes, two keys for one
        class, NaN/Inf, zero vectors.
    """
    path = os.fspath(path)
    table = read_json_object(path, "{class name: [numbers]}")
    width_key = None
    for key, vector in table.items():
        if not _is_vector(vector):
            raise SemanticsError(f"{path}: class {key!r}: expected a non-empty "
                                 "list of numbers")
        if width_key is None:
            width_key = key
        elif len(vector) != len(table[width_key]):
            raise SemanticsError(
                f"{path}: class {key!r}: expected {len(table[width_key])} "
                f"values (as for {width_key!r}), got {len(vector)}")
    matched, extra = match_names(list(table), class_names, path)
    if len(matched) != len(class_names):
        raise _missing_classes_error(path, class_names, set(matched), extra)
    keys = [matched[label] for label in range(len(class_names))]
    for key in keys:
        try:
            np.array(table[key], dtype=np.float64)
        except OverflowError:
            raise SemanticsError(f"{path}: class {key!r}: expected numbers "
                                 "within float64's range, got a larger "
                                 "integer") from None
    matrix = np.array([table[key] for key in keys], dtype=np.float64)
    return _normalise_rows(matrix, [f"class {key!r}" for key in keys], path)


def load_class_vectors(path: str | os.PathLike,
                       class_names: Sequence[str]) -> np.ndarray:
    """Precomputed class vectors: a ``.json`` table
    (``load_class_vector_file``), else an attribute file
    (``load_attribute_vectors``: ``.npy``, CSV or whitespace text)."""
    if file_suffix(os.fspath(path)) == ".json":
        return load_class_vector_file(path, class_names)
    return load_attribute_vectors(path, class_names)
