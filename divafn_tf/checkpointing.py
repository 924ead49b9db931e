"""Checkpoints that let a killed run resume and end as if never stopped.

A checkpoint (``tf.train.CheckpointManager`` under ``<model_dir>/checkpoints``,
written at the end of every ``--checkpoint_every`` epochs) holds everything
the rest of the run depends on:

* the model's variables: the three networks, the banks F, H, G and
  W_F, W_H, W_G, W_E;
* the optimizer's variables (iterations, slots);
* the dropout layers' random state (Keras ``SeedGenerator`` states, which
  neither ``tf.train.Checkpoint(model=...)`` nor ``save_weights`` track);
* the number of epochs done.

The rest is a function of the flags: the split and the initial weights come
from ``--seed``, and epoch e's triplet order is a shuffle seeded by (seed, e)
(``data.training_dataset``). So a run restarted with the same command after
``kill -9`` resumes at the first epoch not saved, replays it exactly, and
ends with the same W and SVM as an uninterrupted run. The SVM is trained
after training from the final state and needs no checkpoint.

TensorFlow writes a checkpoint's files before it updates the ``checkpoint``
index, so a kill during a save leaves the previous checkpoint in use.
``run_settings.json`` beside them records the flags that define the state;
resuming with another --d, --seed, dataset, ... is refused with the list of
differences (a new run needs a new --model_dir).

A checkpoint cut short or altered (a full disk, a bad copy) is found on
resume: every tensor of a checkpoint is read, its checksum checked, before
it is restored, newest first. A damaged one is skipped with a warning and its
files are moved, kept as they were, to ``checkpoints/damaged/<time>/``; the
run resumes from the newest checkpoint that reads whole (epoch 0 if none).

Only one run at a time may use a ``--model_dir``: ``model_dir_lock`` holds
``<model_dir>/run.lock`` (the holder's process id, host and start time,
created atomically) while the run lasts, and refuses a second run in one
sentence. A lock left by a process that is gone (same host, its process id
no longer running, as after ``kill -9``) is taken over, with a warning; a
lock of another host is never taken over, since its process cannot be
checked from here.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import socket
import time
from collections.abc import Iterator

import keras
import tensorflow as tf
from absl import logging

from divafn_tf.config import STATE_FIELDS, RunConfig
from divafn_tf.errors import UserInputError

SETTINGS_FILE = "run_settings.json"
LOCK_FILE = "run.lock"
DAMAGED_DIR = "damaged"   # under the checkpoints: damaged checkpoints, kept


class CheckpointMismatchError(UserInputError):
    """A checkpoint written with other state-defining flags."""


def _settings(config: RunConfig, semantic_dim: int) -> dict:
    fields = dataclasses.asdict(config)
    # The flags that shape the state or the data; resuming requires them unchanged.
    return {**{name: fields[name] for name in STATE_FIELDS}, "k": semantic_dim}


def _reason(error: Exception) -> str:
    """The first line of a TensorFlow error's message."""
    return (str(getattr(error, "message", error)).strip().splitlines()
            or [type(error).__name__])[0]


def unreadable(path: str) -> str | None:
    """Why the checkpoint ``path`` (a prefix, ``.../ckpt-N``) cannot be read
    whole, or None if it can.

    Reads every tensor, one at a time, and TensorFlow checks each one's
    checksum: a file cut short, altered or missing shows here, before any
    variable is restored from it.
    """
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, IndexError) as e:  # IndexError: cut short
        return _reason(e)
    return None


def _forget(directory: str, path: str) -> None:
    """Drops the checkpoint ``path`` from the list in ``directory``'s
    ``checkpoint`` file (the others keep their order and times)."""
    state = tf.train.get_checkpoint_state(directory)
    kept = [(p, t) for p, t in itertools.zip_longest(
                state.all_model_checkpoint_paths,
                state.all_model_checkpoint_timestamps) if p != path]
    if not kept:
        os.remove(os.path.join(directory, "checkpoint"))
        return
    paths, times = ([os.path.basename(p) for p, _ in kept],
                    [t for _, t in kept])
    tf.compat.v1.train.update_checkpoint_state(
        directory, paths[-1], paths,
        all_model_checkpoint_timestamps=None if None in times else times,
        last_preserved_timestamp=state.last_preserved_timestamp)


class RunCheckpoint:
    """The checkpoint of one run's state (module docstring)."""

    def __init__(self, model: keras.Model, directory: str, config: RunConfig,
                 semantic_dim: int, max_to_keep: int = 2,
                 write_directory: str | None = None):
        """Restores from ``directory`` (the chief's) and writes to
        ``write_directory`` (default the same; a worker's own under
        multi-worker training)."""
        self.directory = directory
        self.write_directory = write_directory or directory
        self.settings = _settings(config, semantic_dim)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False,
                                 name="epochs_done")
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        seeds = {f"seed_{i}": v.value for i, v in enumerate(
            v for v in model.variables if "seed_generator_state" in v.path)}
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, epoch=self.epoch,
            random=tf.train.Checkpoint(**seeds))
        self.max_to_keep = max_to_keep
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.write_directory, max_to_keep=max_to_keep)

    def _check_settings(self) -> None:
        path = os.path.join(self.directory, SETTINGS_FILE)
        if not os.path.isfile(path):
            return
        try:
            with open(path) as f:
                saved = json.load(f)
        except (OSError, ValueError) as e:
            raise CheckpointMismatchError(
                f"{path}: cannot read the settings of the run saved there "
                f"({e}); give a new --model_dir for a new run") from None
        if not isinstance(saved, dict):
            raise CheckpointMismatchError(
                f"{path}: expected a JSON object of the saved run's settings, "
                f"got a {type(saved).__name__}; give a new --model_dir for a "
                "new run")
        differ = [f"--{name}={saved.get(name)!r} (now {value!r})"
                  for name, value in self.settings.items()
                  if saved.get(name) != value]
        if differ:
            raise CheckpointMismatchError(
                f"{self.directory} holds a run made with other settings: "
                f"{', '.join(differ)}; resume with the same flags, or give a "
                f"new --model_dir for a new run")

    def restore(self) -> int:
        """Restores the newest checkpoint that reads whole, if any; returns
        the epochs done. Damaged ones are skipped (module docstring)."""
        self._check_settings()
        state = tf.train.get_checkpoint_state(self.directory)
        for path in reversed(state.all_model_checkpoint_paths if state else []):
            reason = unreadable(path)
            if reason is None:
                return self._restore(path)
            self._skip(path, reason)
        return 0

    def _restore(self, path: str) -> int:
        """Restores the checkpoint ``path``; returns the epochs done."""
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except (ValueError, AssertionError, tf.errors.OpError) as e:
            raise CheckpointMismatchError(
                f"{path}: cannot restore it into this model ({_reason(e)}); "
                f"was it written by another version or with other flags?"
            ) from e
        logging.info("Resumed from %s: %d epoch(s) done", path,
                     int(self.epoch.numpy()))
        return int(self.epoch.numpy())

    def _skip(self, path: str, reason: str) -> None:
        """Logs that the damaged checkpoint ``path`` is skipped. The chief
        (the writer of ``directory``) moves its files to
        ``damaged/<time>/`` and drops it from the checkpoint list."""
        if self.write_directory != self.directory:
            logging.warning("Skipped the checkpoint %s: it cannot be read "
                            "(%s); the chief keeps its files", path, reason)
            return
        kept = os.path.join(self.directory, DAMAGED_DIR,
                            time.strftime("%Y%m%d-%H%M%S"))
        os.makedirs(kept, exist_ok=True)
        name = os.path.basename(path)
        for file in os.listdir(self.directory):
            if file.startswith(name + "."):
                os.replace(os.path.join(self.directory, file),
                           os.path.join(kept, file))
        _forget(self.directory, path)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.write_directory, max_to_keep=self.max_to_keep)
        logging.warning("Skipped the checkpoint %s: it cannot be read (%s); "
                        "its files are kept in %s", path, reason, kept)

    def save(self, epochs_done: int) -> str:
        """Writes a checkpoint after ``epochs_done`` epochs."""
        os.makedirs(self.write_directory, exist_ok=True)
        settings_path = os.path.join(self.write_directory, SETTINGS_FILE)
        if not os.path.isfile(settings_path):
            tmp = settings_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.settings, f, indent=2)
            os.replace(tmp, settings_path)
        self.epoch.assign(epochs_done)
        return self.manager.save(checkpoint_number=epochs_done)


class SaveCheckpoint(keras.callbacks.Callback):
    """Saves a ``RunCheckpoint`` every ``every_n_epochs`` epochs and at the end.

    The first and the last checkpoint of a run are a log line each, the
    others a debug line.
    """

    def __init__(self, run_checkpoint: RunCheckpoint, every_n_epochs: int,
                 total_epochs: int):
        super().__init__()
        self.run_checkpoint = run_checkpoint
        self.every_n_epochs = every_n_epochs
        self.total_epochs = total_epochs
        self.saved = 0

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        periodic = self.every_n_epochs and done % self.every_n_epochs == 0
        if periodic or done == self.total_epochs:
            path = self.run_checkpoint.save(done)
            logging.log(logging.INFO if not self.saved or done == self.total_epochs
                        else logging.DEBUG, "Checkpoint %s (%d epochs done)",
                        path, done)
            self.saved += 1


# Tries to create the lock file before giving up (each failed try removed a
# stale lock or saw one released, and another run took it meanwhile).
_LOCK_ATTEMPTS = 3


@contextlib.contextmanager
def model_dir_lock(model_dir: str) -> Iterator[None]:
    """Holds ``<model_dir>/run.lock`` while the block runs, and removes it at
    the end, also when the block raises (module docstring).

    Raises:
      UserInputError: another run holds the lock, or the lock file is not
        one this module wrote.
    """
    path = os.path.join(model_dir, LOCK_FILE)
    mine = _acquire(path, model_dir)
    try:
        yield
    finally:
        if _lock_text(path) == mine:   # still ours
            os.remove(path)


def _acquire(path: str, model_dir: str) -> str:
    """Creates the lock file (atomically: ``O_CREAT | O_EXCL``) naming this
    process, after removing a stale one; returns the text it holds."""
    stale = None
    for _ in range(_LOCK_ATTEMPTS):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            text = _lock_text(path)
            if text is None:           # released meanwhile
                continue
            holder = _parse_lock(text, path, model_dir)
            if not _is_stale(holder):
                raise UserInputError(
                    f"--model_dir={model_dir} is in use by another run "
                    f"(process {holder['pid']} on {holder['host']}, started "
                    f"{holder['started']}); wait for it to end or give another "
                    f"--model_dir (if that run is gone, delete {path})"
                ) from None
            if _remove_if_unchanged(path, text):
                stale = holder
            continue
        mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "started": time.strftime("%Y-%m-%d %H:%M:%S")})
        try:
            with os.fdopen(fd, "w") as f:
                f.write(mine)
        except BaseException:
            os.remove(path)
            raise
        if stale:
            logging.warning("Took over the stale lock %s of process %d on %s "
                            "(started %s), which is no longer running", path,
                            stale["pid"], stale["host"], stale["started"])
        return mine
    raise UserInputError(
        f"--model_dir={model_dir}: other runs took its lock {path} each time "
        f"this one tried; start one run at a time")


def _lock_text(path: str) -> str | None:
    """The lock file's text (None: there is none)."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _parse_lock(text: str, path: str, model_dir: str) -> dict:
    """The holder a lock file names: {"pid": int, "host": str, "started": str}.

    Raises:
      UserInputError: the text is not such a JSON object.
    """
    try:
        holder = json.loads(text)
        reason = "expected a JSON object of pid, host and started"
    except ValueError as e:
        holder, reason = None, str(e)
    if (isinstance(holder, dict) and isinstance(holder.get("pid"), int)
            and holder["pid"] > 0 and isinstance(holder.get("host"), str)
            and isinstance(holder.get("started"), str)):
        return holder
    raise UserInputError(f"{path}: cannot read the lock file ({reason}); if no "
                         f"run uses --model_dir={model_dir}, delete it")


def _is_stale(holder: dict) -> bool:
    """Whether a lock's process is gone: it is of this host and its process
    id runs no process, or is this process's (a process id reused, as in a
    restarted container: this process has not taken the lock yet)."""
    if holder["host"] != socket.gethostname():
        return False
    if holder["pid"] == os.getpid():
        return True
    try:
        os.kill(holder["pid"], 0)   # signal 0: only checks that it exists
    except ProcessLookupError:
        return True
    except PermissionError:         # another user's process
        return False
    return False


def _remove_if_unchanged(path: str, text: str) -> bool:
    """Removes the lock file if it still holds ``text``; True if it did.

    It is moved aside first (atomic), so a lock that another run created in
    the meantime is never lost: it is put back.
    """
    aside = f"{path}.stale-{os.getpid()}"
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    try:
        if _lock_text(aside) == text:
            return True
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
        return False
    finally:
        os.remove(aside)
