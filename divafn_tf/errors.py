"""The one error type that command-line tools report as a sentence.

Every problem a user can fix (a bad file, a missing directory, a class
without videos, a word without a vector) raises a subclass of
``UserInputError`` whose message names the file or flag and says what was
expected. ``divafn_tf.main``, ``divafn_tf.predict`` and
``tfds_builders.divafn.build`` print that message and exit with status 1
instead of a stack trace; any other exception is a bug and keeps its trace.
The commands start through ``divafn_tf.cli.command.run``, which holds
absl's flag errors and usage errors to the same contract.

A message is one sentence on one line: it names the file, flag or field,
says what was expected and, where it helps, what to do; a message that
spans lines is joined into one (`one_line`).
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class UserInputError(ValueError):
    """Bad input; the message says where and what was expected."""


def one_line(message: str) -> str:
    """``message`` on one line: its lines stripped and joined by spaces."""
    return " ".join(line.strip() for line in message.splitlines()
                    if line.strip())


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Turns a ``UserInputError`` into ``error: <message>`` (one line) on
    stderr and exit status 1."""
    try:
        yield
    except UserInputError as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        sys.exit(1)
