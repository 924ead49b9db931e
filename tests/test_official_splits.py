"""UCF101 and HMDB51 official split files, in their own formats and quirks."""
import os

import pytest

from divafn_tf.errors import UserInputError
from tfds_builders.divafn import official_splits as splits
from divafn_tf.prep.video_features import RawDataError


def _write(path, lines, newline="\r\n"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write(newline.join(lines) + newline)


def _touch(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").close()


@pytest.fixture
def ucf(tmp_path):
    root, lists = tmp_path / "UCF-101", tmp_path / "ucfTrainTestlist"
    for rel in ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi",
                "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
                "HandstandPushups/v_HandStandPushups_g08_c01.avi",
                "HandstandPushups/v_HandStandPushups_g01_c02.avi"):
        _touch(root / rel)
    _write(lists / "classInd.txt", ["1 ApplyEyeMakeup", "2 HandstandPushups"])
    # The official lists write the quirky class with lower-case "stand".
    _write(lists / "trainlist01.txt",
           ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1",
            "HandstandPushups/v_HandstandPushups_g08_c01.avi 2", ""])
    _write(lists / "testlist01.txt",
           ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
            "HandstandPushups/v_HandstandPushups_g01_c02.avi"])
    return str(root), str(lists)


def test_ucf101_split_resolves_quirky_names_and_crlf(ucf):
    root, lists = ucf
    assert splits.read_ucf101_class_index(os.path.join(lists, "classInd.txt")) == {
        "ApplyEyeMakeup": 0, "HandstandPushups": 1}
    train, test = splits.read_ucf101_split(lists, 1, root)
    assert [e.class_name for e in train] == ["ApplyEyeMakeup", "HandstandPushups"]
    assert os.path.basename(train[1].path) == "v_HandStandPushups_g08_c01.avi"
    assert os.path.isfile(train[1].path)
    assert [e.video_id for e in test] == ["v_ApplyEyeMakeup_g01_c01",
                                          "v_HandStandPushups_g01_c02"]


def test_ucf101_missing_video_and_bad_line_name_the_file(ucf, tmp_path):
    root, lists = ucf
    os.remove(os.path.join(root, "ApplyEyeMakeup", "v_ApplyEyeMakeup_g01_c01.avi"))
    with pytest.raises(RawDataError, match=r"testlist01.txt:1: lists "
                       r"ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"):
        splits.read_ucf101_split(lists, 1, root)
    _write(os.path.join(lists, "classInd.txt"), ["one ApplyEyeMakeup"])
    with pytest.raises(RawDataError, match=r"classInd.txt:1: expected"):
        splits.read_ucf101_split(lists, 1, root)
    with pytest.raises(RawDataError, match="trainlist02.txt"):
        _write(os.path.join(lists, "classInd.txt"), ["1 ApplyEyeMakeup"])
        splits.read_ucf101_split(lists, 2, root)


def test_ucf101_list_classes_match_by_class_key(ucf):
    root, lists = ucf
    _write(os.path.join(lists, "classInd.txt"),
           ["1 Apply_Eye_Makeup", "2 handstand-pushups"])
    train, test = splits.read_ucf101_split(lists, 1, root)
    assert [e.class_name for e in train] == ["Apply_Eye_Makeup",
                                             "handstand-pushups"]
    _write(os.path.join(lists, "classInd.txt"),
           ["1 ApplyEyeMakeup", "2 apply-eye-makeup"])
    with pytest.raises(UserInputError, match="classInd.txt: class names "
                       "'ApplyEyeMakeup' and 'apply-eye-makeup' are the same"):
        splits.read_ucf101_split(lists, 1, root)
