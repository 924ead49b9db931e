"""Flags: one per RunConfig field, each with help; every flagfile parses;
defaults, choices and checks defined once."""
import dataclasses
import glob
import os
import subprocess
import sys

import pytest
from absl import flags

from divafn_tf import checkpointing, config, distribute, sylvester, train
from divafn_tf.cli import flags as divafn_flags  # noqa: F401  (defines the flags)
from divafn_tf.cli.train import config_from_flags
from divafn_tf.config import RunConfig
from divafn_tf.errors import UserInputError
from divafn_tf.nets import cnn_f, networks
from divafn_tf.objective import ObjectiveWeights
from divafn_tf.prep.semantics import phrases

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELDS = {field.name for field in dataclasses.fields(RunConfig)}
PAPER_BASE = os.path.join("flags", "paper_base.cfg")
PAPER_FLAGFILES = ("s2u.cfg", "a2u.cfg", "e2h.cfg", "b2u.cfg")


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


def _fresh_values() -> flags.FlagValues:
    """Our flags in a FlagValues of their own, at their defaults."""
    values = flags.FlagValues()
    for name, flag in _our_flags().items():
        values[name] = flag
    values.unparse_flags()
    return values


def _parsed(*argv: str) -> dict:
    values = _fresh_values()
    values(["prog", *argv])
    return {name: values[name].value for name in FIELDS}


def _flag_lines(path: str) -> list[str]:
    """The flag lines of a flagfile (no comments, no blank lines)."""
    with open(os.path.join(ROOT, path)) as f:
        lines = [line.strip() for line in f]
    return [line for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "flags", "*.cfg"))))
def test_flagfile_parses_and_names_only_known_flags(path, monkeypatch):
    monkeypatch.chdir(ROOT)       # a nested --flagfile is relative to the cwd
    values = _fresh_values()
    values(["prog", f"--flagfile={path}"])
    assert values["dataset"].value.startswith("divafn/")


@pytest.mark.parametrize("name", PAPER_FLAGFILES)
def test_a_paper_flagfile_is_the_base_plus_its_own_lines(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = os.path.join("flags", name)
    own = _flag_lines(path)
    assert own[0] == f"--flagfile={PAPER_BASE}"
    assert own[1].startswith("--dataset=") and own[2].startswith("--model_dir=")
    assert len(own) == 3                     # only what differs from the base
    with open(os.path.join(ROOT, path)) as f:
        assert f.readline().startswith("# ")  # says what it is
    expected = _parsed(f"--flagfile={PAPER_BASE}", *own[1:])
    assert _parsed(f"--flagfile={path}") == expected
    # The base sets only what differs from the defaults (the paper's).
    base = _flag_lines(PAPER_BASE)
    defaults = dataclasses.asdict(RunConfig())
    for line in base:
        name_, value = line[2:].split("=", 1)
        assert expected[name_] != defaults[name_], line
    changed = {k for k, v in expected.items() if v != defaults[k]}
    assert changed == {"dataset", "model_dir"} | {
        line[2:].split("=", 1)[0] for line in base}


def test_enum_choices_come_from_the_modules_that_implement_them():
    ours = _our_flags()
    implemented = {
        "image_backbone": networks.BACKBONES,
        "optimizer": tuple(train.OPTIMIZERS),
        "w_solver": sylvester.SOLVERS,
        "strategy": tuple(distribute.STRATEGIES),
        "oov": phrases.OOV_POLICIES,
        "bank_dtype": config.BANK_DTYPES,
    }
    enums = {name for name, flag in ours.items()
             if isinstance(flag.parser, flags.EnumParser)}
    assert enums == set(implemented)
    for name, choices in implemented.items():
        assert tuple(ours[name].parser.enum_values) == tuple(choices), name


def test_the_pieces_take_their_defaults_from_run_config():
    run = RunConfig()
    weights = ObjectiveWeights()
    assert (weights.a, weights.b, weights.c, weights.beta, weights.lam) == (
        run.a, run.b, run.c, run.beta, run.lam)
    cnn = cnn_f.CnnFConfig()
    assert (cnn.image_size, cnn.width, cnn.fc_units, cnn.output_dim,
            cnn.dropout) == (run.image_size, run.cnn_width, run.fc_units,
                             run.d, run.dropout)
    image = networks.ImageNetworkConfig()
    assert (image.backbone, image.weights, image.train_layers) == (
        run.image_backbone, run.image_weights, run.train_image_layers)


def test_state_fields_are_marked_on_run_config():
    assert set(config.STATE_FIELDS) < FIELDS
    assert {"dataset", "seed", "d", "train_ratio"} <= set(config.STATE_FIELDS)
    assert not {"epochs", "model_dir", "learning_rate"} & set(config.STATE_FIELDS)
    settings = checkpointing._settings(RunConfig(), semantic_dim=300)  # pylint: disable=protected-access
    assert set(settings) == set(config.STATE_FIELDS) | {"k"}


@pytest.mark.parametrize("ratio", [0.0, -0.5, 1.5])
def test_train_ratio_is_checked_once_by_run_config(ratio, capsys):
    with pytest.raises(UserInputError, match=r"--train_ratio=.*\(0, 1\]"):
        RunConfig(train_ratio=ratio)
    with pytest.raises(UserInputError, match="train_ratio"):
        dataclasses.replace(RunConfig(), train_ratio=ratio)
    # The flag itself accepts it (no second check); the command's config
    # turns it into one sentence and exit status 1.
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["prog", f"--train_ratio={ratio}"])
    try:
        with pytest.raises(SystemExit) as exit_:
            config_from_flags()
    finally:
        flags.FLAGS.unparse_flags()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --train_ratio={ratio}:") and err.count("\n") == 1


def test_readme_commands_name_existing_flagfiles():
    readme = open(os.path.join(ROOT, "README.md")).read()
    first_lines = readme.split("```")[1]
    assert "--flagfile=flags/demo.cfg" in first_lines
    assert os.path.exists(os.path.join(ROOT, "flags", "demo.cfg"))
    assert "python -m pytest" in first_lines
    assert "python -m pytest -q" in open(os.path.join(ROOT, ".ci", "run")).read()


@pytest.mark.e2e  # runs the train command
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
