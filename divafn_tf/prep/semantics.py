"""Semantic vectors of class names: word vectors, attributes, precomputed.

DIVAFN projects its shared features onto the semantic space of the class
names (docs/design.md §2). The paper represents "each class name by an
L2-normalized 300 dimensional vector ... accumulating the word vectors of each
unique word" of the name (§IV.B), with skip-gram word2vec vectors (GoogleNews):
"walking with dog" becomes the L2-normalised sum of the vectors of "walking",
"with" and "dog".

This module provides:

* ``load_word_vectors``: word2vec binary, word2vec text (a "<count> <dim>"
  header) and GloVe text (no header) through gensim, the format told by the
  file's content, whatever its name.
* ``class_key`` / ``class_index``: the one way class names are matched
  (folders, JSON keys, CSV rows, split files, phrase tables): ignoring case,
  spaces, ``_`` and ``-``; two names with one key are ambiguous, an error.
* ``class_name_words`` / ``phrases_for``: class phrases from dataset class
  names (UCF101 ``ApplyEyeMakeup`` -> "apply eye makeup", HMDB51
  ``brush_hair`` -> "brush hair"), optionally overridden by a phrase table.
* ``phrase_vector`` / ``class_vectors``: the paper's class vectors, with an
  out-of-vocabulary policy (``oov="error"`` or ``"skip_word"``).
* ``load_attribute_vectors``: per-class attribute vectors (e.g. UCF101's 115
  human-labelled attributes) from ``.npy`` or text/CSV files.
* ``load_class_vector_file``: a precomputed JSON {class name: vector} table.
* ``load_class_vectors``: either of the last two, by file type.
* ``load_phrase_table``: a JSON {class name: phrase} table.

Every problem with a file a user gives raises a ``SemanticsError`` (a
``UserInputError``) naming the file, the line or class, and what was
expected.

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
_MATCHING = "case, spaces, '_' and '-'"

# Within a separator-free token: an acronym before a capitalised word
# ("HTMLParser" -> HTML, Parser), a capitalised or lower-case word, a run of
# capitals, or a run of digits.
_CAMEL_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")
_SNIFF_BYTES = 1 << 20

OovPolicy = Literal["error", "skip_word"]
_OOV_POLICIES = ("error", "skip_word")


class SemanticsError(UserInputError):
    """A word-vector, phrase, attribute or class-vector file that cannot be
    used; the message names the file, the line or class, and what was
    expected."""


class OutOfVocabularyError(KeyError, SemanticsError):
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


def _is_header(fields: Sequence[str]) -> bool:
    """Whether ``fields`` are word2vec's "<count> <dim>" first line."""
    return len(fields) == 2 and all(f.isascii() and f.isdigit() for f in fields)


def _is_text_row(line: bytes, dim: int) -> bool:
    """Whether ``line`` is a text row "<word> <v1> ... <v_dim>"."""
    try:
        fields = line.decode("utf-8").split()
        return len(fields) == dim + 1 and all(_is_number(f) for f in fields[1:])
    except UnicodeDecodeError:
        return False


def word_vector_format(path: str | os.PathLike) -> str:
    """The format of a word-vector file, told by its first two lines.

    Returns:
      ``"binary"`` (word2vec binary: a "<count> <dim>" line, then raw
      floats), ``"text"`` (word2vec text: that line, then "<word> <numbers>"
      rows) or ``"glove"`` (rows from the first line, no header).

    Raises:
      SemanticsError: the file cannot be opened.
    """
    path = os.fspath(path)
    try:
        with gensim_utils.open(path, "rb") as fin:
            head = fin.read(_SNIFF_BYTES)
    except OSError as e:
        raise SemanticsError(f"{path}: cannot open the word-vector file "
                             f"({e.strerror or e})") from None
    lines = head.split(b"\n", 2)
    header = lines[0].decode("utf-8", errors="replace").split()
    if not _is_header(header):
        return "glove"
    second = lines[1] if len(lines) > 1 else b""
    return "text" if _is_text_row(second, int(header[1])) else "binary"


_FORMAT_NAMES = {
    "binary": "binary word2vec (a '<count> <dim>' line, then binary floats)",
    "text": "text word2vec (a '<count> <dim>' line, then '<word> <numbers>' "
            "rows)",
    "glove": "GloVe text ('<word> <numbers>' rows, no header)",
}


def load_word_vectors(path: str | os.PathLike,
                      binary: bool | None = None,
                      no_header: bool | None = None) -> KeyedVectors:
    """Loads word vectors in the word2vec (binary or text) or GloVe format.

    The paper's class vectors accumulate "the word vectors of each unique
    word" of a class name (§IV.B); this loads those word vectors with gensim's
    ``KeyedVectors.load_word2vec_format``, of any dimension.

    Args:
      path: a word vector file, e.g. GoogleNews-vectors-negative300.bin
        (word2vec binary), wiki-news-300d-1M.vec (word2vec text) or
        glove.6B.300d.txt (GloVe). ``.gz``/``.bz2``/``.xz`` compressed files
        are read transparently. Its name does not matter.
      binary: binary or text format; None tells it from the content
        (``word_vector_format``).
      no_header: text files only. True for files without the word2vec
        "<count> <dim>" first line (GloVe); False for files with it; None
        tells it from the content.

    Returns:
      The gensim ``KeyedVectors``.

    Raises:
      SemanticsError: ``no_header=True`` with a binary file, a missing file,
        or a file that is not in the format (the message names the file, the
        format expected and the format its content looks like).
    """
    path = os.fspath(path)
    found = word_vector_format(path)
    told = binary is None and no_header is None
    if binary is None:
        binary = found == "binary"
    if binary:
        if no_header:
            raise SemanticsError(f"{path}: no_header=True is only supported "
                                 "for text files (GloVe), not binary word2vec")
        no_header = False
    elif no_header is None:
        no_header = found == "glove"
    expected = "binary" if binary else "glove" if no_header else "text"
    ragged = "" if binary else _ragged_row(path, no_header)
    if ragged:   # gensim would broadcast a one-number row to every dimension
        raise _format_error(path, expected, found, told, ragged)
    try:
        return KeyedVectors.load_word2vec_format(path, binary=binary,
                                                 no_header=no_header)
    except (ValueError, EOFError, UnicodeDecodeError, IndexError) as e:
        raise _format_error(path, expected, found, told, str(e)) from None


def _format_error(path: str, expected: str, found: str, told: bool,
                  reason: str) -> SemanticsError:
    """The error of a word-vector file not in the ``expected`` format;
    ``told``: the format was told from the content (``found``)."""
    if told:
        return SemanticsError(
            f"{path}: expected word vectors (word2vec binary or text, or GloVe "
            f"text); read as {_FORMAT_NAMES[expected]} (told by its first "
            f"line), it fails: {reason}")
    looks = ("" if found == expected else
             f"; its content looks like {_FORMAT_NAMES[found]}")
    return SemanticsError(f"{path}: expected {_FORMAT_NAMES[expected]} word "
                          f"vectors, cannot read it ({reason}){looks}")


def _ragged_row(path: str, no_header: bool) -> str:
    """"line N: ..." of the first text row that is not UTF-8 or whose width
    differs from the header's dimension (or, without header, from the first
    row's); "" if every row agrees."""
    width = None
    with gensim_utils.open(path, "rb") as fin:
        for number, raw in enumerate(fin, start=1):
            try:
                fields = raw.decode("utf-8").split()
            except UnicodeDecodeError:
                return f"line {number}: expected UTF-8 text, got other bytes"
            if number == 1 and not no_header:
                if not _is_header(fields):
                    return (f"line 1: expected '<count> <dim>', got "
                            f"{' '.join(fields[:3])!r}")
                width = int(fields[1])
            elif width is None:
                width = len(fields) - 1
            elif len(fields) - 1 != width:
                return (f"line {number}: expected a word and {width} numbers, "
                        f"got {len(fields)} fields")
    return ""


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


def class_key(name: str) -> str:
    """The key by which class names match: no case, spaces, ``_`` or ``-``.

    "Apply Eye Makeup", "apply_eye_makeup" and ``ApplyEyeMakeup`` are one
    class. Every match of a class name (image and video folders, JSON keys,
    CSV rows, split files, phrase tables) compares these keys.
    """
    return _WORD_SEPARATORS.sub("", name).casefold()


def class_index(class_names: Sequence[str], where: str) -> dict[str, int]:
    """``class_key`` -> label of each class.

    Raises:
      SemanticsError: naming ``where``: no class names, or two class names
        with one key (a name would match both: ambiguous).
    """
    index: dict[str, int] = {}
    for label, name in enumerate(class_names):
        key = class_key(name)
        if key in index:
            raise SemanticsError(
                f"{where}: class names {class_names[index[key]]!r} and "
                f"{name!r} are the same ignoring {_MATCHING}")
        index[key] = label
    if not index:
        raise SemanticsError(f"{where}: no class names given")
    return index


def match_names(names: Sequence[str], class_names: Sequence[str],
                where: str) -> tuple[dict[int, str], list[str]]:
    """Which of ``names`` (keys of a file) names which class.

    Returns:
      ({label: the name of ``names`` matching it}, names matching no class).

    Raises:
      SemanticsError: two of ``names`` match one class (ambiguous), or the
        class names themselves are ambiguous (``class_index``).
    """
    index = class_index(class_names, where)
    matched: dict[int, str] = {}
    extra: list[str] = []
    for name in names:
        label = index.get(class_key(name))
        if label is None:
            extra.append(name)
        elif label in matched:
            raise SemanticsError(
                f"{where}: {matched[label]!r} and {name!r} both name class "
                f"{class_names[label]!r} (names match ignoring {_MATCHING})")
        else:
            matched[label] = name
    return matched, extra


def phrases_for(class_names: Sequence[str],
                table: Mapping[str, str] | None = None,
                defaults: Sequence[str] | None = None,
                where: str = "phrase table") -> list[str]:
    """The phrase of each class whose word vectors make its class vector.

    The paper embeds each class name by "accumulating the word vectors of
    each unique word" (§IV.B); a phrase table fixes names whose split words are
    not the intended ones or lack vectors (e.g. ``Skijet`` -> "jet ski").

    Args:
      class_names: class names in label order.
      table: optional {class name: phrase}, its names matched to
        ``class_names`` by ``class_key``. Extra entries are ignored.
      defaults: the phrases of classes absent from the table, in label order;
        None: their ``class_name_words`` joined by spaces.
      where: names the table in error messages (e.g. its file).

    Returns:
      One phrase per class, in the order of ``class_names``.

    Raises:
      SemanticsError: a class name or phrase without any word, or two
        table names for one class.
    """
    matched, _ = match_names(list(table or {}), class_names, where)
    phrases = []
    for label, name in enumerate(class_names):
        if label in matched:
            phrase = table[matched[label]]
        elif defaults is not None:
            phrase = defaults[label]
        else:
            words = class_name_words(name)
            if not words:
                raise SemanticsError(f"class name {name!r} has no word")
            phrase = " ".join(words)
        if not phrase_words(phrase):
            raise SemanticsError(f"the phrase {phrase!r} of class {name!r} "
                                 "has no word")
        phrases.append(phrase)
    return phrases


def load_phrase_table(path: str | os.PathLike) -> dict[str, str]:
    """A phrase table from a JSON {class name: phrase} file.

    Raises:
      SemanticsError: naming the file: not a JSON object, a repeated key, or
        a phrase that is not a string with a word.
    """
    path = os.fspath(path)
    table = _read_json_object(path, "{class name: phrase}")
    for name, phrase in table.items():
        if not isinstance(phrase, str) or not phrase_words(phrase):
            raise SemanticsError(f"{path}: class {name!r}: expected a phrase "
                                 f"(a string of words), got {phrase!r}")
    return table


# --------------------------------------------------------------------------
# Class vectors from word vectors.


def check_oov_policy(oov: str) -> None:
    """Raises SemanticsError unless ``oov`` is a known out-of-vocabulary policy."""
    if oov not in _OOV_POLICIES:
        raise SemanticsError(f"oov must be one of {_OOV_POLICIES}, got {oov!r}")


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
      SemanticsError: the phrase has no word, its vectors sum to zero, or an
        unknown ``oov``.
    """
    check_oov_policy(oov)
    words = phrase_words(phrase)
    if not words:
        raise SemanticsError(f"class phrase {phrase!r} has no word")
    missing = _unfillable(kv, phrase, oov)
    if missing:
        raise OutOfVocabularyError(
            missing, " (no word of the phrase has a vector)"
            if oov == "skip_word" else "")
    words = [w for w in words if w in kv]
    total = np.sum([np.asarray(kv[w], dtype=np.float64) for w in words], axis=0)
    norm = np.linalg.norm(total)
    if norm == 0:
        raise SemanticsError(f"the word vectors of {phrase!r} sum to zero")
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
      SemanticsError: a phrase without words or whose vectors sum to zero, or
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
            raise SemanticsError(f"{path}: {where[i]}: expected finite "
                                 "numbers, got NaN or Inf")
    norms = np.linalg.norm(matrix, axis=1)
    for i, norm in enumerate(norms):
        if norm == 0:
            raise SemanticsError(f"{path}: {where[i]}: the vector is all zeros "
                                 "and cannot be L2-normalised")
    return (matrix / norms[:, None]).astype(np.float32)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_text(path: str) -> str:
    """The UTF-8 text of a file the user gave."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise SemanticsError(f"{path}: expected a UTF-8 text file ({e})"
                             ) from None
    except OSError as e:
        raise SemanticsError(f"{path}: cannot read it ({e.strerror or e})"
                             ) from None


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
             enumerate(_read_text(path).splitlines(), start=1)
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
        matrix = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise SemanticsError(f"{path}: expected a numeric .npy matrix: {e}"
                             ) from None
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
    if _format_suffix(path) == ".npy":
        return _load_npy(path, class_names)
    rows, is_csv = _read_attribute_text(path)
    if not rows:
        raise SemanticsError(f"{path}: expected one row per class, found no "
                             "data line")
    if _is_header(rows[0][1]):
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
                raise SemanticsError(f"{path}: line {n}: expected a class name "
                                     f"first (as on line {rows[0][0]}), got "
                                     f"{name!r}")
        row = _parse_values(path, n, fields)
        if not row:
            raise SemanticsError(f"{path}: line {n}: expected at least one "
                                 "value")
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


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice")
        result[key] = value
    return result


def _read_json_object(path: str, expected: str) -> dict:
    """The JSON object of a file; ``expected`` describes it in errors."""
    text = _read_text(path)
    try:
        table = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except ValueError as e:
        raise SemanticsError(f"{path}: expected a JSON object {expected}: {e}"
                             ) from None
    if not isinstance(table, dict):
        raise SemanticsError(f"{path}: expected a JSON object {expected}, got "
                             f"a {type(table).__name__}")
    return table


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
    table = _read_json_object(path, "{class name: [numbers]}")
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
    matrix = np.array([table[key] for key in keys], dtype=np.float64)
    return _normalise_rows(matrix, [f"class {key!r}" for key in keys], path)


def load_class_vectors(path: str | os.PathLike,
                       class_names: Sequence[str]) -> np.ndarray:
    """Precomputed class vectors: a ``.json`` table
    (``load_class_vector_file``), else an attribute file
    (``load_attribute_vectors``: ``.npy``, CSV or whitespace text)."""
    if _format_suffix(os.fspath(path)) == ".json":
        return load_class_vector_file(path, class_names)
    return load_attribute_vectors(path, class_names)
