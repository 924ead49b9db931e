"""The fuzz table of tests/test_fuzz.py: per reader of user files, the
mutations tried, loaded, refused with a UserInputError naming the file, and
other (any other exception, a hang, a refusal not naming the file).

    python benchmarks/fuzz_report.py            # 200 per reader, seed of the tests
    python benchmarks/fuzz_report.py --count=1000 --seed=1

Exits 1 if any reader has an "other" outcome, listing the first of them.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import fuzzing  # noqa: E402
import test_fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None,
                        help="mutations per reader (default: the tests')")
    parser.add_argument("--seed", type=int, default=test_fuzz.SEED)
    args = parser.parse_args()
    rows, others = [], []
    started = time.perf_counter()
    for name in test_fuzz.READERS:
        with tempfile.TemporaryDirectory() as folder:
            path, reader = test_fuzz.READERS[name](Path(folder))
            count = args.count or test_fuzz.COUNTS.get(name, test_fuzz.DEFAULT_COUNT)
            counts = fuzzing.fuzz(name, reader, path, count, args.seed)
        rows.append(counts.row())
        others += [f"{name} {o}" for o in counts.other[:3]]
    print(fuzzing.TABLE_HEADER)
    print("\n".join(rows))
    print(f"\nseed {args.seed}, {time.perf_counter() - started:.0f} s")
    for line in others:
        print(line)
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main())
