"""How every command starts: absl's ``app.run`` with the one-sentence error contract.

``run(main)`` is ``app.run(main)`` but for what a user can fix, which ends in
one line on stderr, ``error: <message>``, and exit status 1 (``errors.py``):

* a flag absl refuses (an unknown flag, a bad value, a missing required
  flag, an unreadable ``--flagfile``): absl's message, without its
  "FATAL Flags parsing error" frame and its "Pass --helpshort" line;
* an ``app.UsageError`` raised by ``main`` (a bad combination of flags,
  extra arguments): its message, without the usage text absl prints;
* a ``UserInputError`` from ``main``'s work (``errors.exit_on_user_error``).

``--help`` and every other exception (a bug, which keeps its trace) are
absl's as before.
"""
from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import NoReturn

from absl import app, flags, logging

from divafn_tf import errors, quiet


def start(argv: list[str], log_level: int | None = None,
          progress_bars: bool = False) -> None:
    """What every command's ``main`` does first, once absl parsed the flags.

    No arguments beyond the flags (an `app.UsageError`, one line); absl's
    log level ``log_level`` unless ``--verbosity`` was given; the
    frameworks quieted (`quiet.after_flags`, TFDS's bars kept if
    ``progress_bars``).
    """
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if log_level is not None and not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(log_level)
    quiet.after_flags(flags.FLAGS.verbosity, progress_bars=progress_bars)


def fail(message: object) -> NoReturn:
    """``error: <message>`` (on one line) on stderr, exit status 1."""
    print(f"error: {errors.one_line(str(message))}", file=sys.stderr)
    sys.exit(1)


def parse_flags(argv: list[str],
                values: flags.FlagValues = flags.FLAGS) -> list[str]:
    """absl's flag parsing (into ``values``), a refused flag ending in `fail`.

    A refusal names the ``--flagfile`` given (unless absl's message does),
    and a flagfile that is not UTF-8 text is one too.
    """
    try:
        return values(argv)
    except flags.Error as error:
        fail(_naming_flagfiles(flag_error_sentence(str(error)), argv))
    except UnicodeDecodeError as error:
        fail(f"{' or '.join(_flagfiles(argv)) or 'a flagfile'} (or a flagfile "
             f"it includes): expected UTF-8 text, one flag a line, got the "
             f"byte {error.object[error.start]:#04x} at offset {error.start}")


def _flagfiles(argv: list[str]) -> list[str]:
    """The ``--flagfile=FILE`` arguments of ``argv``."""
    return [arg for arg in argv if arg.startswith(("--flagfile=", "-flagfile="))]


_FLAG_NAME = re.compile(r"--(\w+)|flag '(\w+)'")


def _naming_flagfiles(sentence: str, argv: list[str]) -> str:
    """``sentence`` and, unless it names one or its flag is on the command
    line itself, the flagfiles given (where the flag must be)."""
    files = [arg.split("=", 1)[1] for arg in _flagfiles(argv)]
    match = _FLAG_NAME.search(sentence)
    name = match and (match.group(1) or match.group(2))
    typed = name and any(arg.lstrip("-").split("=", 1)[0] in (name, f"no{name}")
                         for arg in argv[1:] if arg.startswith("-"))
    if not files or typed or any(file in sentence for file in files):
        return sentence
    return f"{sentence} (in --flagfile={' or --flagfile='.join(files)})"


# absl's wording → the project's, for the common cases (anything else is
# absl's message as it is).
_FLAG_ERRORS = [
    (re.compile(r"^flag (--\w+)=None: Flag --\w+ must have a value other "
                r"than None\.?$"), r"\1 is required"),
    (re.compile(r"^ERROR:: Unable to open flagfile: \[Errno \d+\] ([^:]+): "
                r"'(.*)'$"), r"--flagfile=\2: cannot open it (\1)"),
    (re.compile(r"^flag (--\w+=.*): invalid literal for int\(\) with base "
                r"10: .*$"), r"\1: expected an integer"),
    (re.compile(r"^flag (--\w+=.*): could not convert string to float: .*$"),
     r"\1: expected a number"),
    (re.compile(r"^flag (--\w+=.*?): (.*)$"), r"\1: \2"),
]


def flag_error_sentence(message: str) -> str:
    """absl's message of a refused flag, in the project's wording."""
    message = errors.one_line(message)
    for pattern, replacement in _FLAG_ERRORS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def guarded(main: Callable[[list[str]], None]) -> Callable[[list[str]], None]:
    """``main`` with its usage errors and user errors ending in `fail`."""
    @functools.wraps(main)
    def wrapper(argv: list[str]) -> None:
        try:
            with errors.exit_on_user_error():
                return main(argv)
        except app.UsageError as error:
            fail(error)
    return wrapper


def run(main: Callable[[list[str]], None]) -> None:
    """``app.run(main)`` with the error contract above."""
    app.run(guarded(main), flags_parser=parse_flags)
