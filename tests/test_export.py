"""The exported SavedModel reproduces the in-process pipeline and scikit-learn exactly."""
import numpy as np
import pytest
import tensorflow as tf

import tiny_model
from divafn_tf import classifier, export

pytestmark = pytest.mark.heavy  # exports and loads a SavedModel
CLASS_NAMES = ["wave", "jump", "clap"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model, svm, data, path = tiny_model.export_tiny(
        str(tmp_path_factory.mktemp("model") / "export"), CLASS_NAMES)
    return model, svm, data, tf.saved_model.load(path)


def test_reloaded_signature_gives_scikit_learn_predictions(exported):
    model, svm, data, loaded = exported
    serve = loaded.signatures[export.SIGNATURE]
    out = serve(keyframes=tf.constant(data["keyframes"]),
                video_feature=tf.constant(data["video_feature"]))
    h_g = model({"keyframes": data["keyframes"],
                 "video_feature": data["video_feature"]})
    # Eq. (25) on h and g standardised with the model's training moments.
    h, g = ((h_g[m].numpy().astype(np.float64) - getattr(model, f"mean_{m}").numpy())
            / getattr(model, f"std_{m}").numpy() for m in ("h", "g"))
    # The moments are the data's, not the identity: h is centred.
    assert np.abs(h.mean(axis=0)).max() < 1e-3 < np.abs(h_g["h"].numpy().mean(axis=0)).max()
    fused = classifier.fused_features(
        model.w_h.numpy(), model.w_g.numpy(), model.w_e.numpy(), h, g)
    np.testing.assert_allclose(out["fused_feature"], fused, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(out["class_id"], svm.predict(fused))
    np.testing.assert_allclose(out["scores"], svm.decision_function(fused),
                               rtol=1e-4, atol=1e-4)
    names = [n.decode() for n in out["class_name"].numpy()]
    assert names == [CLASS_NAMES[i] for i in svm.predict(fused)]


def test_single_keyframe_rank_4_and_other_sizes_are_served(exported):
    _, _, data, loaded = exported
    serve = loaded.signatures[export.SIGNATURE]
    one = serve(keyframes=tf.constant(data["keyframes"][:, 0]),
                video_feature=tf.constant(data["video_feature"]))
    as_k1 = serve(keyframes=tf.constant(data["keyframes"][:, :1]),
                  video_feature=tf.constant(data["video_feature"]))
    np.testing.assert_array_equal(one["class_id"], as_k1["class_id"])
    bigger = tf.image.resize(data["keyframes"][:, 0], (96, 80))
    out = serve(keyframes=tf.cast(bigger, tf.uint8),
                video_feature=tf.constant(data["video_feature"]))
    assert out["scores"].shape == (tiny_model.N, len(CLASS_NAMES))


def test_signature_rejects_wrong_shapes_and_dtypes(exported):
    _, _, data, loaded = exported
    serve = loaded.signatures[export.SIGNATURE]
    with pytest.raises(tf.errors.InvalidArgumentError, match="keyframes must"):
        serve(keyframes=tf.zeros([2, 63, 63], tf.uint8),
              video_feature=tf.zeros([2, tiny_model.DV]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="same N"):
        serve(keyframes=tf.zeros([3, 63, 63, 3], tf.uint8),
              video_feature=tf.zeros([2, tiny_model.DV]))
    with pytest.raises((TypeError, tf.errors.InvalidArgumentError), match="uint8"):
        serve(keyframes=tf.zeros([2, 63, 63, 3], tf.float32),
              video_feature=tf.zeros([2, tiny_model.DV]))


def test_class_names_signature_names_the_score_columns(exported):
    _, _, _, loaded = exported
    names = loaded.signatures[export.CLASS_NAMES_SIGNATURE]()["class_names"]
    assert [n.decode() for n in names.numpy()] == CLASS_NAMES
