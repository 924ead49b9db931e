"""Build one DIVAFN dataset config and print its splits.

    python -m tfds_builders.divafn.build --dataset=divafn/s2u_c3d \
        --manual_dir=/data/divafn_manual

Training builds its dataset on first use too; this builds ahead of time (for
example on a machine with the raw files, before copying ``--data_dir`` to the
GPU machines). The same flags as ``divafn_tf.main`` select the dataset;
``--word_vectors``, ``--phrases`` and ``--class_vectors`` choose its class
vectors (e.g. B→U with GloVe: ``--word_vectors=glove.6B.300d.txt
--phrases=ucf101``); ``--overwrite`` builds a prepared dataset again (the
command a damaged shard's error names). A problem with the input files is
one line on stderr, ``error: ...``, and exit status 1.
"""
from __future__ import annotations

import tensorflow_datasets as tfds
from absl import flags

from divafn_tf import data, errors
from divafn_tf.cli import command
from divafn_tf.config import RunConfig
from divafn_tf.prep.semantics.phrases import OOV_POLICIES

# Defaults and choices of the flags shared with divafn_tf.main are its own.
flags.DEFINE_string("dataset", None, "TFDS name/config, e.g. divafn/b2u_split1_c3d.")
flags.DEFINE_string("data_dir", RunConfig.data_dir,
                    "TFDS data directory (default: ~/tensorflow_datasets).")
flags.DEFINE_string("manual_dir", RunConfig.manual_dir,
                    "Directory of the downloaded datasets (layout: "
                    "tfds_builders/divafn/README.md; default: "
                    "<data_dir>/downloads/manual).")
flags.DEFINE_integer("num_keyframes", RunConfig.num_keyframes,
                     "Keyframes per video (0 = the config's own).", lower_bound=0)
flags.DEFINE_enum("oov", RunConfig.oov, OOV_POLICIES,
                  "A class-phrase word without a word vector stops the build "
                  "(error) or is left out of the class vector (skip_word).")
flags.DEFINE_string("word_vectors", None,
                    "Word-vector file of the class vectors: word2vec binary or "
                    "text, or GloVe text, any dimension (default: the manual "
                    "dir's GoogleNews-vectors-negative300.bin[.gz]).")
flags.DEFINE_string("phrases", None,
                    "Phrase table overriding the words of some classes: a JSON "
                    "{class name: phrase} file, or a shipped table: ucf101, "
                    "hmdb51 (the names GloVe/word2vec miss).")
flags.DEFINE_string("class_vectors", None,
                    "Precomputed class vectors (JSON {class: [numbers]}, .npy, "
                    "CSV or text rows), used instead of word vectors.")
flags.DEFINE_bool("overwrite", False,
                  "Build the dataset again even if it is prepared (e.g. after "
                  "a shard was damaged), reusing what the first build "
                  "downloaded or extracted.")
flags.mark_flag_as_required("dataset")
FLAGS = flags.FLAGS


def _builder() -> tfds.core.DatasetBuilder:
    """The builder of ``--dataset`` with the semantic flags as its options."""
    return data.make_builder(FLAGS.dataset, FLAGS.data_dir,
                             FLAGS.num_keyframes, FLAGS.oov,
                             word_vectors=FLAGS.word_vectors,
                             phrases=FLAGS.phrases,
                             class_vectors=FLAGS.class_vectors)


def main(argv: list[str]) -> None:
    command.start(argv, progress_bars=True)   # a build shows its bars
    with errors.exit_on_user_error():
        data.prepare(_builder(), FLAGS.manual_dir, FLAGS.overwrite)
        pool = data.load_pool(FLAGS.dataset, FLAGS.data_dir, FLAGS.manual_dir,
                              FLAGS.num_keyframes, FLAGS.oov)
    info = pool.builder.info
    print(f"{pool.builder.name}/{pool.builder.builder_config.name} "
          f"{info.version} in {pool.builder.data_dir}")
    print(f"  {pool.num_classes} classes, keyframes "
          f"{info.features['keyframes'].shape}, video feature "
          f"{info.features['video_feature'].shape}")
    for split, labels in pool.split_labels.items():
        print(f"  {split}: {len(labels)} examples")


if __name__ == "__main__":
    command.run(main)
