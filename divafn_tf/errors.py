"""The one error type that command-line tools report as a sentence.

Every problem a user can fix (a bad file, a missing directory, a class
without videos, a word without a vector) raises a subclass of
``UserInputError`` whose message names the file or flag and says what was
expected. ``divafn_tf.main``, ``divafn_tf.predict`` and
``tfds_builders.divafn.build`` print that message and exit with status 1
instead of a stack trace; any other exception is a bug and keeps its trace.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


class UserInputError(ValueError):
    """Bad input; the message says where and what was expected."""


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Turns a ``UserInputError`` into ``error: <message>`` and exit status 1."""
    try:
        yield
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
