"""The paper's experiments: methods × training ratios × repeats, sweeps.

    python -m divafn_tf.experiments --flagfile=flags/a2u.cfg \\
        --methods=svm,baseline,finetuned,kvc,diva,divf,divafn \\
        --ratios=0.1,0.2,0.3,0.4,0.5 --repeats=5 --output_dir=runs/a2u_tables

Every (ratio, repeat) draws one split (seed ``--seed`` + repeat, the same for
every method) and evaluates each method with a linear SVM on the training
videos, scored on the test videos. Methods (docs/design.md §6; "untrained" means
the networks as DIVAFN starts them, with the same seed: ImageNet layers if
``--image_weights`` is given, fc8 random):

* ``svm``: the video feature alone.
* ``baseline``: the image network's penultimate feature (fc7 of CNN-F, the
  pooled feature of a keras.applications backbone) of the paired image with
  the video feature for training; the same feature of the keyframes with the
  video feature for testing.
* ``finetuned``: the image network fine-tuned as a C-class classifier on the
  training keyframes only (the paper: "use the keyframes as the input"; the
  images do not join), ``--epochs`` epochs; its fc8 output of the keyframes,
  alone (as the paper's eighth-layer features).
* ``kvc``: [untrained keyframe fc8 feature; video feature].
* ``diva``: DIVAFN trained with β = λ = 0; [h; g].
* ``divf``: the autoencoders alone: W_H, W_G, W_E solved (eqs. 18-24) on the
  untrained keyframe features and the raw video features (standardised as
  DIVAFN's features are, ``--standardize``), fused by eq. (25).
* ``divafn``: the full method, eq. (25).
* ``divafn_no_images``: DIVAFN with the image network and its two
  likelihoods removed (a = b = 0, no AE_F, ``--noimages``), everything else
  equal: ``divafn`` minus ``divafn_no_images`` answers "do images help?",
  a question the paper does not ask.
* ``tca``, ``gfk``, ``jda``, ``tjm``, ``coral``, ``jgsa``, ``meda`` (Table XI):
  source = the untrained image network's fc8 features of the training
  images (labelled), target = the same network's fc8 features of every
  video's keyframes (unlabelled). The paper names "the video feature" as
  the target, but these methods need one feature space for both domains and
  the SVM one feature per video: the keyframes give both. The SVM is trained
  on [adapted keyframe feature; video feature] (the paper's "concatenation").
  Each method runs with its own default hyper-parameters
  (``domain_adaptation.py``); MEDA contributes its classifier's decision
  values, since its GFK features alone would repeat the ``gfk`` row.

Sweeps (``--sweep``; DIVAFN only, each setting × ratio × repeat):
``beta_lambda`` (Fig. 5: a = b = c = 1, β and λ in {0.001, 0.01, 0.1, 1,
10}), ``abc`` (Table VIII's eight (a, b, c), β = 0.1, λ = 0.01) and ``d``
(512, 1024, 2048, 4096).

Outputs in ``--output_dir``: ``results.csv`` (one row per method or setting ×
ratio × repeat, appended as each finishes; a re-run skips the rows already
there), ``table.md`` (mean ± std in %, the paper's layout: ratios down,
methods across) or ``table_<sweep>.md``, ``accuracy.png`` (accuracy against
ratio, one line per method, std as error bars; ``plots.py``) and TensorBoard
HParams runs under ``hparams/``.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import itertools
import os
import time
from collections.abc import Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags, logging
from tensorboard.plugins.hparams import api as hparams_api

from divafn_tf import (classifier, data, distribute, domain_adaptation, errors,
                       evaluation, plots, standardize, sylvester, train)
from divafn_tf.nets import backbones
from divafn_tf.model import mean_keyframe_embedding
from divafn_tf.cli import flags as _run_flags  # noqa: F401  (defines the run flags)
from divafn_tf.config import RunConfig
from divafn_tf.cli.train import config_from_flags

BASE_METHODS = ("svm", "baseline", "finetuned", "kvc", "diva", "divf", "divafn",
                "divafn_no_images")
METHODS = BASE_METHODS + domain_adaptation.METHODS
SWEEPS = {
    "beta_lambda": [dict(a=1.0, b=1.0, c=1.0, beta=beta, lam=lam)
                    for beta, lam in itertools.product(
                        (0.001, 0.01, 0.1, 1.0, 10.0), repeat=2)],
    "abc": [dict(a=a, b=b, c=c, beta=0.1, lam=0.01)
            for a, b, c in itertools.product((1.0, 0.1), repeat=3)],
    "d": [dict(d=d) for d in (512, 1024, 2048, 4096)],
}
SETTING_FIELDS = ("a", "b", "c", "beta", "lam", "d")
CSV_FIELDS = ("method", "ratio", "repeat", "seed", *SETTING_FIELDS,
              "accuracy", "seconds")

flags.DEFINE_list("methods", ["svm", "kvc", "diva", "divf", "divafn",
                              "divafn_no_images"],
                  f"Methods to compare, any of: {', '.join(METHODS)}.")
flags.DEFINE_list("ratios", ["0.1", "0.2", "0.3", "0.4", "0.5"],
                  "Training ratios (per class; of the train split for B→U).")
flags.DEFINE_integer("repeats", 5, "Splits per ratio (seeds --seed + 0 ...).",
                     lower_bound=1)
flags.DEFINE_string("output_dir", "runs/experiments",
                    "Where results.csv, table.md and hparams/ go.")
flags.DEFINE_enum("sweep", "none", ["none", *SWEEPS],
                  "Instead of --methods, sweep DIVAFN's parameters: "
                  "beta_lambda (Fig. 5), abc (Table VIII) or d.")
FLAGS = flags.FLAGS


# ---------------------------------------------------------------------------
# Features of one split.

def _penultimate(network: keras.Model) -> keras.Model:
    """The network up to fc8's input (CNN-F fc7, a backbone's pooled feature)."""
    fc8 = next(l for l in network.layers if l.name.endswith("_fc8"))
    return keras.Model(network.input, fc8.input)


def _keyframe_features(network: keras.Model, videos: tf.data.Dataset
                       ) -> np.ndarray:
    """Mean over each video's keyframes of ``network``'s output, [n, dim]."""
    dim = int(network.output.shape[-1])
    return np.concatenate([
        mean_keyframe_embedding(network, batch["keyframes"], dim).numpy()
        for batch in videos])


def _image_features(network: keras.Model, triplets: tf.data.Dataset
                    ) -> np.ndarray:
    return np.concatenate([network(b["image"], training=False).numpy()
                           for b in triplets])


class SplitFeatures:
    """One split's videos and the networks as DIVAFN starts them.

    ``inputs`` (``train.Inputs``, frozen features when the image layers are
    frozen) are made once per split and shared by every method on it.
    """

    def __init__(self, config: RunConfig, experiment: train.Experiment):
        self._config, self._experiment = config, experiment
        self.inputs = train.make_inputs(config, experiment, self.untrained)
        self.train = evaluation.embed_videos(self.untrained,
                                             self.inputs.train_videos)
        self.test = evaluation.embed_videos(self.untrained,
                                            self.inputs.test_videos)
        self.video_train, self.video_test = (self.train.raw_features,
                                             self.test.raw_features)
        self.y_train = experiment.train_set.labels
        self.y_test = experiment.test_set.labels

    @functools.cached_property
    def untrained(self) -> keras.Model:
        """DIVAFN as ``train.fit`` builds it (same seed), before training."""
        return train.untrained_model(self._config, self._experiment)


def _svm_accuracy(train_x: np.ndarray, y_train: np.ndarray, test_x: np.ndarray,
                  y_test: np.ndarray, config: RunConfig) -> float:
    return evaluation.concatenation_svm((train_x,), y_train, (test_x,), y_test,
                                        config.svm_c, config.seed)


# ---------------------------------------------------------------------------
# The methods. Each returns the test accuracy of its SVM.

def _keyframes_of(config: RunConfig, experiment: train.Experiment,
                  network: keras.Model, which: int) -> np.ndarray:
    """Keyframe features (pixels in) of the training (0) or test (1) videos."""
    videos = train.video_datasets(config, experiment)[which]
    return _keyframe_features(network, videos)


def _svm(config: RunConfig, experiment: train.Experiment,
         feats: SplitFeatures) -> float:
    return _svm_accuracy(feats.video_train, feats.y_train, feats.video_test,
                         feats.y_test, config)


def _baseline(config: RunConfig, experiment: train.Experiment,
              feats: SplitFeatures) -> float:
    penultimate = _penultimate(feats.untrained.image_net)
    images = _image_features(penultimate, data.ordered_triplets(
        experiment.pool, experiment.train_set, config.image_size,
        config.batch_size))
    keyframes = _keyframes_of(config, experiment, penultimate, 1)
    return _svm_accuracy(np.hstack([images, feats.video_train]), feats.y_train,
                         np.hstack([keyframes, feats.video_test]), feats.y_test,
                         config)


def _training_keyframes(config: RunConfig, experiment: train.Experiment
                        ) -> tf.data.Dataset:
    """(keyframe, label) pairs of the training videos, shuffled, batched."""
    videos = train.video_datasets(config, experiment)[0].unbatch()
    frames = videos.flat_map(lambda v: tf.data.Dataset.from_tensor_slices(
        (v["keyframes"], tf.fill([tf.shape(v["keyframes"])[0]], v["label"]))))
    per_video = experiment.pool.builder.info.features["keyframes"].shape[0]
    frames = frames.apply(tf.data.experimental.assert_cardinality(
        len(experiment.train_set) * per_video))
    return frames.shuffle(4096, seed=config.seed).batch(config.batch_size)


def _finetuned(config: RunConfig, experiment: train.Experiment,
               feats: SplitFeatures) -> float:
    keras.utils.set_random_seed(config.seed)
    image = train.image_network_config(config)
    image = dataclasses.replace(image, cnn=dataclasses.replace(
        image.cnn, output_dim=experiment.pool.num_classes))
    network = backbones.build_image_network(image, "finetuned_net")
    network.compile(optimizer=train.make_optimizer(config),
                    loss=keras.losses.SparseCategoricalCrossentropy(
                        from_logits=True))
    network.fit(_training_keyframes(config, experiment), epochs=config.epochs,
                shuffle=False, verbose=0)
    train_x = _keyframes_of(config, experiment, network, 0)
    test_x = _keyframes_of(config, experiment, network, 1)
    return _svm_accuracy(train_x, feats.y_train, test_x, feats.y_test, config)


def _kvc(config: RunConfig, experiment: train.Experiment,
         feats: SplitFeatures) -> float:
    return _svm_accuracy(np.hstack([feats.train.h, feats.video_train]),
                         feats.y_train,
                         np.hstack([feats.test.h, feats.video_test]),
                         feats.y_test, config)


def _divf(config: RunConfig, experiment: train.Experiment,
          feats: SplitFeatures) -> float:
    """The autoencoders alone (eqs. 18-25) on the untrained keyframe feature
    and the raw video feature, standardised as DIVAFN's (``--standardize``)."""
    h_train, h_test = feats.train.h, feats.test.h
    moments = {name: standardize.moments_of(x, config.standardize)
               for name, x in (("h", h_train), ("g", feats.video_train))}
    h_train, h_test = (moments["h"].apply(x) for x in (h_train, h_test))
    g_train, g_test = (moments["g"].apply(x)
                       for x in (feats.video_train, feats.video_test))
    s = experiment.class_vectors.astype(np.float64)[feats.y_train].T
    w = {name: sylvester.solve_autoencoder_w(
             s, x.T, config.beta, config.lam, config.w_solver).w
         for name, x in (("h", h_train), ("g", g_train),
                         ("e", np.hstack([h_train, g_train])))}
    fuse = lambda h, g: classifier.fused_features(  # noqa: E731
        w["h"], w["g"], w["e"], h, g)
    return _svm_accuracy(fuse(h_train, g_train), feats.y_train,
                         fuse(h_test, g_test), feats.y_test, config)


def _trained(config: RunConfig, experiment: train.Experiment,
             feats: SplitFeatures):
    """DIVAFN trained on the split, and its embeddings of the videos."""
    model, inputs = train.fit(config, experiment, tf.distribute.get_strategy(),
                              None, inputs=feats.inputs)
    return (model, evaluation.embed_videos(model, inputs.train_videos),
            evaluation.embed_videos(model, inputs.test_videos))


def _diva(config: RunConfig, experiment: train.Experiment,
          feats: SplitFeatures) -> float:
    config = dataclasses.replace(config, beta=0.0, lam=0.0)
    _, train_set, test_set = _trained(config, experiment, feats)
    return _svm_accuracy(np.hstack([train_set.h, train_set.g]), feats.y_train,
                         np.hstack([test_set.h, test_set.g]), feats.y_test,
                         config)


def _divafn(config: RunConfig, experiment: train.Experiment,
            feats: SplitFeatures) -> float:
    model, train_set, test_set = _trained(config, experiment, feats)
    return evaluation.divafn_svm(model, train_set, test_set, config.svm_c,
                                 config.seed)[1]


def _divafn_no_images(config: RunConfig, experiment: train.Experiment,
                      feats: SplitFeatures) -> float:
    """DIVAFN without the image network and its two likelihoods (a = b = 0),
    everything else equal: ``divafn`` minus this is what the images add."""
    return _divafn(dataclasses.replace(config, images=False), experiment, feats)


def _domain_adaptation(name: str, config: RunConfig,
                       experiment: train.Experiment,
                       feats: SplitFeatures) -> float:
    image_net = feats.untrained.image_net
    source = _image_features(image_net, data.ordered_triplets(
        experiment.pool, experiment.train_set, config.image_size,
        config.batch_size))
    target = np.vstack([_keyframes_of(config, experiment, image_net, 0),
                        _keyframes_of(config, experiment, image_net, 1)])
    # MEDA's own output is its classifier's decision values (its GFK
    # features alone would repeat the gfk row).
    options = {"features": "scores"} if name == "meda" else {}
    _, adapted = domain_adaptation.adapt(name, source, feats.y_train, target,
                                         seed=config.seed, **options)
    n = len(feats.y_train)
    return _svm_accuracy(np.hstack([adapted[:n], feats.video_train]),
                         feats.y_train,
                         np.hstack([adapted[n:], feats.video_test]),
                         feats.y_test, config)


_BASE = {"svm": _svm, "baseline": _baseline, "finetuned": _finetuned,
         "kvc": _kvc, "diva": _diva, "divf": _divf, "divafn": _divafn,
         "divafn_no_images": _divafn_no_images}


def evaluate(method: str, config: RunConfig, experiment: train.Experiment,
             feats: SplitFeatures) -> float:
    """Test accuracy of ``method`` on one split."""
    if method in domain_adaptation.METHODS:
        return _domain_adaptation(method, config, experiment, feats)
    return _BASE[method](config, experiment, feats)


# ---------------------------------------------------------------------------
# Runs, results.csv, tables, HParams.

@dataclasses.dataclass(frozen=True)
class Job:
    """One row of results.csv still to compute."""

    method: str
    ratio: float
    repeat: int
    config: RunConfig

    def key(self) -> tuple:
        return (self.method, f"{self.ratio:g}", str(self.repeat),
                *(f"{getattr(self.config, f):g}" for f in SETTING_FIELDS))


def _row_key(row: dict) -> tuple:
    return (row["method"], f"{float(row['ratio']):g}", row["repeat"],
            *(f"{float(row[f]):g}" for f in SETTING_FIELDS))


def plan(config: RunConfig, methods: Sequence[str], ratios: Sequence[float],
         repeats: int, sweep: str) -> list[Job]:
    """The jobs of a run, grouped by split (ratio, repeat)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise errors.UserInputError(
            f"--methods: unknown {unknown}; expected some of {', '.join(METHODS)}")
    settings = ([{}] if sweep == "none" else SWEEPS[sweep])
    names = list(methods) if sweep == "none" else ["divafn"]
    return [Job(method, ratio, repeat,
                dataclasses.replace(config, seed=config.seed + repeat, **setting))
            for ratio in ratios for repeat in range(repeats)
            for setting in settings for method in names]


def read_results(path: str) -> list[dict]:
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and set(rows[0]) != set(CSV_FIELDS):
        raise errors.UserInputError(
            f"{path}: columns {sorted(rows[0])} are not this version's "
            f"{list(CSV_FIELDS)}; use another --output_dir")
    return rows


def _append(path: str, row: dict) -> None:
    new = not os.path.isfile(path)
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)
        f.flush()
        os.fsync(f.fileno())


def _log_hparams(output_dir: str, index: int, job: Job, accuracy: float) -> None:
    """One HParams run: the method, ratio, repeat and setting, and accuracy."""
    writer = tf.summary.create_file_writer(
        os.path.join(output_dir, "hparams", f"run{index:04d}"))
    with writer.as_default():
        hparams_api.hparams({
            "method": job.method, "ratio": job.ratio, "repeat": job.repeat,
            **{f: float(getattr(job.config, f)) for f in SETTING_FIELDS}})
        tf.summary.scalar("accuracy", accuracy, step=0)
    writer.close()


def _splits(jobs: list[Job]) -> Iterator[tuple[tuple[float, int], list[Job]]]:
    for key, group in itertools.groupby(jobs, lambda j: (j.ratio, j.repeat)):
        yield key, list(group)


def run_jobs(config: RunConfig, jobs: list[Job], output_dir: str) -> list[dict]:
    """Runs the jobs not yet in results.csv; returns every row of it."""
    os.makedirs(output_dir, exist_ok=True)
    results_path = os.path.join(output_dir, "results.csv")
    done = {_row_key(row) for row in read_results(results_path)}
    todo = [job for job in jobs if job.key() not in done]
    logging.info("%d of %d results to compute (%d already in %s)", len(todo),
                 len(jobs), len(jobs) - len(todo), results_path)
    pool, class_vectors = train.load_dataset(config)
    index = len(done)
    for (ratio, repeat), group in _splits(todo):
        experiment = train.split(pool, class_vectors, ratio, group[0].config.seed)
        feats = SplitFeatures(group[0].config, experiment)
        for job in group:
            started = time.perf_counter()
            accuracy = evaluate(job.method, job.config, experiment, feats)
            seconds = time.perf_counter() - started
            _append(results_path, {
                "method": job.method, "ratio": ratio, "repeat": repeat,
                "seed": job.config.seed,
                **{f: getattr(job.config, f) for f in SETTING_FIELDS},
                "accuracy": f"{accuracy:.6f}", "seconds": f"{seconds:.1f}"})
            _log_hparams(output_dir, index, job, accuracy)
            index += 1
            print(f"[{index}/{len(jobs)}] {job.method} ratio {ratio:g} repeat "
                  f"{repeat}{_setting_label(job.config, config)}: "
                  f"{accuracy:.4f} ({seconds:.0f} s)", flush=True)
    return read_results(results_path)


def _setting_label(config: RunConfig, base: RunConfig) -> str:
    changed = [f"{f}={getattr(config, f):g}" for f in SETTING_FIELDS
               if getattr(config, f) != getattr(base, f)]
    return f" ({', '.join(changed)})" if changed else ""


def _cell(values: list[float]) -> str:
    percent = 100.0 * np.asarray(values)
    return f"{percent.mean():.1f} ± {percent.std():.1f}"


def table(rows: list[dict], columns: Sequence[str], column_of) -> str:
    """Mean ± std (%) per ratio (rows, descending, as the paper) and column."""
    ratios = sorted({float(r["ratio"]) for r in rows}, reverse=True)
    lines = ["| ratio | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for ratio in ratios:
        cells = []
        for column in columns:
            values = [float(r["accuracy"]) for r in rows
                      if float(r["ratio"]) == ratio and column_of(r) == column]
            cells.append(_cell(values) if values else "")
        lines.append(f"| {ratio:.0%} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def grid_table(rows: list[dict], row_field: str, column_field: str) -> str:
    """Mean ± std (%) on a row_field × column_field grid, one per ratio.

    The layout of Fig. 5 (β down, λ across) for ``--sweep=beta_lambda``.
    """
    accuracies: dict[tuple[float, float, float], list[float]] = {}
    for r in rows:
        key = (float(r["ratio"]), float(r[row_field]), float(r[column_field]))
        accuracies.setdefault(key, []).append(float(r["accuracy"]))
    ratios, row_values, column_values = (sorted(set(v)) for v in
                                          zip(*accuracies))
    blocks = []
    for ratio in reversed(ratios):
        lines = [f"Ratio {ratio:.0%}:", "",
                 f"| {row_field} \\ {column_field} | "
                 + " | ".join(f"{v:g}" for v in column_values) + " |",
                 "|---|" + "---|" * len(column_values)]
        for row_value in row_values:
            cells = [_cell(accuracies[ratio, row_value, column_value])
                     if (ratio, row_value, column_value) in accuracies else ""
                     for column_value in column_values]
            lines.append(f"| {row_value:g} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def write_tables(rows: list[dict], methods: Sequence[str], sweep: str,
                 output_dir: str, title: str) -> str:
    """Writes table.md (or table_<sweep>.md); returns its path."""
    if sweep == "none":
        text = table(rows, list(methods), lambda r: r["method"])
        path = os.path.join(output_dir, "table.md")
    elif sweep == "beta_lambda":
        text = grid_table(rows, "beta", "lam")
        path = os.path.join(output_dir, f"table_{sweep}.md")
    else:
        label = lambda r: ", ".join(  # noqa: E731
            f"{f}={float(r[f]):g}" for f in _sweep_fields(sweep))
        settings = list(dict.fromkeys(label(r) for r in rows))
        text = table(rows, settings, label)
        path = os.path.join(output_dir, f"table_{sweep}.md")
    repeats = len({r["repeat"] for r in rows})
    with open(path, "w") as f:
        f.write(f"# {title}\n\nAccuracy (%) on the test videos, mean ± std "
                f"over {repeats} repeat(s).\n\n{text}")
    return path


def _sweep_fields(sweep: str) -> tuple[str, ...]:
    return tuple(SWEEPS[sweep][0])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)
    distribute.split_cpu(FLAGS.num_cpu_devices)
    config = config_from_flags()
    with errors.exit_on_user_error():
        ratios = [float(r) for r in FLAGS.ratios]
        jobs = plan(config, FLAGS.methods, ratios, FLAGS.repeats, FLAGS.sweep)
        hparams_dir = os.path.join(FLAGS.output_dir, "hparams")
        os.makedirs(hparams_dir, exist_ok=True)
        rows = run_jobs(config, jobs, FLAGS.output_dir)
        wanted = {job.key() for job in jobs}
        rows = [row for row in rows if _row_key(row) in wanted]
        title = f"{config.dataset}, {config.epochs} epochs"
        path = write_tables(rows, FLAGS.methods, FLAGS.sweep, FLAGS.output_dir,
                            title)
        figure = (plots.accuracy_plot(
                      rows, FLAGS.methods,
                      os.path.join(FLAGS.output_dir, "accuracy.png"), title)
                  if FLAGS.sweep == "none" else None)
    with open(path) as f:
        print(f.read())
    print(f"results: {os.path.join(FLAGS.output_dir, 'results.csv')}; "
          f"table: {path}; " + (f"plot: {figure}; " if figure else "")
          + f"HParams: tensorboard --logdir {hparams_dir}")


if __name__ == "__main__":
    app.run(main)
