"""The ``divafn`` TFDS builder; importing this package registers it."""
from tfds_builders.divafn.divafn_dataset_builder import Divafn, DivafnConfig

__all__ = ["Divafn", "DivafnConfig"]
