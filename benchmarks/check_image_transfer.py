"""Do the labelled still images tell a linear model about the keyframes?

On ``divafn/synthetic`` (the embedded dataset), with the frozen ImageNet
features of EfficientNet-Lite0 (the demo's backbone: the pooled 1280-d
output of the keyframe network's stem, ``frozen_features.split_frozen``),
for each training ratio and seed (the demo's splits, ``train.split``) this
prints the test accuracy of ``classifier.train_linear_svm`` (StandardScaler +
linear SVM) on the test videos:

* (a) keyframes: trained on the training keyframes, tested on keyframes;
* (a2) the same with C = 2: the training keyframes counted twice, the
  loss weight (c) gives the keyframes' hinge terms, as a control that a
  gain of (c) is not only the doubled sample count;
* (b) images: trained on the training images only, tested on keyframes;
* (c) images+keyframes: trained on both together (each labelled by its
  class; twice the samples), tested on keyframes;
* (d) video: the video feature alone (the "SVM" baseline);
* (e) the domain shift: the cosine between each class's mean training-image
  feature and mean training-keyframe feature, same class vs different
  classes (averaged), and the nearest-class-mean transfer accuracy: test
  keyframes assigned to the class whose mean *image* feature is nearest in
  cosine (for reference, the same with the class-mean *keyframe* features).

DIVAFN can only gain from the images if (c) > (a): if (c) <= (a) the images
add nothing a linear model can use beyond the few training keyframes.

The stem runs once over all pool examples (one image and K keyframes each,
through ``data.ordered_triplets`` of a selection of the whole pool); each
split then selects rows by pool index. For the first split the rows are
checked against the library's own pipeline for that split
(``data.ordered_triplets(pool, train_set)`` and ``train.video_datasets``):
same labels and video features, same stem features of the first batches.
With K > 1 keyframes per video their features are averaged.

Usage: python benchmarks/check_image_transfer.py [--ratios 0.1 0.3]
         [--seeds 0 1 2 3 4] [--no_append]
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.measure import CpuMeter, benchmark_parser, loadavg  # noqa: E402
from benchmarks.results import append_results  # noqa: E402

IMAGE_SIZE = 224
BATCH = 32


def build_stem():
    """The frozen stem of the demo's keyframe network (uint8 → 1280-d)."""
    from divafn_tf.nets import frozen_features, networks
    net = networks.build_image_network(
        networks.ImageNetworkConfig(
            backbone="efficientnet_lite0", train_layers="top",
            cnn=networks.CnnFConfig(image_size=IMAGE_SIZE, output_dim=8)),
        "keyframe_net")
    stem, _ = frozen_features.split_frozen(net)
    return stem


def stem_features(stem, pixels: np.ndarray) -> np.ndarray:
    """Stem outputs of uint8 [N, S, S, 3] pixels, float64 [N, F]."""
    out = stem(pixels, training=False)
    return np.asarray(out, np.float64).reshape(len(pixels), -1)


def triplet_features(stem, dataset, limit: int | None = None):
    """(image features, keyframe features averaged over K, video features,
    labels, bank indices) of a batched ``ordered_triplets`` dataset."""
    img, key, vid, lab, idx = [], [], [], [], []
    seen = 0
    for batch in dataset.as_numpy_iterator():
        b, k = batch["keyframes"].shape[:2]
        img.append(stem_features(stem, batch["image"]))
        kf = stem_features(stem, batch["keyframes"].reshape(
            (b * k,) + batch["keyframes"].shape[2:]))
        key.append(kf.reshape(b, k, -1).mean(axis=1))
        vid.append(batch["video_feature"])
        lab.append(batch["label"])
        idx.append(batch["index"])
        seen += b
        if limit is not None and seen >= limit:
            break
    return tuple(np.concatenate(x) for x in (img, key, vid, lab, idx))


def accuracy(x_train, y_train, x_test, y_test, c: float = 1.0) -> float:
    from divafn_tf import classifier
    model = classifier.train_linear_svm(x_train, y_train, c=c)
    return float(np.mean(model.predict(x_test) == y_test))


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def class_means(x, y, classes):
    return np.stack([x[y == c].mean(axis=0) for c in classes])


def domain_shift(img_tr, key_tr, y_tr, key_te, y_te):
    """(same-class cosine, different-class cosine, NCM image→keyframe
    accuracy, NCM keyframe→keyframe accuracy)."""
    classes = np.unique(y_tr)
    mi = _unit(class_means(img_tr, y_tr, classes))
    mk = _unit(class_means(key_tr, y_tr, classes))
    cos = mi @ mk.T
    same = float(np.mean(np.diag(cos)))
    diff = float(np.mean(cos[~np.eye(len(classes), dtype=bool)]))
    test = _unit(key_te)
    ncm_img = float(np.mean(classes[np.argmax(test @ mi.T, axis=1)] == y_te))
    ncm_key = float(np.mean(classes[np.argmax(test @ mk.T, axis=1)] == y_te))
    return same, diff, ncm_img, ncm_key


def check_against_library(stem, config, experiment, cache, rows_of):
    """The cached rows of the first split equal the library's own pipeline."""
    from divafn_tf import data, train
    img, key, vid, lab, idx = cache
    tr = rows_of(experiment.train_set.indices)
    te = rows_of(experiment.test_set.indices)
    # Labels and video features of every train / test video, in split order.
    ds = data.ordered_triplets(experiment.pool, experiment.train_set,
                               IMAGE_SIZE, BATCH)
    l_lab = np.concatenate([b["label"] for b in ds.map(
        lambda b: {"label": b["label"]}).as_numpy_iterator()])
    assert np.array_equal(l_lab, lab[tr]), "training labels differ"
    train_videos, test_videos = train.video_datasets(config, experiment)
    for videos, rows in ((train_videos, tr), (test_videos, te)):
        v = videos.map(lambda b: {"label": b["label"],
                                  "video_feature": b["video_feature"]})
        got = list(v.as_numpy_iterator())
        assert np.array_equal(np.concatenate([g["label"] for g in got]),
                              lab[rows]), "video labels differ"
        assert np.allclose(np.concatenate([g["video_feature"] for g in got]),
                           vid[rows]), "video features differ"
    # Stem features of the first batch of each library dataset.
    f_img, f_key, _, _, _ = triplet_features(stem, ds, limit=1)
    n = len(f_img)
    diff = max(np.max(np.abs(f_img - img[tr[:n]])),
               np.max(np.abs(f_key - key[tr[:n]])))
    batch = next(test_videos.as_numpy_iterator())
    b, k = batch["keyframes"].shape[:2]
    t_key = stem_features(stem, batch["keyframes"].reshape(
        (b * k,) + batch["keyframes"].shape[2:])).reshape(b, k, -1).mean(1)
    diff = max(diff, np.max(np.abs(t_key - key[te[:b]])))
    scale = np.max(np.abs(key))
    assert diff <= 1e-4 * scale, f"stem features differ by {diff}"
    return float(diff / scale)


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--ratios", type=float, nargs="+", default=[0.1, 0.3])
    parser.add_argument("--seeds", type=int, nargs="+",
                        default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    start_all = time.perf_counter()
    load_before = loadavg()
    meter = CpuMeter()

    from divafn_tf import data, train
    from divafn_tf.config import RunConfig

    config = RunConfig(dataset="divafn/synthetic", image_size=IMAGE_SIZE,
                       batch_size=BATCH)
    pool, vectors = train.load_dataset(config)
    stem = build_stem()
    print(f"stem: {stem.input.shape} {stem.input.dtype} -> {stem.output.shape}")

    # All pool examples once (split order); a split selects rows by index.
    first = train.split(pool, vectors, args.ratios[0], args.seeds[0])
    split_name = first.train_set.split
    assert first.test_set.split == split_name, (
        "official train/test splits: this check caches one split only")
    labels = pool.split_labels[split_name]
    everything = data.Selection(split_name, np.arange(len(labels)), labels)
    t0 = time.perf_counter()
    cache = triplet_features(stem, data.ordered_triplets(
        pool, everything, IMAGE_SIZE, BATCH))
    stem_s = time.perf_counter() - t0
    img, key, vid, lab, idx = cache
    assert np.array_equal(idx, np.arange(len(labels)))
    assert np.array_equal(lab, labels)
    per_video = int(pool.builder.info.features["keyframes"].shape[0])
    print(f"{len(lab)} pool examples ({split_name} split), {pool.num_classes} "
          f"classes, K={per_video}: stem over {len(lab)} images + "
          f"{len(lab) * per_video} keyframes in {stem_s:.1f} s; features "
          f"{img.shape[1]}-d, video feature {vid.shape[1]}-d")

    def rows_of(indices):
        return np.asarray(indices)  # pool index == row (split order)

    check_diff = check_against_library(stem, config, first, cache, rows_of)
    print(f"check vs library pipeline (ratio {args.ratios[0]}, seed "
          f"{args.seeds[0]}): labels/video features equal, stem features "
          f"max rel. diff {check_diff:.2e}")

    names = ["(a) keyframes", "(a2) keyframes, C = 2", "(b) images",
             "(c) images+keyframes",
             "(d) video", "(e) cos same class", "(e) cos other classes",
             "(e) NCM image means", "(e) NCM keyframe means"]
    per_ratio = {}
    for ratio in args.ratios:
        res = {n: [] for n in names}
        n_train = []
        for seed in args.seeds:
            exp = train.split(pool, vectors, ratio, seed)
            tr, te = rows_of(exp.train_set.indices), rows_of(exp.test_set.indices)
            assert np.array_equal(lab[tr], exp.train_set.labels)
            assert np.array_equal(lab[te], exp.test_set.labels)
            y_tr, y_te = lab[tr], lab[te]
            n_train.append(len(tr))
            res["(a) keyframes"].append(accuracy(key[tr], y_tr, key[te], y_te))
            res["(a2) keyframes, C = 2"].append(
                accuracy(key[tr], y_tr, key[te], y_te, c=2.0))
            res["(b) images"].append(accuracy(img[tr], y_tr, key[te], y_te))
            res["(c) images+keyframes"].append(accuracy(
                np.vstack([img[tr], key[tr]]), np.concatenate([y_tr, y_tr]),
                key[te], y_te))
            res["(d) video"].append(accuracy(vid[tr], y_tr, vid[te], y_te))
            for name, value in zip(names[5:], domain_shift(
                    img[tr], key[tr], y_tr, key[te], y_te)):
                res[name].append(value)
            print(f"ratio {ratio} seed {seed}: {len(tr)} train / {len(te)} "
                  "test; " + ", ".join(f"{n.split(' ', 1)[1]} {res[n][-1]:.3f}"
                                       for n in names))
        per_ratio[ratio] = (res, n_train, len(te))

    print(f"\nchance: {1 / pool.num_classes:.3f}; mean +- std over seeds "
          f"{args.seeds}")
    header = f"{'':26s}" + "".join(f"ratio {r:<14}" for r in args.ratios)
    print(header)
    for name in names:
        print(f"{name:26s}" + "".join(
            f"{np.mean(per_ratio[r][0][name]):.3f} +- "
            f"{np.std(per_ratio[r][0][name]):.3f}    " for r in args.ratios))

    rows = []
    for name in names:
        row = {"measure": name}
        for r in args.ratios:
            vals = per_ratio[r][0][name]
            row[f"ratio {r}"] = f"{np.mean(vals):.3f} ± {np.std(vals):.3f}"
        rows.append(row)

    gains = {r: np.array(per_ratio[r][0]["(c) images+keyframes"])
             - np.array(per_ratio[r][0]["(a) keyframes"]) for r in args.ratios}
    reading = []
    for r in args.ratios:
        res = per_ratio[r][0]
        a, c = np.mean(res["(a) keyframes"]), np.mean(res["(c) images+keyframes"])
        a2 = np.mean(res["(a2) keyframes, C = 2"])
        verdict = ("the images add nothing a linear model can use beyond the "
                   "keyframes" if c <= a else
                   "the images add information a linear model can use")
        reading.append(
            f"ratio {r} ({per_ratio[r][1][0]} training triplets, "
            f"{per_ratio[r][2]} test videos): (c) - (a) = "
            f"{np.mean(gains[r]):+.3f} ± {np.std(gains[r]):.3f} "
            f"(per seed {', '.join(f'{g:+.3f}' for g in gains[r])}; "
            f"{int(np.sum(gains[r] > 0))}/{len(gains[r])} seeds > 0), "
            f"(c) - (a2) = {c - a2:+.3f}: {verdict}")
    others, steal = meter.others()
    total = time.perf_counter() - start_all
    notes = (
        f"divafn/synthetic, frozen EfficientNet-Lite0 ImageNet features "
        f"(keyframe_net stem, {img.shape[1]}-d, {IMAGE_SIZE} px), "
        f"`classifier.train_linear_svm` (C = 1), splits `train.split` at "
        f"seeds {args.seeds}; tested on the test videos' keyframes "
        f"(video: video feature); chance {1 / pool.num_classes:.3f}. "
        "(e): cosines between class means of the training images and "
        "training keyframes (raw features), and nearest-class-mean accuracy "
        "on the test keyframes with the class means of the training images "
        "/ keyframes. (a2): (a) with C = 2 (each keyframe counted twice), "
        "the control for (c)'s doubled sample count. " + "; ".join(reading) + ". "
        f"Stem over all {len(lab)} images + keyframes once: {stem_s:.1f} s; "
        f"rows checked against the library pipeline (max rel. diff "
        f"{check_diff:.1e}). Total run time {total:.0f} s; load average "
        f"before ({load_before}), after ({loadavg()}); other processes' CPU "
        f"{others:.2f} cores, steal {steal:.2f}.")
    print("\n" + notes)
    if not args.no_append:
        append_results("check_image_transfer", rows, notes=notes,
                       path=args.results_path)


if __name__ == "__main__":
    main()
