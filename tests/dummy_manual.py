"""The dummy manual dir of the real configs, and damaged copies of it.

``tfds_builders/divafn/dummy_data`` holds tiny real files in the layouts the
real datasets are distributed in (made by ``python -m
tfds_builders.divafn.make_dummy_data``).
"""
import shutil
from pathlib import Path

from divafn_tf.prep import semantics
from tfds_builders.divafn import divafn_dataset_builder

DUMMY = Path(divafn_dataset_builder.__file__).parent / "dummy_data"
WORD2VEC = "GoogleNews-vectors-negative300.bin"


def copy(tmp_path: Path) -> Path:
    """A writable copy of the dummy manual dir."""
    manual = tmp_path / "manual"
    shutil.copytree(DUMMY, manual)
    return manual


def drop_words(manual: Path, words: set[str]) -> Path:
    """Rewrites the manual dir's word2vec file without ``words``."""
    path = manual / WORD2VEC
    kv = semantics.load_word_vectors(path)
    kept = [w for w in kv.index_to_key if w not in words]
    smaller = type(kv)(kv.vector_size)
    smaller.add_vectors(kept, kv[kept])
    smaller.save_word2vec_format(str(path), binary=True)
    return path
