"""Kill -9 the experiments command at seeded random moments, resume each time.

After every kill, ``results.csv`` holds whole rows only, none twice, each
equal to the uninterrupted run's row of the same rank; the run resumed after
the last kill ends with the uninterrupted run's rows (the accuracies
bit-identical: the runs are deterministic), table and HParams runs. Each kill
lands at a seeded random delay (0 to 0.5 s) after the attempt added its first
row, where rows are computed and written.

The default run kills a small run 3 times; ``-m slow`` kills a larger one 10
times. ``-s`` prints the figures (kills, rows after each, times).
"""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from divafn_tf.experiments import runner

pytestmark = pytest.mark.e2e  # runs (and kills) the experiments command
ROOT = Path(__file__).resolve().parent.parent
SEED = 17
KILL_WINDOW_S = 0.5
# (methods, ratios, repeats): the small run's 8 rows, the large run's 30.
SMALL = ("svm,kvc", "0.3", 4)
LARGE = ("svm,kvc,divf", "0.3,0.5", 5)


def _command(data_dir: Path, out: Path, run: tuple) -> list[str]:
    methods, ratios, repeats = run
    return [sys.executable, "-m", "divafn_tf.experiments",
            f"--flagfile={ROOT}/flags/tiny.cfg", "--epochs=1",
            f"--methods={methods}", f"--ratios={ratios}",
            f"--repeats={repeats}", f"--data_dir={data_dir}",
            f"--output_dir={out}"]


def _values(out: Path) -> list[tuple]:
    """results.csv's rows as `runner.read_results` reads them (which refuses
    a repeated row), without the timings."""
    return [tuple(row[f] for f in runner.CSV_FIELDS if f != "seconds")
            for row in runner.read_results(str(out / "results.csv"))]


def _rows_on_disk(out: Path) -> int:
    path = out / "results.csv"
    return max(0, len(path.read_bytes().splitlines()) - 1) if path.exists() else 0


def _check_whole(out: Path, expected: list[tuple]) -> int:
    """The number of rows of results.csv, after checking each is whole and
    the uninterrupted run's row of the same rank."""
    path = out / "results.csv"
    if not path.exists():
        return 0
    data = path.read_bytes()
    assert data.endswith(b"\r\n"), data[-80:]
    for line in data.decode("utf-8").split("\r\n")[:-1]:
        assert len(line.split(",")) == len(runner.CSV_FIELDS), line
    got = _values(out)
    assert got == expected[:len(got)]
    return len(got)


def _run(data_dir: Path, out: Path, run: tuple) -> float:
    """Runs the command to its end; returns its wall time."""
    started = time.perf_counter()
    proc = subprocess.run(_command(data_dir, out, run), cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return time.perf_counter() - started


def _kill_and_resume(data_dir: Path, out: Path, run: tuple,
                     expected: list[tuple], kills: int,
                     rng: random.Random) -> list[int]:
    """``kills`` attempts, each killed (SIGKILL) a random delay after it
    added a row; returns the rows on disk after each kill."""
    after = []
    for _ in range(kills):
        before = _check_whole(out, expected)
        proc = subprocess.Popen(_command(data_dir, out, run), cwd=ROOT,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 900
        while (_rows_on_disk(out) == before and proc.poll() is None
               and time.time() < deadline):
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, KILL_WINDOW_S))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "finished before its kill"
        after.append(_check_whole(out, expected))
        assert after[-1] > before
    return after


def _hparams_runs(out: Path) -> int:
    return len([d for d in os.listdir(out / "hparams") if d.startswith("run")])


def _kill_test(tmp: Path, run: tuple, kills: int) -> None:
    data_dir, whole, killed = tmp / "data", tmp / "whole", tmp / "killed"
    whole_s = _run(data_dir, whole, run)    # and builds the dataset
    expected = _values(whole)
    started = time.perf_counter()
    after = _kill_and_resume(data_dir, killed, run, expected, kills,
                             random.Random(SEED))
    resumed_s = _run(data_dir, killed, run)
    total_s = time.perf_counter() - started
    assert _values(killed) == expected
    assert ((killed / "table.md").read_text(encoding="utf-8")
            == (whole / "table.md").read_text(encoding="utf-8"))
    assert _hparams_runs(killed) == _hparams_runs(whole) == len(expected)
    print(f"\n{kills} kills of a {len(expected)}-row run: rows on disk after "
          f"each kill {after}; uninterrupted run {whole_s:.0f} s (with the "
          f"dataset's build); the killed "
          f"attempts and the last resume {total_s:.0f} s (last resume "
          f"{resumed_s:.0f} s)")


def test_killed_three_times_the_table_is_the_uninterrupted_one(tmp_path):
    _kill_test(tmp_path, SMALL, 3)


@pytest.mark.slow  # about 7 minutes on 2 cores
def test_killed_ten_times_the_table_is_the_uninterrupted_one(tmp_path):
    _kill_test(tmp_path, LARGE, 10)
