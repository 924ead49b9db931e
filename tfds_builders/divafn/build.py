"""Build one DIVAFN dataset config and print its splits.

    python -m tfds_builders.divafn.build --dataset=divafn/s2u_c3d \
        --manual_dir=/data/divafn_manual

Training builds its dataset on first use too; this builds ahead of time (for
example on a machine with the raw files, before copying ``--data_dir`` to the
GPU machines). The same flags as ``divafn_tf.main`` select the dataset.
"""
from __future__ import annotations

from absl import app, flags

from divafn_tf import data, errors

flags.DEFINE_string("dataset", None, "TFDS name/config, e.g. divafn/b2u_split1_c3d.")
flags.DEFINE_string("data_dir", None,
                    "TFDS data directory (default: ~/tensorflow_datasets).")
flags.DEFINE_string("manual_dir", None,
                    "Directory of the downloaded datasets (layout: "
                    "tfds_builders/divafn/README.md; default: "
                    "<data_dir>/downloads/manual).")
flags.DEFINE_integer("num_keyframes", 0,
                     "Keyframes per video (0 = the config's own).", lower_bound=0)
flags.DEFINE_enum("oov", "error", ["error", "skip_word"],
                  "A class-phrase word without a word vector stops the build "
                  "(error) or is left out of the class vector (skip_word).")
flags.mark_flag_as_required("dataset")
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    with errors.exit_on_user_error():
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
    app.run(main)
