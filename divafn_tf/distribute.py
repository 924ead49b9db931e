"""tf.distribute strategies for --strategy, and logical CPU devices for testing."""
from __future__ import annotations

import json
import os

import tensorflow as tf


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


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``default`` | ``mirrored`` (all local GPUs, else all logical CPUs) | ``multi_worker``."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy=multi_worker needs the TF_CONFIG "
                             "environment variable (cluster and task)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown --strategy {name!r}")


def worker_dir(directory: str) -> str:
    """Where this worker writes: ``directory`` on the chief, a private
    ``directory/.worker<i>`` on other workers (multi-worker checkpoints and
    summaries must be written by every worker, each to its own place)."""
    if is_chief():
        return directory
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    return os.path.join(directory, f".{task['type']}{task.get('index', 0)}")


def is_chief() -> bool:
    """True unless TF_CONFIG names this process a non-chief worker."""
    tf_config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task, cluster = tf_config.get("task", {}), tf_config.get("cluster", {})
    if not task:
        return True
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0
