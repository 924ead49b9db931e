"""The faults that long runs on shared machines meet (issue 17), and what is kept.

- Two runs in one ``--model_dir``: the second is refused in one sentence
  naming the first's process and host (``checkpointing.model_dir_lock``);
  a lock whose process is gone is taken over, and the log says so.
- A truncated latest checkpoint: the run resumes from the newest checkpoint
  that reads whole, and the damaged one is kept under
  ``checkpoints/damaged/`` (``checkpointing.RunCheckpoint.restore``).
- A corrupt TFRecord shard: one sentence naming the shard and the command
  that rebuilds the dataset (``data.load_pool``), which does rebuild it.
- A failure while writing the SavedModel or ``results.json``: the previous
  ones are intact (``export.export_saved_model``, ``train.write_results``).
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from divafn_tf import checkpointing, data, export, train
from divafn_tf.config import RunConfig
from divafn_tf.errors import UserInputError

ROOT = Path(__file__).resolve().parent.parent
DATASET = "divafn/synthetic_tiny"


def _config(data_dir: Path, model_dir: Path, **changes) -> RunConfig:
    """flags/tiny.cfg, 2 epochs, every epoch saved, no evaluation during it."""
    settings = dict(dataset=DATASET, data_dir=str(data_dir),
                    model_dir=str(model_dir), image_size=64, cnn_width=0.25,
                    fc_units=64, video_hidden=64, d=32, optimizer="adam",
                    learning_rate=1e-3, batch_size=16, epochs=2,
                    checkpoint_every=1, eval_every=0, histogram_every=0)
    return RunConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data dir with synthetic_tiny built in it."""
    folder = tmp_path_factory.mktemp("data")
    data.load_pool(DATASET, str(folder))
    return folder


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, data_dir) -> Path:
    """The model_dir of a finished 2-epoch run (checkpoints 1 and 2, export,
    results.json); tests work on copies of it."""
    model_dir = tmp_path_factory.mktemp("first") / "run"
    train.run(_config(data_dir, model_dir))
    return model_dir


def _copy(model_dir: Path, to: Path) -> Path:
    shutil.copytree(model_dir, to)
    return to


def _messages(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


# --------------------------------------------------------------------------
# 1. Two runs, one --model_dir
# --------------------------------------------------------------------------

def _lock_file(model_dir: Path, **holder) -> Path:
    path = model_dir / checkpointing.LOCK_FILE
    path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                "started": "2026-12-01 10:00:00", **holder}))
    return path


def _dead_pid() -> int:
    """A process id no process has now."""
    pid = int(Path("/proc/sys/kernel/pid_max").read_text()) - 1
    while True:
        try:
            os.kill(pid, 0)     # signal 0: only asks whether it exists
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_a_second_run_in_the_same_model_dir_is_refused(tmp_path):
    host = socket.gethostname()
    with checkpointing.model_dir_lock(str(tmp_path)):
        holder = json.loads((tmp_path / checkpointing.LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == host
    assert not (tmp_path / checkpointing.LOCK_FILE).exists()   # released
    # A run in another live process (this one's parent) holds it.
    path = _lock_file(tmp_path, pid=os.getppid())
    with pytest.raises(UserInputError) as info:
        with checkpointing.model_dir_lock(str(tmp_path)):
            pass
    assert str(info.value) == (
        f"--model_dir={tmp_path} is in use by another run (process "
        f"{os.getppid()} on {host}, started 2026-12-01 10:00:00); wait for it "
        f"to end or give another --model_dir (if that run is gone, delete "
        f"{path})")
    assert path.exists()     # another's lock is never removed


def test_the_lock_is_released_when_the_run_fails(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with checkpointing.model_dir_lock(str(tmp_path)):
            raise RuntimeError("boom")
    assert not (tmp_path / checkpointing.LOCK_FILE).exists()
    with checkpointing.model_dir_lock(str(tmp_path)):
        pass


def test_a_stale_lock_is_taken_over_and_logged(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="absl")
    dead = _dead_pid()
    _lock_file(tmp_path, pid=dead)
    with checkpointing.model_dir_lock(str(tmp_path)):
        holder = json.loads((tmp_path / checkpointing.LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid()
    assert re.search(rf"Took over the stale lock {re.escape(str(tmp_path))}/"
                     rf"run\.lock of process {dead} on "
                     rf"{re.escape(socket.gethostname())}", _messages(caplog))
    assert sorted(os.listdir(tmp_path)) == []    # nothing left behind


def test_a_lock_of_another_host_or_unreadable_is_refused(tmp_path):
    path = _lock_file(tmp_path, pid=_dead_pid(), host="elsewhere")
    with pytest.raises(UserInputError,
                       match=r"in use by another run \(process \d+ on "
                             r"elsewhere, .*delete .*run\.lock"):
        with checkpointing.model_dir_lock(str(tmp_path)):
            pass
    path.write_text("")
    with pytest.raises(UserInputError,
                       match=rf"^{re.escape(str(path))}: cannot read the lock "
                             r"file .*; if no run uses --model_dir="):
        with checkpointing.model_dir_lock(str(tmp_path)):
            pass
    assert path.read_text() == ""    # another's lock is never removed


@pytest.mark.e2e
def test_the_train_command_refuses_a_model_dir_in_use(tmp_path, data_dir):
    model_dir = tmp_path / "run"
    model_dir.mkdir()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    with checkpointing.model_dir_lock(str(model_dir)):
        proc = subprocess.run(
            [sys.executable, "-m", "divafn_tf.main",
             f"--flagfile={ROOT}/flags/tiny.cfg", f"--data_dir={data_dir}",
             f"--model_dir={model_dir}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: --model_dir={model_dir} is in use by "
                           f"another run (process {os.getpid()} on "
                           f"{socket.gethostname()}, started "), last
    assert not (model_dir / "checkpoints").exists()   # refused before any work


# --------------------------------------------------------------------------
# 2. A truncated latest checkpoint
# --------------------------------------------------------------------------

@pytest.mark.e2e
def test_a_truncated_latest_checkpoint_is_kept_and_the_run_resumes_before_it(
        first_run, data_dir, tmp_path, caplog):
    model_dir = _copy(first_run, tmp_path / "run")
    checkpoints = model_dir / "checkpoints"
    damaged = checkpoints / "ckpt-2.data-00000-of-00001"
    size = damaged.stat().st_size
    os.truncate(damaged, size // 2)          # as after a full disk
    caplog.set_level(logging.INFO, logger="absl")
    train.run(_config(data_dir, model_dir, epochs=3, export=False))
    log = _messages(caplog)
    assert re.search(rf"Skipped the checkpoint {re.escape(str(checkpoints))}/"
                     r"ckpt-2: it cannot be read \(Read less bytes than "
                     r"requested\); its files are kept in "
                     rf"{re.escape(str(checkpoints))}/damaged/\d{{8}}-\d{{6}}",
                     log), log
    assert f"Resumed from {checkpoints}/ckpt-1: 1 epoch(s) done" in log
    kept = list((checkpoints / "damaged").glob("*/ckpt-2.*"))
    assert sorted(p.name for p in kept) == ["ckpt-2.data-00000-of-00001",
                                            "ckpt-2.index"]
    assert [p.stat().st_size for p in kept if "data" in p.name] == [size // 2]
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-3")
    assert not (model_dir / checkpointing.LOCK_FILE).exists()


# --------------------------------------------------------------------------
# 3. A corrupt TFRecord shard
# --------------------------------------------------------------------------

@pytest.mark.heavy  # copies and rebuilds a dataset
@pytest.mark.parametrize("damage", ["flipped_byte", "truncated"])
def test_a_corrupt_shard_names_it_and_the_command_that_rebuilds(
        data_dir, tmp_path, damage):
    shutil.copytree(data_dir / "divafn", tmp_path / "divafn")
    shard, = (tmp_path / "divafn").glob("synthetic_tiny/*/divafn-pool.tfrecord-*")
    content = bytearray(shard.read_bytes())
    if damage == "flipped_byte":
        content[len(content) // 2] ^= 0xFF
    else:
        content = content[:len(content) // 2]
    shard.write_bytes(bytes(content))
    with pytest.raises(UserInputError) as info:
        data.load_pool(DATASET, str(tmp_path))
    message = str(info.value)
    assert re.fullmatch(
        rf"{DATASET}: the shard {re.escape(str(shard))} is damaged \((corrupted|"
        r"truncated) record at \d+.*\); rebuild the dataset with python -m "
        rf"tfds_builders\.divafn\.build --dataset={DATASET} "
        rf"--data_dir={re.escape(str(tmp_path))} --overwrite", message), message
    builder = data.make_builder(DATASET, str(tmp_path))
    data.prepare(builder, None, overwrite=True)     # what the command does
    assert len(data.load_pool(DATASET, str(tmp_path)).split_labels["pool"]) == 48


# --------------------------------------------------------------------------
# 5. Atomic exports and results
# --------------------------------------------------------------------------

def _serve(export_dir: str) -> tuple[list[str], np.ndarray]:
    """(class names, scores of fixed inputs) of a SavedModel."""
    import tiny_model
    loaded = tf.saved_model.load(export_dir)
    names = loaded.signatures[export.CLASS_NAMES_SIGNATURE]()["class_names"]
    inputs = tiny_model.triplets()
    scores = loaded.signatures[export.SIGNATURE](
        keyframes=tf.constant(inputs["keyframes"]),
        video_feature=tf.constant(inputs["video_feature"]))["scores"]
    return [n.decode() for n in names.numpy()], scores.numpy()


@pytest.mark.heavy  # exports and loads SavedModels
@pytest.mark.parametrize("failure", ["saved_model_write", "swap"])
def test_a_failed_export_leaves_the_previous_one(tmp_path, monkeypatch,
                                                 failure):
    import tiny_model
    from tensorflow.python.lib.io import file_io
    export_dir = str(tmp_path / "export")
    tiny_model.export_tiny(export_dir, ["wave", "jump", "clap"])
    before = _serve(export_dir)
    if failure == "saved_model_write":
        # The variables are written, then saved_model.pb fails (disk full).
        def write(path, content):
            raise OSError(28, "No space left on device", path)
        monkeypatch.setattr(file_io, "atomic_write_string_to_file", write)
    else:
        # The new export is complete; moving it into place fails once.
        rename = tf.io.gfile.rename
        failed = []

        def fail_once(src, dst, overwrite=False):
            if dst == export_dir and not failed:
                failed.append(src)
                raise OSError(5, "Input/output error", src)
            return rename(src, dst, overwrite)
        monkeypatch.setattr(tf.io.gfile, "rename", fail_once)
    with pytest.raises(OSError):
        tiny_model.export_tiny(export_dir, ["a", "b", "c"])
    monkeypatch.undo()
    after = _serve(export_dir)
    assert after[0] == before[0] == ["wave", "jump", "clap"]
    np.testing.assert_array_equal(after[1], before[1])
    assert os.listdir(tmp_path) == ["export"]      # no temporary folder left


@pytest.mark.e2e
def test_a_failed_results_write_leaves_the_previous_results(
        first_run, data_dir, tmp_path, monkeypatch):
    model_dir = _copy(first_run, tmp_path / "run")
    before = (model_dir / "results.json").read_bytes()

    def half_then_full_disk(obj, fp, **kwargs):
        text = json.dumps(obj, **kwargs)
        fp.write(text[:len(text) // 2])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(json, "dump", half_then_full_disk)
    with pytest.raises(OSError, match="No space left"):
        train.run(_config(data_dir, model_dir))   # resumes done, re-exports
    monkeypatch.undo()
    assert (model_dir / "results.json").read_bytes() == before
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "checkpoints", "export", "logs", "results.json"]
