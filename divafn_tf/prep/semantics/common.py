"""What the semantics modules share: their errors and the readers of user files."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence

from divafn_tf.errors import UserInputError

_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz")


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


def file_suffix(path: str) -> str:
    """The lower-cased extension of ``path``, past any compression suffix."""
    name = os.path.basename(path).lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[:-len(suffix)]
            break
    return os.path.splitext(name)[1]


def is_word2vec_header(fields: Sequence[str]) -> bool:
    """Whether ``fields`` are word2vec's "<count> <dim>" first line."""
    return len(fields) == 2 and all(f.isascii() and f.isdigit() for f in fields)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_text(path: str) -> str:
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


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice")
        result[key] = value
    return result


def read_json_object(path: str, expected: str) -> dict:
    """The JSON object of a file; ``expected`` describes it in errors."""
    text = read_text(path)
    try:
        table = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except ValueError as e:
        raise SemanticsError(f"{path}: expected a JSON object {expected}: {e}"
                             ) from None
    if not isinstance(table, dict):
        raise SemanticsError(f"{path}: expected a JSON object {expected}, got "
                             f"a {type(table).__name__}")
    return table
