"""TensorBoard beyond scalars (issue 16, item 2), read back with TensorBoard's
own readers: the confusion-matrix image of every evaluation, the training
images and keyframes per class, and the Embedding Projector (its config
parsed by projector_config_pb2, its tensors served by the projector plugin)."""
import glob
import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from PIL import Image
from tensorboard.backend.event_processing import data_provider
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.projector import projector_config_pb2
from tensorboard.plugins.projector.projector_plugin import ProjectorPlugin
from werkzeug import test as werkzeug_test
from werkzeug import wrappers

from divafn_tf import callbacks, train
from divafn_tf.config import RunConfig
from divafn_tf.evaluation import VideoSet

CLASSES = ["wave", "jump", "clap hands"]


def _images(run_dir: str) -> dict[str, list]:
    """tag → image events of a run, by TensorBoard's event accumulator."""
    accumulator = event_accumulator.EventAccumulator(
        run_dir, size_guidance={event_accumulator.IMAGES: 0,
                                event_accumulator.TENSORS: 0})
    accumulator.Reload()
    found = {tag: accumulator.Images(tag)
             for tag in accumulator.Tags()[event_accumulator.IMAGES]}
    # tf.summary.image (TF2) writes tensors of the image plugin.
    for tag in accumulator.Tags()[event_accumulator.TENSORS]:
        found[tag] = accumulator.Tensors(tag)
    return found


def _png_sizes(events) -> list[tuple[int, int]]:
    """(width, height) of every PNG an image event (TF2 tensor) holds."""
    sizes = []
    for event in events:
        values = tf.make_ndarray(event.tensor_proto)   # [w, h, png, png, ...]
        sizes += [Image.open(io.BytesIO(png)).size for png in values[2:]]
    return sizes


def _projector_files(folder: str) -> projector_config_pb2.ProjectorConfig:
    with open(os.path.join(folder, "projector_config.pbtxt")) as f:
        return text_format.Parse(f.read(), projector_config_pb2.ProjectorConfig())


def _served(logdir: str, route: str, **query) -> bytes:
    """What TensorBoard's projector plugin serves for ``route`` (its HTTP
    handlers, runs discovered by TensorBoard's multiplexer as the server does)."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    plugin = ProjectorPlugin(base_plugin.TBContext(
        logdir=logdir, multiplexer=multiplexer,
        data_provider=data_provider.MultiplexerDataProvider(multiplexer, logdir)))
    client = werkzeug_test.Client(plugin.get_plugin_apps()[route],
                                  wrappers.Response)
    response = client.get(route, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data()


def test_projector_files_load_in_tensorboards_projector(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 2, 1])
    test = VideoSet(rng.normal(size=(5, 7)), labels,
                    rng.normal(size=(5, 4)), rng.normal(size=(5, 4)))
    fused = rng.normal(size=(5, 9)).astype(np.float32)
    folder = tmp_path / "logs" / "projector"
    callbacks.write_projector(str(folder), test, fused, np.array([0, 1, 2, 1, 1]),
                              CLASSES)
    config = _projector_files(str(folder))
    assert [e.tensor_name.split("/")[0] for e in config.embeddings] == list(
        callbacks.PROJECTOR_TENSORS)
    lines = (folder / "metadata.tsv").read_text().splitlines()
    assert lines == ["class\tpredicted", "wave\twave", "jump\tjump",
                     "clap hands\tclap hands", "clap hands\tjump", "jump\tjump"]
    logdir = str(tmp_path / "logs")
    assert json.loads(_served(logdir, "/runs")) == ["projector"]
    served = json.loads(_served(logdir, "/info", run="projector"))
    shapes = {e["tensorName"]: e["tensorShape"] for e in served["embeddings"]}
    key = "{}/.ATTRIBUTES/VARIABLE_VALUE".format
    assert shapes == {key("fused_b"): [5, 9], key("keyframe_h"): [5, 4],
                      key("video_g"): [5, 4]}
    tensor = np.frombuffer(_served(logdir, "/tensor", run="projector",
                                   name=key("fused_b")), np.float32)
    np.testing.assert_array_equal(tensor.reshape(5, 9), fused)


def test_the_confusion_matrix_is_an_image_event(tmp_path):
    callbacks.write_confusion_matrix(str(tmp_path), 4, np.array([0, 1, 2, 2]),
                                     np.array([0, 2, 2, 2]), CLASSES, "epoch 5")
    events = _images(str(tmp_path))[callbacks.CONFUSION_TAG]
    assert [e.step for e in events] == [4]
    (width, height), = _png_sizes(events)
    assert width > 200 and height > 200


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A two-epoch run of the tiny config, evaluated every epoch."""
    tmp = tmp_path_factory.mktemp("tensorboard")
    config = RunConfig(dataset="divafn/synthetic_tiny", data_dir=str(tmp / "data"),
                       model_dir=str(tmp / "run"), image_size=64, cnn_width=0.25,
                       fc_units=64, video_hidden=64, d=32, optimizer="adam",
                       learning_rate=1e-3, batch_size=16, epochs=2,
                       eval_every=1, export=False)
    results = train.run(config)
    return tmp / "run", results


@pytest.mark.e2e  # tiny_model_dir: train.run
def test_a_run_logs_confusion_matrices_inputs_and_the_projector(tiny_model_dir):
    model_dir, results = tiny_model_dir
    logs = model_dir / "logs"
    # A confusion matrix at each of the two evaluations, and the final one.
    confusion = _images(str(logs / "evaluation"))[callbacks.CONFUSION_TAG]
    assert [e.step for e in confusion] == [0, 1, 2]
    inputs = _images(str(logs / "inputs"))
    image_tags = sorted(t for t in inputs if t.startswith("images/"))
    assert len(image_tags) == results["num_classes"]
    for tag in image_tags:
        sizes = _png_sizes(inputs[tag])
        keyframes = _png_sizes(inputs["keyframes/" + tag.split("/", 1)[1]])
        assert 1 <= len(sizes) <= 3 and len(keyframes) >= len(sizes)
        assert set(sizes) | set(keyframes) == {(64, 64)}   # after the resize
    projector = logs / "projector"
    config = _projector_files(str(projector))
    assert len(config.embeddings) == 3
    reader = tf.train.load_checkpoint(str(projector))
    shapes = {e.tensor_name: reader.get_variable_to_shape_map()[e.tensor_name]
              for e in config.embeddings}
    num_test = results["num_test"]
    fused = shapes.pop("fused_b/.ATTRIBUTES/VARIABLE_VALUE")
    assert fused[0] == num_test and fused[1] % 3 == 0    # [n, 3k], eq. (25)
    assert shapes == {"keyframe_h/.ATTRIBUTES/VARIABLE_VALUE": [num_test, 32],
                      "video_g/.ATTRIBUTES/VARIABLE_VALUE": [num_test, 32]}
    assert len((projector / "metadata.tsv").read_text().splitlines()) == num_test + 1
    assert glob.glob(str(projector / "events.out.tfevents.*"))
    assert json.loads(_served(str(logs), "/runs")) == ["projector"]
