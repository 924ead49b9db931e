"""The one image resize of the project (training, evaluation, the SavedModel)."""
from __future__ import annotations

import tensorflow as tf


def resize_uint8(images: tf.Tensor, size: int) -> tf.Tensor:
    """uint8 images [..., H, W, 3] → uint8 [..., size, size, 3] (antialiased).

    The one resize of the project: training, evaluation and the SavedModel
    all call it, so served frames are prepared exactly as trained ones.
    """
    shape = tf.shape(images)
    flat = tf.reshape(images, tf.concat([[-1], shape[-3:]], axis=0))
    resized = tf.image.resize(flat, (size, size), antialias=True)
    resized = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
    out = tf.reshape(resized, tf.concat([shape[:-3], [size, size, 3]], axis=0))
    out.set_shape(images.shape[:-3].concatenate([size, size, 3]))
    return out
