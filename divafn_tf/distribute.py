"""tf.distribute strategies for --strategy, and logical CPU devices for testing."""
from __future__ import annotations

import json
import os

import tensorflow as tf

from divafn_tf.errors import UserInputError


def split_cpu(num_devices: int) -> None:
    """Splits the CPU into ``num_devices`` logical devices.

    Must run before TensorFlow initialises its devices (first op or
    ``list_logical_devices``); used to run MirroredStrategy on a CPU.
    """
    if num_devices <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError as error:
        raise RuntimeError(
            "--num_cpu_devices must be applied before TensorFlow starts; "
            "set it in a fresh process") from error


def _mirrored() -> tf.distribute.Strategy:
    """All local GPUs, else all logical CPUs (``split_cpu``)."""
    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def _multi_worker() -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy, its cluster from TF_CONFIG."""
    if "TF_CONFIG" not in os.environ:
        raise UserInputError("--strategy=multi_worker needs the TF_CONFIG "
                             "environment variable (cluster and task)")
    _tf_config()   # readable, else one sentence
    return tf.distribute.MultiWorkerMirroredStrategy()


# --strategy's choices: name → factory.
STRATEGIES = {"default": tf.distribute.get_strategy, "mirrored": _mirrored,
              "multi_worker": _multi_worker}


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``default`` (one device) | ``mirrored`` | ``multi_worker`` (`STRATEGIES`)."""
    if name not in STRATEGIES:
        raise ValueError(f"--strategy={name!r}: expected one of "
                         f"{', '.join(STRATEGIES)}")
    return STRATEGIES[name]()


def worker_dir(directory: str) -> str:
    """Where this worker writes: ``directory`` on the chief, a private
    ``directory/.worker<i>`` on other workers (multi-worker checkpoints and
    summaries must be written by every worker, each to its own place)."""
    if is_chief():
        return directory
    task = _tf_config()["task"]
    return os.path.join(directory, f".{task['type']}{task.get('index', 0)}")


def is_chief() -> bool:
    """True unless TF_CONFIG names this process a non-chief worker."""
    tf_config = _tf_config()
    task, cluster = tf_config.get("task", {}), tf_config.get("cluster", {})
    if not task:
        return True
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def _tf_config() -> dict:
    """The TF_CONFIG environment variable's JSON object ({} if unset)."""
    text = os.environ.get("TF_CONFIG", "{}")
    try:
        tf_config = json.loads(text)
    except ValueError as e:
        raise UserInputError(f"TF_CONFIG: expected a JSON object with "
                             f"'cluster' and 'task', cannot parse it ({e})"
                             ) from None
    task = tf_config.get("task", {}) if isinstance(tf_config, dict) else None
    if not isinstance(task, dict):
        raise UserInputError(f"TF_CONFIG: expected a JSON object whose 'task' "
                             f"is {{'type': ..., 'index': ...}}, got {text}")
    return tf_config
