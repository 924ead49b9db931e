"""Quiet runs: the frameworks' output silenced where it starts, unless ``--verbosity`` ≥ 1.

A run of a command prints the project's own log lines, the progress lines
and its summary. What TensorFlow, TFDS, Keras and gensim print besides is
switched off at its source (README, "What a run prints"):

* TensorFlow's C++ log. `before_tensorflow` (called by ``divafn_tf/__init__``,
  so before any module of the package imports TensorFlow) sets
  ``TF_CPP_MIN_LOG_LEVEL=3``; a value already in the environment is kept.
  That hides the ``cpu_feature_guard`` banner and, on a machine without a
  GPU, the ``failed call to cuInit`` error (a real failure still raises a
  Python exception). The lines TensorFlow's libraries print while they load,
  before their absl log is initialised (``oneDNN custom operations are on``,
  ``Could not find cuda drivers``, ``All log messages before
  absl::InitializeLog() …``), obey no log level: while ``import tensorflow``
  runs, file descriptor 2 goes to a temporary file, written back to stderr
  if the import fails.
* The frameworks' Python log records (TFDS's ``Creating a tf.data.Dataset``,
  gensim's lifecycle dicts, TensorFlow's ``Sharding callback duration`` and
  the SavedModel's renamed-inputs notice, …): `after_flags` drops those
  below ERROR at absl's handler, which every logger reaches; the project's
  records (from ``divafn_tf/`` and ``tfds_builders/``) pass. TensorFlow's
  own Python logger, which also has a handler of its own, is set to ERROR.
* TFDS's progress bars: off in the commands that train (a first run builds
  its dataset with a log line before and after); the build command keeps
  them.
* Python warnings: the project's own are fixed where they arise; the one a
  run still raises, in Keras's code, is filtered (`KERAS_WARNINGS`, with
  its reason).

With ``--verbosity=1`` (absl's debug level) or more, nothing of this is
done: TensorFlow's log level is left as it is, every library logs, and the
project's debug lines (every W solve, every checkpoint) are printed too.
The verbosity is read from the command line and its flagfiles before
TensorFlow is imported (`command_line_verbosity`), and from the parsed flag
afterwards.
"""
from __future__ import annotations

import importlib.abc
import logging as std_logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

from absl import logging

# --verbosity at or above which the frameworks' output is left alone.
VERBOSE = 1
TF_LOG_LEVEL = "3"      # TF_CPP_MIN_LOG_LEVEL of a quiet run: no INFO, WARNING, ERROR
# Where the project's log records come from.
PROJECT_DIRS = tuple(str(Path(__file__).resolve().parent.parent / package) + os.sep
                     for package in ("divafn_tf", "tfds_builders"))

_VERBOSITY_FLAGS = ("verbosity", "v")
# (message, category, module) of the Python warnings a quiet run filters, each
# raised by a framework's code, not by a call of ours.
KERAS_WARNINGS = [
    # Keras's TensorBoard callback reads the learning rate with
    # convert_to_numpy on a Keras variable, whose __array__ takes no copy=
    # (NumPy 2 warns every epoch; the fix is Keras's).
    (r"__array__ implementation doesn't accept a copy keyword",
     DeprecationWarning, r"keras\."),
]


def _flag_value(args: list[str], i: int, names: tuple[str, ...]) -> tuple[str | None, int]:
    """(value, args consumed) if ``args[i]`` is ``-name=value`` or ``--name value``."""
    arg = args[i]
    if not arg.startswith("-"):
        return None, 1
    name, sep, value = arg.lstrip("-").partition("=")
    if name not in names:
        return None, 1
    if sep:
        return value, 1
    return (args[i + 1], 2) if i + 1 < len(args) else (None, 1)


def _flagfile_args(path: str) -> list[str]:
    """The flags of a flagfile as absl reads them (one a line, ``#``/``//``
    comments); an unreadable file, or one that is not UTF-8, gives none
    (absl reports it)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except (OSError, UnicodeDecodeError):
        return []
    return [line for line in lines
            if line and not line.startswith(("#", "//"))]


def command_line_verbosity(argv: list[str], _depth: int = 0) -> int | None:
    """The last ``--verbosity``/``-v`` of ``argv`` (flagfiles included), or None.

    A peek before TensorFlow is imported, at what absl parses later (the
    last value counts); a value that is not an integer is left to absl.
    """
    found = None
    i = 0
    while i < len(argv):
        flagfile, used = _flag_value(argv, i, ("flagfile",))
        if flagfile is not None:
            nested = (command_line_verbosity(_flagfile_args(flagfile), _depth + 1)
                      if _depth < 10 else None)
            found = found if nested is None else nested
        else:
            value, used = _flag_value(argv, i, _VERBOSITY_FLAGS)
            if (value is not None and value.lstrip("-").isascii()
                    and value.lstrip("-").isdigit()):
                found = int(value)
        i += used
    return found


def is_verbose(verbosity: int | None) -> bool:
    """Whether ``--verbosity`` asks for the frameworks' output."""
    return verbosity is not None and verbosity >= VERBOSE


class _QuietLoader(importlib.abc.Loader):
    """Runs the import of a package with file descriptor 2 in a temporary
    file (for TensorFlow: its libraries' load-time lines), written back if
    the import fails."""

    def __init__(self, finder: QuietImport, loader: importlib.abc.Loader):
        self.finder, self.loader = finder, loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        module.__loader__ = module.__spec__.loader = self.loader
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with tempfile.TemporaryFile() as captured:
                os.dup2(captured.fileno(), 2)
                try:
                    self.loader.exec_module(module)
                except BaseException:
                    os.dup2(saved, 2)
                    captured.seek(0)
                    os.write(2, captured.read())
                    raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class QuietImport(importlib.abc.MetaPathFinder):
    """Finds the package ``name`` with the other finders, to load it quietly."""

    def __init__(self, name: str = "tensorflow"):
        self.name = name

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _QuietLoader(self, spec.loader)
                return spec
        return None


def before_tensorflow(argv: list[str] | None = None) -> None:
    """TensorFlow's C++ log off, unless ``argv`` asks for ``--verbosity`` ≥ 1.

    Must run before TensorFlow is imported (``divafn_tf/__init__`` calls it);
    afterwards it changes nothing.
    """
    argv = sys.argv[1:] if argv is None else argv
    if is_verbose(command_line_verbosity(list(argv))) or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
    if not any(isinstance(finder, QuietImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, QuietImport("tensorflow"))


class FrameworkRecords(std_logging.Filter):
    """Passes the project's log records, and the others from ERROR up."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        return (record.levelno >= std_logging.ERROR
                or record.pathname.startswith(PROJECT_DIRS))


def after_flags(verbosity: int, progress_bars: bool = False) -> None:
    """The frameworks' Python logs (and TFDS's bars) off, unless ``verbosity`` ≥ 1.

    Called by a command once absl has parsed its flags (``FLAGS.verbosity``).
    """
    if is_verbose(verbosity):
        return
    handler = logging.get_absl_handler()
    if not any(isinstance(f, FrameworkRecords) for f in handler.filters):
        handler.addFilter(FrameworkRecords())
    # TensorFlow's Python logger prints with a handler of its own as well.
    std_logging.getLogger("tensorflow").setLevel(std_logging.ERROR)
    for message, category, module in KERAS_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category,
                                module=module)
    tfds = sys.modules.get("tensorflow_datasets")   # not loaded by predict
    if tfds is not None and not progress_bars:
        tfds.disable_progress_bar()
