"""A tiny DIVAFN model and random triplets, identical in every process (test helper).

Run as a script it trains a few steps, optionally under MirroredStrategy on
logical CPU devices, and saves banks and weights to an .npz for comparison.
"""
import argparse

import numpy as np

# N is not a multiple of the batch (8): the last batch (3) splits unevenly
# over the 2 replicas of the mirrored test.
N, CLASSES, K_SEM, D, DV, SIZE, KEYFRAMES = 27, 3, 8, 16, 12, 63, 2


def triplets(seed: int = 0) -> dict:
    """Learnable triplets: each class has its own colour and video-feature centre."""
    rng = np.random.default_rng(seed)
    label = np.arange(N) % CLASSES
    colours = rng.integers(0, 256, (CLASSES, 3))
    centres = 2.0 * rng.normal(size=(CLASSES, DV))

    def pixels(shape):
        noise = rng.integers(-40, 41, shape)
        colour = colours[label].reshape((N,) + (1,) * (len(shape) - 2) + (3,))
        return np.clip(colour + noise, 0, 255).astype(np.uint8)

    return dict(
        image=pixels((N, SIZE, SIZE, 3)),
        keyframes=pixels((N, KEYFRAMES, SIZE, SIZE, 3)),
        video_feature=(centres[label] + rng.normal(size=(N, DV))).astype(np.float32),
        label=label, index=np.arange(N))


def build(optimizer="sgd", learning_rate=1e-3, bank_dtype="float32",
          images=True):
    """The tiny model with weights drawn from a fixed numpy RNG (not TF's)."""
    import keras
    from divafn_tf.nets import networks
    from divafn_tf.model import Divafn
    from divafn_tf.objective import ObjectiveWeights

    cnn = networks.CnnFConfig(image_size=SIZE, width=0.125, fc_units=32,
                              output_dim=D, dropout=0.0)
    rng = np.random.default_rng(123)
    image = networks.ImageNetworkConfig(cnn=cnn)
    model = Divafn(networks.build_image_network(image, "image_net")
                   if images else None,
                   networks.build_image_network(image, "keyframe_net"),
                   networks.build_video_mlp(DV, 32, D),
                   class_vectors=rng.normal(size=(CLASSES, K_SEM)),
                   train_labels=np.arange(N) % CLASSES,
                   weights=ObjectiveWeights(), bank_dtype=bank_dtype)
    for variable in model.trainable_variables:
        variable.assign(0.05 * rng.normal(size=variable.shape).astype(np.float32))
    for w in (model.w_of(name) for name in ("f", "h", "g", "e")
              if model.w_of(name) is not None):
        w.assign(0.1 * rng.normal(size=w.shape).astype(np.float32))
    opt = (keras.optimizers.SGD(learning_rate) if optimizer == "sgd"
           else keras.optimizers.Adam(learning_rate))
    model.compile(optimizer=opt)
    return model


def export_tiny(export_dir: str, class_names: list[str]):
    """The tiny model with an SVM on its eq. (25) features, exported.

    Returns (model, svm, triplets, export path).
    """
    import tensorflow as tf
    from divafn_tf import classifier, evaluation, export, standardize
    model = build()
    data = triplets()
    videos = tf.data.Dataset.from_tensor_slices(
        {k: data[k] for k in ("keyframes", "video_feature", "label")}).batch(8)
    embedded = evaluation.embed_videos(model, videos)
    # Standardised fusion (standardize.py), as a trained model exports it.
    for modality, values in (("h", embedded.h), ("g", embedded.g)):
        model.set_moments(modality, standardize.moments_of(values))
    svm = classifier.train_linear_svm(evaluation.fused(model, embedded),
                                      embedded.labels)
    path = export.export_saved_model(model, svm, class_names, SIZE, DV,
                                     export_dir)
    return model, svm, data, path


def train_and_save(devices: int, steps_epochs: int, out: str) -> None:
    from divafn_tf import distribute
    distribute.split_cpu(devices)
    import tensorflow as tf
    from divafn_tf import callbacks
    strategy = (distribute.make_strategy("mirrored") if devices > 1
                else tf.distribute.get_strategy())
    assert strategy.num_replicas_in_sync == devices
    data = triplets()
    with strategy.scope():
        model = build()
    ordered = tf.data.Dataset.from_tensor_slices(data).batch(8)
    model.fill_banks(ordered)
    model.fit(ordered, epochs=steps_epochs, verbose=0)
    np.savez(out, bank_f=model.bank_f.numpy(), bank_h=model.bank_h.numpy(),
             bank_g=model.bank_g.numpy(),
             **{f"w{i}": v.numpy() for i, v in enumerate(model.trainable_variables)})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    train_and_save(args.devices, args.epochs, args.out)
