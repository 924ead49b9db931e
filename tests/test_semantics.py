"""Tests of class-name semantic vectors: word vectors, attributes, tables."""
import json

import numpy as np
import pytest
from gensim.models import KeyedVectors

from divafn_tf.prep import semantics

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
    ("YoYo 0 1 0 0\nApplyEyeMakeup 1 0,5 1 1\nPlayingDaf 3 0 0 4\n",
     "line 2: expected a number, got '0,5'"),
    ("3 4\nyoyo 0 1 0 0\n", "line 1: a word2vec '<count> <dim>' line .*"
     "word-vector file"),
])
def test_attributes_text_errors(tmp_path, text, pattern):
    path = _write(tmp_path / "attrs.csv", text)
    with pytest.raises(semantics.SemanticsError, match=r"attrs\.csv: .*" + pattern):
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
    ('{"Yo Yo": [0,1,0,0], "yo_yo": [0,1,0,0]}',
     "'Yo Yo' and 'yo_yo' both name class 'YoYo'"),
    ('{"YoYo": [0,1,NaN,0], "ApplyEyeMakeup": [1,0,1,1], '
     '"PlayingDaf": [3,0,0,4]}', "class 'YoYo'.*NaN or Inf"),
    ('{"YoYo": [0,0,0,0], "ApplyEyeMakeup": [1,0,1,1], '
     '"PlayingDaf": [3,0,0,4]}', "class 'YoYo'.*zeros"),
])
def test_class_vector_file_errors(tmp_path, text, pattern):
    path = _write(tmp_path / "cv.json", text)
    with pytest.raises(semantics.SemanticsError, match=r"cv\.json: .*" + pattern):
        semantics.load_class_vector_file(path, CLASSES)


def test_duplicate_class_names_are_rejected(tmp_path):
    path = _write(tmp_path / "a.txt", "1\n2\n")
    with pytest.raises(ValueError, match="same ignoring case"):
        semantics.load_attribute_vectors(path, ["YoYo", "yoyo"])


def test_loader_files_that_cannot_be_read(tmp_path):
    missing = tmp_path / "missing.json"
    for load in (semantics.load_class_vector_file,
                 semantics.load_attribute_vectors):
        with pytest.raises(semantics.SemanticsError,
                           match=r"missing\.json: cannot read it"):
            load(missing, CLASSES)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"caf\xe9 1 2\n")
    with pytest.raises(semantics.SemanticsError,
                       match=r"latin1\.txt: expected a UTF-8 text file"):
        semantics.load_attribute_vectors(latin1, CLASSES)


# --------------------------------------------------------------------------
# Class-name matching, the same everywhere.


def test_class_key_ignores_case_spaces_underscores_and_hyphens():
    keys = {semantics.class_key(n) for n in (
        "ApplyEyeMakeup", "Apply Eye Makeup", "apply_eye_makeup",
        "apply-eye-makeup", " APPLY eye_Make-up ")}
    assert keys == {"applyeyemakeup"}
    assert semantics.class_key("PlayingDaf") != semantics.class_key("PlayingDhol")


def test_match_names_and_ambiguity():
    matched, extra = semantics.match_names(
        ["Yo Yo", "playing_daf", "Other"], CLASSES, "f.json")
    assert matched == {1: "Yo Yo", 2: "playing_daf"} and extra == ["Other"]
    with pytest.raises(semantics.SemanticsError,
                       match="f.json: 'YoYo' and 'yo-yo' both name class"):
        semantics.match_names(["YoYo", "yo-yo"], CLASSES, "f.json")
    with pytest.raises(semantics.SemanticsError,
                       match="'PlayingDaf' and 'playing daf' are the same"):
        semantics.class_index(["PlayingDaf", "playing daf"], "f.json")


def test_json_keyed_by_spaced_names_matches_every_ucf101_class(tmp_path):
    from tfds_builders.divafn.class_tables import UCF101_CLASSES
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(UCF101_CLASSES), 5))
    spaced = {" ".join(w.capitalize() for w in
                       semantics.class_name_words(name)): row.tolist()
              for name, row in zip(UCF101_CLASSES, vectors)}
    assert "Apply Eye Makeup" in spaced and "Yo Yo" in spaced
    path = _write(tmp_path / "published.json", json.dumps(spaced))
    got = semantics.load_class_vectors(path, UCF101_CLASSES)
    np.testing.assert_allclose(
        got, vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
        rtol=1e-5)


def test_whitespace_file_with_a_comma_in_a_comment_or_name(tmp_path):
    path = _write(tmp_path / "attributes.txt",
                  "# name, then four attributes\n"
                  "YoYo 0 1 0 0\nApplyEyeMakeup 1 0 1 1\nPlayingDaf 3 0 0 4\n")
    _check(semantics.load_class_vectors(path, CLASSES))


def test_glove_file_given_as_class_vectors_says_what_it_is(tmp_path):
    rng = np.random.default_rng(0)
    words = {f"w{i}": rng.normal(size=4) for i in range(1100)}
    words[","] = rng.normal(size=4)            # GloVe has a row for ","
    words["yoyo"] = rng.normal(size=4)
    path = _write_glove(tmp_path / "glove.6B.4d.txt", words)
    with pytest.raises(semantics.SemanticsError,
                       match=r"glove\.6B\.4d\.txt: expected a row for every "
                       r"class; 2 missing: 'ApplyEyeMakeup', 'PlayingDaf'.*"
                       r"looks like a word-vector file.*--word_vectors"):
        semantics.load_class_vectors(path, CLASSES)
    words["1"] = rng.normal(size=4)            # and rows of numbers
    path = _write_glove(tmp_path / "glove.6B.4d.txt", words)
    with pytest.raises(semantics.SemanticsError,
                       match=r"line 1103: expected a class name first.*"
                       r"looks like a word-vector file"):
        semantics.load_class_vectors(path, CLASSES)


# --------------------------------------------------------------------------
# Phrase tables.


def test_phrase_table_file(tmp_path):
    path = _write(tmp_path / "phrases.json",
                  '{"Yo Yo": "yoyo", "playing_daf": "playing frame drum"}')
    table = semantics.load_phrase_table(path)
    assert semantics.phrases_for(CLASSES, table) == [
        "apply eye makeup", "yoyo", "playing frame drum"]
    assert semantics.phrases_for(CLASSES, table, ["a", "b", "c"]) == [
        "a", "yoyo", "playing frame drum"]


@pytest.mark.parametrize("text,pattern", [
    ('["yoyo"]', "expected a JSON object .*got a list"),
    ('{"YoYo": "yoyo", "YoYo": "yo yo"}', ".*key 'YoYo' appears twice"),
    ('{"YoYo": 3}', "class 'YoYo': expected a phrase .*got 3"),
    ('{"YoYo": " - "}', "class 'YoYo': expected a phrase"),
])
def test_phrase_table_file_errors(tmp_path, text, pattern):
    path = _write(tmp_path / "phrases.json", text)
    with pytest.raises(semantics.SemanticsError,
                       match=r"phrases\.json: " + pattern):
        semantics.load_phrase_table(path)


def test_phrase_table_with_two_names_of_one_class_is_ambiguous():
    with pytest.raises(semantics.SemanticsError,
                       match="'YoYo' and 'yo_yo' both name class 'YoYo'"):
        semantics.phrases_for(CLASSES, {"YoYo": "yoyo", "yo_yo": "yo yo"})


# --------------------------------------------------------------------------
# Word-vector formats are told by content, not by name.


def test_text_and_glove_under_a_bin_name_load(tmp_path, vectors):
    text = tmp_path / "text.bin"
    _kv(vectors).save_word2vec_format(str(text), binary=False)
    glove = _write_glove(tmp_path / "glove.bin", vectors)
    binary = tmp_path / "binary.txt"
    _kv(vectors).save_word2vec_format(str(binary), binary=True)
    for path, kind in ((text, "text"), (glove, "glove"), (binary, "binary")):
        assert semantics.word_vector_format(path) == kind
        kv = semantics.load_word_vectors(path)
        np.testing.assert_allclose(kv["dog"], vectors["dog"], rtol=1e-6)


def test_wrong_format_word_vectors_are_one_sentence(tmp_path, vectors):
    glove = _write_glove(tmp_path / "glove.bin", vectors)
    with pytest.raises(semantics.SemanticsError,
                       match=r"glove\.bin: expected binary word2vec .*cannot "
                       r"read it .*its content looks like GloVe text"):
        semantics.load_word_vectors(glove, binary=True)
    ragged = _write(tmp_path / "ragged.txt", "the 0.1 0.2 0.3\nof 0.4 0.5\n")
    with pytest.raises(semantics.SemanticsError,
                       match=r"ragged\.txt: expected word vectors .*read as "
                       r"GloVe text .*line 2: expected a word and 3 numbers, "
                       r"got 3 fields"):
        semantics.load_word_vectors(ragged)
    header = _write(tmp_path / "header.vec", "2 3\nthe 0.1 0.2 0.3\nof 0.4\n")
    with pytest.raises(semantics.SemanticsError,
                       match=r"header\.vec: .*read as text word2vec .*line 3: "
                       r"expected a word and 3 numbers, got 2 fields"):
        semantics.load_word_vectors(header)
    jpeg = tmp_path / "vectors.bin"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    with pytest.raises(semantics.SemanticsError,
                       match=r"vectors\.bin: expected word vectors \(word2vec "
                       r"binary or text, or GloVe text\).*line 1: expected UTF-8 text"):
        semantics.load_word_vectors(jpeg)
    with pytest.raises(semantics.SemanticsError,
                       match=r"absent\.bin: cannot open the word-vector file"):
        semantics.load_word_vectors(tmp_path / "absent.bin")
