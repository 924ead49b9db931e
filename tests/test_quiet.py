"""Quiet runs (divafn_tf/quiet.py) and the progress lines (callbacks.ProgressLine).

The console of a whole run is checked in tests/test_main.py
(``test_a_first_run_prints_only_the_projects_lines``).
"""
import importlib
import logging
import os
import sys
import warnings

import pytest

from divafn_tf import callbacks, quiet


@pytest.mark.parametrize("argv, verbosity", [
    ([], None),
    (["--flagfile=x.cfg"], None),                  # unreadable: left to absl
    (["--verbosity=1"], 1),
    (["--verbosity", "2"], 2),
    (["-v=1"], 1),
    (["-v", "0"], 0),
    (["--v=3", "--verbosity=-1"], -1),            # absl: the last one counts
    (["--verbosity=debug"], None),                # not an integer: absl's error
    (["-v", "tests/test_quiet.py"], None),         # pytest's -v
    (["--nov"], None),
])
def test_the_command_line_verbosity_is_read_before_tensorflow(argv, verbosity):
    assert quiet.command_line_verbosity(argv) == verbosity


def test_flagfiles_are_read_for_the_verbosity_nested_and_in_order(tmp_path):
    inner = tmp_path / "inner.cfg"
    inner.write_text("# comment\n--verbosity=1\n")
    outer = tmp_path / "outer.cfg"
    outer.write_text(f"--epochs=3\n--flagfile={inner}\n")
    assert quiet.command_line_verbosity([f"--flagfile={outer}"]) == 1
    assert quiet.command_line_verbosity(["--flagfile", str(outer)]) == 1
    assert quiet.command_line_verbosity(
        [f"--flagfile={outer}", "--verbosity=0"]) == 0
    assert quiet.command_line_verbosity(
        ["--verbosity=0", f"--flagfile={outer}"]) == 1


def test_verbose_means_absl_debug_or_more():
    assert [quiet.is_verbose(v) for v in (None, -1, 0, 1, 2)] == [
        False, False, False, True, True]


@pytest.fixture
def before_tensorflow_is_imported(monkeypatch):
    """As in a fresh process: no TensorFlow, no log level, our own meta_path."""
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))


def _quiet_finders() -> list:
    return [f for f in sys.meta_path if isinstance(f, quiet.QuietImport)]


def test_a_quiet_run_sets_tensorflows_log_level_and_loads_it_quietly(
        before_tensorflow_is_imported):
    quiet.before_tensorflow(["--flagfile=flags/tiny.cfg"])
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == quiet.TF_LOG_LEVEL
    assert [f.name for f in _quiet_finders()] == ["tensorflow"]


def test_a_verbose_command_line_leaves_tensorflows_log_level_alone(
        before_tensorflow_is_imported):
    quiet.before_tensorflow(["--verbosity=1"])
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    assert not _quiet_finders()


def test_a_quiet_run_keeps_a_log_level_the_user_set(
        before_tensorflow_is_imported, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    quiet.before_tensorflow([])
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def _noisy_package(tmp_path, monkeypatch, name: str, body: str) -> None:
    """A package whose import writes to file descriptor 2, as TF's libraries do."""
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text(
        "import os\nos.write(2, b'load-time banner\\n')\n" + body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", [quiet.QuietImport(name), *sys.meta_path])
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_the_load_time_lines_of_the_import_go_nowhere(tmp_path, monkeypatch, capfd):
    _noisy_package(tmp_path, monkeypatch, "noisy_pkg", "VALUE = 7\n")
    module = importlib.import_module("noisy_pkg")
    assert module.VALUE == 7
    assert module.__spec__.loader.__class__.__name__ == "SourceFileLoader"
    assert not any(isinstance(f, quiet.QuietImport) for f in sys.meta_path)
    os.write(2, b"after\n")            # stderr is back
    assert capfd.readouterr().err == "after\n"


def test_a_failing_import_shows_what_it_printed(tmp_path, monkeypatch, capfd):
    _noisy_package(tmp_path, monkeypatch, "broken_pkg",
                   "raise ImportError('no such library')\n")
    with pytest.raises(ImportError, match="no such library"):
        importlib.import_module("broken_pkg")
    assert "load-time banner" in capfd.readouterr().err


def _record(path: str, level: int) -> logging.LogRecord:
    return logging.LogRecord("absl", level, path, 1, "message", None, None)


def test_the_frameworks_records_below_error_are_dropped_the_projects_pass():
    keep = quiet.FrameworkRecords().filter
    ours = os.path.join(quiet.PROJECT_DIRS[0], "train.py")
    builder = os.path.join(quiet.PROJECT_DIRS[1], "divafn",
                           "divafn_dataset_builder.py")
    tfds = "/venv/site-packages/tensorflow_datasets/core/reader.py"
    assert keep(_record(ours, logging.INFO))
    assert keep(_record(ours, logging.DEBUG))
    assert keep(_record(builder, logging.INFO))
    assert not keep(_record(tfds, logging.INFO))
    assert not keep(_record(tfds, logging.WARNING))
    assert keep(_record(tfds, logging.ERROR))


def _printed_epochs(epochs: int, every: int, capsys, first: int = 0) -> list[int]:
    progress = callbacks.ProgressLine(epochs, every)
    for epoch in range(first, epochs):
        progress.on_epoch_begin(epoch)
        progress.on_epoch_end(epoch, {"J": 87.91212, "w_residual_max": 1.9e-13})
    lines = capsys.readouterr().out.splitlines()
    assert all(line.endswith("- J: 87.9121 - w_residual_max: 1.9000e-13")
               for line in lines), lines
    return [int(line.split()[1].split("/")[0]) for line in lines]


def test_progress_is_about_ten_lines_a_run(capsys):
    assert _printed_epochs(100, 0, capsys) == [1, *range(10, 101, 10)]
    assert _printed_epochs(3, 0, capsys) == [1, 2, 3]
    assert _printed_epochs(25, 0, capsys) == [1, 3, 6, 9, 12, 15, 18, 21, 24, 25]


def test_progress_every_n_epochs_and_after_a_resume(capsys):
    assert _printed_epochs(5, 1, capsys) == [1, 2, 3, 4, 5]
    assert _printed_epochs(100, 40, capsys) == [1, 40, 80, 100]
    # Resumed after 55 epochs: the first epoch it runs, then the schedule.
    assert _printed_epochs(100, 0, capsys, first=55) == [56, 60, 70, 80, 90, 100]


@pytest.fixture
def absl_handler(monkeypatch):
    """absl's handler with its filters and TF's logger level restored after."""
    from absl import logging as absl_logging
    handler = absl_logging.get_absl_handler()
    monkeypatch.setattr(handler, "filters", list(handler.filters))
    tf_logger = logging.getLogger("tensorflow")
    monkeypatch.setattr(tf_logger, "level", tf_logger.level)
    return handler


def test_after_the_flags_a_quiet_run_filters_the_frameworks_records(absl_handler):
    with warnings.catch_warnings():
        # progress_bars=True: TFDS's bars (if loaded) stay as the other tests
        # have them.
        quiet.after_flags(0, progress_bars=True)
        quiet.after_flags(0, progress_bars=True)
        ignored = [f for f in warnings.filters if f[0] == "ignore"
                   and f[1] is not None and "__array__" in f[1].pattern]
        assert ignored and ignored[0][2] is DeprecationWarning
    assert sum(isinstance(f, quiet.FrameworkRecords)
               for f in absl_handler.filters) == 1
    assert logging.getLogger("tensorflow").level == logging.ERROR


def test_after_the_flags_a_verbose_run_changes_nothing(absl_handler):
    before = list(absl_handler.filters)
    level = logging.getLogger("tensorflow").level
    with warnings.catch_warnings():
        filters = list(warnings.filters)
        quiet.after_flags(1)
        assert warnings.filters == filters
    assert absl_handler.filters == before
    assert logging.getLogger("tensorflow").level == level
