"""`python -m divafn_tf.main` end to end on the tiny synthetic dataset."""
import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

pytestmark = pytest.mark.e2e  # runs the train command
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _scalar_tags(log_dir):
    tags = set()
    for path in glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"),
                          recursive=True):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def _main(data_dir, model_dir):
    """The console of a run (stdout, then stderr), in a shell that has not set
    TF_CPP_MIN_LOG_LEVEL (importing divafn_tf here set it for this process)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-m", "divafn_tf.main",
         f"--flagfile={ROOT}/flags/tiny.cfg", f"--data_dir={data_dir}",
         f"--model_dir={model_dir}"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The first run also builds the dataset (in the same process)."""
    tmp = tmp_path_factory.mktemp("main")
    model_dir = tmp / "run"
    return model_dir, _main(tmp / "data", model_dir)


def test_main_writes_results_with_the_accuracies_and_the_likelihood_check(tiny_run):
    model_dir, stdout = tiny_run
    results = json.loads((model_dir / "results.json").read_text())
    chance = 1.0 / results["num_classes"]
    for method in ("divafn", "svm"):
        assert 0.0 <= results["accuracy"][method] <= 1.0
    # The video feature separates the synthetic motions: far above chance.
    assert results["accuracy"]["svm"] > 2 * chance
    assert results["flags"]["dataset"] == "divafn/synthetic_tiny"
    assert results["flags"]["epochs"] == 3
    assert results["num_train"] + results["num_test"] == 48
    assert "DIVAFN (SVM on eq. 25 features)" in stdout
    assert "SVM on the video feature alone" in stdout
    assert "KVC (SVM on [untrained keyframe; video])" in stdout
    assert 0.0 <= results["accuracy"]["kvc"] <= 1.0
    likelihood = results["likelihood"]
    assert likelihood["class_prior"] > 0 and likelihood["nll_keyframe_video"] > 0
    assert (f"class-prior level {likelihood['class_prior']:.1f}" in stdout)


# What frameworks print (README, "What a run prints"): none is a line of a run.
FRAMEWORK_MARKERS = ("oneDNN", "cuda", "cpu_feature_guard", "absl::InitializeLog",
                     "Creating a tf.data.Dataset", "Sharding callback",
                     "lifecycle event", "unsupported characters", "INFO:tensorflow",
                     "Downloading and preparing", "examples/s", "\x1b")
# The tiny run's own lines: 5 before training, 2 per epoch (the progress line,
# the test accuracy), 2 checkpoints, 3 after, the summary's 8: 24; a little room.
MAX_LINES = 30


def test_a_first_run_prints_only_the_projects_lines(tiny_run):
    _, console = tiny_run
    lines = console.splitlines()
    assert len(lines) <= MAX_LINES, console
    assert "\r" not in console                                  # no progress bars
    for line in lines:
        assert not any(m.lower() in line.lower() for m in FRAMEWORK_MARKERS), line
        assert not re.search(r"\w+Warning\b", line), line         # Python warnings
        assert not re.match(r"[WEF]\d{4} ", line), line            # absl WARNING+
    assert "Epoch 3/3 - " in console and " - J: " in console    # the progress


def test_main_logs_every_term_to_tensorboard(tiny_run):
    model_dir, _ = tiny_run
    tags = _scalar_tags(str(model_dir / "logs"))
    for term in ("J", "nll_image_video", "nll_image_keyframe",
                 "nll_keyframe_video", "ae_f", "ae_h", "ae_g", "ae_e",
                 "learning_rate", "test_accuracy", "w_solve_seconds",
                 "w_residual_max"):
        assert f"epoch_{term}" in tags, (term, sorted(tags))
    assert "banks/bank_f" in tags


def test_main_exports_a_serving_savedmodel(tiny_run):
    model_dir, _ = tiny_run
    serve = tf.saved_model.load(str(model_dir / "export")).signatures[
        "serving_default"]
    dv = serve.structured_input_signature[1]["video_feature"].shape[1]
    out = serve(keyframes=tf.zeros([2, 1, 40, 40, 3], tf.uint8),
                video_feature=tf.zeros([2, dv]))
    assert out["class_name"].shape == (2,)
    assert np.all(np.isfinite(out["scores"].numpy()))


def test_same_seed_same_model_whether_or_not_the_run_built_the_dataset(tiny_run):
    model_dir, _ = tiny_run
    again = model_dir.parent / "again"
    _main(model_dir.parent / "data", again)   # dataset already built now
    inputs = dict(keyframes=tf.constant(np.random.default_rng(0).integers(
                      0, 256, (3, 2, 32, 32, 3), dtype=np.uint8)),
                  video_feature=tf.constant(np.random.default_rng(1).normal(
                      size=(3, 64)).astype(np.float32)))
    first, second = (tf.saved_model.load(str(d / "export")).signatures[
        "serving_default"](**inputs) for d in (model_dir, again))
    np.testing.assert_allclose(first["fused_feature"], second["fused_feature"],
                               rtol=1e-5, atol=1e-6)


def test_a_bad_class_vectors_file_is_one_sentence(tiny_run, tmp_path):
    """Training's --class_vectors problems end as `error: …`, exit 1."""
    model_dir, _ = tiny_run
    broken = tmp_path / "vectors.json"
    broken.write_text('{"waving_flag": [1, 2], ')
    proc = subprocess.run(
        [sys.executable, "-m", "divafn_tf.main",
         f"--flagfile={ROOT}/flags/tiny.cfg",
         f"--data_dir={model_dir.parent / 'data'}",
         f"--model_dir={tmp_path / 'run'}", f"--class_vectors={broken}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith("error: ")]
    assert len(errors) == 1 and str(broken) in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
