"""`python -m tfds_builders.divafn.build`: split sizes, and errors as sentences."""
import subprocess
import sys
from pathlib import Path

import pytest

import dummy_manual
from dummy_manual import DUMMY

pytestmark = pytest.mark.e2e  # runs the build command

ROOT = Path(__file__).resolve().parent.parent


def _build(*args):
    return subprocess.run(
        [sys.executable, "-m", "tfds_builders.divafn.build", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_build_prints_the_splits(tmp_path):
    proc = _build("--dataset=divafn/b2u_split3_idt", f"--data_dir={tmp_path}",
                  f"--manual_dir={DUMMY}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "101 classes, keyframes (1, 224, 224, 3), video feature (2000,)" \
        in proc.stdout
    assert "train: 42 examples" in proc.stdout
    assert "test: 21 examples" in proc.stdout


def test_out_of_vocabulary_words_are_one_sentence_not_a_trace(tmp_path):
    manual = dummy_manual.copy(tmp_path)
    vectors = dummy_manual.drop_words(manual, {"archery"})
    proc = _build("--dataset=divafn/s2u_c3d", f"--data_dir={tmp_path / 'data'}",
                  f"--manual_dir={manual}")
    assert proc.returncode == 1
    assert (f"error: 1 word(s) missing from the word vectors {vectors}: "
            "'archery' in \"archery\"") in proc.stderr
    assert "Traceback" not in proc.stderr
