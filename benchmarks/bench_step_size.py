"""Plain SGD at the paper's learning rate on J as is, J / n (DCMH) and J with
only its likelihood terms / n: does it diverge or stall at n = 150 and 9,537?

The training loss of ``Divafn.train_step`` (``objective.batch_objective``) is,
per batch row, a sum over all n bank rows for each likelihood term plus the
O(1) autoencoder terms, averaged over the batch: the likelihood's gradient
grows like n, the autoencoders' does not. The paper trains with plain SGD at
lr 1e-4 (batch 64) at n = 9,537 (B→U) and n ≈ 50-550 (the other pairs); DCMH,
whose likelihood DIVAFN adopts, divides its gradient by batch × n.

For each n the demo's networks (``train.build_model`` of an
``efficientnet_lite0`` / ``train_image_layers="top"`` / ``frozen_cache``
RunConfig, d = 256, video_hidden = 1024; the heads ``model.heads["f"]``,
``model.heads["h"]`` take the 1280-d frozen pooled features) train on random
class-structured data: class means + noise for the 1280-d features (clipped
to ReLU6's [0, 6]) and for a 512-d non-negative video feature; unit class
vectors (k = 300). Banks from ``fill_banks``, W from ``model.solve_w``
(min_norm, not standardised) before training and after every epoch (the
library's ``--w_update_every=1``), then ``model.fit`` with plain SGD at lr 1e-4.

The three scalings are made by monkeypatching ``objective.batch_objective``
(which ``Divafn.train_step`` calls through the module): its differentiated
per-row surrogate becomes s_nll · (likelihood terms) + s_ae · (AE terms);
the logged J and its terms are untouched (always the paper's J / n per row).
With plain SGD, (2) is exactly lr × 1/n. Recorded per run: J per epoch, the
relative weight change per step ‖ΔW‖/‖W‖ of the image fc8 kernel, the
keyframe fc8 kernel and the video net's last layer (video_net_fc2), the
ratio of the (scaled) likelihood gradient norm to the (scaled) AE gradient
norm (all trainable variables, one fixed batch, at the start and at the
end), and whether nll_keyframe_video gets below the class-prior NLL.

J start → end and nll_kv start → end: mean per-row terms of 1,024 fixed
training rows against the banks, before training (after the first fill and
W solve) and after it (after a final fill_banks and W solve, as the library
ends training). Verdicts: "diverged" = J or a weight non-finite, or J at the
end above J at the start; "stalled" = the median relative step of every
measured kernel below --stall_step (default 1e-6 per step: 1e4 steps move a
weight by < 1 %) or J falling by < 0.1 % over the run; otherwise "trains".
"""
from __future__ import annotations

import dataclasses
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from benchmarks.measure import CpuMeter, benchmark_parser, loadavg  # noqa: E402
from benchmarks.model_fixture import unit_class_vectors  # noqa: E402
from benchmarks.results import append_results, markdown_table  # noqa: E402

IMAGE_DIM = 1280
SCALINGS = {               # name -> (s_nll, s_ae) as functions of n
    "as is (paper J)": lambda n: (1.0, 1.0),
    "DCMH: J / n": lambda n: (1.0 / n, 1.0 / n),
    "likelihood / n": lambda n: (1.0 / n, 1.0),
}
AE_TERMS = ("ae_f", "ae_h", "ae_g", "ae_e")
_SCALE = {"nll": 1.0, "ae": 1.0}


def parse_args():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--ns", default="150,1000,9537",
                        help="training-set sizes n")
    parser.add_argument("--epochs", default="150:80,1000:15,9537:3",
                        help="epochs per n, n:epochs,...")
    parser.add_argument("--max_steps", type=int, default=0,
                        help="cap on steps per run (0: none)")
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--video_dim", type=int, default=512)
    parser.add_argument("--k", type=int, default=300)
    parser.add_argument("--target_step", type=float, default=1e-3,
                        help="relative step per SGD step that the 'lr for "
                             "target step' column solves for")
    parser.add_argument("--stall_step", type=float, default=1e-6)
    parser.add_argument("--scalings", default=",".join(str(i) for i in
                                                      range(len(SCALINGS))),
                        help="indices into the scalings to run")
    return parser.parse_args()


def class_count(n: int) -> int:
    return 10 if n <= 150 else 101


def make_data(n: int, classes: int, video_dim: int, rng: np.random.Generator):
    """Class-structured random frozen features, video features and labels."""
    labels = np.arange(n) % classes
    base = rng.uniform(0.0, 1.5, IMAGE_DIM)
    means = np.clip(base + rng.normal(0.0, 0.5, (classes, IMAGE_DIM)), 0, 6)
    domain_shift = rng.normal(0.0, 0.3, IMAGE_DIM)   # images vs keyframes
    image = np.clip(means[labels] + domain_shift
                    + rng.normal(0.0, 0.5, (n, IMAGE_DIM)), 0, 6)
    keyframe = np.clip(means[labels] + rng.normal(0.0, 0.5, (n, IMAGE_DIM)),
                       0, 6)
    video_means = rng.normal(0.0, 1.0, (classes, video_dim))
    video = np.maximum(video_means[labels]
                       + rng.normal(0.0, 1.0, (n, video_dim)), 0.0)
    return {"image_features": image.astype(np.float32),
            "keyframe_features": keyframe[:, None, :].astype(np.float32),
            "video_feature": video.astype(np.float32),
            "label": labels.astype(np.int64),
            "index": np.arange(n, dtype=np.int64)}


def install_patch():
    """Wraps objective.batch_objective: surrogate = s_nll·NLLs + s_ae·AEs."""
    from divafn_tf import objective
    original = objective.batch_objective

    def scaled(*args, **kwargs):
        surrogate, terms = original(*args, **kwargs)
        ae = sum(terms[t] for t in AE_TERMS if t in terms)
        likelihood = surrogate - ae
        return _SCALE["nll"] * likelihood + _SCALE["ae"] * ae, terms

    objective.batch_objective = scaled
    return original


def grad_norms(model, batch, original_objective):
    """(‖∇ likelihood part‖, ‖∇ AE part‖) of the *unscaled* batch loss."""
    import tensorflow as tf
    labels = tf.cast(batch["label"], tf.int32)
    banks = {m: tf.convert_to_tensor(model.bank(m)) for m in model.modalities}
    variables = model.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        out = model(batch, training=True)
        surrogate, terms = original_objective(
            out.get("f"), out["h"], out["g"], labels,
            model._semantics_of(labels),
            (banks.get("f"), banks["h"], banks["g"]),
            tf.constant(model.train_labels),
            tuple(model.w_of(name) for name in ("f", "h", "g", "e")),
            model.objective_weights)
        ae = sum(terms[t] for t in AE_TERMS if t in terms)
        b = tf.cast(tf.shape(labels)[0], tf.float32)
        nll_loss = tf.reduce_sum(surrogate - ae) / b
        ae_loss = tf.reduce_sum(ae) / b
    g_nll = tape.gradient(nll_loss, variables)
    g_ae = tape.gradient(ae_loss, variables)
    del tape
    return (float(tf.linalg.global_norm(g_nll)),
            float(tf.linalg.global_norm(g_ae)))


def eval_terms(model, rows, original_objective):
    """Mean per-row J and nll_keyframe_video of ``rows`` against the banks."""
    import tensorflow as tf
    labels = tf.cast(rows["label"], tf.int32)
    banks = {m: tf.convert_to_tensor(model.bank(m)) for m in model.modalities}
    out = model(rows, training=False)
    _, terms = original_objective(
        out.get("f"), out["h"], out["g"], labels, model._semantics_of(labels),
        (banks.get("f"), banks["h"], banks["g"]),
        tf.constant(model.train_labels),
        tuple(model.w_of(name) for name in ("f", "h", "g", "e")),
        model.objective_weights)
    return (float(tf.reduce_mean(terms["J"])),
            float(tf.reduce_mean(terms["nll_keyframe_video"])))


def kernels(model):
    """The watched kernels: image fc8, keyframe fc8, video_net_fc2."""
    def fc8(head):
        return next(l for l in head._flatten_layers()
                    if l.name.endswith("_fc8")).kernel
    return {"fc8_f": fc8(model.heads["f"]), "fc8_h": fc8(model.heads["h"]),
            "video_fc2": model.video_net.get_layer("video_net_fc2").kernel}


def run_one(args, n, epochs, scaling, arrays, class_vectors, original):
    import keras
    import tensorflow as tf
    from divafn_tf import train
    from divafn_tf.config import RunConfig
    from divafn_tf.model import solve_w
    from divafn_tf.objective import class_prior_nll

    s_nll, s_ae = SCALINGS[scaling](n)
    _SCALE.update(nll=s_nll, ae=s_ae)
    config = RunConfig(image_backbone="efficientnet_lite0",
                       train_image_layers="top", frozen_cache=True, d=256,
                       video_hidden=1024, optimizer="sgd",
                       learning_rate=args.learning_rate,
                       batch_size=args.batch_size, seed=args.seed,
                       standardize=False)
    labels = arrays["label"]
    keras.utils.set_random_seed(args.seed)
    model = train.build_model(config, class_vectors, labels, args.video_dim)
    assert set(model.heads) == {"f", "h"}, model.heads
    model.compile(optimizer=train.make_optimizer(config))
    b = args.batch_size
    ordered = tf.data.Dataset.from_tensor_slices(arrays).batch(b)
    model.fill_banks(ordered)
    semantics = class_vectors[labels].T
    solve = lambda: solve_w(  # noqa: E731
        model, semantics, config.beta, config.lam, "min_norm", False)
    solve()
    probe_rows = np.random.default_rng(args.seed + 1).permutation(n)[:b]
    probe = {k: tf.constant(v[probe_rows]) for k, v in arrays.items()}
    gn0 = grad_norms(model, probe, original)
    eval_rows = np.random.default_rng(args.seed + 2).permutation(n)[:1024]
    evaluation = {k: tf.constant(v[eval_rows]) for k, v in arrays.items()}
    j0, kv0 = eval_terms(model, evaluation, original)
    watched = kernels(model)
    steps_per_epoch = math.ceil(n / b)
    fit_steps = None
    if args.max_steps:
        epochs = min(epochs, max(1, args.max_steps // steps_per_epoch))
        if args.max_steps < steps_per_epoch:
            fit_steps = steps_per_epoch = args.max_steps
    rel = {name: [] for name in watched}
    state = {"before": None, "nonfinite": False}

    class Watch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            state["before"] = {k: v.numpy() for k, v in watched.items()}

        def on_train_batch_end(self, batch, logs=None):
            for k, v in watched.items():
                after = v.numpy()
                before = state["before"][k]
                after, before = (after.astype(np.float64),
                                 before.astype(np.float64))
                with np.errstate(all="ignore"):
                    rel[k].append(float(np.linalg.norm(after - before)
                                        / max(np.linalg.norm(before), 1e-30)))
                if not np.all(np.isfinite(after)):
                    state["nonfinite"] = True
            j = float(np.asarray(logs.get("J", np.nan)).reshape(-1)[0])
            if not math.isfinite(j) or state["nonfinite"]:
                state["nonfinite"] = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if not state["nonfinite"]:
                solve()

    train_ds = (tf.data.Dataset.from_tensor_slices(arrays)
                .shuffle(n, seed=args.seed, reshuffle_each_iteration=True)
                .batch(b).repeat().prefetch(2))
    start = time.perf_counter()
    history = model.fit(train_ds, epochs=epochs, callbacks=[Watch()],
                        steps_per_epoch=fit_steps or steps_per_epoch,
                        shuffle=False, verbose=0)
    seconds = time.perf_counter() - start
    steps = len(rel["fc8_f"])
    hist = history.history
    j = [float(np.asarray(v).reshape(-1)[0]) for v in hist.get("J", [])]
    kv = [float(np.asarray(v).reshape(-1)[0])
          for v in hist.get("nll_keyframe_video", [])]
    finite = all(math.isfinite(x) for x in j) and not state["nonfinite"]
    if finite:
        # As the library ends training: fresh banks, then W from them.
        model.fill_banks(ordered)
        solve()
        gn1 = grad_norms(model, probe, original)
        j1, kv1 = eval_terms(model, evaluation, original)
    else:
        gn1, j1, kv1 = (math.nan, math.nan), math.nan, math.nan
    prior = class_prior_nll(labels)
    med = {k: float(np.median(v)) if v else math.nan for k, v in rel.items()}
    first = {k: v[0] if v else math.nan for k, v in rel.items()}
    if not finite or j1 > j0:
        verdict = "diverged"
    elif (all(m < args.stall_step for m in med.values())
          or (j0 - j1) < 1e-3 * abs(j0)):
        verdict = "stalled"
    else:
        verdict = "trains"
    finite_kv = [x for x in kv if math.isfinite(x)]
    ratio = lambda g: g[0] * s_nll / max(g[1] * s_ae, 1e-30)  # noqa: E731
    lr_target = {k: args.learning_rate * args.target_step / first[k]
                 if first[k] > 0 and math.isfinite(first[k]) else math.nan
                 for k in ("fc8_f", "video_fc2")}
    show = lambda xs: ", ".join(f"{x:.4g}" for x in xs)  # noqa: E731
    epochs_shown = j if len(j) <= 6 else [j[0], j[1], j[len(j) // 2], j[-1]]
    row = {
        "n (classes)": f"{n} ({class_count(n)})",
        "scaling": scaling,
        "s_nll, s_ae": f"{s_nll:.3g}, {s_ae:.3g}",
        "epochs×steps": f"{len(j)}×{steps_per_epoch} = {steps} steps",
        "J start → end": f"{j0:.4g} → {j1:.4g}",
        "J per epoch (> 6 epochs: 1st, 2nd, mid, last)":
            show(epochs_shown) if j else "n/a",
        "step ‖ΔW‖/‖W‖ fc8_f 1st / median": f"{first['fc8_f']:.3g} / {med['fc8_f']:.3g}",
        "fc8_h 1st / median": f"{first['fc8_h']:.3g} / {med['fc8_h']:.3g}",
        "video_fc2 1st / median": f"{first['video_fc2']:.3g} / {med['video_fc2']:.3g}",
        "‖∇NLL‖/‖∇AE‖ start / end": f"{ratio(gn0):.3g} / {ratio(gn1):.3g}",
        "nll_kv start → end": f"{kv0:.4g} → {kv1:.4g}",
        "nll_kv epochs 1st / best / last": (
            f"{kv[0]:.4g} / {min(finite_kv):.4g} / {kv[-1]:.4g}"
            if finite_kv else "n/a"),
        "class-prior NLL": prior,
        "below prior": bool(min(finite_kv + [kv1]) < prior
                            if finite_kv else False),
        f"lr for step {args.target_step:g} (fc8_f / video_fc2)":
            f"{lr_target['fc8_f']:.3g} / {lr_target['video_fc2']:.3g}",
        "verdict": verdict,
        "fit s": seconds,
    }
    keras.backend.clear_session()
    return row


def main():
    args = parse_args()
    t0 = time.perf_counter()
    meter = CpuMeter()
    load_before = loadavg()
    ns = [int(x) for x in args.ns.split(",")]
    epochs_of = dict((int(a), int(b)) for a, b in
                     (p.split(":") for p in args.epochs.split(",")))
    names = list(SCALINGS)
    chosen = [names[int(i)] for i in args.scalings.split(",")]
    original = install_patch()
    rows = []
    for n in ns:
        rng = np.random.default_rng(args.seed)
        classes = class_count(n)
        class_vectors = unit_class_vectors(rng, classes, args.k)
        arrays = make_data(n, classes, args.video_dim, rng)
        for scaling in chosen:
            row = run_one(args, n, epochs_of.get(n, 3), scaling, arrays,
                          class_vectors, original)
            rows.append(row)
            print(" | ".join(f"{k}: {v:.4g}" if isinstance(v, float)
                             else f"{k}: {v}" for k, v in row.items()),
                  flush=True)
    total = time.perf_counter() - t0
    others, steal = meter.others()
    print()
    print(markdown_table(rows))
    print(f"Total run time {total:.0f} s; load average before ({load_before}), "
          f"after ({loadavg()}); other processes' CPU {others:.2f} cores")
    notes = (
        f"Plain SGD, lr {args.learning_rate:g}, batch {args.batch_size}; "
        "scalings by monkeypatching `objective.batch_objective`'s "
        "differentiated surrogate (s_nll · likelihood terms + s_ae · AE "
        "terms); logged J and nll_kv are always the unscaled per-row J/n "
        "terms. Demo networks: efficientnet_lite0 heads (fc8 1280→256) on "
        "frozen features, video MLP 512→1024→256. Random class-structured "
        "data (class means + noise), unit class vectors k = "
        f"{args.k}; W solved (min_norm, not standardised) before training "
        "and after each epoch. 'step' = ‖ΔW‖/‖W‖ of a kernel per SGD step "
        "(1st step from the same initial state for every scaling; median "
        "over all steps). '‖∇NLL‖/‖∇AE‖' = global gradient norms of the "
        "scaled likelihood and AE parts on one fixed batch. 'lr for step "
        f"{args.target_step:g}' = lr × {args.target_step:g} / (1st step), "
        "the learning rate that would make the first step that size "
        "(SGD: step ∝ lr). Verdict rules in the script's docstring. "
        f"Total run time {total:.0f} s; load average before ({load_before}), "
        f"after ({loadavg()}); other processes' CPU {others:.2f} cores, "
        f"steal {steal:.2f}.")
    if not args.no_append:
        append_results("bench_step_size (SGD step size vs n and loss "
                       "scaling)", rows, notes=notes,
                       path=args.results_path)


if __name__ == "__main__":
    main()
