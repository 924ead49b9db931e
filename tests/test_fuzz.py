"""Seeded mutations of a valid file for each reader of user files (tests/fuzzing.py).

Each mutation either loads or ends in a `UserInputError` naming the file,
within `fuzzing.TIME_LIMIT_S`, writing nothing beside it. 200 mutations per
reader, fewer where one read is slow (`COUNTS`). ``-s`` prints the table
(also ``python benchmarks/fuzz_report.py``). The regression tests at the
end keep the cases the fuzzer found.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from absl import flags

import fuzzing
from divafn_tf import quiet
from divafn_tf.cli import command
from divafn_tf.cli import flags as run_flags  # noqa: F401  (defines the run flags)
from divafn_tf.errors import UserInputError
from divafn_tf.nets import matconvnet, torch_state_dict
from divafn_tf.prep import video_features
from divafn_tf.prep.semantics import class_vector_files, word_vectors
from tfds_builders.divafn import official_splits

# numpy parses a .npy header with ast.literal_eval: a mutated header such as
# {'descr': '<f8\p'...} makes Python warn of the escape while compiling it,
# before numpy refuses the file. The warning is the fuzz input's, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:invalid escape sequence:DeprecationWarning")

SEED = 20260
CLASSES = ("Archery", "Biking", "Diving")
DIM = 8
COUNTS: dict[str, int] = {}   # per reader, where one read is slow
DEFAULT_COUNT = 200


def _vectors(rows: int, width: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(rows, width)).astype(np.float32)


def _number_lines(names, width: int, separator: str) -> str:
    return "".join(
        separator.join([name, *(f"{v:.4f}" for v in row)]) + "\n"
        for name, row in zip(names, _vectors(len(names), width)))


# ---------------------------------------------------------------------------
# Each reader: write its valid file(s) under a folder; return (the file to
# mutate, the call that reads it).

Reader = tuple[Path, Callable[[Path], object]]


def _ucf_lists(folder: Path) -> Path:
    """classInd.txt, trainlist01.txt, testlist01.txt and their videos."""
    lists, root = folder / "lists", folder / "videos"
    lists.mkdir()
    (lists / "classInd.txt").write_bytes(b"".join(
        f"{i} {name}\r\n".encode() for i, name in enumerate(CLASSES, 1)))
    train, test = [], []
    for label, name in enumerate(CLASSES, 1):
        (root / name).mkdir(parents=True)
        for group in (1, 2):
            video = f"v_{name}_g0{group}_c01.avi"
            (root / name / video).write_bytes(b"")
            (train if group == 1 else test).append((f"{name}/{video}", label))
    (lists / "trainlist01.txt").write_text(
        "".join(f"{v} {label}\r\n" for v, label in train), encoding="utf-8")
    (lists / "testlist01.txt").write_text(
        "".join(f"{v}\r\n" for v, _ in test), encoding="utf-8")
    return lists


def ucf101_class_index(folder: Path) -> Reader:
    lists = _ucf_lists(folder)
    return lists / "classInd.txt", official_splits.read_ucf101_class_index


def _split_reader(folder: Path, name: str) -> Reader:
    lists = _ucf_lists(folder)
    return lists / name, lambda path: official_splits.read_ucf101_split(
        str(lists), 1, str(folder / "videos"))


def ucf101_trainlist(folder: Path) -> Reader:
    return _split_reader(folder, "trainlist01.txt")


def ucf101_testlist(folder: Path) -> Reader:
    return _split_reader(folder, "testlist01.txt")


def video_feature_npy(folder: Path) -> Reader:
    path = folder / "v_Archery_g01_c01.npy"
    np.save(path, _vectors(1, DIM)[0])
    return path, lambda p: video_features.load_video_feature(p, DIM)


def _feature_matrix(folder: Path) -> Callable[[Path], object]:
    ids = [f"video{i}" for i in range(5)]
    np.save(folder / video_features.MATRIX_FILE, _vectors(len(ids), DIM))
    (folder / video_features.INDEX_FILE).write_text("\n".join(ids) + "\n",
                                                     encoding="utf-8")

    def read(path: Path) -> list[np.ndarray]:
        source = video_features.FeatureSource(folder, DIM)
        source.check_complete(ids)
        return [source.get(video_id) for video_id in ids]
    return read


def feature_matrix_npy(folder: Path) -> Reader:
    return folder / video_features.MATRIX_FILE, _feature_matrix(folder)


def feature_matrix_index(folder: Path) -> Reader:
    return folder / video_features.INDEX_FILE, _feature_matrix(folder)


def _class_vectors(path: Path) -> np.ndarray:
    return class_vector_files.load_class_vectors(path, CLASSES)


def class_vector_json(folder: Path) -> Reader:
    path = folder / "class_vectors.json"
    rows = _vectors(len(CLASSES), 4)
    path.write_text("{" + ", ".join(
        f'"{name}": [{", ".join(f"{v:.5f}" for v in row)}]'
        for name, row in zip(CLASSES, rows)) + "}\n", encoding="utf-8")
    return path, _class_vectors


def attribute_csv(folder: Path) -> Reader:
    path = folder / "attributes.csv"
    path.write_text("# class,a1,a2,a3,a4,a5\n"
                    + _number_lines(CLASSES, 5, ","), encoding="utf-8")
    return path, _class_vectors


def attribute_text(folder: Path) -> Reader:
    path = folder / "attributes.txt"
    path.write_text(_number_lines(CLASSES, 5, " "), encoding="utf-8")
    return path, _class_vectors


def attribute_npy(folder: Path) -> Reader:
    path = folder / "attributes.npy"
    np.save(path, (_vectors(len(CLASSES), 5) > 0).astype(np.float64))
    return path, _class_vectors


def _keyed_vectors(path: Path, binary: bool) -> None:
    from gensim.models import KeyedVectors
    words = ["archery", "biking", "diving", "bow", "bike", "pool", "water",
             "arrow", "ride", "jump", "swim", "target"]
    kv = KeyedVectors(vector_size=DIM)
    kv.add_vectors(words, _vectors(len(words), DIM))
    kv.save_word2vec_format(str(path), binary=binary)


def word2vec_binary(folder: Path) -> Reader:
    path = folder / "vectors.bin"
    _keyed_vectors(path, binary=True)
    return path, word_vectors.load_word_vectors


def word2vec_text(folder: Path) -> Reader:
    path = folder / "vectors.txt"
    _keyed_vectors(path, binary=False)
    return path, word_vectors.load_word_vectors


def cnn_f_mat(folder: Path) -> Reader:
    from test_matconvnet import write_vgg_f
    path = folder / "imagenet-vgg-f.mat"
    write_vgg_f(path, channels=(4, 4, 4, 4, 4), fc=8)
    return path, matconvnet.read_cnn_f


def torch_state_dict_zip(folder: Path) -> Reader:
    from test_torch_state_dict import _example, write_zip  # no pickle module
    tensors, storages, _ = _example()
    path = folder / "weights.pth"
    write_zip(path, tensors, storages)
    return path, torch_state_dict.read_state_dict


def _parse_flagfile(path: Path) -> flags.FlagValues:
    """The commands' path for ``--flagfile=path``: the verbosity peek before
    TensorFlow (`quiet.command_line_verbosity`), then `command.parse_flags`
    on the run flags at their defaults. Its refusal (``error: <message>``,
    exit 1) is raised as the `UserInputError` it reports."""
    argv = ["prog", f"--flagfile={path}"]
    quiet.command_line_verbosity(argv)
    values = flags.FlagValues()
    for name in flags.FLAGS:
        if flags.FLAGS.find_module_defining_flag(name) == run_flags.__name__:
            values[name] = flags.FLAGS[name]
    values.unparse_flags()
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            command.parse_flags(argv, values)
    except SystemExit as e:
        if e.code != 1 or not stderr.getvalue().startswith("error: "):
            raise
        raise UserInputError(stderr.getvalue().strip()) from None
    finally:
        values.unparse_flags()
    return values


def flagfile(folder: Path) -> Reader:
    path = folder / "run.cfg"
    path.write_text("# a run\n--dataset=divafn/synthetic_tiny\n"
                    "--train_ratio=0.3\n--image_size=64\n--epochs=3\n"
                    "--learning_rate=1e-3\n--model_dir=runs/tiny\n",
                    encoding="utf-8")
    return path, _parse_flagfile


READERS: dict[str, Callable[[Path], Reader]] = {
    f.__name__: f for f in (
        ucf101_class_index, ucf101_trainlist, ucf101_testlist,
        video_feature_npy, feature_matrix_npy, feature_matrix_index,
        class_vector_json, attribute_csv, attribute_text, attribute_npy,
        word2vec_binary, word2vec_text, cnn_f_mat, torch_state_dict_zip,
        flagfile)}


def idt_descriptors(folder: Path) -> Reader:
    from divafn_tf.prep import idt
    path = folder / "v_Archery_g01_c01.txt"
    rows = np.abs(_vectors(3, idt.NUM_COLUMNS))
    path.write_text("".join("".join(f"{v:.5f}\t" for v in row) + "\n"
                            for row in rows), encoding="utf-8")
    return path, idt.read_trajectories


def llc_codebook(folder: Path) -> Reader:
    from divafn_tf.prep import llc
    path = folder / "codebook.npy"
    np.save(path, _vectors(4, 6))
    return path, lambda p: llc.load_codebook(p, 6)


try:  # being written: fuzzed once they exist
    from divafn_tf.prep import idt as _idt, llc as _llc  # noqa: F401
    READERS.update(idt_descriptors=idt_descriptors, llc_codebook=llc_codebook)
except ImportError:
    pass


def run(name: str, folder: Path, count: int | None = None) -> fuzzing.Counts:
    """The fuzz counts of one reader, its files written under ``folder``."""
    path, reader = READERS[name](folder)
    reader(path)                             # the valid file loads
    return fuzzing.fuzz(name, reader, path,
                        count or COUNTS.get(name, DEFAULT_COUNT), SEED)


_TABLE: list[fuzzing.Counts] = []


@pytest.fixture(scope="module", autouse=True)
def _print_table():
    yield
    if _TABLE:
        print("\n" + fuzzing.TABLE_HEADER)
        print("\n".join(c.row() for c in _TABLE))


@pytest.mark.parametrize("name", list(READERS))
def test_every_mutation_loads_or_is_refused_naming_the_file(name, tmp_path):
    counts = run(name, tmp_path)
    _TABLE.append(counts)
    assert counts.tried == counts.loaded + counts.refused + len(counts.other)
    assert not counts.other, "\n".join(counts.other[:10])


# ---------------------------------------------------------------------------
# What the fuzzer found, each case once (before its fix, the exception named).

def _npy_with_header(path: Path, header: bytes) -> Path:
    """A .npy file of version 1.0 with ``header`` (padded) and 16 bytes."""
    header = header.ljust(118 - 1) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                     + header + bytes(16))
    return path


HUGE_SHAPE = b"{'descr': '<f8', 'fortran_order': False, 'shape': (12884901888,), }"
OVERFLOW_SHAPE = (b"{'descr': '<f4', 'fortran_order': False, 'shape': (" + b"9" * 20
                  + b",), }")
CUT_HEADER = b"{'descr': '<f4', 'fortran_order': False, 'shape': (8,"


@pytest.mark.parametrize("header, before", [
    (HUGE_SHAPE, "MemoryError"), (OVERFLOW_SHAPE, "OverflowError"),
    (CUT_HEADER, "tokenize.TokenError")])
def test_a_damaged_npy_header_is_refused_naming_the_file(tmp_path, header,
                                                         before):
    path = _npy_with_header(tmp_path / "feature.npy", header)
    with pytest.raises(UserInputError, match=f"^{path}: cannot read"):
        video_features.load_video_feature(path, DIM)
    with pytest.raises(UserInputError, match=f"^{path}: expected a numeric"):
        class_vector_files.load_attribute_vectors(path, CLASSES)


def test_a_header_larger_than_the_file_is_refused_before_allocating(tmp_path):
    path = _npy_with_header(tmp_path / "features.npy", HUGE_SHAPE)
    with pytest.raises(ValueError, match="announces shape \\(12884901888,\\) "
                       "of float64 \\(103079215104 bytes\\), the file holds 16"):
        video_features.read_npy(path)


@pytest.mark.parametrize("name", ["classInd.txt", "trainlist01.txt"])
def test_a_split_list_not_in_utf8_names_its_line(tmp_path, name):
    """Before: UnicodeDecodeError."""
    lists = _ucf_lists(tmp_path)
    path = lists / name
    path.write_bytes(path.read_bytes() + "Café 4\r\n".encode("latin-1"))
    with pytest.raises(UserInputError, match=f"^{path}:4: expected UTF-8 "
                       "text, got the byte 0xe9 at column 4$"):
        official_splits.read_ucf101_split(str(lists), 1,
                                          str(tmp_path / "videos"))


def test_a_class_number_in_other_digits_is_refused(tmp_path):
    """Before: ValueError from int('²')."""
    path = tmp_path / "classInd.txt"
    path.write_text("1 Archery\n² Biking\n", encoding="utf-8")
    with pytest.raises(UserInputError, match=f"^{path}:2: expected "
                       "'<number> <ClassName>'"):
        official_splits.read_ucf101_class_index(str(path))


def test_a_feature_index_not_in_utf8_names_its_line(tmp_path):
    """Before: UnicodeDecodeError."""
    read = _feature_matrix(tmp_path)
    index = tmp_path / video_features.INDEX_FILE
    index.write_bytes(b"video0\nvid\xe9o1\n")
    with pytest.raises(UserInputError, match=f"^{index}:2: expected UTF-8"):
        read(index)


def test_a_json_integer_beyond_float64_is_refused(tmp_path):
    """Before: OverflowError from np.array."""
    path, read = class_vector_json(tmp_path)
    path.write_text('{"Archery": [1, 2], "Biking": [1, 1], "Diving": [9'
                    + "9" * 400 + ", 1]}", encoding="utf-8")
    with pytest.raises(UserInputError, match=f"^{path}: class 'Diving': "
                       "expected numbers within float64's range"):
        read(path)


@pytest.mark.parametrize("count", [b"12884901888", b"9" * 20])
def test_a_word2vec_count_beyond_the_file_is_refused(tmp_path, count):
    """Before: MemoryError or OverflowError from gensim's allocation."""
    path, read = word2vec_binary(tmp_path)
    data = path.read_bytes()
    path.write_bytes(count + data[data.index(b" "):])
    with pytest.raises(UserInputError, match=f"^{path}: .*it ends before the number "
                       "of words its '<count> <dim>' line announces"):
        read(path)


def test_a_zip_member_of_unknown_compression_is_refused(tmp_path):
    """Before: NotImplementedError from zipfile."""
    path, read = torch_state_dict_zip(tmp_path)
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset:at + offset + 2] = (99).to_bytes(2, "little")
            at = data.find(signature, at + 1)
    path.write_bytes(bytes(data))
    with pytest.raises(UserInputError, match=f"^{path}: expected a torch.save "
                       "zip archive"):
        read(path)


def test_a_mat_file_scipy_cannot_parse_is_refused(tmp_path):
    """Before: TypeError ("Expecting matrix here") from scipy.io.loadmat."""
    path, read = cnn_f_mat(tmp_path)
    data = next(d for i, (kind, d) in enumerate(fuzzing.mutations(
        path.read_bytes(), 3, SEED)) if i == 2)     # the fuzzer's insert
    path.write_bytes(data)
    with pytest.raises(UserInputError, match=f"^{path}: cannot read it as a "
                       "MATLAB .mat file"):
        read(path)


def test_a_flagfile_not_in_utf8_is_one_sentence_naming_it(tmp_path):
    """Before: UnicodeDecodeError, in the verbosity peek and in absl."""
    path = tmp_path / "run.cfg"
    path.write_bytes("--model_dir=runs/café\n".encode("latin-1"))
    assert quiet.command_line_verbosity(["prog", f"--flagfile={path}"]) is None
    with pytest.raises(UserInputError, match=f"^error: --flagfile={path} \\(or "
                       "a flagfile it includes\\): expected UTF-8 text"):
        _parse_flagfile(path)


def test_a_refused_flag_names_the_flagfile(tmp_path):
    path = tmp_path / "run.cfg"
    path.write_text("--epochs=nan\n", encoding="utf-8")
    with pytest.raises(UserInputError, match=f"^error: --epochs=nan: expected "
                       f"an integer \\(in --flagfile={path}\\)$"):
        _parse_flagfile(path)
