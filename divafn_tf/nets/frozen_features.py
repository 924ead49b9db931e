"""Frozen layers computed once: the image and keyframe networks cut in two.

With ``--train_image_layers=top`` or ``from:<layer>`` the lower part of the
image and keyframe networks never changes in training, yet without a cache
every epoch would run it again on every image and keyframe. Here each
network is cut at its first trainable layer into a *stem* (the frozen part,
pixels → features) and a *head* (the trainable part, features → d), with
head(stem(x)) = network(x) and the layers shared, so training the head
trains the network. The stem runs once over the training images, the
training keyframes and the test keyframes; training, the bank refreshes,
evaluation and KVC then run only the heads. The exported SavedModel keeps
the whole network (pixels in).

Frozen BatchNorm layers run in inference mode either way (Keras 3), so the
cached and uncached runs compute the same function and, with the same
batches, train identically (``tests/test_training_choices.py``).

The features are held in memory; a cache larger than
``MEMORY_LIMIT_BYTES`` is written as ``.npy`` files under
``<model_dir>/feature_cache/`` and read back by memory map.
"""
from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

MEMORY_LIMIT_BYTES = 4 * 2 ** 30


def _is_model(layer) -> bool:
    return isinstance(layer, keras.Model)


def _frozen(layer) -> bool:
    """A layer with weights that training leaves alone (``trainable`` off,
    or a nested model none of whose weights train)."""
    return bool(layer.weights) and (not layer.trainable or (
        _is_model(layer) and not layer.trainable_weights))


def _compose(first: keras.Model, second: keras.Model) -> keras.Model:
    """second ∘ first as one functional model (layers shared)."""
    inputs = keras.Input(first.input.shape[1:], dtype=first.input.dtype)
    return keras.Model(inputs, second(first(inputs)))


def split_frozen(network: keras.Model) -> tuple[keras.Model, keras.Model] | None:
    """(stem, head) of a network at its first layer with trainable weights.

    Nested models (a keras.applications backbone inside the network) are
    cut inside when their own first trainable layer is inside them. Returns
    None when nothing before that layer has weights (nothing to cache) or
    when the graph cannot be cut at one tensor (a later layer also reads an
    earlier tensor, as inside a residual block).
    """
    layers = [l for l in network.layers
              if not isinstance(l, keras.layers.InputLayer)]
    first = next((i for i, l in enumerate(layers) if l.trainable_weights), None)
    if first is None:
        return None
    boundary = layers[first]
    try:
        if _is_model(boundary) and boundary.non_trainable_weights:
            inner = split_frozen(boundary)
            if inner is None:
                return None
            # The nested model's own input/output tensors belong to its inner
            # graph; the outer graph reaches it through its neighbours.
            after = keras.Model(layers[first + 1].input, network.output)
            stem = inner[0] if first == 0 else _compose(
                keras.Model(network.input, layers[first - 1].output), inner[0])
            head = _compose(inner[1], after)
        else:
            if not any(_frozen(l) for l in layers[:first]):
                return None
            stem = keras.Model(network.input, boundary.input)
            head = keras.Model(boundary.input, network.output)
    except (ValueError, IndexError) as e:   # no single cut tensor
        logging.warning("%s: the frozen layers cannot be cut off at %s (%s); "
                        "they run in every step", network.name, boundary.name, e)
        return None
    return stem, head


def stem_outputs(batches: tf.data.Dataset, stems: dict[str, tuple[keras.Model, str]],
                 count: int, keep: tuple[str, ...] = (),
                 path_of=lambda name: None) -> dict[str, np.ndarray]:
    """One pass over ``batches``: each stem's output, and the ``keep`` keys as they are.

    ``stems`` maps an output name to (stem, input key): "image" batches
    [B, S, S, 3] give [count, ...]; "keyframes" [B, K, S, S, 3] give
    [count, K, ...]. Where ``path_of(name)`` is a path, that array goes
    straight into a ``.npy`` file there (written under a temporary name,
    then renamed) and comes back memory-mapped, so the cache never has to
    fit in memory.
    """
    values: dict[str, np.ndarray] = {}
    kept: dict[str, list[np.ndarray]] = {key: [] for key in keep}
    row = 0
    for batch in batches:
        for name, (stem, key) in stems.items():
            pixels = batch[key]
            flat = tf.reshape(pixels, tf.concat([[-1], tf.shape(pixels)[-3:]], 0))
            out = stem(flat, training=False)
            out = tf.reshape(out, tf.concat([tf.shape(pixels)[:-3],
                                             tf.shape(out)[1:]], 0)).numpy()
            if name not in values:
                shape, path = (count, *out.shape[1:]), path_of(name)
                values[name] = (np.empty(shape, np.float32) if path is None else
                                np.lib.format.open_memmap(f"{path}.tmp.npy", "w+",
                                                          np.float32, shape))
            values[name][row:row + len(out)] = out
        for key in keep:
            kept[key].append(batch[key].numpy())
        row += int(tf.shape(batch[next(iter(stems.values()))[1]])[0])
    if row != count:
        raise ValueError(f"stem_outputs: expected {count} rows, got {row}")
    for name in stems:
        path = path_of(name)
        if path is not None:
            values[name].flush()
            del values[name]
            os.replace(f"{path}.tmp.npy", path)
            values[name] = np.load(path, mmap_mode="r")
    return {**values, **{key: np.concatenate(v) for key, v in kept.items()}}


def estimated_bytes(stem: keras.Model, count: int) -> int:
    """Bytes of ``count`` float32 stem outputs."""
    return 4 * count * int(np.prod(stem.output.shape[1:]))


def gather_rows(arrays: dict[str, np.ndarray]):
    """A tf.data map function: a batch of row indices → those rows of each array.

    In-memory arrays become constants of the graph; memory-mapped ones are
    read with ``tf.numpy_function``.
    """
    in_memory = {k: tf.constant(v) for k, v in arrays.items()
                 if not isinstance(v, np.memmap)}
    mapped = {k: v for k, v in arrays.items() if isinstance(v, np.memmap)}

    @tf.autograph.experimental.do_not_convert   # plain TF ops, nothing to convert
    def gather(index):
        rows = {k: tf.gather(v, index) for k, v in in_memory.items()}
        for k, v in mapped.items():
            rows[k] = tf.numpy_function(
                lambda i, v=v: np.asarray(v[i]), [index], tf.float32)
            rows[k].set_shape([None, *v.shape[1:]])
        return rows
    return gather
