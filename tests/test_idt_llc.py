"""IDT files (Wang & Schmid 2013's improved_trajectory output) and their LLC
coding (Wang et al. 2010), §IV.B.

The reader runs on files written here in DenseTrackStab's format (tab after
every field, ``%d`` frame number, ``%f`` information and trajectory fields,
``%.7f`` histograms), plain and gzipped. The LLC codes are checked against an
independent solve of the approximated LLC problem on the k nearest bases,
min_c ‖x − B_kᵀc‖² + β·tr(C)·‖c‖² s.t. 1ᵀc = 1, tr(C) = Σ_j ‖b_j − x‖²: its
KKT linear system by ``numpy.linalg.lstsq`` and scipy's SLSQP.
"""
from __future__ import annotations

import gzip

import numpy as np
import pytest
import scipy.optimize

from divafn_tf.errors import UserInputError
from divafn_tf.prep import idt, llc

D = idt.descriptor_dim()


def wang_line(rng: np.random.Generator, frame: int = 15) -> tuple[str, np.ndarray]:
    """One line as DenseTrackStab prints it, and its 436 values as printed."""
    info = rng.uniform(0, 100, 9)
    trajectory = rng.normal(0, 0.1, 30)
    histograms = rng.uniform(0, 0.5, 426 - 30)
    text = (f"{frame}\t" + "".join(f"{v:f}\t" for v in info)
            + "".join(f"{v:f}\t" for v in trajectory)
            + "".join(f"{v:.7f}\t" for v in histograms) + "\n")
    return text, np.array(text.split(), dtype=np.float64)


def write_wang_file(path, lines: list[str], gzipped: bool = False):
    data = "".join(lines).encode("ascii")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


@pytest.fixture
def three_lines():
    rng = np.random.default_rng(0)
    pairs = [wang_line(rng, frame) for frame in (15, 16, 20)]
    return [p[0] for p in pairs], np.stack([p[1] for p in pairs])


# ---------------------------------------------------------------- reader


def test_layout_is_improved_trajectorys_default_436_columns():
    assert idt.NUM_COLUMNS == 436 and D == 426
    assert idt.PART_SIZES == {"trajectory": 30, "hog": 96, "hof": 108,
                              "mbhx": 96, "mbhy": 96}
    np.testing.assert_array_equal(idt.part_columns(), np.arange(10, 436))


def test_reads_a_plain_file(tmp_path, three_lines):
    lines, values = three_lines
    got = idt.read_trajectories(write_wang_file(tmp_path / "v.txt", lines))
    assert got.dtype == np.float32 and got.shape == (3, D)
    np.testing.assert_allclose(got, values[:, 10:], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["v.gz", "v.features"])
def test_reads_a_gzipped_file_by_its_magic_bytes(tmp_path, three_lines, name):
    lines, values = three_lines
    path = write_wang_file(tmp_path / name, lines, gzipped=True)
    np.testing.assert_allclose(idt.read_trajectories(path), values[:, 10:],
                               rtol=1e-6, atol=1e-7)


def test_parts_select_their_columns_in_the_files_order(tmp_path, three_lines):
    lines, values = three_lines
    path = write_wang_file(tmp_path / "v.txt", lines)
    got = idt.read_trajectories(path, parts=("mbhy", "hog"))
    assert idt.descriptor_dim(("hog", "mbhy")) == 192
    np.testing.assert_allclose(
        got, np.hstack([values[:, 40:136], values[:, 340:436]]), rtol=1e-6)
    with pytest.raises(UserInputError, match="expected one or more distinct "
                                             "names of trajectory, hog"):
        idt.read_trajectories(path, parts=("hog", "sift"))


def test_wrong_column_count_names_file_and_line(tmp_path, three_lines):
    lines, _ = three_lines
    lines[2] = lines[2].replace("\t", " ", 1).split(" ", 1)[1]  # drop a field
    path = write_wang_file(tmp_path / "v.txt", lines)
    with pytest.raises(idt.IdtFileError,
                       match=rf"v.txt:3: 435 fields; expected 436 .*"
                             r"10 information fields, then trajectory 30, "
                             r"hog 96, hof 108, mbhx 96, mbhy 96"):
        idt.read_trajectories(path)


def test_non_number_names_file_line_column_and_field(tmp_path, three_lines):
    lines, _ = three_lines
    fields = lines[1].split("\t")
    fields[44] = "abc"
    lines[1] = "\t".join(fields)
    path = write_wang_file(tmp_path / "v.gz", lines, gzipped=True)
    with pytest.raises(idt.IdtFileError, match=r"v.gz:2: column 45 \(hog "
                                               r"descriptor\) is 'abc', not a number"):
        idt.read_trajectories(path)


@pytest.mark.parametrize("value", ["nan", "-inf", "1e39"])
def test_non_finite_value_names_file_line_and_column(tmp_path, three_lines, value):
    lines, _ = three_lines
    fields = lines[0].split("\t")
    fields[3] = value
    lines[0] = "\t".join(fields)
    path = write_wang_file(tmp_path / "v.txt", lines)
    with pytest.raises(idt.IdtFileError, match=rf"v.txt:1: column 4 \(information "
                                               rf"field\) is '{value}', not finite"):
        idt.read_trajectories(path)


def test_line_numbers_count_blank_lines_and_earlier_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(idt, "_BLOCK_LINES", 2)
    rng = np.random.default_rng(1)
    lines = [wang_line(rng)[0] for _ in range(5)]
    lines.insert(1, "\n")
    path = write_wang_file(tmp_path / "v.txt", lines)
    assert idt.read_trajectories(path).shape == (5, D)
    lines[5] = lines[5].replace("\t", "\tx\t", 1)
    write_wang_file(path, lines)
    with pytest.raises(idt.IdtFileError, match=r"v.txt:6: 437 fields"):
        idt.read_trajectories(path)


@pytest.mark.parametrize("gzipped", [False, True])
def test_empty_file_gives_no_trajectories_and_a_zero_feature(tmp_path, gzipped):
    path = write_wang_file(tmp_path / "empty", [], gzipped=gzipped)
    got = idt.read_trajectories(path)
    assert got.shape == (0, D) and got.dtype == np.float32
    codebook = np.random.default_rng(0).random((7, D), dtype=np.float32)
    feature = llc.llc_encode(got, codebook)
    assert feature.dtype == np.float32
    np.testing.assert_array_equal(feature, np.zeros(7))


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(idt.IdtFileError, match="nope.gz: no such trajectory file"):
        idt.read_trajectories(tmp_path / "nope.gz")
    corrupt = tmp_path / "bad.gz"
    corrupt.write_bytes(b"\x1f\x8b" + b"not gzip at all" * 10)
    with pytest.raises(idt.IdtFileError, match="bad.gz: cannot be read as plain "
                                               "or gzipped text"):
        idt.read_trajectories(corrupt)


# ---------------------------------------------------------------- LLC


def reference_code(x: np.ndarray, bases: np.ndarray, beta: float) -> np.ndarray:
    """min_c ‖x − basesᵀc‖² + β·tr(C)·‖c‖² s.t. 1ᵀc = 1, by its KKT system."""
    x, bases = x.astype(np.float64), bases.astype(np.float64)
    k = len(bases)
    r = beta * np.sum((bases - x) ** 2)          # β·trace(C)
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = 2 * (bases @ bases.T + r * np.eye(k))
    kkt[:k, k] = kkt[k, :k] = 1
    rhs = np.append(2 * bases @ x, 1.0)
    return np.linalg.lstsq(kkt, rhs, rcond=None)[0][:k]


def nearest_by_sorting(x: np.ndarray, codebook: np.ndarray, k: int) -> np.ndarray:
    distances = np.sum((x[:, None, :].astype(np.float64) - codebook) ** 2, axis=2)
    return np.argsort(distances, axis=1)[:, :k]


def random_problem(n: int, m: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, dim)).astype(np.float32),
            rng.normal(size=(m, dim)).astype(np.float32))


@pytest.mark.parametrize("dim,beta", [(8, 1e-4), (3, 1e-4), (8, 0.3)])
def test_codes_solve_the_approximated_llc_problem(dim, beta):
    # dim 3 < k = 5: C is singular and only the β·tr(C) term makes it solvable.
    x, codebook = random_problem(40, 25, dim)
    nearest, w = llc.llc_coefficients(x, codebook, k=5, beta=beta)
    assert nearest.shape == w.shape == (40, 5)
    np.testing.assert_array_equal(np.sort(nearest, axis=1),
                                  np.sort(nearest_by_sorting(x, codebook, 5), axis=1))
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    for i in range(len(x)):
        expected = reference_code(x[i], codebook[nearest[i]], beta)
        np.testing.assert_allclose(w[i], expected, rtol=1e-6, atol=1e-9)


def test_codes_match_a_constrained_minimiser():
    x, codebook = random_problem(5, 20, 6, seed=3)
    nearest, w = llc.llc_coefficients(x, codebook, k=5, beta=1e-2)
    for i in range(len(x)):
        bases = codebook[nearest[i]].astype(np.float64)
        r = 1e-2 * np.sum((bases - x[i]) ** 2)

        def objective(c, bases=bases, xi=x[i].astype(np.float64), r=r):
            return np.sum((xi - bases.T @ c) ** 2) + r * np.sum(c ** 2)

        result = scipy.optimize.minimize(
            objective, np.full(5, 0.2), method="SLSQP", tol=1e-14,
            constraints=[{"type": "eq", "fun": lambda c: np.sum(c) - 1}])
        assert result.success
        np.testing.assert_allclose(w[i], result.x, atol=1e-5)
        assert objective(w[i]) <= result.fun + 1e-9


def test_descriptor_on_all_its_bases_gets_equal_weights():
    codebook = np.vstack([np.ones((5, 4)), 10 + np.arange(12).reshape(3, 4)])
    nearest, w = llc.llc_coefficients(np.ones((1, 4)), codebook.astype(np.float32))
    assert set(nearest[0]) == set(range(5))
    np.testing.assert_allclose(w, np.full((1, 5), 0.2))


def test_encode_max_pools_the_codes_then_l2_normalises(monkeypatch):
    x, codebook = random_problem(60, 30, 8, seed=5)
    codes = np.zeros((60, 30))
    for i, bases in enumerate(nearest_by_sorting(x, codebook, 5)):
        codes[i, bases] = reference_code(x[i], codebook[bases], 1e-4)
    pooled = codes.max(axis=0)
    expected = pooled / np.linalg.norm(pooled)
    feature = llc.llc_encode(x, codebook)
    assert feature.dtype == np.float32 and feature.shape == (30,)
    np.testing.assert_allclose(feature, expected, rtol=1e-5, atol=1e-7)
    monkeypatch.setattr(llc, "_CHUNK_ELEMENTS", 7 * 30)       # 9 chunks of 7
    np.testing.assert_allclose(llc.llc_encode(x, codebook), feature, atol=1e-7)


def test_pooling_keeps_a_negative_weight_that_every_descriptor_has():
    # One descriptor outside its bases' hull: its code has negative weights,
    # and no other descriptor puts a zero on those entries.
    x, codebook = random_problem(1, 5, 3, seed=2)
    x = 10 * x
    _, w = llc.llc_coefficients(x, codebook)
    assert (w < 0).any()
    feature = llc.llc_encode(x, codebook)
    assert (feature < 0).any()
    np.testing.assert_allclose(np.linalg.norm(feature), 1.0, rtol=1e-6)


def test_encode_checks_its_inputs():
    x, codebook = random_problem(4, 6, 5)
    with pytest.raises(UserInputError, match="descriptors of dimension 4 and a "
                                             "codebook of dimension 5"):
        llc.llc_encode(x[:, :4], codebook)
    with pytest.raises(UserInputError, match="7 nearest bases: expected 1 to "
                                             "the codebook's 6 entries"):
        llc.llc_encode(x, codebook, k=7)


# ---------------------------------------------------------------- codebook


def test_sample_takes_up_to_200_distinct_rows_of_each_video():
    rng = np.random.default_rng(0)
    videos = [rng.random((n, 3), dtype=np.float32) for n in (50, 300, 0, 200)]
    sample = llc.sample_for_codebook(videos, seed=1)
    assert sample.shape == (450, 3) and sample.dtype == np.float32
    np.testing.assert_array_equal(sample[:50], videos[0])
    second = sample[50:250]
    assert len(np.unique(second, axis=0)) == 200
    assert all((videos[1] == row).all(axis=1).any() for row in second)
    np.testing.assert_array_equal(sample[250:], videos[3])


def test_sample_is_seeded_and_follows_the_video_ids():
    rng = np.random.default_rng(0)
    a, b = rng.random((500, 4)), rng.random((400, 4))
    first = llc.sample_for_codebook([("a", a), ("b", b)], per_video=20, seed=7)
    again = llc.sample_for_codebook(iter([("a", a), ("b", b)]), per_video=20, seed=7)
    np.testing.assert_array_equal(first, again)
    swapped = llc.sample_for_codebook([("b", b), ("a", a)], per_video=20, seed=7)
    np.testing.assert_array_equal(swapped[:20], first[20:])
    other = llc.sample_for_codebook([("a", a), ("b", b)], per_video=20, seed=8)
    assert not np.array_equal(first, other)


def test_sample_errors():
    with pytest.raises(UserInputError, match=r"video b: descriptors of shape "
                                             r"\(3, 5\), expected \[n, 4\]"):
        llc.sample_for_codebook([("a", np.ones((3, 4))), ("b", np.ones((3, 5)))])
    with pytest.raises(UserInputError, match="no training video has a descriptor"):
        llc.sample_for_codebook([np.zeros((0, 4))])


def test_train_codebook_needs_as_many_samples_as_centres():
    samples = np.zeros((300, 6), np.float32)
    with pytest.raises(UserInputError, match="a codebook of 2000 centres needs at "
                                             "least 2000 sampled descriptors, got 300"):
        llc.train_codebook(samples)


@pytest.mark.e2e  # scikit-learn's k-means asks lscpu for the physical cores
def test_train_codebook_is_seeded():
    samples = np.random.default_rng(0).normal(size=(300, 6)).astype(np.float32)
    codebook = llc.train_codebook(samples, size=8, seed=0)
    assert codebook.shape == (8, 6) and codebook.dtype == np.float32
    np.testing.assert_array_equal(codebook, llc.train_codebook(samples, 8, seed=0))


def test_codebook_round_trip_is_atomic(tmp_path, monkeypatch):
    codebook = np.random.default_rng(0).normal(size=(9, 4))
    path = llc.save_codebook(tmp_path / "sub" / "codebook.npy", codebook)
    loaded = llc.load_codebook(path, dim=4)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, codebook.astype(np.float32))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        llc.save_codebook(path, np.zeros((2, 4)))
    assert [p.name for p in path.parent.iterdir()] == ["codebook.npy"]
    np.testing.assert_array_equal(llc.load_codebook(path), loaded)


def write_object_npy(path):
    """An object-dtype .npy written by hand (no pickle is ever made)."""
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": (2,)})
        f.write(b"\x00" * 16)


def test_bad_codebook_files_name_the_file_and_the_expected_shape(tmp_path):
    np.save(tmp_path / "good.npy", np.ones((3, 4), np.float32))
    with pytest.raises(UserInputError, match=r"good.npy: expected a finite float "
                                             r"matrix \[M, 5\].*shape \(3, 4\)"):
        llc.load_codebook(tmp_path / "good.npy", dim=5)
    cases = {"missing.npy": None,
             "text.npy": b"0.1 0.2\n",
             "objects.npy": write_object_npy,
             "ints.npy": np.ones((3, 4), np.int64),
             "vector.npy": np.ones(4),
             "nan.npy": np.array([[np.nan, 1.0]]),
             "archive.npy": "npz"}
    messages = {"missing.npy": "no such codebook file",
                "text.npy": "cannot read a .npy array without pickle",
                "objects.npy": "cannot read a .npy array without pickle",
                "ints.npy": "dtype int64", "vector.npy": r"shape \(4,\)",
                "nan.npy": "non-finite", "archive.npy": "not a single .npy array"}
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is write_object_npy:
            write_object_npy(path)
        elif isinstance(content, np.ndarray):
            np.save(path, content)
        elif content == "npz":
            with path.open("wb") as f:
                np.savez(f, a=np.ones((2, 2)))
        with pytest.raises(UserInputError, match=rf"{name}: .*{messages[name]}"):
            llc.load_codebook(path)
