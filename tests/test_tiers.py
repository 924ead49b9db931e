"""The fast tier holds no subprocess and no end-to-end training (conftest.py).

Each test module is parsed with ``ast``: a test that spawns a process
(``subprocess``, ``sys.executable``) or trains end to end (``train.run``,
``train.fit``, ``runner.run_jobs``), itself or through the module's helper
functions and fixtures, must be marked ``e2e`` (or ``slow``). conftest.py
also fails, at run time, a fast test that starts a process in any way.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# (name, attribute) pairs, and names, whose use makes a test e2e.
E2E_CALLS = {("train", "run"), ("train", "fit"), ("runner", "run_jobs"),
             ("sys", "executable")}
E2E_NAMES = {"subprocess"}
E2E_MARKS = {"e2e", "slow"}  # slow tests are out of every tier but -m slow
OUT_OF_FAST = {"e2e", "slow", "heavy"}


def collected_modules() -> list[Path]:
    """The files the default run collects (pytest.ini's testpaths)."""
    return sorted([*(REPO / "tests").glob("test_*.py"),
                   *(REPO / "tfds_builders").rglob("*_test.py")])


def _uses(node: ast.AST) -> tuple[bool, set[str]]:
    """(whether ``node`` itself spawns or trains, the names it refers to)."""
    direct, names = False, set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            direct |= (sub.value.id, sub.attr) in E2E_CALLS
        if isinstance(sub, ast.Name):
            direct |= sub.id in E2E_NAMES
            names.add(sub.id)
        if isinstance(sub, ast.arg):  # fixtures a function requests
            names.add(sub.arg)
    return direct, names


def _marks(decorators: list[ast.expr]) -> set[str]:
    """The pytest.mark names among decorators (or a pytestmark value)."""
    found = set()
    for node in decorators:
        for sub in ast.walk(node):
            if (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Attribute)
                    and sub.value.attr == "mark"):
                found.add(sub.attr)
    return found


def unmarked_e2e_tests(path: Path) -> list[str]:
    """The tests of ``path`` that spawn or train but are in the fast tier."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_marks, functions, tests = set(), {}, []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            module_marks |= _marks([node.value])
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = node
            if node.name.startswith("test"):
                tests.append((node.name, node, _marks(node.decorator_list)))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Test"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test"):
                    tests.append((f"{node.name}.{item.name}", item,
                                  _marks(node.decorator_list + item.decorator_list)))
    uses = {name: _uses(fn) for name, fn in functions.items()}
    e2e = {name for name, (direct, _) in uses.items() if direct}
    grew = True
    while grew:  # helpers and fixtures that reach an e2e function are e2e
        more = {name for name, (_, refs) in uses.items() if refs & e2e}
        grew = bool(more - e2e)
        e2e |= more
    wrong = []
    for name, node, marks in tests:
        direct, refs = _uses(node)
        if (direct or refs & e2e) and not (marks | module_marks) & E2E_MARKS:
            where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
            wrong.append(f"{where}:{node.lineno}: {name}")
    return wrong


def test_tests_that_spawn_or_train_end_to_end_are_out_of_the_fast_tier():
    wrong = [line for path in collected_modules() for line in unmarked_e2e_tests(path)]
    assert not wrong, ("spawns a process or trains end to end, so mark it "
                       "@pytest.mark.e2e:\n" + "\n".join(wrong))


def test_the_check_sees_helpers_fixtures_and_markers(tmp_path):
    path = tmp_path / "test_example.py"
    source = '''
import subprocess
import pytest
from divafn_tf import train

def _helper():
    return subprocess.run(["true"])

@pytest.fixture
def trained(tmp_path):
    return train.fit(None, None, None, None)

def test_helper():
    _helper()

def test_fixture(trained):
    pass

@pytest.mark.e2e
def test_marked():
    _helper()

def test_plain():
    assert True
'''
    path.write_text(source)
    assert [line.rsplit(": ", 1)[1] for line in unmarked_e2e_tests(path)] == [
        "test_helper", "test_fixture"]
    path.write_text("import pytest\npytestmark = pytest.mark.e2e\n" + source)
    assert unmarked_e2e_tests(path) == []


def test_conftest_marks_the_rest_fast(request):
    assert request.node.get_closest_marker("fast") is not None
    assert not {m.name for m in request.node.iter_markers()} & OUT_OF_FAST
