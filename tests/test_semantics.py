"""Tests of class-name semantic vectors from word2vec files."""
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
    for text in ["'cat'", "'walking with cat'", "'riding'", "'horse'",
                 "'riding horse'"]:
        assert text in message
    assert "waving flag" not in message
    assert isinstance(err, KeyError) and isinstance(err, ValueError)


def test_phrase_vector_out_of_vocabulary(word2vec_file):
    kv = semantics.load_word_vectors(word2vec_file)
    with pytest.raises(KeyError, match="'cat'.*'walking with cat'"):
        semantics.phrase_vector(kv, "walking with cat")


def test_empty_phrase(word2vec_file):
    kv = semantics.load_word_vectors(word2vec_file)
    with pytest.raises(ValueError, match="no word"):
        semantics.phrase_vector(kv, " _ ")
