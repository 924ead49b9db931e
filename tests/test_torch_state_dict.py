"""torch_state_dict: torch.save files read with numpy and a restricted unpickler."""
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from divafn_tf.nets import efficientnet_lite
from divafn_tf.errors import UserInputError
from divafn_tf.nets.torch_state_dict import read_state_dict

_STORAGE_TYPES = {np.dtype(np.float32): "FloatStorage",
                  np.dtype(np.float64): "DoubleStorage",
                  np.dtype(np.int64): "LongStorage"}


class _Tensor:
    """A tensor to write: ``size``/``stride``/``offset`` into a storage."""

    def __init__(self, key, size, stride, offset=0):
        self.key, self.size, self.stride, self.offset = key, size, stride, offset


def _global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _text(value):
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _int(value):
    return b"J" + struct.pack("<i", value)


def _tuple(values):
    return b"(" + b"".join(_int(v) for v in values) + b"t"


def _state_dict_pickle(tensors, storages, legacy):
    """Protocol-2 opcodes of torch's state-dict pickle (as torch.save writes)."""
    out = b"\x80\x02" + _global("collections", "OrderedDict") + b")R("
    for name, tensor in tensors.items():
        data = storages[tensor.key]
        pid = (b"(" + _text("storage") + _global("torch", _STORAGE_TYPES[data.dtype])
               + _text(tensor.key) + _text("cpu") + _int(data.size)
               + (b"N" if legacy else b"") + b"t")
        out += (_text(name) + _global("torch._utils", "_rebuild_tensor_v2")
                + b"(" + pid + b"Q" + _int(tensor.offset) + _tuple(tensor.size)
                + _tuple(tensor.stride) + b"\x89"
                + _global("collections", "OrderedDict") + b")Rt" + b"R")
    return out + b"u."


def write_legacy(path, tensors, storages, state_dict_pickle=None):
    """Writes the legacy torch.save stream (module docstring of the reader)."""
    with open(path, "wb") as f:
        f.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2))
        f.write(pickle.dumps(1001, protocol=2))
        f.write(pickle.dumps({"protocol_version": 1001, "little_endian": True,
                              "type_sizes": {"short": 2, "int": 4, "long": 4}},
                             protocol=2))
        f.write(state_dict_pickle or _state_dict_pickle(tensors, storages, True))
        f.write(pickle.dumps(list(storages), protocol=2))
        for data in storages.values():
            f.write(struct.pack("<q", data.size) + data.tobytes())
    return str(path)


def write_zip(path, tensors, storages):
    """Writes the zip format of torch ≥ 1.6: archive/data.pkl + archive/data/<key>."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl",
                         _state_dict_pickle(tensors, storages, False))
        archive.writestr("archive/byteorder", "little")
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", data.tobytes())
    return str(path)


def _example():
    """Tensors sharing a storage (a transpose, an offset slice) and others."""
    rng = np.random.default_rng(0)
    storages = {"0": rng.normal(size=12).astype(np.float32),
                "1": rng.normal(size=6),
                "2": np.array([7], np.int64)}
    tensors = {"a.weight": _Tensor("0", (3, 4), (4, 1)),
               "a.weight_t": _Tensor("0", (4, 3), (1, 4)),
               "a.slice": _Tensor("0", (2,), (1,), offset=5),
               "b.double": _Tensor("1", (1, 2, 3), (6, 3, 1)),
               "bn.num_batches_tracked": _Tensor("2", (), ())}
    s0 = storages["0"]
    expected = {"a.weight": s0.reshape(3, 4), "a.weight_t": s0.reshape(3, 4).T,
                "a.slice": s0[5:7], "b.double": storages["1"].reshape(1, 2, 3),
                "bn.num_batches_tracked": np.array(7, np.int64)}
    return tensors, storages, expected


@pytest.mark.parametrize("writer", [write_legacy, write_zip])
def test_round_trip(tmp_path, writer):
    tensors, storages, expected = _example()
    state = read_state_dict(writer(tmp_path / "small.pth", tensors, storages))
    assert list(state) == list(expected)
    for name, value in expected.items():
        assert state[name].dtype == value.dtype, name
        np.testing.assert_array_equal(state[name], value, err_msg=name)
        assert state[name].flags.c_contiguous


class _Eval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return eval, (f"open({self.marker!r}, 'w')",)


@pytest.mark.parametrize("attack", ["os.system", "builtins.eval"])
def test_refuses_other_globals_without_calling_them(tmp_path, attack):
    marker = tmp_path / "called"
    if attack == "os.system":  # hand-made GLOBAL opcode, protocol 2
        payload = (b"\x80\x02" + _global("os", "system")
                   + _text(f"touch {marker}") + b"\x85R.")
    else:  # a __reduce__ object, protocol 4 (STACK_GLOBAL)
        payload = pickle.dumps(_Eval(str(marker)), protocol=4)
    path = write_legacy(tmp_path / "evil.pth", {}, {}, payload)
    with pytest.raises(UserInputError) as error:
        read_state_dict(path)
    assert path in str(error.value)
    assert attack.split(".")[1] in str(error.value)
    assert not marker.exists()


@pytest.fixture(scope="module")
def real_file():
    return efficientnet_lite.default_weights_path()


def test_reads_the_real_file(real_file):
    state = read_state_dict(real_file)
    assert len(state) == 296
    assert sum(v.size for v in state.values()) == 4_694_073
    counters = [k for k in state if k.endswith("num_batches_tracked")]
    assert len(counters) == 49
    assert all(state[k].dtype == np.int64 for k in counters)
    assert {v.dtype for k, v in state.items() if k not in counters} == {np.dtype(np.float32)}
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)


@pytest.mark.parametrize("keep", [1000, 0.5, -1])
def test_truncated_file(tmp_path, real_file, keep):
    size = os.path.getsize(real_file)
    keep = int(size * keep) if isinstance(keep, float) else keep % size
    path = str(tmp_path / "truncated.pth")
    with open(real_file, "rb") as source, open(path, "wb") as target:
        target.write(source.read(keep))
    with pytest.raises(UserInputError, match="truncated|expected") as error:
        read_state_dict(path)
    assert path in str(error.value)


def test_not_a_torch_file(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_bytes(pickle.dumps("hello", protocol=2))
    with pytest.raises(UserInputError, match="expected a PyTorch state dict"):
        read_state_dict(str(path))
    zipped = tmp_path / "other.pth"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("readme.txt", "no pickle here")
    with pytest.raises(UserInputError, match="data.pkl"):
        read_state_dict(str(zipped))
