"""Video feature files: per-video .npy and matrix + index, with named errors."""
import numpy as np
import pytest

from divafn_tf.prep.video_features import (FeatureMatrix, RawDataError,
                                           load_video_feature)


def test_per_video_npy_checks_dimension_and_finiteness(tmp_path):
    good = tmp_path / "v1.npy"
    np.save(good, np.arange(4, dtype=np.float64))
    np.testing.assert_array_equal(load_video_feature(good, 4), [0, 1, 2, 3])
    assert load_video_feature(good, 4).dtype == np.float32
    with pytest.raises(RawDataError, match=r"v1.npy: expected .* shape \(5,\)"):
        load_video_feature(good, 5)
    bad = tmp_path / "v2.npy"
    np.save(bad, np.array([1.0, np.nan, np.inf, 0.0]))
    with pytest.raises(RawDataError, match="v2.npy: expected finite values, got 2"):
        load_video_feature(bad, 4)
    objects = tmp_path / "v3.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object))  # pickled by np.save
    with pytest.raises(RawDataError, match="v3.npy: cannot read"):
        load_video_feature(objects, 1)


def test_feature_matrix_with_index(tmp_path):
    np.save(tmp_path / "features.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    (tmp_path / "features_index.txt").write_bytes(b"v_a\r\nv_b\r\nv_c\r\n")
    matrix = FeatureMatrix(tmp_path, 2)
    assert "v_b" in matrix and "v_z" not in matrix
    np.testing.assert_array_equal(matrix.get("v_c"), [4, 5])
    with pytest.raises(RawDataError, match="no row for video 'v_z'"):
        matrix.get("v_z")
    with pytest.raises(RawDataError, match=r"expected a matrix \[N, 3\]"):
        FeatureMatrix(tmp_path, 3)
    (tmp_path / "features_index.txt").write_text("v_a\nv_b\n")
    with pytest.raises(RawDataError, match="2 video ids for the 3 rows"):
        FeatureMatrix(tmp_path, 2)
