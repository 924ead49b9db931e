"""The import graph points one way (docs/design.md, "Modules and layers").

Every module under ``divafn_tf/`` and ``tfds_builders/`` is parsed with
``ast`` (imports inside functions count too) and mapped to a layer; an
import of a layer that the importing layer may not use fails the test with
the file, the line and both layers.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("divafn_tf", "tfds_builders")

# Layers, top to bottom, and the layers each may import (its own included).
ALLOWED = {
    "cli": {"cli", "experiments", "train", "library", "core", "dataset",
            "prep", "base"},
    "experiments": {"experiments", "train", "library", "core", "prep", "base"},
    "train": {"train", "library", "core", "prep", "base"},
    "library": {"library", "core", "prep", "base"},
    "data": {"library", "core", "dataset", "prep", "base"},
    "core": {"core", "base"},
    "dataset": {"dataset", "prep", "base"},
    "prep": {"prep", "base"},
    "base": {"base"},
}
CLI = {"divafn_tf.main", "divafn_tf.predict", "divafn_tf.features",
       "divafn_tf.experiments.__main__", "tfds_builders.divafn.build"}
LIBRARY = {"callbacks", "checkpointing", "classifier", "distribute",
           "domain_adaptation", "evaluation", "export", "feature_extraction",
           "model", "plots",
           "serving", "standardize", "svm_solver"}
CORE = {"nets", "objective", "sylvester"}
BASE = {"divafn_tf", "divafn_tf.config", "divafn_tf.errors", "divafn_tf.quiet"}
# absl's command-line modules: only the cli layer parses flags.
ABSL_CLI = {"absl.app", "absl.flags"}


def layer_of(module: str) -> str:
    """The layer of a module of this repository (dotted name)."""
    parts = module.split(".")
    if module in BASE:
        return "base"
    if module in CLI or module.startswith("divafn_tf.cli"):
        return "cli"
    if parts[0] == "tfds_builders":
        return "dataset"
    top = parts[1]
    if top.startswith("experiments"):
        return "experiments"
    if top == "train":
        return "train"
    if top == "data":
        return "data"
    if top in LIBRARY:
        return "library"
    if top in CORE:
        return "core"
    if top == "prep":
        return "prep"
    raise AssertionError(f"{module}: no layer; add it to tests/test_layers.py "
                         "and to docs/design.md")


def target_layer(layer: str) -> str:
    """The layer as seen by an importer (data is a library module)."""
    return "library" if layer == "data" else layer


def modules() -> dict[str, Path]:
    """Dotted name → file of every module of the two packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(path: Path, module: str, known: set[str]):
    """(line, imported module) of every import of the repository's modules."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known
                     else base for alias in node.names]
            if base in ("absl",):
                names = [f"absl.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            yield node.lineno, name


def resolve(name: str, known: set[str]) -> str | None:
    """The repository module that ``name`` (or its longest prefix) is."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def test_every_import_points_down_the_layers():
    found = modules()
    known = set(found)
    wrong = []
    for module, path in found.items():
        layer = layer_of(module)
        where = path.relative_to(REPO)
        for line, name in imports(path, module, known):
            if name in ABSL_CLI and layer != "cli":
                wrong.append(f"{where}:{line}: {module} ({layer}) imports "
                             f"{name}: only the cli layer parses flags")
                continue
            target = resolve(name, known)
            if target is None or target == module:
                continue
            other = target_layer(layer_of(target))
            if other not in ALLOWED[layer]:
                wrong.append(f"{where}:{line}: {module} ({layer}) imports "
                             f"{target} ({other})")
    assert not wrong, "imports that point the wrong way:\n" + "\n".join(wrong)


def test_every_module_has_a_layer():
    for module in modules():
        assert layer_of(module) in ALLOWED


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120)


@pytest.mark.e2e  # a fresh interpreter
def test_importing_the_predict_command_loads_no_tfds_gensim_or_sklearn():
    heavy = ("tensorflow_datasets", "gensim", "sklearn")
    proc = _run("-c", "import sys, divafn_tf.predict, divafn_tf.cli.predict; "
                f"print([m for m in {heavy!r} if m in sys.modules])")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.e2e  # a fresh interpreter
def test_predict_help_lists_the_commands_flags():
    proc = _run("-m", "divafn_tf.predict", "--help")
    assert "Recognise the actions of videos" in proc.stdout
    for flag in ("--saved_model", "--video_dir", "--feature_dir", "--top_k"):
        assert flag in proc.stdout


@pytest.mark.e2e  # a fresh interpreter
def test_the_features_command_loads_tensorflow_only_to_compute():
    proc = _run("-c", "import sys, divafn_tf.features, divafn_tf.cli.features; "
                "print([m for m in ('tensorflow', 'keras', "
                "'tensorflow_datasets') if m in sys.modules])")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    proc = _run("-m", "divafn_tf.features", "--help")
    assert "Compute video features from raw videos" in proc.stdout
    for flag in ("--kind", "--videos", "--trajectories", "--check",
                 "--c3d_weights", "--codebook"):
        assert flag in proc.stdout
