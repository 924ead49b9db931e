"""Flags: one per RunConfig field, each with help; every flagfile parses."""
import dataclasses
import glob
import os
import subprocess
import sys

import pytest
from absl import flags

from divafn_tf.cli import flags as divafn_flags  # noqa: F401  (defines the flags)
from divafn_tf.config import RunConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELDS = {field.name for field in dataclasses.fields(RunConfig)}


def _our_flags():
    return {name: flag for name, flag in flags.FLAGS.__flags.items()
            if flags.FLAGS.find_module_defining_flag(name) == divafn_flags.__name__}


def test_every_run_setting_is_a_documented_flag_with_its_default():
    ours = _our_flags()
    assert set(ours) == FIELDS
    defaults = RunConfig()
    for name, flag in ours.items():
        assert len(flag.help) > 15, name
        assert flag.default == getattr(defaults, name), name


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "flags", "*.cfg"))))
def test_flagfile_parses_and_names_only_known_flags(path):
    values = flags.FlagValues()
    for name, flag in _our_flags().items():
        values[name] = flag
    values(["prog", f"--flagfile={path}"])
    assert values["dataset"].value.startswith("divafn/")


def test_readme_commands_name_existing_flagfiles():
    readme = open(os.path.join(ROOT, "README.md")).read()
    first_lines = readme.split("```")[1]
    assert "--flagfile=flags/demo.cfg" in first_lines
    assert os.path.exists(os.path.join(ROOT, "flags", "demo.cfg"))
    assert "python -m pytest" in first_lines
    assert "python -m pytest -q" in open(os.path.join(ROOT, ".ci", "run")).read()


def test_a_flagfile_typo_is_one_sentence(tmp_path):
    typo = tmp_path / "typo.cfg"
    typo.write_text(f"--flagfile={ROOT}/flags/tiny.cfg\n--epoch=3\n")
    proc = subprocess.run([sys.executable, "-m", "divafn_tf.main",
                           f"--flagfile={typo}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert ("Unknown command line flag 'epoch'. Did you mean: epochs ?"
            in proc.stderr)
    assert "Traceback" not in proc.stderr
