"""A seeded fuzzer of the readers of user files (tests/test_fuzz.py).

`MUTATORS` turn a valid file's bytes into a damaged one (truncation, flipped
or inserted bytes, latin-1 or UTF-16 text, huge numbers, an empty file,
NaN/inf, CRLF line ends). `fuzz` writes each mutation over the file a
reader reads, calls the reader under a time bound and sorts the outcome:
loaded, refused with a `UserInputError` whose message names the file, or
other (any other exception, a refusal that does not name the file, a hang
past the bound, or a file left beside the input). Nothing here unpickles.
"""
from __future__ import annotations

import contextlib
import dataclasses
import random
import re
import signal
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

from divafn_tf.errors import UserInputError

TIME_LIMIT_S = 5.0
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_HUGE = (b"9" * 20, b"9" * 400, b"1e999", b"-1e309", b"18446744073709551617",
         b"4294967296")
_NON_FINITE = (b"nan", b"NaN", b"inf", b"-inf", b"Infinity")
_FLOAT_NAN = (struct.pack("<f", float("nan")), struct.pack("<f", float("inf")),
              struct.pack("<d", float("nan")))


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data))] if data else data


def _flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


def _insert(data: bytes, rng: random.Random) -> bytes:
    at = rng.randint(0, len(data))
    return data[:at] + rng.randbytes(rng.randint(1, 16)) + data[at:]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _latin1(data: bytes, rng: random.Random) -> bytes:
    """The text with a non-ASCII word put in, encoded as latin-1."""
    text = _text(data)
    at = rng.randint(0, len(text))
    return (text[:at] + "Café_ñ" + text[at:]).encode("latin-1", "replace")


def _utf16(data: bytes, rng: random.Random) -> bytes:
    return _text(data).encode(rng.choice(("utf-16", "utf-16-le")))


def _replace_number(data: bytes, rng: random.Random,
                    choices: tuple[bytes, ...]) -> bytes:
    """A random number of the file replaced by one of ``choices`` (a random
    8 bytes of a file without numbers)."""
    numbers = list(_NUMBER.finditer(data))
    if not numbers:
        return _flip(data, rng)
    match = rng.choice(numbers)
    return data[:match.start()] + rng.choice(choices) + data[match.end():]


def _huge(data: bytes, rng: random.Random) -> bytes:
    return _replace_number(data, rng, _HUGE)


def _non_finite(data: bytes, rng: random.Random) -> bytes:
    """A number of the text replaced by NaN/inf, or binary NaN/inf bytes
    written at a random offset."""
    if rng.random() < 0.5 and len(data) > 8:
        value = rng.choice(_FLOAT_NAN)
        at = rng.randrange(len(data) - len(value))
        return data[:at] + value + data[at + len(value):]
    return _replace_number(data, rng, _NON_FINITE)


def _empty(data: bytes, rng: random.Random) -> bytes:
    return b""


def _crlf(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


MUTATORS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "truncate": _truncate, "flip": _flip, "insert": _insert,
    "latin-1": _latin1, "utf-16": _utf16, "huge number": _huge,
    "nan/inf": _non_finite, "empty": _empty, "crlf": _crlf,
}


class Hang(BaseException):
    """A reader call past the time bound (a BaseException: no reader's
    ``except Exception`` can swallow it)."""


@contextlib.contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Raises `Hang` in the main thread if the block runs over ``seconds``."""
    def _alarm(signum, frame):
        raise Hang(f"over {seconds:g} s")
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclasses.dataclass
class Counts:
    """What `fuzz` found for one reader."""

    reader: str
    tried: int = 0
    loaded: int = 0
    refused: int = 0
    other: list[str] = dataclasses.field(default_factory=list)

    def row(self) -> str:
        return (f"| {self.reader} | {self.tried} | {self.loaded} | "
                f"{self.refused} | {len(self.other)} |")


TABLE_HEADER = ("| reader | mutations | loaded | refused (UserInputError) "
                "| other |\n|---|---|---|---|---|")


def _outcome(reader: Callable[[Path], object], path: Path,
             time_limit: float) -> str | None:
    """None if the call loaded, "" if refused naming the file, else what
    went wrong."""
    try:
        with time_bound(time_limit):
            reader(path)
    except UserInputError as e:
        message = str(e)
        if str(path) in message or path.name in message:
            return ""
        return f"a UserInputError that does not name the file: {message}"
    except Hang as e:
        return f"a hang ({e})"
    except Exception as e:  # noqa: BLE001  (the point: any other exception)
        return f"{type(e).__name__}: {str(e)[:300]}"
    return None


def mutations(valid: bytes, count: int, seed: int
              ) -> Iterator[tuple[str, bytes]]:
    """(mutator name, bytes) of ``count`` mutations of ``valid``: the
    mutators in turn, each drawing from one generator seeded ``seed``."""
    rng = random.Random(seed)
    names = list(MUTATORS)
    for i in range(count):
        yield names[i % len(names)], MUTATORS[names[i % len(names)]](valid, rng)


def fuzz(name: str, reader: Callable[[Path], object], path: Path,
         count: int, seed: int, time_limit: float = TIME_LIMIT_S) -> Counts:
    """``count`` `mutations` of the valid file at ``path``, each read by
    ``reader``.

    ``path`` is restored afterwards. A file that appears in or vanishes from
    ``path``'s folder during a call is an "other" outcome.
    """
    valid = path.read_bytes()
    counts = Counts(name)
    try:
        for i, (mutator, data) in enumerate(mutations(valid, count, seed)):
            path.write_bytes(data)
            before = sorted(p.name for p in path.parent.iterdir())
            outcome = _outcome(reader, path, time_limit)
            after = sorted(p.name for p in path.parent.iterdir())
            if after != before and not outcome:
                outcome = f"files changed beside the input: {before} → {after}"
            counts.tried += 1
            if outcome is None:
                counts.loaded += 1
            elif not outcome:
                counts.refused += 1
            else:
                counts.other.append(f"#{i} {mutator}: {outcome}")
    finally:
        path.write_bytes(valid)
    return counts
