"""Semantic vectors of class names: word vectors, attributes, precomputed.

DIVAFN projects its shared features onto the semantic space of the class
names (DESIGN.md §2). The paper represents "each class name by an
L2-normalized 300 dimensional vector ... accumulating the word vectors of each
unique word" of the name (§IV.B), with skip-gram word2vec vectors (GoogleNews):
"walking with dog" becomes the L2-normalised sum of the vectors of "walking",
"with" and "dog".

This module provides:

* ``load_word_vectors``: word2vec binary, word2vec text (``.txt``/``.vec``
  with a "<count> <dim>" header) and GloVe text (no header) through gensim.
* ``class_name_words`` / ``phrases_for``: class phrases from dataset class
  names (UCF101 ``ApplyEyeMakeup`` -> "apply eye makeup", HMDB51
  ``brush_hair`` -> "brush hair"), optionally overridden by a phrase table.
* ``phrase_vector`` / ``class_vectors``: the paper's class vectors, with an
  out-of-vocabulary policy (``oov="error"`` or ``"skip_word"``).
* ``load_attribute_vectors``: per-class attribute vectors (e.g. UCF101's 115
  human-labelled attributes) from ``.npy`` or text/CSV files.
* ``load_class_vector_file``: a precomputed JSON {class name: vector} table.

Every loader returns float32 [C, k] with unit-L2 rows in the order of the
given class names, so any of them can replace the word-vector class vectors.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from gensim import utils as gensim_utils
from gensim.models import KeyedVectors

from divafn_tf.errors import UserInputError

_WORD_SEPARATORS = re.compile(r"[\s_\-]+")
# Within a separator-free token: an acronym before a capitalised word
# ("HTMLParser" -> HTML, Parser), a capitalised or lower-case word, a run of
# capitals, or a run of digits.
_CAMEL_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")
_TEXT_SUFFIXES = (".txt", ".vec")

OovPolicy = Literal["error", "skip_word"]
_OOV_POLICIES = ("error", "skip_word")


class OutOfVocabularyError(KeyError, UserInputError):
    """Words of class phrases that have no vector.

    The message lists every missing word with its class phrase, e.g.
    ``'trampoline' in "jumping on trampoline"``.

    Attributes:
      missing: (word, phrase) pairs, one per missing word of each phrase.
    """

    def __init__(self, missing: Sequence[tuple[str, str]], detail: str = "",
                 hint: str = ""):
        self.missing = list(missing)
        listing = ", ".join(f"{word!r} in \"{phrase}\""
                            for word, phrase in self.missing)
        super().__init__(f"{len(self.missing)} word(s) missing from the word "
                         f"vectors{detail}: {listing}{hint}")

    def __str__(self) -> str:  # KeyError would quote the whole message.
        return str(self.args[0])


# --------------------------------------------------------------------------
# Word vectors.


def _format_suffix(path: str) -> str:
    """The lower-cased extension of ``path``, past any compression suffix."""
    name = os.path.basename(path).lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    return os.path.splitext(name)[1]


def _has_word2vec_header(path: str) -> bool:
    """Whether the first line of a text file looks like "<count> <dim>"."""
    with gensim_utils.open(path, "rb") as fin:
        first = fin.readline()
    fields = first.decode("utf-8", errors="replace").split()
    return (len(fields) == 2
            and all(f.isascii() and f.isdigit() for f in fields))


def load_word_vectors(path: str | os.PathLike,
                      binary: bool | None = None,
                      no_header: bool | None = None) -> KeyedVectors:
    """Loads word vectors in the word2vec (binary or text) or GloVe format.

    The paper's class vectors accumulate "the word vectors of each unique
    word" of a class name (§IV.B); this loads those word vectors with gensim's
    ``KeyedVectors.load_word2vec_format``.

    Args:
      path: a word vector file, e.g. GoogleNews-vectors-negative300.bin
        (word2vec binary), wiki-news-300d-1M.vec (word2vec text) or
        glove.6B.300d.txt (GloVe). ``.gz``/``.bz2``/``.xz`` compressed files
        are read transparently; the extension before it counts.
      binary: binary or text format; None infers binary from a ``.bin``
        extension and text from any other (``.txt``, ``.vec``, ...).
      no_header: text files only. True for files without the word2vec
        "<count> <dim>" first line (GloVe); False for files with it; None
        detects it: a first line of exactly two non-negative integers is a
        header, anything else (GloVe's "<word> <v1> ... <vk>") is not.

    Returns:
      The gensim ``KeyedVectors``.

    Raises:
      ValueError: ``no_header=True`` with a binary file, or a malformed file
        (the message names the file).
    """
    path = os.fspath(path)
    if binary is None:
        binary = _format_suffix(path) == ".bin"
    if binary:
        if no_header:
            raise ValueError(f"{path}: no_header=True is only supported for "
                             "text files (GloVe), not binary word2vec")
        no_header = False
    elif no_header is None:
        no_header = not _has_word2vec_header(path)
    try:
        return KeyedVectors.load_word2vec_format(path, binary=binary,
                                                 no_header=no_header)
    except (ValueError, EOFError, UnicodeDecodeError) as e:
        kind = ("binary word2vec" if binary else
                "GloVe (no header)" if no_header else "text word2vec")
        raise ValueError(f"{path}: cannot read it as {kind} vectors: {e}") from e


# --------------------------------------------------------------------------
# Class names and phrases.


def phrase_words(phrase: str) -> list[str]:
    """Unique lower-cased words of a phrase, in order of first appearance.

    Words are separated by spaces, underscores or hyphens. These are the
    "unique word[s]" whose vectors make up a class vector (§IV.B).
    """
    words = [w for w in _WORD_SEPARATORS.split(phrase.lower()) if w]
    return list(dict.fromkeys(words))


def class_name_words(name: str) -> list[str]:
    """Lower-cased words of a dataset class name, in order, repeats kept.

    Splits CamelCase (UCF101: ``ApplyEyeMakeup`` -> apply eye makeup,
    ``YoYo`` -> yo yo, ``PlayingDaf`` -> playing daf, ``HandstandPushups`` ->
    handstand pushups), snake_case (HMDB51 ``brush_hair``), hyphens and
    spaces. Runs of capitals stay one word (``PlayingTV`` -> playing tv),
    digit runs are words, other punctuation separates words.

    Args:
      name: a class name, e.g. a UCF101 directory name.

    Returns:
      The words (an empty list for a name without letters or digits).
    """
    return [w.lower() for token in _WORD_SEPARATORS.split(name)
            for w in _CAMEL_WORDS.findall(token)]


def _name_key(name: str) -> str:
    """Case- and spacing-insensitive key of a class name."""
    return " ".join(name.casefold().split())


def phrases_for(class_names: Sequence[str],
                table: Mapping[str, str] | None = None) -> list[str]:
    """The phrase of each class whose word vectors make its class vector.

    The paper embeds each class name by "accumulating the word vectors of
    each unique word" (§IV.B); a phrase table fixes names whose split words are
    not the intended ones or lack vectors (e.g. ``YoYo`` -> "yoyo").

    Args:
      class_names: class names in label order.
      table: optional {class name: phrase}; looked up by exact name, then
        case-insensitively. Classes absent from it (or all classes when None)
        get their ``class_name_words`` joined by spaces. Extra entries are
        ignored.

    Returns:
      One phrase per class, in the order of ``class_names``.

    Raises:
      ValueError: a class name or table phrase without any word.
    """
    folded = {}
    if table is not None:
        for key, phrase in table.items():
            folded.setdefault(_name_key(key), phrase)
    phrases = []
    for name in class_names:
        if table is not None and name in table:
            phrase = table[name]
        elif _name_key(name) in folded:
            phrase = folded[_name_key(name)]
        else:
            words = class_name_words(name)
            if not words:
                raise ValueError(f"class name {name!r} has no word")
            phrase = " ".join(words)
        if not phrase_words(phrase):
            raise ValueError(f"the phrase {phrase!r} of class {name!r} has no "
                             "word")
        phrases.append(phrase)
    return phrases


# --------------------------------------------------------------------------
# Class vectors from word vectors.


def check_oov_policy(oov: str) -> None:
    """Raises ValueError unless ``oov`` is a known out-of-vocabulary policy."""
    if oov not in _OOV_POLICIES:
        raise ValueError(f"oov must be one of {_OOV_POLICIES}, got {oov!r}")


def _missing_words(kv: KeyedVectors, phrase: str) -> list[tuple[str, str]]:
    return [(w, phrase) for w in phrase_words(phrase) if w not in kv]


def _unfillable(kv: KeyedVectors, phrase: str,
                oov: str) -> list[tuple[str, str]]:
    """Missing words that make ``phrase`` fail under the ``oov`` policy."""
    missing = _missing_words(kv, phrase)
    if oov == "skip_word" and len(missing) < len(phrase_words(phrase)):
        return []
    return missing


def phrase_vector(kv: KeyedVectors, phrase: str,
                  oov: OovPolicy = "error") -> np.ndarray:
    """L2-normalised sum of the vectors of the phrase's unique words (§IV.B).

    Args:
      kv: word vectors.
      phrase: a class phrase, e.g. "walking with dog".
      oov: "error" raises when any word has no vector; "skip_word" leaves
        such words out and raises only when none of the words has a vector.

    Returns:
      float32 [k], unit L2 norm.

    Raises:
      OutOfVocabularyError: missing words, under the ``oov`` policy.
      ValueError: the phrase has no word, its vectors sum to zero, or an
        unknown ``oov``.
    """
    check_oov_policy(oov)
    words = phrase_words(phrase)
    if not words:
        raise ValueError(f"class phrase {phrase!r} has no word")
    missing = _unfillable(kv, phrase, oov)
    if missing:
        raise OutOfVocabularyError(
            missing, " (no word of the phrase has a vector)"
            if oov == "skip_word" else "")
    words = [w for w in words if w in kv]
    total = np.sum([np.asarray(kv[w], dtype=np.float64) for w in words], axis=0)
    norm = np.linalg.norm(total)
    if norm == 0:
        raise ValueError(f"the word vectors of {phrase!r} sum to zero")
    return (total / norm).astype(np.float32)


def class_vectors(kv: KeyedVectors, phrases: Sequence[str],
                  oov: OovPolicy = "error") -> np.ndarray:
    """Semantic vectors of class phrases, float32 [C, k], one unit row each.

    As in the paper, "each class name [is represented] by an L2-normalized 300
    dimensional vector ... accumulating the word vectors of each unique word"
    (§IV.B); the dimension here is that of ``kv``.

    Out-of-vocabulary policy (``oov``):
      * ``"error"`` (default): any word without a vector raises
        ``OutOfVocabularyError`` listing every missing word of every phrase
        with its phrase, e.g. ``'trampoline' in "jumping on trampoline"``.
      * ``"skip_word"``: words without a vector are left out of the sum; a
        phrase none of whose words has a vector still raises
        ``OutOfVocabularyError`` (listing the words of all such phrases).
        Use ``phrases_for`` with a phrase table to fix such classes instead.

    Args:
      kv: word vectors (``load_word_vectors``).
      phrases: one phrase per class, in label order.
      oov: the policy above.

    Raises:
      OutOfVocabularyError: missing words, under the ``oov`` policy.
      ValueError: a phrase without words or whose vectors sum to zero, or
        an unknown ``oov``.
    """
    check_oov_policy(oov)
    missing = [m for phrase in phrases for m in _unfillable(kv, phrase, oov)]
    if missing:
        raise OutOfVocabularyError(
            missing, " (no word of these phrases has a vector)"
            if oov == "skip_word" else "")
    return np.stack([phrase_vector(kv, phrase, oov) for phrase in phrases])


# --------------------------------------------------------------------------
# Attribute vectors and precomputed class vectors.


def _normalise_rows(matrix: np.ndarray, where: Sequence[str],
                    path: str) -> np.ndarray:
    """float32 unit-L2 rows; ``where[i]`` names row i in error messages."""
    matrix = np.asarray(matrix, dtype=np.float64)
    for i, row in enumerate(matrix):
        if not np.all(np.isfinite(row)):
            raise ValueError(f"{path}: {where[i]}: expected finite numbers, "
                             "got NaN or Inf")
    norms = np.linalg.norm(matrix, axis=1)
    for i, norm in enumerate(norms):
        if norm == 0:
            raise ValueError(f"{path}: {where[i]}: the vector is all zeros and "
                             "cannot be L2-normalised")
    return (matrix / norms[:, None]).astype(np.float32)


def _class_index(class_names: Sequence[str], path: str) -> dict[str, int]:
    """Case-insensitive key -> label; raises on duplicate class names."""
    index: dict[str, int] = {}
    for label, name in enumerate(class_names):
        key = _name_key(name)
        if key in index:
            raise ValueError(
                f"{path}: class names {class_names[index[key]]!r} and "
                f"{name!r} are the same ignoring case")
        index[key] = label
    if not index:
        raise ValueError(f"{path}: no class names given")
    return index


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_attribute_text(
        path: str) -> tuple[list[tuple[int, list[str]]], bool]:
    """(line number, fields) of the data lines of a text/CSV file, is CSV.

    Blank lines and lines starting with '#' are skipped. Files with a comma
    on any data line are read as CSV (quotes allowed), others are split on
    whitespace.
    """
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a UTF-8 text file ({e})") from e
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if any("," in line for _, line in lines):
        rows = []
        for n, line in lines:
            fields = next(csv.reader(io.StringIO(line), skipinitialspace=True))
            fields = [f.strip() for f in fields]
            if fields and fields[-1] == "":  # a trailing comma
                fields.pop()
            rows.append((n, fields))
        return rows, True
    return [(n, line.split()) for n, line in lines], False


def _parse_values(path: str, n: int, fields: Sequence[str]) -> list[float]:
    values = []
    for field in fields:
        try:
            values.append(float(field))
        except ValueError:
            raise ValueError(f"{path}: line {n}: expected a number, got "
                             f"{field!r}") from None
    return values


def _missing_classes_error(path: str, class_names: Sequence[str],
                           found: set[int], extra: Sequence[str]) -> ValueError:
    missing = [name for label, name in enumerate(class_names)
               if label not in found]
    message = (f"{path}: expected a row for every class; {len(missing)} "
               f"missing: {', '.join(map(repr, missing[:10]))}"
               + (" ..." if len(missing) > 10 else ""))
    if extra:
        message += (f" (rows of unknown classes: "
                    f"{', '.join(map(repr, extra[:10]))}"
                    + (" ...)" if len(extra) > 10 else ")"))
    return ValueError(message)


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
        separated by commas (CSV, if any line has a comma) or whitespace.
        Either every row starts with its class name (``name,v1,...,vk`` or
        ``name v1 ... vk``; with whitespace, the leading non-numeric fields
        form the name), matched to ``class_names`` case-insensitively, in any
        order, rows of other classes ignored; or rows are bare numbers in the
        order of ``class_names``, one per class. The first data line decides
        which.

    Args:
      path: the attribute file.
      class_names: class names in label order.

    Returns:
      float32 [len(class_names), k].

    Raises:
      ValueError: naming the file (and line or class) and what was expected:
        ragged rows, non-numbers, missing or repeated classes, a wrong row
        count, NaN/Inf values, zero rows, or an unreadable file.
    """
    path = os.fspath(path)
    index = _class_index(class_names, path)
    if _format_suffix(path) == ".npy":
        try:
            matrix = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"{path}: expected a numeric .npy matrix: {e}"
                             ) from e
        if matrix.dtype.kind not in "biuf" or matrix.ndim != 2:
            raise ValueError(f"{path}: expected a 2-D numeric matrix [C, k], "
                             f"got dtype {matrix.dtype} shape {matrix.shape}")
        if matrix.shape[0] != len(class_names) or matrix.shape[1] == 0:
            raise ValueError(f"{path}: expected {len(class_names)} rows (one "
                             f"per class, in class order) of at least one "
                             f"value, got shape {matrix.shape}")
        where = [f"row {i} (class {name!r})"
                 for i, name in enumerate(class_names)]
        return _normalise_rows(matrix, where, path)

    rows, is_csv = _read_attribute_text(path)
    if not rows:
        raise ValueError(f"{path}: expected one row per class, found no data "
                         "line")
    named = not _is_number(rows[0][1][0])
    width_line = None
    width = None
    values: dict[int, tuple[int, list[float]]] = {}
    extra: list[str] = []
    for position, (n, fields) in enumerate(rows):
        if named:
            split = 1
            if not is_csv:
                # Whitespace names may span fields: up to the first number.
                while split < len(fields) and not _is_number(fields[split]):
                    split += 1
            name, fields = " ".join(fields[:split]), fields[split:]
            if _is_number(name):
                raise ValueError(f"{path}: line {n}: expected a class name "
                                 f"first (as on line {rows[0][0]}), got "
                                 f"{name!r}")
        row = _parse_values(path, n, fields)
        if not row:
            raise ValueError(f"{path}: line {n}: expected at least one value")
        if width is None:
            width, width_line = len(row), n
        elif len(row) != width:
            raise ValueError(f"{path}: line {n}: expected {width} values (as "
                             f"on line {width_line}), got {len(row)}")
        if named:
            label = index.get(_name_key(name))
            if label is None:
                extra.append(name)
                continue
            if label in values:
                raise ValueError(f"{path}: line {n}: class {name!r} already "
                                 f"has a row on line {values[label][0]}")
        else:
            label = position
            if label >= len(class_names):
                raise ValueError(f"{path}: expected {len(class_names)} rows "
                                 "(one per class, in class order), got "
                                 f"{len(rows)}")
        values[label] = (n, row)
    if len(values) != len(class_names):
        if not named:
            raise ValueError(f"{path}: expected {len(class_names)} rows (one "
                             f"per class, in class order), got {len(rows)}")
        raise _missing_classes_error(path, class_names, set(values), extra)
    matrix = np.array([values[label][1] for label in range(len(class_names))])
    where = [f"line {values[label][0]} (class {name!r})"
             for label, name in enumerate(class_names)]
    return _normalise_rows(matrix, where, path)


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice")
        result[key] = value
    return result


def load_class_vector_file(path: str | os.PathLike,
                           class_names: Sequence[str]) -> np.ndarray:
    """Precomputed class vectors from a JSON {class name: [floats]} file.

    For class embeddings made elsewhere (e.g. "each class name by an
    L2-normalized 300 dimensional vector" built from other word vectors,
    §IV.B). Names are matched case-insensitively; entries of other classes
    are ignored. Rows are L2-normalised (a zero vector is an error).

    Args:
      path: the JSON file, a single object mapping class names to lists of
        numbers, all of the same length.
      class_names: class names in label order.

    Returns:
      float32 [len(class_names), k].

    Raises:
      ValueError: naming the file (and class) and what was expected: not a
        JSON object, a value that is not a non-empty list of numbers, vectors
        of different lengths, missing or repeated classes, NaN/Inf, zero
        vectors.
    """
    path = os.fspath(path)
    index = _class_index(class_names, path)
    try:
        with open(path, encoding="utf-8-sig") as f:
            table = json.load(f, object_pairs_hook=_reject_duplicate_keys)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: expected a JSON object {{class name: "
                         f"[numbers]}}: {e}") from e
    if not isinstance(table, dict):
        raise ValueError(f"{path}: expected a JSON object {{class name: "
                         f"[numbers]}}, got a {type(table).__name__}")
    width = width_key = None
    values: dict[int, tuple[str, list[float]]] = {}
    extra: list[str] = []
    for key, vector in table.items():
        if (not isinstance(vector, list) or not vector or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                for v in vector)):
            raise ValueError(f"{path}: class {key!r}: expected a non-empty "
                             "list of numbers")
        if width is None:
            width, width_key = len(vector), key
        elif len(vector) != width:
            raise ValueError(f"{path}: class {key!r}: expected {width} values "
                             f"(as for {width_key!r}), got {len(vector)}")
        label = index.get(_name_key(key))
        if label is None:
            extra.append(key)
            continue
        if label in values:
            raise ValueError(f"{path}: classes {values[label][0]!r} and "
                             f"{key!r} are the same ignoring case")
        values[label] = (key, [float(v) for v in vector])
    if len(values) != len(class_names):
        raise _missing_classes_error(path, class_names, set(values), extra)
    matrix = np.array([values[label][1] for label in range(len(class_names))])
    where = [f"class {values[label][0]!r}" for label in range(len(class_names))]
    return _normalise_rows(matrix, where, path)
