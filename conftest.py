"""The test tiers (README, under the two commands) and the rules that keep them.

Markers (registered in pytest.ini):

- ``slow``: long runs, left out of the default run by pytest.ini's addopts.
- ``e2e``: the test (or a fixture or helper it uses) spawns a subprocess or
  trains end to end (``train.run``, ``train.fit``, the experiments' runner).
  It is in the default run and not in the fast tier.
- ``heavy``: in process but seconds long (image backbones, builds of several
  dataset configs, multi-epoch fits); in the default run, not in the fast
  tier, which must stay under a minute on 2 cores.
- ``fast``: added here to every test that is neither slow, e2e nor heavy;
  selected with ``python -m pytest -m fast``. Never written by hand. A fast
  run lists its tests that took over SLOW_FAST_TEST_S, the candidates for
  ``heavy``.

tests/test_tiers.py checks the e2e markers against the tests' code. Here, a
test of the fast tier that spawns a process anyway (through a library, a
fixture, a helper module) fails, whichever tier is run, so the fast tier
stays free of subprocesses even where the code cannot be read.
"""
import sys

import pytest

# Audit events (PEP 578) raised before a process is started.
SPAWN_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec",
                          "os.fork", "os.forkpty", "os.posix_spawn",
                          "os.spawn"})

OUT_OF_FAST = ("slow", "e2e", "heavy")
SLOW_FAST_TEST_S = 2.0  # a fast test over this is reported after a fast run

_spawned: list | None = None  # what the running fast test started


def _audit(event, args):
    if _spawned is not None and event in SPAWN_EVENTS:
        _spawned.append(f"{event}{tuple(args)[:2]!r}")


sys.addaudithook(_audit)


@pytest.hookimpl(tryfirst=True)  # before -m selects
def pytest_collection_modifyitems(items):
    for item in items:
        if not any(item.get_closest_marker(m) for m in OUT_OF_FAST):
            item.add_marker(pytest.mark.fast)


def _no_spawn(item, phase):
    """Runs one phase of a fast test; fails it if it started a process."""
    global _spawned
    if item.get_closest_marker("fast") is None:
        return (yield)
    _spawned = []
    try:
        result = yield
    finally:
        spawned, _spawned = _spawned, None
    if spawned:
        pytest.fail(f"{item.nodeid} started a process during {phase} "
                    f"({'; '.join(spawned)}) but is in the fast tier: "
                    "mark it @pytest.mark.e2e", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _no_spawn(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _no_spawn(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    return (yield from _no_spawn(item, "teardown"))


_durations: dict[str, float] = {}


def pytest_runtest_logreport(report):
    if "fast" in report.keywords:
        _durations[report.nodeid] = _durations.get(report.nodeid, 0) + report.duration


def pytest_terminal_summary(terminalreporter, config):
    if "fast" not in (config.option.markexpr or ""):
        return
    slow = sorted(((s, n) for n, s in _durations.items() if s > SLOW_FAST_TEST_S),
                  reverse=True)
    if slow:
        terminalreporter.section(f"fast tests over {SLOW_FAST_TEST_S:g} s (mark them heavy?)")
        for seconds, nodeid in slow:
            terminalreporter.write_line(f"{seconds:5.1f} s  {nodeid}")
