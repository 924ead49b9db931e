"""Builds ``divafn/synthetic`` and measures its structure and domain shift.

Prints the build time and the test accuracy (mean +- std over repeats) of
linear SVMs (``LinearSVC`` on standardised features) trained on a per-class
training ratio of the pool (10 % by default) and tested on the rest:

* video: the video feature alone;
* keyframe+video: [appearance of the keyframe; video feature];
* keyframe: the keyframe appearance alone, trained on training keyframes;
* image->keyframe: trained on the appearance of the training triplets'
  images, tested on keyframes (same number of training samples);
* all images->keyframe: trained on every image of the pool;
* image+video->keyframe+video: the paper's "baseline" (docs/design.md §6) with
  this appearance feature.

The appearance feature is deliberately simple (432 values): the image
area-resized to 8x8 RGB in [0, 1], the 24-bin hue histogram of its
saturated pixels (S, V > 70 of 255) and its 6x6x6 RGB histogram, both
histograms normalised and square-rooted. With K > 1 keyframes, their
features are averaged.

Usage: python benchmarks/check_synthetic_shift.py [--data_dir D] [--ratio R]
"""
import argparse
import tempfile
import time

import cv2
import numpy as np
import tensorflow_datasets as tfds
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

import tfds_builders.divafn  # noqa: F401  (registers the builder)


def appearance(image: np.ndarray) -> np.ndarray:
    """8x8 thumbnail, hue histogram of saturated pixels, RGB histogram."""
    thumb = cv2.resize(image, (8, 8), interpolation=cv2.INTER_AREA) / 255.0
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.int64)
    saturated = (hsv[..., 1] > 70) & (hsv[..., 2] > 70)
    hue = np.bincount(hsv[..., 0][saturated] * 24 // 180, minlength=24)
    q = image.astype(np.int64) * 6 // 256
    rgb = np.bincount(((q[..., 0] * 6 + q[..., 1]) * 6 + q[..., 2]).ravel(),
                      minlength=216)
    return np.concatenate([thumb.ravel(), np.sqrt(hue / max(hue.sum(), 1)),
                           np.sqrt(rgb / rgb.sum())])


def load_pool(builder):
    """Arrays of the pool: appearance of images / keyframes, features, labels."""
    img, key, vid, lab = [], [], [], []
    for ex in tfds.as_numpy(builder.as_dataset(split="pool", shuffle_files=False)):
        img.append(appearance(ex["image"]))
        key.append(np.mean([appearance(k) for k in ex["keyframes"]], axis=0))
        vid.append(ex["video_feature"])
        lab.append(ex["label"])
    return np.array(img), np.array(key), np.array(vid), np.array(lab)


def per_class_split(labels, ratio, rng):
    """Boolean training mask with round(ratio * n_c) samples of each class."""
    train = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n = max(1, int(round(ratio * len(idx))))
        train[rng.choice(idx, n, replace=False)] = True
    return train


def svm_accuracy(x_train, y_train, x_test, y_test):
    svm = make_pipeline(StandardScaler(), LinearSVC(C=1.0, max_iter=20000))
    svm.fit(x_train, y_train)
    return float(np.mean(svm.predict(x_test) == y_test))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=None,
                        help="TFDS data dir (default: a fresh temporary one)")
    parser.add_argument("--config", default="synthetic")
    parser.add_argument("--ratio", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="divafn_tfds_")

    builder = tfds.builder(f"divafn/{args.config}", data_dir=data_dir)
    prepared = builder.is_prepared()
    start = time.time()
    builder.download_and_prepare()
    build_time = time.time() - start
    print(f"data_dir: {data_dir}")
    print("build time: " + ("already built" if prepared else
                            f"{build_time:.1f} s (raw files + TFDS)"))

    img, key, vid, lab = load_pool(builder)
    print(f"pool: {len(lab)} videos, {len(np.unique(lab))} classes, "
          f"video feature {vid.shape[1]}-d, appearance {key.shape[1]}-d, "
          f"training ratio {args.ratio}, {args.repeats} repeats")
    results = {}
    for repeat in range(args.repeats):
        train = per_class_split(lab, args.ratio, np.random.default_rng(repeat))
        test = ~train
        runs = {
            "video": (vid[train], lab[train], vid[test]),
            "keyframe+video": (np.hstack([key, vid])[train], lab[train],
                               np.hstack([key, vid])[test]),
            "keyframe": (key[train], lab[train], key[test]),
            "image->keyframe": (img[train], lab[train], key[test]),
            "all images->keyframe": (img, lab, key[test]),
            "image+video->keyframe+video": (np.hstack([img, vid])[train],
                                            lab[train],
                                            np.hstack([key, vid])[test]),
        }
        for name, (x_train, y_train, x_test) in runs.items():
            results.setdefault(name, []).append(
                svm_accuracy(x_train, y_train, x_test, lab[test]))
    print(f"chance: {1 / len(np.unique(lab)):.3f}")
    for name, accs in results.items():
        print(f"{name:30s} {np.mean(accs):.3f} +- {np.std(accs):.3f}")


if __name__ == "__main__":
    main()
