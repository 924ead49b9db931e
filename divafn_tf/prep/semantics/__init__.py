"""Semantic vectors of class names: word vectors, attributes, precomputed.

DIVAFN projects its shared features onto the semantic space of the class
names (docs/design.md §2). The paper represents "each class name by an
L2-normalized 300 dimensional vector ... accumulating the word vectors of each
unique word" of the name (§IV.B), with skip-gram word2vec vectors (GoogleNews):
"walking with dog" becomes the L2-normalised sum of the vectors of "walking",
"with" and "dog".

This package provides, one module a job:

* ``word_vectors``: ``load_word_vectors``, word2vec binary, word2vec text (a
  "<count> <dim>" header) and GloVe text (no header) through gensim, the
  format told by the file's content, whatever its name.
* ``class_names``: ``class_key`` / ``class_index``, the one way class names
  are matched (folders, JSON keys, CSV rows, split files, phrase tables):
  ignoring case, spaces, ``_`` and ``-``; two names with one key are
  ambiguous, an error. ``class_name_words``: the words of dataset class
  names (UCF101 ``ApplyEyeMakeup`` -> "apply eye makeup", HMDB51
  ``brush_hair`` -> "brush hair").
* ``phrases``: ``phrases_for`` (class phrases, optionally overridden by a
  phrase table, ``load_phrase_table``: a JSON {class name: phrase} table)
  and ``phrase_vector`` / ``class_vectors``, the paper's class vectors, with
  an out-of-vocabulary policy (``oov="error"`` or ``"skip_word"``).
* ``class_vector_files``: ``load_attribute_vectors``, per-class attribute
  vectors (e.g. UCF101's 115 human-labelled attributes) from ``.npy`` or
  text/CSV files; ``load_class_vector_file``, a precomputed JSON {class
  name: vector} table; ``load_class_vectors``, either, by file type.
* ``common``: the errors and the readers of user files they share.

The names below are the package's API (``semantics.load_word_vectors`` ...).

Every problem with a file a user gives raises a ``SemanticsError`` (a
``UserInputError``) naming the file, the line or class, and what was
expected.

Every loader returns float32 [C, k] with unit-L2 rows in the order of the
given class names, so any of them can replace the word-vector class vectors.
"""
from divafn_tf.prep.semantics.class_names import (class_index, class_key,
                                                  class_name_words,
                                                  match_names, phrase_words)
from divafn_tf.prep.semantics.class_vector_files import (
    load_attribute_vectors, load_class_vector_file, load_class_vectors)
from divafn_tf.prep.semantics.common import (OutOfVocabularyError,
                                             SemanticsError)
from divafn_tf.prep.semantics.phrases import (OovPolicy, check_oov_policy,
                                              class_vectors, load_phrase_table,
                                              phrase_vector, phrases_for)
from divafn_tf.prep.semantics.word_vectors import (load_word_vectors,
                                                   word_vector_format)

__all__ = ["OovPolicy", "OutOfVocabularyError", "SemanticsError",
           "check_oov_policy", "class_index", "class_key", "class_name_words",
           "class_vectors", "load_attribute_vectors", "load_class_vector_file",
           "load_class_vectors", "load_phrase_table", "load_word_vectors",
           "match_names", "phrase_vector", "phrase_words", "phrases_for",
           "word_vector_format"]
