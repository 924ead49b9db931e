"""TFDS builder of DIVAFN triplets: (image, video keyframes, video feature).

Configs:

* ``s2u_<kind>``, ``a2u_<kind>``, ``e2h_<kind>`` (kind ``c3d``: C3D fc6,
  4096-d; ``idt``: IDT+LLC, 2000-d; ``frames``: the mean EfficientNet-Lite0
  ImageNet feature of 8 frames, 1280-d, not in the paper but computable
  offline by ``python -m divafn_tf.features``): the paper's Stanford40→UCF101,
  ASD→UCF101 and EAD→HMDB51 pairs (Tables I-III), one split ``pool`` from
  which the trainer draws its per-class training ratio.
* ``b2u_split<N>_<kind>``: BU101→UCF101, all 101 classes, UCF101's official
  split N (1-3) as splits ``train`` and ``test``.
* ``synthetic``, ``synthetic_tiny``: the embedded procedural dataset (no
  download), one split ``pool``.

Real configs read the files as their sources distribute them from the
manual dir (``MANUAL_DOWNLOAD_INSTRUCTIONS``; ``sources.py`` says how
classes, images and videos are selected and paired). Synthetic configs write
their raw directory with ``synthetic.py`` (under the download dir, reused when
complete) and read it with ``plans.read_raw_dir``; its generative process is in
README.md in this folder. ``plans.py`` holds what a build reads (the triplets
of each split, the class phrases, the video features) and the image reader.

Every example: the ``image`` (encoded as in its file, any size; files TF
cannot decode as such, e.g. TIFF, are converted to PNG), the ``keyframes``
(K histogram-difference keyframes of the video, ``divafn_tf.prep.keyframes``,
resized to the config's image size), the ``video_feature``, the ``label``
(the video class), ``image_id`` and ``video_id``. ``info.metadata`` holds
``class_phrases``, ``class_vectors`` (the L2-normalised sum of the word
vectors of each phrase's unique words, ``divafn_tf.prep.semantics``, or the rows
of a ``class_vectors`` file) and ``semantics``: what they were made from.

Semantic options (builder kwargs, flags of ``build``): ``word_vectors`` (any
file ``semantics.load_word_vectors`` reads; default the manual dir's
GoogleNews word2vec), ``phrases`` (a JSON {class: phrase} table or a shipped
one, ``ucf101`` / ``hmdb51``), ``class_vectors`` (precomputed, replacing word
vectors) and ``oov``. They are not part of the config name: the dataset
records the name, size and SHA-256 of each file it used in
``metadata["semantics"]``, and a prepared dataset opened with a file option
that differs from its record is an error (build into another ``data_dir``);
opened without file options, it is used as it was built.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import time
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from divafn_tf.prep import keyframes, semantics
from divafn_tf.prep.video_features import FeatureSource, RawDataError
from tfds_builders.divafn import sources, synthetic
from tfds_builders.divafn.plans import (Plan, check_video_ids, read_image,
                                        read_raw_dir, real_plan)

REAL_IMAGE_SIZE = (224, 224)
FEATURE_TITLES = {"c3d": "C3D", "idt": "IDT", "frames": "EfficientNet-Lite0 frame"}
FEATURE_KINDS = {"c3d": 4096, "idt": 2000, "frames": 1280}

MANUAL_DOWNLOAD_INSTRUCTIONS = """
One manual dir serves every real config; each uses the parts it needs
(README.md in tfds_builders/divafn lists where to download each):

  UCF-101/<Class>/v_<Class>_gXX_cYY.avi        UCF101 (s2u, a2u, b2u)
  ucfTrainTestlist/classInd.txt, trainlist0N.txt, testlist0N.txt   (b2u)
  hmdb51/<class>/<video>.avi                   HMDB51, extracted (e2h)
  Stanford40/JPEGImages/<action>_<nnn>.jpg     Stanford40 (s2u, e2h)
  ASD/<class>/<image>                          Table II classes (a2u)
  EAD/<class>/<image>                          hug, kiss, shake_hands from HII;
                                               the other Table III classes are
                                               read from Stanford40 (e2h)
  BU101/<Class>/<image>                        one folder per UCF101 class (b2u)
  features/<ucf101|hmdb51>_<c3d|idt>/<video id>.npy   float [4096 | 2000]
  features/<ucf101|hmdb51>_frames_efficientnet_lite0/<video id>.npy
      float [1280] (the frames configs)
      (or features.npy [N, dim] + features_index.txt, one video id a line)
  GoogleNews-vectors-negative300.bin (or .bin.gz)     word2vec (default word
      vectors; or any word2vec/GloVe file given as --word_vectors=FILE)
"""


@dataclasses.dataclass(eq=False, kw_only=True)
class DivafnConfig(tfds.core.BuilderConfig):
    """Config of a DIVAFN dataset.

    Attributes:
      class_names: label names (the video classes), in label order.
      image_size: (height, width) of the stored keyframes.
      num_keyframes: K, keyframes per video.
      video_feature_dim: dimension of the video features.
      synthetic: generator parameters of a synthetic config (None otherwise).
      pair: the real pair (``sources.PAIRS`` key), None for synthetic.
      feature_kind: ``c3d``, ``idt`` or ``frames`` for real configs
        (`sources.FEATURE_FOLDERS` names their folders).
      official_split: UCF101's split 1-3 for B→U, None for pools.
    """
    class_names: tuple[str, ...]
    image_size: tuple[int, int]
    num_keyframes: int = 1
    video_feature_dim: int
    synthetic: synthetic.SyntheticParams | None = None
    pair: str | None = None
    feature_kind: str | None = None
    official_split: int | None = None


def _synthetic_config(name: str, description: str, params: synthetic.SyntheticParams,
                      image_size: tuple[int, int], video_feature_dim: int,
                      num_keyframes: int = 1) -> DivafnConfig:
    return DivafnConfig(
        name=name, description=description,
        class_names=tuple(c.name for c in synthetic.CLASSES[:params.num_classes]),
        image_size=image_size, num_keyframes=num_keyframes,
        video_feature_dim=video_feature_dim, synthetic=params)


_PAIR_TITLES = {"s2u": "Stanford40→UCF101 (Table I)", "a2u": "ASD→UCF101 (Table II)",
                "e2h": "EAD→HMDB51 (Table III)", "b2u": "BU101→UCF101"}


def _real_config(pair: str, kind: str, split: int | None = None) -> DivafnConfig:
    spec = sources.PAIRS[pair]
    if split is None:
        name = f"{pair}_{kind}"
        selection = (f"{spec.samples_per_class} images and videos per class, "
                     "one pool")
    else:
        name = f"{pair}_split{split}_{kind}"
        selection = f"UCF101 official split {split} (train, test)"
    return DivafnConfig(
        name=name,
        description=(f"{_PAIR_TITLES[pair]}: {len(spec.table)} classes, "
                     f"{selection}, {FEATURE_TITLES[kind]} video features "
                     f"({FEATURE_KINDS[kind]}-d), 1 keyframe at 224x224."),
        class_names=tuple(p.video_class for p in spec.table),
        image_size=REAL_IMAGE_SIZE, video_feature_dim=FEATURE_KINDS[kind],
        pair=pair, feature_kind=kind, official_split=split)


def with_num_keyframes(config: DivafnConfig, num_keyframes: int) -> DivafnConfig:
    """``config`` with K keyframes per video, named ``<name>_k<K>``."""
    if num_keyframes < 1:
        raise ValueError(f"the number of keyframes must be >= 1, got "
                         f"{num_keyframes}")
    if num_keyframes == config.num_keyframes:
        return config
    return dataclasses.replace(
        config, name=f"{config.name}_k{num_keyframes}",
        description=f"{config.description} With {num_keyframes} keyframes.",
        num_keyframes=num_keyframes)


def file_identity(path: Path) -> dict[str, str | int]:
    """Name, size and SHA-256 of a file: what ``metadata["semantics"]``
    records of each file a build used."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"file": path.name, "bytes": path.stat().st_size,
            "sha256": digest.hexdigest()}


def _describe(identity: dict[str, str | int]) -> str:
    """A ``file_identity`` for people: name, size and SHA-256 prefix."""
    return (f"{identity['file']} ({identity['bytes']:,} bytes, SHA-256 "
            f"{identity['sha256'][:12]}...)")


def _oov_hint(error: semantics.OutOfVocabularyError, class_names: list[str],
              phrases: list[str], oov: str) -> str:
    """What a user can do about the classes whose words ``error`` lists."""
    missing = {phrase for _, phrase in error.missing}
    names = ", ".join(repr(n) for n, p in zip(class_names, phrases)
                      if p in missing)
    remedy = (f"give {names} a phrase whose words have vectors with a phrase "
              "table (--phrases=FILE.json, or the shipped --phrases=ucf101 / "
              "--phrases=hmdb51) or class vectors with --class_vectors=FILE")
    if oov == "skip_word":
        return (f"; --oov=skip_word cannot help: no word is left for "
                f"{names}; {remedy}")
    return (f" ({remedy}; or build with oov='skip_word', flag "
            f"--oov=skip_word, to leave such words out of the class vectors)")


class Divafn(tfds.core.GeneratorBasedBuilder):
    """DIVAFN triplets; see the module docstring.

    Args:
      oov: what a class-phrase word missing from the word vectors does:
        ``"error"`` (default) stops the build with the list of missing
        words, ``"skip_word"`` leaves them out of the class vector.
      word_vectors: a word-vector file (word2vec binary or text, GloVe text,
        any dimension); None: the config's default (GoogleNews in the
        manual dir).
      phrases: a phrase table, a JSON {class name: phrase} file or a shipped
        table's name (``ucf101``, ``hmdb51``), overriding the phrases of the
        classes it names.
      class_vectors: precomputed class vectors (``semantics.
        load_class_vectors``: JSON table, ``.npy``, CSV or text), used
        instead of word vectors.
      **kwargs: for ``tfds.core.GeneratorBasedBuilder``.
    """

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {"1.0.0": "Synthetic configs.",
                     "1.1.0": "The paper's real pairs, from a manual dir."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
    BUILDER_CONFIGS = [
        _synthetic_config(
            "synthetic", "Demo: 10 classes x 50 images x 50 videos of 16 "
            "frames at 64x64, 512-d video features, 1 keyframe.",
            synthetic.SyntheticParams(num_classes=10, images_per_class=50,
                                      videos_per_class=50, frames_per_video=16,
                                      seed=0),
            image_size=(64, 64), video_feature_dim=512),
        _synthetic_config(
            "synthetic_val", "Tuning: the demo's dataset drawn with generator "
            "seed 1 (other images, videos, projection and word vectors, the "
            "same classes and sizes). Settings are chosen on it, never on the "
            "demo's test videos.",
            synthetic.SyntheticParams(num_classes=10, images_per_class=50,
                                      videos_per_class=50, frames_per_video=16,
                                      seed=1),
            image_size=(64, 64), video_feature_dim=512),
        _synthetic_config(
            "synthetic_tiny", "Tests: 4 classes x 12 images x 12 videos of 8 "
            "frames at 32x32, 64-d video features, 2 keyframes.",
            synthetic.SyntheticParams(num_classes=4, images_per_class=12,
                                      videos_per_class=12, frames_per_video=8,
                                      seed=0),
            image_size=(32, 32), video_feature_dim=64, num_keyframes=2),
        *(_real_config(pair, kind) for pair in ("s2u", "a2u", "e2h")
          for kind in FEATURE_KINDS),
        *(_real_config("b2u", kind, split) for split in (1, 2, 3)
          for kind in FEATURE_KINDS),
    ]

    def __init__(self, *, oov: semantics.OovPolicy = "error",
                 word_vectors: str | None = None, phrases: str | None = None,
                 class_vectors: str | None = None, **kwargs):
        semantics.check_oov_policy(oov)
        self._oov = oov
        self._options = {"word_vectors": word_vectors, "phrases": phrases,
                         "class_vectors": class_vectors}
        super().__init__(**kwargs)

    @functools.cached_property
    def _files(self) -> dict[str, Path | None]:
        """The files of the semantic options (None: not given).

        Raises:
          RawDataError: a given file does not exist.
        """
        files = {}
        for option, value in self._options.items():
            if not value:
                files[option] = None
            elif option == "phrases":
                files[option] = sources.phrase_table_file(value)
            elif Path(value).is_file():
                files[option] = Path(value)
            else:
                raise RawDataError(f"--{option}={value}: no such file")
        return files

    def download_and_prepare(self, *args, **kwargs):
        """Checks the semantic files (against those of a prepared dataset),
        then prepares.

        Raises:
          RawDataError: a missing file, or a dataset built from other files.
        """
        if self.is_prepared():
            self._check_semantics()
        return super().download_and_prepare(*args, **kwargs)

    def _check_semantics(self) -> None:
        """A prepared dataset must have been built from the given files."""
        built = (self.info.metadata or {}).get("semantics", {})
        for option, path in self._files.items():
            if path is None:
                continue
            if built.get(option) != file_identity(path):
                was = (_describe(built[option]) if built.get(option)
                       else "the config's default")
                raise RawDataError(
                    f"{self.data_dir}: this dataset was built with {option} "
                    f"{was}, not {path}; build into another --data_dir, or "
                    f"delete {self.data_dir} to rebuild it")

    def _class_semantics(self, plan: Plan) -> tuple[list[str], np.ndarray]:
        """The class phrases and vectors of a build, from its options."""
        names = list(self.builder_config.class_names)
        phrases = plan.phrases
        if self._files["phrases"] is not None:
            table_file = self._files["phrases"]
            phrases = semantics.phrases_for(
                names, semantics.load_phrase_table(table_file), plan.phrases,
                where=str(table_file))
        if self._files["class_vectors"] is not None:
            return phrases, semantics.load_class_vectors(
                self._files["class_vectors"], names)
        path = self._files["word_vectors"] or plan.word_vectors()
        self._files["word_vectors"] = path    # recorded in the metadata
        kv = semantics.load_word_vectors(path)
        try:
            return phrases, semantics.class_vectors(kv, phrases, oov=self._oov)
        except semantics.OutOfVocabularyError as e:
            raise semantics.OutOfVocabularyError(
                e.missing, f" {path}",
                hint=_oov_hint(e, names, phrases, self._oov)) from None

    # TFDS prints these two on stdout with termcolor (for a synthetic config
    # "Unknown size" four times); a log line each instead.
    def _log_download_bytes(self) -> None:
        self._build_started = time.perf_counter()
        logging.info("Building %s/%s %s into %s (once: later runs read it)",
                     self.name, self.builder_config.name, self.version,
                     self.data_dir_root)

    def _log_download_done(self) -> None:
        logging.info("Built %s/%s in %.0f s: %s", self.name,
                     self.builder_config.name,
                     time.perf_counter() - self._build_started, self.data_dir)

    def _info(self) -> tfds.core.DatasetInfo:
        cfg = self.builder_config
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(None, None, 3)),
                "keyframes": tfds.features.Sequence(
                    tfds.features.Image(shape=(*cfg.image_size, 3)),
                    length=cfg.num_keyframes),
                "video_feature": tfds.features.Tensor(
                    shape=(cfg.video_feature_dim,), dtype=np.float32),
                "label": tfds.features.ClassLabel(names=list(cfg.class_names)),
                "image_id": tfds.features.Text(),
                "video_id": tfds.features.Text(),
            }),
            supervised_keys=None,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        cfg = self.builder_config
        if cfg.synthetic is None:
            plan = real_plan(cfg, Path(dl_manager.manual_dir))
        else:
            plan = read_raw_dir(synthetic.ensure_raw_dir(
                dl_manager.download_dir, cfg.synthetic, cfg.image_size,
                cfg.video_feature_dim), cfg.class_names, cfg.video_feature_dim)
        check_video_ids(plan)
        phrases, vectors = self._class_semantics(plan)
        self.info.metadata["class_phrases"] = phrases
        self.info.metadata["class_vectors"] = vectors.tolist()
        self.info.metadata["semantics"] = {
            "oov": self._oov,
            **{option: path and file_identity(path)
               for option, path in self._files.items()}}
        return {split: self._generate_examples(triplets, plan.features)
                for split, triplets in plan.splits.items()}

    def _generate_examples(self, triplets: list[sources.Triplet],
                           features: FeatureSource):
        cfg = self.builder_config
        for triplet in triplets:
            yield triplet.video_id, {
                "image": read_image(triplet.image),
                "keyframes": list(keyframes.extract_keyframes(
                    str(triplet.video), cfg.num_keyframes, cfg.image_size)),
                "video_feature": features.get(triplet.video_id),
                "label": triplet.label,
                "image_id": triplet.image.stem,
                "video_id": triplet.video_id,
            }
