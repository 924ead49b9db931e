"""Class names: their words, and the one way names are matched (``class_key``).

Every match of a class name (image and video folders, JSON keys, CSV rows,
split files, phrase tables) ignores case, spaces, ``_`` and ``-``; two names
with one key are ambiguous, an error.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from divafn_tf.prep.semantics.common import SemanticsError

_WORD_SEPARATORS = re.compile(r"[\s_\-]+")
_MATCHING = "case, spaces, '_' and '-'"
# Within a separator-free token: an acronym before a capitalised word
# ("HTMLParser" -> HTML, Parser), a capitalised or lower-case word, a run of
# capitals, or a run of digits.
_CAMEL_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


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
