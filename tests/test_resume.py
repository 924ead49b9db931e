"""Kill -9 a real training run mid-way, re-run the same command: same result.

Also: resuming with other state-defining flags is refused, and a diverging
run stops with a sentence naming the last good checkpoint.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from divafn_tf import callbacks, train
from divafn_tf.config import RunConfig

pytestmark = pytest.mark.e2e  # runs (and kills) the train command
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 6
# tiny.cfg with small batches (4 steps an epoch), dropout on, every epoch saved.
FLAGS = [f"--flagfile={ROOT}/flags/tiny.cfg", f"--epochs={EPOCHS}",
         "--batch_size=4", "--dropout=0.5", "--eval_every=0",
         "--histogram_every=0", "--checkpoint_every=1"]


def _command(data_dir, model_dir, *extra):
    return [sys.executable, "-m", "divafn_tf.main", *FLAGS,
            f"--data_dir={data_dir}", f"--model_dir={model_dir}", *extra]


def _run(data_dir, model_dir, *extra):
    proc = subprocess.run(_command(data_dir, model_dir, *extra), cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    return proc


def _final_state(model_dir):
    """{variable name: value} of the run's last checkpoint."""
    reader = tf.train.load_checkpoint(os.path.join(model_dir, "checkpoints"))
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()
            if not name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")}


def _committed_epochs(model_dir):
    """Epochs of the checkpoint the manager's state file names (0 if none).

    A ``ckpt-N.index`` appears before the save is committed; the state file
    (written atomically last) is what a resumed run restores from.
    """
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    return 0 if latest is None else int(latest.rsplit("-", 1)[1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    data_dir = tmp / "data"
    whole = _run(data_dir, tmp / "whole")
    assert whole.returncode == 0, whole.stderr[-3000:]

    killed_dir = tmp / "killed"
    proc = subprocess.Popen(_command(data_dir, killed_dir), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while (_committed_epochs(killed_dir) < 2 and proc.poll() is None
           and time.time() < deadline):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL       # killed, not finished
    assert not (killed_dir / "results.json").exists()
    resumed = _run(data_dir, killed_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return tmp / "whole", killed_dir, resumed.stderr, data_dir


def test_the_resumed_run_starts_after_the_last_checkpoint(runs):
    _, _, log, _ = runs
    assert "Resumed from" in log and "ckpt-" in log
    done = int(log.split("Resumed from")[1].split("epoch(s) done")[0]
               .split(":")[-1])
    assert 2 <= done < EPOCHS


def test_resumed_run_ends_with_the_same_state_and_accuracy(runs):
    whole, killed, _, _ = runs
    expected, got = _final_state(whole), _final_state(killed)
    assert expected.keys() == got.keys()
    w_keys = [k for k in expected if "/w_" in k.split(".ATTRIBUTES")[0]]
    assert len(w_keys) == 4                       # W_F, W_H, W_G, W_E
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=0,
                                   atol=1e-5, err_msg=name)
    accuracy = [json.loads((d / "results.json").read_text())["accuracy"]
                for d in (whole, killed)]
    assert accuracy[0] == accuracy[1]


def test_resuming_with_other_settings_is_refused(runs):
    _, killed, _, data_dir = runs
    proc = _run(data_dir, killed, "--d=64")
    assert proc.returncode == 1
    assert "holds a run made with other settings: --d=32 (now 64)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_diverging_run_stops_with_the_last_good_checkpoint(tmp_path):
    config = RunConfig(dataset="divafn/synthetic_tiny",
                       data_dir=str(tmp_path / "data"),
                       model_dir=str(tmp_path / "run"), image_size=64,
                       cnn_width=0.25, fc_units=64, video_hidden=64, d=32,
                       optimizer="sgd", learning_rate=1e6, batch_size=4,
                       epochs=3, eval_every=0, histogram_every=0)
    with pytest.raises(callbacks.TrainingDiverged,
                       match=r"training diverged at epoch \d+, batch \d+: "
                             r"J = (nan|inf).*--clip_norm"):
        train.run(config)
    assert not (tmp_path / "run" / "results.json").exists()

