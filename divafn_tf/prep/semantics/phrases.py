"""Class phrases and the paper's class vectors built from their word vectors.

A class vector is the L2-normalised sum of the word vectors of the unique
words of its class phrase (§IV.B); ``phrases_for`` gives the phrases
(class-name words, or a phrase table), ``class_vectors`` the vectors, with
an out-of-vocabulary policy (``oov="error"`` or ``"skip_word"``).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from divafn_tf.prep.semantics.class_names import (class_name_words,
                                                  match_names, phrase_words)
from divafn_tf.prep.semantics.common import (OutOfVocabularyError,
                                             SemanticsError, read_json_object)

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

OovPolicy = Literal["error", "skip_word"]
OOV_POLICIES = get_args(OovPolicy)   # the choices of --oov


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
    table = read_json_object(path, "{class name: phrase}")
    for name, phrase in table.items():
        if not isinstance(phrase, str) or not phrase_words(phrase):
            raise SemanticsError(f"{path}: class {name!r}: expected a phrase "
                                 f"(a string of words), got {phrase!r}")
    return table


def check_oov_policy(oov: str) -> None:
    """Raises SemanticsError unless ``oov`` is a known out-of-vocabulary policy."""
    if oov not in OOV_POLICIES:
        raise SemanticsError(f"oov must be one of {OOV_POLICIES}, got {oov!r}")


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
