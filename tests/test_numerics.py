"""The paper's settings stay finite for 100 epochs (embedded data, reduced size)."""
import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from divafn_tf import train
from divafn_tf.config import RunConfig


class _Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))


@pytest.mark.e2e  # 100 epochs of train.fit
def test_hundred_epochs_at_the_papers_settings_stay_finite(tmp_path,
                                                           monkeypatch):
    # a = b = 0.1, c = 1, β = 0.1, λ = 0.01, plain SGD at 1e-4, batch 64,
    # 100 epochs (RunConfig's defaults); narrow networks at 64x64 and d = 64
    # keep it fast on a CPU.
    config = dataclasses.replace(
        RunConfig(), dataset="divafn/synthetic_tiny", data_dir=str(tmp_path),
        train_ratio=0.5, image_size=64, cnn_width=0.25, fc_units=64,
        video_hidden=64, d=64, eval_every=0, histogram_every=0)
    assert (config.a, config.b, config.c, config.beta, config.lam,
            config.optimizer, config.learning_rate, config.epochs) == (
        0.1, 0.1, 1.0, 0.1, 0.01, "sgd", 1e-4, 100)
    record = _Record()
    original_fit = keras.Model.fit

    def fit_with_record(self, *args, callbacks=(), **kwargs):
        return original_fit(self, *args, callbacks=[*callbacks, record],
                            **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit_with_record)
    pool, vectors = train.load_dataset(config)
    model, _ = train.fit(config, train.split(pool, vectors, 0.5, 0),
                      tf.distribute.get_strategy(), None)
    assert len(record.logs) == 100
    for logs in record.logs:
        assert all(np.isfinite(value) for value in logs.values()), logs
    for variable in model.variables:
        assert np.all(np.isfinite(variable.numpy())), variable.path
    assert record.logs[-1]["J"] < record.logs[0]["J"]
