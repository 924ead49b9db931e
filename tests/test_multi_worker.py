"""Two worker processes on 127.0.0.1 (MultiWorkerMirroredStrategy) vs one process.

The global batches are the same (DATA sharding of the same epoch-seeded
order), the per-replica losses are scaled by the global batch and the banks
are all-gathered, so two workers must end where one device ends, up to
float rounding. Dropout is off: its random masks differ per replica.
"""
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from divafn_tf import data

pytestmark = pytest.mark.e2e  # runs the train command in 3 processes
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# synthetic_tiny at ratio 0.3 trains on 16 triplets: 2 full batches of 8.
FLAGS = [f"--flagfile={ROOT}/flags/tiny.cfg", "--dropout=0", "--batch_size=8",
         "--epochs=3", "--eval_every=0", "--histogram_every=0"]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _command(data_dir, model_dir, *extra):
    return [sys.executable, "-m", "divafn_tf.main", *FLAGS,
            f"--data_dir={data_dir}", f"--model_dir={model_dir}", *extra]


def _state(model_dir):
    reader = tf.train.load_checkpoint(os.path.join(model_dir, "checkpoints"))
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()
            if name.startswith("model/")}


def test_two_workers_end_where_one_device_ends(tmp_path):
    data_dir = tmp_path / "data"
    data.load_pool("divafn/synthetic_tiny", str(data_dir))   # built once
    single = subprocess.run(_command(data_dir, tmp_path / "single"), cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert single.returncode == 0, single.stderr[-3000:]

    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(
            _command(data_dir, tmp_path / "multi", "--strategy=multi_worker"),
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    outputs = [w.communicate(timeout=900) for w in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]

    expected, got = _state(tmp_path / "single"), _state(tmp_path / "multi")
    assert expected.keys() == got.keys()
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-4,
                                   atol=1e-5, err_msg=name)
    results = [json.loads((tmp_path / d / "results.json").read_text())
               for d in ("single", "multi")]
    assert results[0]["num_train"] == results[1]["num_train"] == 16
    for method in ("divafn", "svm"):
        assert abs(results[0]["accuracy"][method]
                   - results[1]["accuracy"][method]) <= 1 / 32
    # Only the chief writes results and the export; the other worker's
    # checkpoints go to its own directory.
    assert (tmp_path / "multi" / "checkpoints" / ".worker1").is_dir()
