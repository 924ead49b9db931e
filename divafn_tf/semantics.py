"""Semantic vectors of class names from word vectors (word2vec format).

DIVAFN projects its shared features onto the semantic space of the class
names (DESIGN.md §2). The paper uses 300-d skip-gram word2vec vectors
(GoogleNews) and builds the vector of a multi-word class name ("walking with
dog") by summing the vectors of its unique words, then L2-normalising.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np
from gensim.models import KeyedVectors

_WORD_SEPARATORS = re.compile(r"[\s_\-]+")


class OutOfVocabularyError(KeyError, ValueError):
    """Words of class phrases that have no vector.

    Attributes:
      missing: (word, phrase) pairs, one per missing word of each phrase.
    """

    def __init__(self, missing: Sequence[tuple[str, str]]):
        self.missing = list(missing)
        listing = ", ".join(f"{word!r} (class {phrase!r})"
                            for word, phrase in self.missing)
        super().__init__(f"{len(self.missing)} word(s) missing from the word "
                         f"vectors: {listing}")

    def __str__(self) -> str:  # KeyError would quote the whole message.
        return str(self.args[0])


def load_word_vectors(path: str | os.PathLike,
                      binary: bool | None = None) -> KeyedVectors:
    """Loads word vectors saved in the word2vec format.

    Args:
      path: a word2vec file (e.g. GoogleNews-vectors-negative300.bin).
      binary: binary or text format; None infers binary from a ``.bin``
        extension.
    """
    if binary is None:
        binary = os.fspath(path).endswith(".bin")
    return KeyedVectors.load_word2vec_format(os.fspath(path), binary=binary)


def phrase_words(phrase: str) -> list[str]:
    """Unique lower-cased words of a phrase, in order of first appearance.

    Words are separated by spaces, underscores or hyphens.
    """
    words = [w for w in _WORD_SEPARATORS.split(phrase.lower()) if w]
    return list(dict.fromkeys(words))


def _missing_words(kv: KeyedVectors, phrase: str) -> list[tuple[str, str]]:
    return [(w, phrase) for w in phrase_words(phrase) if w not in kv]


def phrase_vector(kv: KeyedVectors, phrase: str) -> np.ndarray:
    """L2-normalised sum of the vectors of the phrase's unique words.

    Raises:
      OutOfVocabularyError: some words have no vector.
      ValueError: the phrase has no word, or its vectors sum to zero.
    """
    missing = _missing_words(kv, phrase)
    if missing:
        raise OutOfVocabularyError(missing)
    words = phrase_words(phrase)
    if not words:
        raise ValueError(f"class phrase {phrase!r} has no word")
    total = np.sum([np.asarray(kv[w], dtype=np.float64) for w in words], axis=0)
    norm = np.linalg.norm(total)
    if norm == 0:
        raise ValueError(f"the word vectors of {phrase!r} sum to zero")
    return (total / norm).astype(np.float32)


def class_vectors(kv: KeyedVectors, phrases: Sequence[str]) -> np.ndarray:
    """Semantic vectors of class phrases, float32 [C, k], one unit row each.

    Raises:
      OutOfVocabularyError: listing every missing word of every phrase.
    """
    missing = [m for phrase in phrases for m in _missing_words(kv, phrase)]
    if missing:
        raise OutOfVocabularyError(missing)
    return np.stack([phrase_vector(kv, phrase) for phrase in phrases])
