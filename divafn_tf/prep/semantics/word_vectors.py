"""Word-vector files: word2vec binary, word2vec text and GloVe text, through gensim.

The format is told by the file's content (``word_vector_format``), whatever
its name; ``.gz``/``.bz2``/``.xz`` files are read transparently.
"""
from __future__ import annotations

import lzma
import os
import zlib

from gensim import utils as gensim_utils
from gensim.models import KeyedVectors

from divafn_tf.prep.semantics.common import (SemanticsError, is_number,
                                             is_word2vec_header)

_SNIFF_BYTES = 1 << 20
# What reading a damaged file can raise: a truncated or corrupt .gz/.bz2/.xz
# stream (EOFError, zlib.error, lzma.LZMAError; bz2 raises OSError), bad bytes.
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


def _is_text_row(line: bytes, dim: int) -> bool:
    """Whether ``line`` is a text row "<word> <v1> ... <v_dim>"."""
    try:
        fields = line.decode("utf-8").split()
        return len(fields) == dim + 1 and all(is_number(f) for f in fields[1:])
    except UnicodeDecodeError:
        return False


def word_vector_format(path: str | os.PathLike) -> str:
    """The format of a word-vector file, told by its first two lines.

    Returns:
      ``"binary"`` (word2vec binary: a "<count> <dim>" line, then raw
      floats), ``"text"`` (word2vec text: that line, then "<word> <numbers>"
      rows) or ``"glove"`` (rows from the first line, no header).

    Raises:
      SemanticsError: the file cannot be opened or read, or is empty.
    """
    path = os.fspath(path)
    try:
        with gensim_utils.open(path, "rb") as fin:
            head = fin.read(_SNIFF_BYTES)
    except _READ_ERRORS as e:
        raise SemanticsError(f"{path}: cannot open the word-vector file "
                             f"({_read_error(e)})") from None
    if not head.strip():
        raise SemanticsError(f"{path}: expected word vectors (word2vec binary "
                             "or text, or GloVe text), the file is empty")
    lines = head.split(b"\n", 2)
    header = lines[0].decode("utf-8", errors="replace").split()
    if not is_word2vec_header(header):
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
    ragged = _header_beyond_file(path) if binary else _ragged_row(path,
                                                                  no_header)
    if ragged:   # gensim would broadcast a one-number row to every dimension
        raise _format_error(path, expected, found, told, ragged)
    try:
        kv = KeyedVectors.load_word2vec_format(path, binary=binary,
                                               no_header=no_header)
    except (ValueError, UnicodeDecodeError, IndexError, TypeError,
            OverflowError, MemoryError, *_READ_ERRORS) as e:
        raise _format_error(path, expected, found, told,
                            _read_error(e)) from None
    if len(kv) == 0 or kv.vector_size == 0:
        raise _format_error(path, expected, found, told,
                            f"it holds {len(kv)} word(s) of {kv.vector_size} "
                            "number(s), expected at least one word of at "
                            "least one number")
    return kv


_COMPRESSED = (".gz", ".bz2", ".xz")
_TRUNCATED = ("it ends before the number of words its '<count> <dim>' line "
              "announces (a truncated file, or a wrong count)")


def _header_beyond_file(path: str) -> str:
    """Why the "<count> <dim>" line of an uncompressed binary file announces
    more than the file holds (gensim allocates count × dim floats first),
    or ""."""
    if path.endswith(_COMPRESSED):
        return ""
    with open(path, "rb") as f:
        fields = f.readline(200).split()
    if not is_word2vec_header([f.decode("ascii", "replace") for f in fields]):
        return ""
    count, dim = int(fields[0]), int(fields[1])
    least = count * (2 + 4 * dim)   # a letter and a space, then dim floats
    size = os.path.getsize(path)
    if least <= size:
        return ""
    return _TRUNCATED


def _read_error(error: Exception) -> str:
    """Why a word-vector file could not be read, in a few words."""
    text = str(getattr(error, "strerror", None) or error)
    if "unexpected end of input" in text:   # gensim: fewer words than counted
        return _TRUNCATED
    if isinstance(error, MemoryError):
        return "its '<count> <dim>' line announces more words than memory holds"
    if isinstance(error, (EOFError, zlib.error, lzma.LZMAError)):
        return f"the compressed file is truncated or damaged: {text}"
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


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
    row's); "" if every row agrees (or why the file cannot be read)."""
    try:
        return _first_ragged_row(path, no_header)
    except _READ_ERRORS as e:
        return _read_error(e)


def _first_ragged_row(path: str, no_header: bool) -> str:
    """`_ragged_row`, whose read errors the caller reports."""
    width = None
    with gensim_utils.open(path, "rb") as fin:
        for number, raw in enumerate(fin, start=1):
            try:
                fields = raw.decode("utf-8").split()
            except UnicodeDecodeError:
                return f"line {number}: expected UTF-8 text, got other bytes"
            if number == 1 and not no_header:
                if not is_word2vec_header(fields):
                    return (f"line 1: expected '<count> <dim>', got "
                            f"{' '.join(fields[:3])!r}")
                width = int(fields[1])
            elif width is None:
                width = len(fields) - 1
            elif len(fields) - 1 != width:
                return (f"line {number}: expected a word and {width} numbers, "
                        f"got {len(fields)} fields")
    return ""
