"""Every user-fixable error is one sentence: ``error: …`` on stderr, exit 1.

The contract (``divafn_tf/errors.py``): a problem the user can fix raises a
``UserInputError`` whose message, on one line, names the file, flag or
field and says what was expected; each command (``divafn_tf.cli.command``)
prints it as ``error: <message>`` and exits with status 1, and absl's flag
and usage errors are held to the same form.

In process (fast): the library functions raise ``UserInputError`` with the
right message for many bad inputs. In a subprocess (e2e, a few per command
family, each one TensorFlow import): the commands print exactly one line,
``error: …``, exit 1, and no traceback.
"""
from __future__ import annotations

import gzip
import json
import os
import platform
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from divafn_tf import errors
from divafn_tf.errors import UserInputError

# gensim records platform.platform() in every KeyedVectors' lifecycle; its
# first call in a process runs `uname -p`, which the fast tier counts as a
# subprocess (conftest.py): made here, at collection, once.
platform.platform()

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["ApplyEyeMakeup", "Archery", "brush_hair"]


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _raises(call, pattern: str) -> str:
    """The message of the UserInputError ``call()`` raises; it matches
    ``pattern`` and is one line."""
    with pytest.raises(UserInputError) as info:
        call()
    message = str(info.value)
    assert re.search(pattern, message), message
    assert "\n" not in message, message
    return message


# --------------------------------------------------------------------------
# The contract itself
# --------------------------------------------------------------------------

def test_exit_on_user_error_prints_one_line_and_exits_1(capsys):
    with pytest.raises(SystemExit) as exit_:
        with errors.exit_on_user_error():
            raise UserInputError("a.json: expected\n  a JSON object")
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "error: a.json: expected a JSON object\n"


def test_other_exceptions_keep_their_trace():
    with pytest.raises(KeyError):
        with errors.exit_on_user_error():
            raise KeyError("a bug")


@pytest.mark.parametrize("absl, ours", [
    ("flag --dataset=None: Flag --dataset must have a value other than None.",
     "--dataset is required"),
    ("ERROR:: Unable to open flagfile: [Errno 2] No such file or directory: "
     "'/x/a.cfg'", "--flagfile=/x/a.cfg: cannot open it (No such file or "
     "directory)"),
    ("flag --epochs=abc: invalid literal for int() with base 10: 'abc'",
     "--epochs=abc: expected an integer"),
    ("flag --beta=x: could not convert string to float: 'x'",
     "--beta=x: expected a number"),
    ("flag --num_keyframes=-1: -1 is not a non-negative integer",
     "--num_keyframes=-1: -1 is not a non-negative integer"),
    ("Unknown command line flag 'epoch'. Did you mean: epochs ?",
     "Unknown command line flag 'epoch'. Did you mean: epochs ?"),
])
def test_absl_flag_errors_in_the_projects_words(absl, ours):
    from divafn_tf.cli import command
    assert command.flag_error_sentence(absl) == ours


def test_usage_errors_of_main_are_one_sentence(capsys):
    from absl import app

    from divafn_tf.cli import command

    def main(argv):
        raise app.UsageError("--video and --video_feature go together")
    with pytest.raises(SystemExit) as exit_:
        command.guarded(main)(["prog"])
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        "error: --video and --video_feature go together\n")


# --------------------------------------------------------------------------
# Word vectors, phrase tables, class vectors (divafn_tf/prep/semantics/)
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def word2vec_bytes() -> bytes:
    """A small binary word2vec file's bytes (4 words, 4 dims)."""
    from gensim.models import KeyedVectors
    import tempfile
    kv = KeyedVectors(4)
    kv.add_vectors(["the", "cat", "jump", "wave"],
                   np.random.default_rng(0).random((4, 4), np.float32))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "w.bin")
        kv.save_word2vec_format(path, binary=True)
        return Path(path).read_bytes()


@pytest.mark.parametrize("name, content, pattern", [
    ("empty.txt", "", r"empty\.txt: expected word vectors .*the file is empty"),
    ("count.txt", "5 2\nthe 0.1 0.2\ncat 0.3 0.4\n",
     r"count\.txt: .*text word2vec .*it ends before the number of words its "
     r"'<count> <dim>' line announces"),
    ("ragged.txt", "the 0.1 0.2\ncat 0.3\n",
     r"ragged\.txt: .*GloVe text .*line 2: expected a word and 2 numbers, "
     r"got 2 fields"),
    ("nan.txt", "the 0.1 0.2\ncat x 0.3\n",
     r"nan\.txt: .*could not convert string to float: 'x'"),
    ("latin1.txt", "caf\xe9 0.1 0.2\n".encode("latin-1"),
     r"latin1\.txt: .*line 1: expected UTF-8 text"),
    ("dim0.bin", b"2 0\nthe cat ",
     r"dim0\.bin: .*expected at least one word of at least one number"),
    ("truncated.txt.gz",
     gzip.compress(b"the 0.1 0.2\ncat 0.3 0.4\n" * 100)[:50],
     r"truncated\.txt\.gz: cannot open the word-vector file \(the compressed "
     r"file is truncated or damaged"),
    ("fake.bin.gz", "the 0.1 0.2\n",
     r"fake\.bin\.gz: cannot open the word-vector file \(Not a gzipped file"),
])
def test_bad_word_vector_files(tmp_path, name, content, pattern):
    from divafn_tf.prep import semantics
    path = _write(tmp_path / name, content)
    _raises(lambda: semantics.load_word_vectors(path), pattern)


def test_truncated_binary_word2vec(tmp_path, word2vec_bytes):
    from divafn_tf.prep import semantics
    path = _write(tmp_path / "GoogleNews.bin",
                  word2vec_bytes[:len(word2vec_bytes) // 2])
    _raises(lambda: semantics.load_word_vectors(path),
            r"GoogleNews\.bin: .*binary word2vec .*it ends before the number "
            r"of words its '<count> <dim>' line announces \(a truncated file, "
            r"or a wrong count\)")


def test_missing_word_vectors_and_a_folder(tmp_path):
    from divafn_tf.prep import semantics
    _raises(lambda: semantics.load_word_vectors(tmp_path / "absent.bin"),
            r"absent\.bin: cannot open the word-vector file \(No such file")
    _raises(lambda: semantics.load_word_vectors(tmp_path),
            r"cannot open the word-vector file \(Is a directory\)")


def test_text_under_a_bin_name_is_read_by_its_content(tmp_path):
    """Not an error: the format is told by the content, whatever the name."""
    from divafn_tf.prep import semantics
    for text in ("the 0.1 0.2\ncat 0.3 0.4\n", "2 2\nthe 0.1 0.2\ncat 0.3 0.4\n"):
        path = _write(tmp_path / "GoogleNews-vectors-negative300.bin", text)
        kv = semantics.load_word_vectors(path)
        assert len(kv) == 2 and kv.vector_size == 2


@pytest.mark.parametrize("content, pattern", [
    ('{"Archery": "bow and', r"expected a JSON object \{class name: phrase\}: "
                             r"Unterminated string"),
    ('["archery"]', r"expected a JSON object \{class name: phrase\}, got a "
                    r"list"),
    ('{"Archery": 3}', r"class 'Archery': expected a phrase \(a string of "
                       r"words\), got 3"),
    ('{"Archery": " - "}', r"class 'Archery': expected a phrase"),
    ('{"Archery": "a", "Archery": "b"}', r"key 'Archery' appears twice"),
    (b"\xff\xfe{", r"expected a UTF-8 text file"),
])
def test_bad_phrase_tables(tmp_path, content, pattern):
    from divafn_tf.prep import semantics
    path = _write(tmp_path / "phrases.json", content)
    _raises(lambda: semantics.load_phrase_table(path),
            r"phrases\.json: (.*: )?" + pattern)


def test_unknown_shipped_phrase_table_and_ambiguous_phrase_keys():
    from divafn_tf.prep import semantics
    from tfds_builders.divafn import sources
    _raises(lambda: sources.phrase_table_file("ucf"),
            r"--phrases=ucf: no such file; expected a JSON file \{class "
            r"name: phrase\} or a shipped table: ucf101, hmdb51")
    _raises(lambda: semantics.phrases_for(
                CLASSES, {"Apply Eye Makeup": "a", "apply_eye_makeup": "b"},
                where="t.json"),
            r"t\.json: 'Apply Eye Makeup' and 'apply_eye_makeup' both name "
            r"class 'ApplyEyeMakeup'")


@pytest.mark.parametrize("name, content, pattern", [
    # JSON tables
    ("bad.json", '{"Archery": [1, 2', r"expected a JSON object \{class name: "
                                      r"\[numbers\]\}: Expecting"),
    ("dim.json", '{"Apply Eye Makeup": [1, 2], "Archery": [1, 2, 3], '
                 '"brush hair": [1, 1]}',
     r"class 'Archery': expected 2 values \(as for 'Apply Eye Makeup'\), "
     r"got 3"),
    ("missing.json", '{"Apply Eye Makeup": [1, 2], "Archery": [1, 2]}',
     r"expected a row for every class; 1 missing: 'brush_hair'"),
    ("ambiguous.json", '{"Apply Eye Makeup": [1, 2], "apply_eye_makeup": '
                       '[1, 2], "Archery": [1, 2], "brush hair": [1, 1]}',
     r"'Apply Eye Makeup' and 'apply_eye_makeup' both name class "
     r"'ApplyEyeMakeup'"),
    ("nan.json", '{"Apply Eye Makeup": [NaN, 2], "Archery": [1, 2], '
                 '"brush hair": [1, 1]}',
     r"class 'Apply Eye Makeup': expected finite numbers, got NaN or Inf"),
    ("text.json", '{"Apply Eye Makeup": "x", "Archery": [1, 2], '
                  '"brush hair": [1, 1]}',
     r"class 'Apply Eye Makeup': expected a non-empty list of numbers"),
    # CSV
    ("dim.csv", "ApplyEyeMakeup,1,2\nArchery,1,2,3\nbrush_hair,1,1\n",
     r"line 2: expected 2 values \(as on line 1\), got 3"),
    ("missing.csv", "ApplyEyeMakeup,1,2\nArchery,1,2\n",
     r"expected a row for every class; 1 missing: 'brush_hair'"),
    ("nan.csv", "ApplyEyeMakeup,nan,2\nArchery,1,2\nbrush_hair,1,1\n",
     r"line 1 \(class 'ApplyEyeMakeup'\): expected finite numbers"),
    ("ambiguous.csv", "ApplyEyeMakeup,1,2\napply eye makeup,1,2\n"
                      "Archery,1,2\nbrush_hair,1,1\n",
     r"line 2: class 'apply eye makeup' already has a row on line 1"),
    ("quote.csv", '"ApplyEyeMakeup,1,2\nArchery,1,2\nbrush_hair,1,1\n',
     r"line 1: expected at least one value after the class name "
     r"'ApplyEyeMakeup,1,2'"),
    # whitespace text
    ("dim.txt", "ApplyEyeMakeup 1 2\nArchery 1 2 3\nbrush_hair 1 1\n",
     r"line 2: expected 2 values \(as on line 1\), got 3"),
    ("count.txt", "1 2\n1 2\n", r"expected 3 rows \(one per class, in class "
                                r"order\), got 2"),
    ("nan.txt", "1 2\nnan 2\n1 3\n",
     r"line 2 \(class 'Archery'\): expected finite numbers"),
    ("empty.txt", "", r"expected one row per class, found no data line"),
    ("w2v.txt", "2 2\nthe 0.1 0.2\ncat 0.3 0.4\n",
     r"line 1: a word2vec '<count> <dim>' line \(it looks like a word-vector "
     r"file"),
    ("glove.txt", "the 0.1 0.2\ncat 0.3 0.4\n",
     r"expected a row for every class; 3 missing: 'ApplyEyeMakeup', "
     r"'Archery', 'brush_hair' \(rows of "
     r"unknown classes: 'the', 'cat'\)"),
    # .npy
    ("junk.npy", "hello", r"expected a numeric \.npy matrix: no \.npy "
                          r"header, or an array of Python objects"),
])
def test_bad_class_vector_files(tmp_path, name, content, pattern):
    from divafn_tf.prep import semantics
    path = _write(tmp_path / name, content)
    _raises(lambda: semantics.load_class_vectors(path, CLASSES),
            re.escape(str(path)) + ": " + pattern)


def test_bad_class_vector_arrays(tmp_path):
    from divafn_tf.prep import semantics
    cases = {"shape.npy": (np.ones((2, 3)), r"expected 3 rows .*got shape "
                                            r"\(2, 3\)"),
             "vector.npy": (np.ones(3), r"expected a 2-D numeric matrix"),
             "nan.npy": (np.array([[np.nan, 1], [1, 1], [1, 1]]),
                         r"row 0 \(class 'ApplyEyeMakeup'\): expected finite"),
             "zero.npy": (np.array([[0, 0], [1, 1], [1, 1]]),
                          r"row 0 .*all zeros")}
    for name, (array, pattern) in cases.items():
        np.save(tmp_path / name, array)
        _raises(lambda: semantics.load_class_vectors(tmp_path / name, CLASSES),
                pattern)
    # An object-dtype .npy (what np.save writes for Python objects), made by
    # hand: its header and a payload that is never a real pickle.
    with open(tmp_path / "objects.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        f.write(b"not a pickle")
    _raises(lambda: semantics.load_class_vectors(tmp_path / "objects.npy",
                                                 CLASSES),
            r"objects\.npy: expected a numeric \.npy matrix")


def test_a_binary_word2vec_file_given_as_class_vectors(tmp_path,
                                                       word2vec_bytes):
    from divafn_tf.prep import semantics
    path = _write(tmp_path / "vectors.bin", word2vec_bytes)
    _raises(lambda: semantics.load_class_vectors(path, CLASSES),
            r"vectors\.bin: a binary word2vec file, not class vectors \(give "
            r"it as word vectors, the build's --word_vectors\)")


def test_ambiguous_class_names_and_huge_values(tmp_path):
    from divafn_tf.prep import semantics
    path = _write(tmp_path / "big.csv", "ApplyEyeMakeup,1e300,1e300\n"
                                        "Archery,1,2\nbrush_hair,1,1\n")
    _raises(lambda: semantics.load_class_vectors(path, ["Apply_Eye",
                                                        "ApplyEye", "x"]),
            r"class names 'Apply_Eye' and 'ApplyEye' are the same ignoring "
            r"case")
    # Finite values whose squares overflow still normalise (no zero row).
    vectors = semantics.load_class_vectors(path, CLASSES)
    np.testing.assert_allclose(vectors[0], [2 ** -0.5, 2 ** -0.5], rtol=1e-6)


# --------------------------------------------------------------------------
# Datasets, flags, output folders, SavedModels, feature files
# --------------------------------------------------------------------------

def _damaged_dataset(data_dir: Path) -> Path:
    """A prepared-looking synthetic_tiny folder whose dataset_info.json is
    not JSON."""
    from tfds_builders.divafn.divafn_dataset_builder import Divafn
    folder = data_dir / "divafn" / "synthetic_tiny" / str(Divafn.VERSION)
    folder.mkdir(parents=True)
    _write(folder / "dataset_info.json", "{bad")
    return folder


def test_unknown_and_damaged_datasets(tmp_path):
    from divafn_tf import data
    configs = r"the config one of synthetic, synthetic_val, synthetic_tiny, "
    for name in ("divafn/nope", "nope", "mnist/x"):
        _raises(lambda: data.make_builder(name, str(tmp_path)),
                re.escape(f"--dataset={name}: expected divafn/<config>, ")
                + configs)
    _damaged_dataset(tmp_path)
    _raises(lambda: data.make_builder("divafn/synthetic_tiny", str(tmp_path)),
            re.escape(f"divafn/synthetic_tiny: the prepared dataset under "
                      f"{tmp_path}/divafn/synthetic_tiny cannot be read "
                      f"(Failed to load JSON: ") + r".*\); delete that folder "
                      r"to build it again$")


def test_the_manual_dir_layout_is_one_line_per_pair():
    from divafn_tf import data
    from tfds_builders.divafn import divafn_dataset_builder as builder
    layout = data.manual_layout(builder.MANUAL_DOWNLOAD_INSTRUCTIONS, "s2u")
    assert layout == [
        "UCF-101/<Class>/v_<Class>_gXX_cYY.avi (UCF101)",
        "Stanford40/JPEGImages/<action>_<nnn>.jpg (Stanford40)",
        "features/<ucf101|hmdb51>_<c3d|idt>/<video id>.npy (float [4096 | 2000])",
        "features/<ucf101|hmdb51>_frames_efficientnet_lite0/<video id>.npy "
        "(float [1280])",
        "GoogleNews-vectors-negative300.bin (or .bin.gz) (word2vec)"]
    b2u = data.manual_layout(builder.MANUAL_DOWNLOAD_INSTRUCTIONS, "b2u")
    assert "ucfTrainTestlist/classInd.txt, trainlist0N.txt, testlist0N.txt" in b2u
    assert not any("Stanford40" in entry for entry in b2u)


def test_output_folders_that_are_files(tmp_path):
    from divafn_tf import serving, train
    from divafn_tf.cli import experiments
    afile = _write(tmp_path / "afile", "")
    _raises(lambda: train.check_output_dir("--model_dir", str(afile)),
            rf"^--model_dir={re.escape(str(afile))}: expected a folder, it is "
            r"a file$")
    _raises(lambda: train.check_output_dir("--model_dir", str(afile / "run")),
            r"cannot create the folder \(Not a directory\)")
    _raises(lambda: serving.check_output_path(str(tmp_path)),
            r"expected a \.csv or \.jsonl file name for the predictions, it "
            r"is a folder")
    _raises(lambda: serving.check_output_path(str(afile / "p.csv")),
            rf"p\.csv: its folder {re.escape(str(afile))} is a file$")
    _raises(lambda: experiments.ratios_from_flag(["0.1", "abc"]),
            r"^--ratios=0\.1,abc: expected shares of each class's videos in "
            r"\(0, 1\], got 'abc'$")
    _raises(lambda: experiments.ratios_from_flag(["2"]), r"got '2'$")


def test_a_damaged_results_csv(tmp_path):
    from divafn_tf.experiments import runner
    path = tmp_path / "results.csv"
    row = dict.fromkeys(runner.CSV_FIELDS, "1")
    row.update(method="svm", ratio="abc")
    _write(path, ",".join(runner.CSV_FIELDS) + "\n"
           + ",".join(row[f] for f in runner.CSV_FIELDS) + "\n")
    _raises(lambda: runner.read_results(str(path)),
            r"results\.csv: line 2: column 'ratio': expected a number, got "
            r"'abc'; correct or delete the row, or use another --output_dir$")


def test_tf_config_and_multi_worker(monkeypatch):
    from divafn_tf import distribute
    monkeypatch.delenv("TF_CONFIG", raising=False)
    _raises(lambda: distribute.make_strategy("multi_worker"),
            r"^--strategy=multi_worker needs the TF_CONFIG environment "
            r"variable \(cluster and task\)$")
    monkeypatch.setenv("TF_CONFIG", "{cluster")
    _raises(distribute.is_chief, r"^TF_CONFIG: expected a JSON object with "
                                 r"'cluster' and 'task', cannot parse it")
    monkeypatch.setenv("TF_CONFIG", '{"task": 3}')
    _raises(distribute.is_chief, r"'task' is \{'type': \.\.\., 'index': "
                                 r"\.\.\.\}, got")


def test_unreadable_run_settings(tmp_path):
    from divafn_tf import checkpointing
    settings = tmp_path / checkpointing.SETTINGS_FILE
    saver = types.SimpleNamespace(directory=str(tmp_path), settings={"d": 32})
    for text, pattern in [("{bad", r"cannot read the settings of the run "
                                   r"saved there"),
                          ("[1]", r"expected a JSON object of the saved "
                                  r"run's settings, got a list")]:
        _write(settings, text)
        _raises(lambda: checkpointing.RunCheckpoint._check_settings(saver),
                re.escape(str(settings)) + ": " + pattern
                + r".*give a new --model_dir for a new run$")
    _write(settings, json.dumps({"d": 64}))
    _raises(lambda: checkpointing.RunCheckpoint._check_settings(saver),
            r"holds a run made with other settings: --d=64 \(now 32\); "
            r"resume with the same flags")


def test_damaged_saved_models_and_feature_files(tmp_path):
    from divafn_tf import serving
    from divafn_tf.prep import video_features
    _raises(lambda: serving.load_signature(str(tmp_path / "absent")),
            r"no SavedModel in '.*absent' \(expected the export/ folder that "
            r"divafn_tf.main writes under its --model_dir\)")
    _write(tmp_path / "saved_model.pb", "garbage")
    _raises(lambda: serving.load_signature(str(tmp_path)),
            rf"^{re.escape(str(tmp_path))}: cannot load the SavedModel "
            r"\(Cannot parse file .*\); is it a complete copy of what "
            r"divafn_tf.main exported\?$")
    junk = _write(tmp_path / "clip.npy", "junk")
    _raises(lambda: video_features.load_video_feature(junk, 64),
            r"clip\.npy: cannot read a \.npy array without pickle \(no \.npy "
            r"header, or an array of Python objects, which is never "
            r"unpickled\); expected a numeric vector of shape \(64,\)")


def test_a_damaged_mat_file(tmp_path):
    from divafn_tf.nets import matconvnet
    path = _write(tmp_path / "imagenet-vgg-f.mat", "junk")
    _raises(lambda: matconvnet.read_cnn_f(path),
            r"imagenet-vgg-f\.mat: cannot read it as a MATLAB \.mat file "
            r"\(.*\); expected MatConvNet's imagenet-vgg-f\.mat")


# --------------------------------------------------------------------------
# The commands (subprocesses): one line, exit 1, no traceback
# --------------------------------------------------------------------------

# Lines that TensorFlow's libraries may print while they load, before any
# code of ours runs (divafn_tf/quiet.py silences most).
_FRAMEWORK_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)|"
    r"[IWEF]\d{4} \d\d:\d\d:\d\d)")


def _command(module: str, *args: str) -> tuple[int, list[str], str]:
    """(exit status, the stderr lines that are ours, the whole stderr)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    lines = [line.strip() for line in re.split(r"[\r\n]", proc.stderr)
             if line.strip() and not _FRAMEWORK_LINE.match(line.strip())]
    return proc.returncode, lines, proc.stderr


def _check_one_sentence(module: str, args: list[str], expected: str) -> None:
    status, lines, stderr = _command(module, *args)
    assert "Traceback" not in stderr, stderr[-3000:]
    assert status == 1, stderr[-3000:]
    assert lines == [f"error: {expected}"], stderr[-3000:]


@pytest.mark.e2e
@pytest.mark.parametrize("case", ["unknown_dataset", "truncated_word2vec"])
def test_build_errors_are_one_sentence(tmp_path, case, word2vec_bytes):
    from dummy_manual import DUMMY
    args = [f"--data_dir={tmp_path / 'data'}", f"--manual_dir={DUMMY}"]
    if case == "unknown_dataset":
        args.append("--dataset=divafn/s2u")
        expected = ("--dataset=divafn/s2u: expected divafn/<config>, the "
                    "config one of synthetic, synthetic_val, synthetic_tiny, "
                    "s2u_c3d, s2u_idt, s2u_frames, a2u_c3d, a2u_idt, "
                    "a2u_frames, e2h_c3d, e2h_idt, e2h_frames, b2u_split1_c3d, "
                    "b2u_split1_idt, b2u_split1_frames, b2u_split2_c3d, "
                    "b2u_split2_idt, b2u_split2_frames, b2u_split3_c3d, "
                    "b2u_split3_idt, b2u_split3_frames")
    else:
        path = _write(tmp_path / "vectors.bin", word2vec_bytes[:40])
        args += ["--dataset=divafn/s2u_idt", f"--word_vectors={path}"]
        expected = (f"{path}: expected word vectors (word2vec binary or text, "
                    "or GloVe text); read as binary word2vec (a '<count> "
                    "<dim>' line, then binary floats) (told by its first "
                    "line), it fails: it ends before the number of words its "
                    "'<count> <dim>' line announces (a truncated file, or a "
                    "wrong count)")
    _check_one_sentence("tfds_builders.divafn.build", args, expected)


@pytest.mark.e2e
@pytest.mark.parametrize("case", ["flag_value", "damaged_dataset"])
def test_training_errors_are_one_sentence(tmp_path, case):
    args = [f"--flagfile={ROOT}/flags/tiny.cfg", f"--data_dir={tmp_path}",
            f"--model_dir={tmp_path / 'run'}"]
    if case == "flag_value":
        args.append("--epochs=three")
        expected = "--epochs=three: expected an integer"
    else:
        _damaged_dataset(tmp_path)
        expected = (f"divafn/synthetic_tiny: the prepared dataset under "
                    f"{tmp_path}/divafn/synthetic_tiny cannot be read (Failed "
                    "to load JSON: Expecting property name enclosed in double "
                    "quotes: line 1 column 2 (char 1)); delete that folder to "
                    "build it again")
    _check_one_sentence("divafn_tf.main", args, expected)


@pytest.mark.e2e
@pytest.mark.parametrize("case", ["video_without_feature", "damaged_model"])
def test_predict_errors_are_one_sentence(tmp_path, case):
    _write(tmp_path / "saved_model.pb", "garbage")
    args = [f"--saved_model={tmp_path}", f"--video={tmp_path / 'clip.avi'}"]
    if case == "video_without_feature":
        expected = "--video and --video_feature go together"
    else:
        args.append(f"--video_feature={tmp_path / 'clip.npy'}")
        expected = (f"{tmp_path}: cannot load the SavedModel (Cannot parse "
                    f"file b'{tmp_path}/saved_model.pb': Error parsing message "
                    "with type 'tensorflow.SavedModel': Wire format was "
                    "corrupt); is it a complete copy of what divafn_tf.main "
                    "exported?")
    _check_one_sentence("divafn_tf.predict", args, expected)


@pytest.mark.e2e
@pytest.mark.parametrize("case", ["ratios", "output_dir_is_a_file"])
def test_experiments_errors_are_one_sentence(tmp_path, case):
    args = [f"--flagfile={ROOT}/flags/tiny.cfg", f"--data_dir={tmp_path}",
            "--methods=svm", "--repeats=1"]
    if case == "ratios":
        args += ["--ratios=0.1,a third", f"--output_dir={tmp_path / 'out'}"]
        expected = ("--ratios=0.1,a third: expected shares of each class's "
                    "videos in (0, 1], got 'a third'")
    else:
        afile = _write(tmp_path / "out.txt", "")
        args += ["--ratios=0.3", f"--output_dir={afile}"]
        expected = f"--output_dir={afile}: expected a folder, it is a file"
    _check_one_sentence("divafn_tf.experiments", args, expected)
