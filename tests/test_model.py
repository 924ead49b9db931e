"""The DIVAFN model: training lowers J, banks follow the batch, mirrored == single device."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import tiny_model


HERE = os.path.dirname(__file__)


@pytest.mark.heavy  # 10 epochs of fit
@pytest.mark.parametrize("bank_dtype", ["float32", "bfloat16"])
def test_j_decreases_over_epochs(bank_dtype):
    model = tiny_model.build(optimizer="adam", learning_rate=3e-3,
                             bank_dtype=bank_dtype)
    data = tf.data.Dataset.from_tensor_slices(tiny_model.triplets()).batch(8)
    model.fill_banks(data)
    history = model.fit(data.shuffle(64, seed=0), epochs=10, verbose=0).history
    j = history["J"]
    assert np.all(np.isfinite(j))
    assert j[-1] < 0.85 * j[0], j
    assert j[-1] < min(j[:5]), j
    for name in ("nll_image_video", "nll_image_keyframe", "nll_keyframe_video",
                 "ae_f", "ae_h", "ae_g", "ae_e"):
        assert name in history


@pytest.mark.heavy  # traces a train step
@pytest.mark.parametrize("bank_dtype", ["float32", "bfloat16"])
def test_train_step_writes_the_batch_rows_into_the_banks(bank_dtype):
    model = tiny_model.build(bank_dtype=bank_dtype)
    data = tiny_model.triplets()
    batch = {k: v[[3, 7, 11]] for k, v in data.items()}
    before = model.bank_f.numpy().copy()
    expected_h = model({"keyframes": batch["keyframes"],
                        "video_feature": batch["video_feature"]}, training=False)
    model.train_on_batch(batch)
    after = model.bank_f.numpy()
    changed = np.flatnonzero(np.any(after != before, axis=1))
    np.testing.assert_array_equal(changed, [3, 7, 11])
    # No dropout in the tiny model: bank rows are the pre-step outputs,
    # rounded to the bank's type.
    assert model.bank_h.dtype == bank_dtype
    np.testing.assert_allclose(
        model.bank_h.numpy()[[3, 7, 11]].astype(np.float32),
        tf.cast(tf.cast(expected_h["h"], bank_dtype), tf.float32),
        rtol=1e-5, atol=1e-5)


def _run(devices, out):
    subprocess.run([sys.executable, os.path.join(HERE, "tiny_model.py"),
                    f"--devices={devices}", "--epochs=2", f"--out={out}"],
                   check=True, capture_output=True, timeout=600)
    return np.load(out)


@pytest.mark.e2e  # tiny_model.py in 2 processes
def test_mirrored_two_replicas_equals_single_device(tmp_path):
    single = _run(1, tmp_path / "single.npz")
    mirrored = _run(2, tmp_path / "mirrored.npz")
    assert set(single.files) == set(mirrored.files)
    for name in single.files:
        np.testing.assert_allclose(mirrored[name], single[name], rtol=1e-4,
                                   atol=1e-5, err_msg=name)
    # The comparison is not vacuous: training moved the banks.
    assert np.abs(single["bank_g"]).sum() > 0
