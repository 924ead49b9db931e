"""Reads a PyTorch state dict (``torch.save``) into numpy, without torch.

``read_state_dict(path)`` returns ``{name: np.ndarray}`` for both formats
``torch.save`` writes:

* the legacy stream (torch < 1.6, ``_use_new_zipfile_serialization=False``):
  pickle(magic number), pickle(protocol version), pickle(sys_info), the
  state-dict pickle, pickle(list of storage keys), then per key an 8-byte
  little-endian element count and the storage's raw bytes;
* the zip archive (torch ≥ 1.6): ``<archive>/data.pkl`` and one raw file
  ``<archive>/data/<key>`` per storage.

The pickles are read like torch's own ``weights_only=True``: a restricted
unpickler resolves only ``collections.OrderedDict``, the tensor rebuild
functions and the typed storage classes; any other global (``os.system``,
``builtins.eval``, …) is refused with a ``UserInputError`` before anything is
called. So is a file that is truncated or garbled, and a pickle whose top
level is not a mapping of names to tensors.
"""
from __future__ import annotations

import collections
import dataclasses
import io
import os
import pickle
import struct
import zipfile

import numpy as np

from divafn_tf.errors import UserInputError

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclasses.dataclass(frozen=True)
class _StorageType:
    """What the unpickler returns for ``torch.<Type>Storage``."""

    name: str

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(_STORAGE_DTYPES[self.name])


@dataclasses.dataclass(frozen=True)
class _Storage:
    """A persistent id: storage ``key`` of ``numel`` elements (bytes later);
    a view starts ``view_offset`` elements into it."""

    key: str
    dtype: np.dtype
    numel: int
    view_offset: int = 0


@dataclasses.dataclass(frozen=True)
class _Tensor:
    """A tensor as ``_rebuild_tensor_v2`` describes it, before its bytes."""

    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_unused):
    return _Tensor(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_unused):
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only ``_ALLOWED_GLOBALS``; storages become ``_Storage``."""

    def __init__(self, file, path: str):
        super().__init__(file)
        self._path = path

    def find_class(self, module, name):
        allowed = _ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise UserInputError(
                f"{self._path}: refusing to load the global {module}.{name}: a "
                "state dict only needs collections.OrderedDict, "
                "torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch "
                "storage types (the file may be malicious)")
        return allowed

    def persistent_load(self, pid):
        if (not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage"
                or not isinstance(pid[1], _StorageType)):
            raise UserInputError(f"{self._path}: unexpected persistent id "
                                 f"{pid!r}: expected ('storage', torch."
                                 "<Type>Storage, key, location, numel, …)")
        _, storage_type, key, _location, numel = pid[:5]
        view = pid[5] if len(pid) > 5 else None
        view_offset = 0 if view is None else int(view[1])
        return _Storage(str(key), storage_type.dtype, int(numel), view_offset)


def _unpickle(file, path: str, what: str):
    try:
        return _RestrictedUnpickler(file, path).load()
    except UserInputError:
        raise
    except Exception as e:  # any garbled pickle; nothing outside the allow-list ran
        raise UserInputError(f"{path}: expected {what} (a pickle), but cannot "
                             f"read it: {type(e).__name__}: {e}") from e


def _tensors_of(obj, path: str) -> dict[str, _Tensor]:
    if not isinstance(obj, dict) or not all(
            isinstance(k, str) and isinstance(v, _Tensor) for k, v in obj.items()):
        raise UserInputError(f"{path}: expected a state dict (a mapping of "
                             "names to tensors), got something else")
    return dict(obj)


def _materialise(tensor: _Tensor, data: np.ndarray, name: str,
                 path: str) -> np.ndarray:
    """The tensor's elements of its storage's flat ``data``, C-ordered."""
    start = tensor.storage.view_offset + tensor.offset
    last = start + sum((n - 1) * s for n, s in zip(tensor.size, tensor.stride))
    if any(n < 0 for n in tensor.size) or any(s < 0 for s in tensor.stride) or (
            0 not in tensor.size and (start < 0 or last >= data.size)):
        raise UserInputError(f"{path}: tensor {name!r} (size {tensor.size}, "
                             f"stride {tensor.stride}, offset {start}) lies "
                             f"outside its storage of {data.size} elements")
    if 0 in tensor.size:
        return np.zeros(tensor.size, data.dtype)
    strides = tuple(s * data.itemsize for s in tensor.stride)
    view = np.lib.stride_tricks.as_strided(data[start:], tensor.size, strides,
                                           writeable=False)
    return np.array(view, order="C")


def _assemble(tensors: dict[str, _Tensor], storages: dict[str, np.ndarray],
              path: str) -> dict[str, np.ndarray]:
    result = {}
    for name, tensor in tensors.items():
        data = storages.get(tensor.storage.key)
        if data is None:
            raise UserInputError(f"{path}: tensor {name!r} refers to storage "
                                 f"{tensor.storage.key!r}, which the file "
                                 "does not contain")
        result[name] = _materialise(tensor, data, name, path)
    return result


def _read_exact(file, count: int, path: str, what: str) -> bytes:
    """``count`` bytes, checked against what is left before reading them."""
    left = os.fstat(file.fileno()).st_size - file.tell()
    if count > left:
        raise UserInputError(f"{path}: truncated: expected {count} bytes of "
                             f"{what}, found {left}")
    return file.read(count)


def _check_numel(storage: _Storage, count: int, path: str) -> None:
    if count != storage.numel:
        raise UserInputError(f"{path}: storage {storage.key!r} holds {count} "
                             f"elements, the state dict expects {storage.numel}")


def _storages_by_key(tensors: dict[str, _Tensor]) -> dict[str, _Storage]:
    """Each root storage once (views share their root's key and dtype)."""
    return {t.storage.key: t.storage for t in tensors.values()}


def _read_legacy(file, path: str) -> dict[str, np.ndarray]:
    if _unpickle(file, path, "the torch.save magic number") != _LEGACY_MAGIC:
        raise UserInputError(f"{path}: expected a PyTorch state dict "
                             "(torch.save, legacy or zip format)")
    protocol = _unpickle(file, path, "the torch.save protocol version")
    if protocol != _LEGACY_PROTOCOL:
        raise UserInputError(f"{path}: expected torch.save protocol version "
                             f"{_LEGACY_PROTOCOL}, found {protocol!r}")
    sys_info = _unpickle(file, path, "the torch.save sys_info dict")
    order = "<" if (isinstance(sys_info, dict)
                    and sys_info.get("little_endian", True)) else ">"
    tensors = _tensors_of(_unpickle(file, path, "the state dict"), path)
    keys = _unpickle(file, path, "the list of storage keys")
    if not isinstance(keys, list):
        raise UserInputError(f"{path}: expected the list of storage keys "
                             f"after the state dict, found {type(keys).__name__}")
    wanted = _storages_by_key(tensors)
    storages = {}
    for key in keys:
        count, = struct.unpack(
            "<q", _read_exact(file, 8, path, f"the size of storage {key!r}"))
        if key not in wanted:
            raise UserInputError(f"{path}: storage {key!r} is used by no tensor")
        _check_numel(wanted[key], count, path)
        dtype = wanted[key].dtype.newbyteorder(order)
        raw = _read_exact(file, count * dtype.itemsize, path,
                          f"storage {key!r} ({count} × {dtype.name})")
        storages[key] = np.frombuffer(raw, dtype).astype(dtype.newbyteorder("="))
    return _assemble(tensors, storages, path)


def _read_zip(path: str) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            pickles = [n for n in names if n.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise UserInputError(f"{path}: expected one <archive>/data.pkl "
                                     f"in the zip file, found {len(pickles)}")
            prefix = pickles[0][:-len("data.pkl")]
            order = "<"
            if f"{prefix}byteorder" in names:
                order = ("<" if archive.read(f"{prefix}byteorder") == b"little"
                         else ">")
            tensors = _tensors_of(_unpickle(
                io.BytesIO(archive.read(pickles[0])), path, "the state dict"),
                path)
            storages = {}
            for key, storage in _storages_by_key(tensors).items():
                member = f"{prefix}data/{key}"
                if member not in names:
                    raise UserInputError(f"{path}: expected {member} in the "
                                         "zip file")
                dtype = storage.dtype.newbyteorder(order)
                raw = archive.read(member)
                _check_numel(storage, len(raw) // dtype.itemsize, path)
                storages[key] = np.frombuffer(
                    raw, dtype, storage.numel).astype(dtype.newbyteorder("="))
    except UserInputError:
        raise
    # A damaged archive: zipfile's BadZipFile, or NotImplementedError (a
    # RuntimeError) for an unknown compression method, RuntimeError for an
    # encrypted member, struct.error or EOFError for a cut header.
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError,
            struct.error) as e:
        raise UserInputError(f"{path}: expected a torch.save zip archive, "
                             f"cannot read it: {e}") from e
    return _assemble(tensors, storages, path)


def read_state_dict(path: str) -> dict[str, np.ndarray]:
    """The tensors of a ``torch.save``'d state dict, by name, as numpy arrays.

    Raises ``UserInputError`` (naming ``path``) for a missing, truncated or
    garbled file and for any pickled global outside the allow-list.
    """
    path = str(path)
    try:
        if zipfile.is_zipfile(path):
            return _read_zip(path)
        with open(path, "rb") as file:
            return _read_legacy(file, path)
    except OSError as e:
        raise UserInputError(f"{path}: cannot read the state dict: {e}") from e
