"""Tests of class-name semantic vectors: word vectors, attributes, tables."""
import json

import numpy as np
import pytest
from gensim.models import KeyedVectors

from divafn_tf import semantics

WORDS = ["walking", "with", "dog", "waving", "flag", "jumping", "jacks"]


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    return {w: rng.normal(size=8).astype(np.float32) for w in WORDS}


@pytest.fixture(scope="module", params=[True, False], ids=["binary", "text"])
def word2vec_file(request, tmp_path_factory, vectors):
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(list(vectors), np.stack(list(vectors.values())))
    suffix = ".bin" if request.param else ".txt"
    path = tmp_path_factory.mktemp("w2v") / f"vectors{suffix}"
    kv.save_word2vec_format(str(path), binary=request.param)
    return path


def _expected(vectors, words):
    total = np.sum([vectors[w].astype(np.float64) for w in words], axis=0)
    return total / np.linalg.norm(total)


def test_load_infers_binary_from_extension(word2vec_file, vectors):
    kv = semantics.load_word_vectors(word2vec_file)
    assert set(kv.index_to_key) == set(WORDS)
    np.testing.assert_allclose(kv["dog"], vectors["dog"], rtol=1e-6)


def test_phrase_vector_is_normalised_sum_of_unique_words(word2vec_file,
                                                         vectors):
    kv = semantics.load_word_vectors(word2vec_file)
    got = semantics.phrase_vector(kv, "walking with dog")
    np.testing.assert_allclose(got, _expected(vectors, ["walking", "with", "dog"]),
                               rtol=1e-5, atol=1e-6)
    assert got.dtype == np.float32
    assert np.linalg.norm(got) == pytest.approx(1.0, abs=1e-6)


def test_repeated_words_count_once_and_separators(word2vec_file, vectors):
    kv = semantics.load_word_vectors(word2vec_file)
    expected = _expected(vectors, ["jumping", "jacks"])
    for phrase in ["jumping jumping jacks", "Jumping_Jacks", "jumping-jacks",
                   "  jumping   jacks "]:
        np.testing.assert_allclose(semantics.phrase_vector(kv, phrase), expected,
                                   rtol=1e-5, atol=1e-6)
    assert semantics.phrase_words("Walking_with-the  dog with") == [
        "walking", "with", "the", "dog"]


def test_class_vectors(word2vec_file, vectors):
    kv = semantics.load_word_vectors(word2vec_file)
    phrases = ["waving flag", "walking with dog", "jumping jacks"]
    out = semantics.class_vectors(kv, phrases)
    assert out.shape == (3, 8) and out.dtype == np.float32
    for row, phrase in zip(out, phrases):
        np.testing.assert_allclose(row, _expected(vectors, phrase.split()),
                                   rtol=1e-5, atol=1e-6)


def test_out_of_vocabulary_lists_every_missing_word(word2vec_file):
    kv = semantics.load_word_vectors(word2vec_file)
    phrases = ["walking with cat", "waving flag", "riding horse"]
    with pytest.raises(semantics.OutOfVocabularyError) as info:
        semantics.class_vectors(kv, phrases)
    err = info.value
    assert err.missing == [("cat", "walking with cat"),
                           ("riding", "riding horse"),
                           ("horse", "riding horse")]
    message = str(err)
    for text in ["'cat' in \"walking with cat\"",
                 "'riding' in \"riding horse\"",
                 "'horse' in \"riding horse\""]:
        assert text in message
    assert "waving flag" not in message
    assert isinstance(err, KeyError) and isinstance(err, ValueError)


def test_phrase_vector_out_of_vocabulary(word2vec_file):
    kv = semantics.load_word_vectors(word2vec_file)
    with pytest.raises(KeyError, match="'cat' in \"walking with cat\""):
        semantics.phrase_vector(kv, "walking with cat")


def test_empty_phrase(word2vec_file):
    kv = semantics.load_word_vectors(word2vec_file)
    with pytest.raises(ValueError, match="no word"):
        semantics.phrase_vector(kv, " _ ")


# --------------------------------------------------------------------------
# Word vector formats.


def _kv(vectors):
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(list(vectors), np.stack(list(vectors.values())))
    return kv


def _write_glove(path, vectors):
    with open(path, "w", encoding="utf-8") as f:
        for word, vec in vectors.items():
            f.write(word + " " + " ".join(repr(float(v)) for v in vec) + "\n")
    return path


@pytest.mark.parametrize("suffix", [".vec", ".txt"])
def test_text_word2vec_with_header(tmp_path, vectors, suffix):
    path = tmp_path / f"vectors{suffix}"
    _kv(vectors).save_word2vec_format(str(path), binary=False)
    for kwargs in [{}, {"binary": False}, {"binary": False, "no_header": False}]:
        kv = semantics.load_word_vectors(path, **kwargs)
        assert kv.index_to_key == WORDS
        np.testing.assert_allclose(kv["flag"], vectors["flag"], rtol=1e-6)


def test_glove_without_header(tmp_path, vectors):
    path = _write_glove(tmp_path / "glove.6B.8d.txt", vectors)
    for kwargs in [{}, {"no_header": True}]:  # auto-detected, or explicit
        kv = semantics.load_word_vectors(path, **kwargs)
        assert kv.index_to_key == WORDS and kv.vector_size == 8
        for word in WORDS:
            np.testing.assert_allclose(kv[word], vectors[word], rtol=1e-6)
    out = semantics.class_vectors(kv, ["walking with dog"])
    np.testing.assert_allclose(out[0], _expected(vectors,
                                                 ["walking", "with", "dog"]),
                               rtol=1e-5, atol=1e-6)


def test_glove_read_with_header_fails_clearly(tmp_path, vectors):
    path = _write_glove(tmp_path / "glove.txt", vectors)
    with pytest.raises(ValueError, match="glove.txt"):
        semantics.load_word_vectors(path, no_header=False)


def test_binary_with_no_header_is_rejected(tmp_path, vectors):
    path = tmp_path / "vectors.bin"
    _kv(vectors).save_word2vec_format(str(path), binary=True)
    with pytest.raises(ValueError, match="no_header"):
        semantics.load_word_vectors(path, no_header=True)
    # The builder's call.
    assert semantics.load_word_vectors(path, binary=True).index_to_key == WORDS


# --------------------------------------------------------------------------
# Class names and phrase tables.


@pytest.mark.parametrize("name,words", [
    ("ApplyEyeMakeup", ["apply", "eye", "makeup"]),
    ("YoYo", ["yo", "yo"]),
    ("PlayingDaf", ["playing", "daf"]),
    ("HandstandPushups", ["handstand", "pushups"]),
    ("WalkingWithDog", ["walking", "with", "dog"]),
    ("brush_hair", ["brush", "hair"]),
    ("clean_and_jerk", ["clean", "and", "jerk"]),
    ("high-jump", ["high", "jump"]),
    ("Jumping Jacks", ["jumping", "jacks"]),
    ("PlayingTV", ["playing", "tv"]),
    ("HTMLParser", ["html", "parser"]),
    ("Skijet", ["skijet"]),
])
def test_class_name_words(name, words):
    assert semantics.class_name_words(name) == words


def test_phrases_for():
    names = ["ApplyEyeMakeup", "YoYo", "brush_hair"]
    assert semantics.phrases_for(names) == ["apply eye makeup", "yo yo",
                                            "brush hair"]
    table = {"YoYo": "yoyo", "brush_HAIR": "brushing hair", "Other": "x"}
    assert semantics.phrases_for(names, table) == ["apply eye makeup", "yoyo",
                                                   "brushing hair"]
    with pytest.raises(ValueError, match="'YoYo'"):
        semantics.phrases_for(names, {"YoYo": " - "})
    with pytest.raises(ValueError, match="no word"):
        semantics.phrases_for(["__"])


# --------------------------------------------------------------------------
# OOV policy.


def test_skip_word_policy(word2vec_file, vectors):
    kv = semantics.load_word_vectors(word2vec_file)
    phrases = ["walking with cat", "waving flag"]
    with pytest.raises(semantics.OutOfVocabularyError, match="'cat' in"):
        semantics.class_vectors(kv, phrases)
    out = semantics.class_vectors(kv, phrases, oov="skip_word")
    np.testing.assert_allclose(out[0], _expected(vectors, ["walking", "with"]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1], _expected(vectors, ["waving", "flag"]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        semantics.phrase_vector(kv, "walking with cat", oov="skip_word"),
        out[0], rtol=1e-6)


def test_skip_word_still_fails_without_any_known_word(word2vec_file):
    kv = semantics.load_word_vectors(word2vec_file)
    phrases = ["jumping on trampoline", "riding horse", "playing daf"]
    with pytest.raises(semantics.OutOfVocabularyError) as info:
        semantics.class_vectors(kv, phrases, oov="skip_word")
    assert info.value.missing == [("riding", "riding horse"),
                                  ("horse", "riding horse"),
                                  ("playing", "playing daf"),
                                  ("daf", "playing daf")]
    assert "trampoline" not in str(info.value)
    with pytest.raises(semantics.OutOfVocabularyError,
                       match="'trampoline' in \"jumping on trampoline\""):
        semantics.class_vectors(kv, phrases)
    with pytest.raises(ValueError, match="oov"):
        semantics.class_vectors(kv, phrases, oov="ignore")


# --------------------------------------------------------------------------
# Attribute vectors and precomputed class vectors.

CLASSES = ["ApplyEyeMakeup", "YoYo", "PlayingDaf"]
ATTRS = np.array([[1, 0, 1, 1], [0, 1, 0, 0], [3, 0, 0, 4]], np.float64)
UNIT = ATTRS / np.linalg.norm(ATTRS, axis=1, keepdims=True)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _check(got):
    assert got.shape == (3, 4) and got.dtype == np.float32
    np.testing.assert_allclose(got, UNIT, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, bool])
def test_attributes_npy(tmp_path, dtype):
    path = tmp_path / "attributes.npy"
    matrix = ATTRS if dtype is not bool else (ATTRS > 0)
    np.save(path, matrix.astype(dtype))
    got = semantics.load_attribute_vectors(path, CLASSES)
    expected = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got.dtype == np.float32


def test_attributes_npy_errors(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, ATTRS[:2])
    with pytest.raises(ValueError, match=r"a\.npy.*expected 3 rows"):
        semantics.load_attribute_vectors(path, CLASSES)
    np.save(path, ATTRS[0])
    with pytest.raises(ValueError, match=r"a\.npy.*2-D"):
        semantics.load_attribute_vectors(path, CLASSES)
    np.save(path, np.array([["a"] * 4] * 3))
    with pytest.raises(ValueError, match="numeric"):
        semantics.load_attribute_vectors(path, CLASSES)
    np.save(path, np.array([{"a": 1}], dtype=object))  # needs pickle
    with pytest.raises(ValueError, match=r"a\.npy"):
        semantics.load_attribute_vectors(path, CLASSES)
    bad = ATTRS.copy()
    bad[1, 2] = np.nan
    np.save(path, bad)
    with pytest.raises(ValueError, match="row 1 .*'YoYo'.*NaN"):
        semantics.load_attribute_vectors(path, CLASSES)
    bad[1] = 0
    np.save(path, bad)
    with pytest.raises(ValueError, match="row 1 .*'YoYo'.*zeros"):
        semantics.load_attribute_vectors(path, CLASSES)


def test_attributes_csv_named_any_order(tmp_path):
    path = _write(tmp_path / "attributes.csv",
                  "# class,a1,a2,a3,a4\n"
                  "playingdaf, 3, 0, 0, 4\n"
                  "\n"
                  "\"ApplyEyeMakeup\",1,0,1,1\n"
                  "Unused,9,9,9,9\n"
                  "YOYO,0,1,0,0,\n")
    _check(semantics.load_attribute_vectors(path, CLASSES))


def test_attributes_whitespace_named(tmp_path):
    path = _write(tmp_path / "attributes.txt",
                  "YoYo 0 1 0 0\n"
                  "ApplyEyeMakeup\t1 0 1 1\n"
                  "PlayingDaf 3.0 0 0 4e0\n")
    _check(semantics.load_attribute_vectors(path, CLASSES))
    path = _write(tmp_path / "spaced.txt",
                  "walking with dog 1 2\nwaving flag 0 1\n")
    got = semantics.load_attribute_vectors(path, ["Waving Flag",
                                                  "walking with dog"])
    np.testing.assert_allclose(got, [[0, 1], [1 / 5 ** 0.5, 2 / 5 ** 0.5]],
                               rtol=1e-6)


@pytest.mark.parametrize("sep", [",", " "])
def test_attributes_bare_rows_in_class_order(tmp_path, sep):
    text = "".join(sep.join(str(v) for v in row) + "\n" for row in ATTRS)
    _check(semantics.load_attribute_vectors(_write(tmp_path / "a.txt", text),
                                            CLASSES))


@pytest.mark.parametrize("text,pattern", [
    ("1,0,1,1\n0,1,0\n3,0,0,4\n", "line 2: expected 4 values .*got 3"),
    ("1 0 1 1\n0 1 x 0\n3 0 0 4\n", "line 2: expected a number, got 'x'"),
    ("1 0 1 1\n0 1 0 0\n", "expected 3 rows .*got 2"),
    ("1 0 1 1\n0 1 0 0\n3 0 0 4\n1 1 1 1\n", "expected 3 rows .*got 4"),
    ("1 0 1 1\n0 1 nan 0\n3 0 0 4\n", "line 2 .*'YoYo'.*NaN or Inf"),
    ("1 0 1 1\n0 1 0 0\n3 0 inf 4\n", "line 3 .*'PlayingDaf'.*NaN or Inf"),
    ("1 0 1 1\n0 0 0 0\n3 0 0 4\n", "line 2 .*'YoYo'.*zeros"),
    ("YoYo,0,1,0,0\nApplyEyeMakeup,1,0,1,1\nPlayingDhol,3,0,0,4\n",
     "every class; 1 missing: 'PlayingDaf' .*unknown classes: 'PlayingDhol'"),
    ("YoYo,0,1,0,0\nApplyEyeMakeup,1,0,1,1\nyoyo,0,1,0,0\n",
     "line 3: class 'yoyo' already has a row on line 1"),
    ("YoYo,0,1,0,0\nApplyEyeMakeup,1,x,1,1\nPlayingDaf,3,0,0,4\n",
     "line 2: expected a number, got 'x'"),
    ("YoYo,0,1,0,0\nApplyEyeMakeup\nPlayingDaf,3,0,0,4\n",
     "line 2: expected at least one value"),
    ("YoYo,0,1,0,0\n1,0,1,1,0\n", "line 2: expected a class name"),
    ("# only a comment\n\n", "no data line"),
])
def test_attributes_text_errors(tmp_path, text, pattern):
    path = _write(tmp_path / "attrs.csv", text)
    with pytest.raises(ValueError, match=r"attrs\.csv: .*" + pattern):
        semantics.load_attribute_vectors(path, CLASSES)


def test_class_vector_file(tmp_path):
    table = {"yoyo": ATTRS[1].tolist(), "PlayingDaf": ATTRS[2].tolist(),
             "ApplyEyeMakeup": [1, 0, 1, 1], "Extra": [5, 5, 5, 5]}
    path = _write(tmp_path / "vectors.json", json.dumps(table))
    _check(semantics.load_class_vector_file(path, CLASSES))


@pytest.mark.parametrize("text,pattern", [
    ("[1, 2]", "expected a JSON object.*got a list"),
    ("{\"YoYo\": [1, 2", "expected a JSON object"),
    ('{"YoYo": [0,1,0,0], "YoYo": [0,1,0,0]}', "'YoYo' appears twice"),
    ('{"YoYo": [0,1,0,0], "ApplyEyeMakeup": [1,0,1], "PlayingDaf": [3,0,0,4]}',
     "class 'ApplyEyeMakeup': expected 4 values .*got 3"),
    ('{"YoYo": [0,1,"a",0]}', "class 'YoYo': expected a non-empty list"),
    ('{"YoYo": [0,1,true,0]}', "class 'YoYo': expected a non-empty list"),
    ('{"YoYo": []}', "class 'YoYo': expected a non-empty list"),
    ('{"YoYo": 3}', "class 'YoYo': expected a non-empty list"),
    ('{"YoYo": [0,1,0,0], "ApplyEyeMakeup": [1,0,1,1]}',
     "1 missing: 'PlayingDaf'"),
    ('{"YoYo": [0,1,0,0], "yoyo": [0,1,0,0]}', "'YoYo' and 'yoyo'"),
    ('{"YoYo": [0,1,NaN,0], "ApplyEyeMakeup": [1,0,1,1], '
     '"PlayingDaf": [3,0,0,4]}', "class 'YoYo'.*NaN or Inf"),
    ('{"YoYo": [0,0,0,0], "ApplyEyeMakeup": [1,0,1,1], '
     '"PlayingDaf": [3,0,0,4]}', "class 'YoYo'.*zeros"),
])
def test_class_vector_file_errors(tmp_path, text, pattern):
    path = _write(tmp_path / "cv.json", text)
    with pytest.raises(ValueError, match=r"cv\.json: .*" + pattern):
        semantics.load_class_vector_file(path, CLASSES)


def test_duplicate_class_names_are_rejected(tmp_path):
    path = _write(tmp_path / "a.txt", "1\n2\n")
    with pytest.raises(ValueError, match="same ignoring case"):
        semantics.load_attribute_vectors(path, ["YoYo", "yoyo"])
