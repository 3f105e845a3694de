"""`dlflow develop` through the real CLI: baselines, the overfit check, a full run, the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CONFIGS, run_cli

BOTTLENECK = """\
name: digits-bottleneck
data: {source: builtin:digits}
model:
  sequential:
    - Flatten
    - Dense: {units: 64, activation: relu}
    - Dense: {units: 1, activation: relu}     # every digit squeezed through one number
    - Dense: {units: 10, activation: softmax}
"""


def develop_json(*args: str, cwd: Path) -> tuple[int, dict, str]:
    """(exit code, the JSON result, stderr) of `dlflow develop ARGS --json`."""
    done = run_cli("develop", *args, "--json", cwd=cwd)
    assert done.stdout.strip(), done.stderr[-3000:]
    return done.returncode, json.loads(done.stdout), done.stderr


@pytest.mark.slow
def test_develop_breast_cancer_beats_the_baselines_table(tmp_path):
    done = run_cli("develop", str(CONFIGS / "breast_cancer.yaml"), "--epochs", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for name in (
        "the model (sequential)",
        "majority class (benign)",
        "logistic regression",
        "random forest",
        "gradient boosting",
        "overfit check: passed",
        "verdict: PASS",
    ):
        assert name in out, name
    assert "Epoch 1/3" not in out  # progress stays on stderr

    runs = list((tmp_path / "runs" / "breast-cancer").glob("2*/develop.json"))
    assert len(runs) == 1
    report = json.loads(runs[0].read_text())
    assert report["passed"] and report["metric"] == "accuracy"
    assert report["run_status"] == "completed" and (runs[0].parent / "model.keras").exists()
    common = next(b for b in report["baselines"] if b["kind"] == "common-sense")
    assert common["score"] == pytest.approx(0.62, abs=0.03)
    shallow = [b for b in report["baselines"] if b["kind"] == "shallow"]
    assert len(shallow) == 3 and all(b["score"] > 0.9 and b["fit_seconds"] > 0 for b in shallow)
    assert report["model"]["score"] > common["score"]
    assert report["verdict"]["beats_common_sense"] is True
    assert report["curves"]["epochs_completed"] == 3


def test_overfit_check_passes_for_the_digits_convnet(tmp_path):
    code, report, stderr = develop_json(
        str(CONFIGS / "digits_convnet.yaml"), "--skip-train", "--no-shallow", cwd=tmp_path
    )
    assert code == 0
    assert "overfit check: epoch 5/300: loss " in stderr  # progress as it goes, not minutes of silence
    check = report["overfit_check"]
    assert check["passed"] and check["reached"] >= 0.99 and check["epochs"] < 300
    assert check["stopped"] == "reached the goal"
    assert report["run"] is None and report["baselines"][0]["name"].startswith("majority class")
    # No run directory, only the experiment's split and the result.
    assert sorted(p.name for p in (tmp_path / "runs" / "digits-convnet").iterdir()) == ["develop.json", "split.npz"]


@pytest.mark.slow  # a longer check beside faster ones of the same path: make test-all runs it (make test < 10 min)
def test_overfit_check_fails_with_advice_for_a_learning_rate_of_10(tmp_path):
    code, report, stderr = develop_json(
        str(CONFIGS / "digits_convnet.yaml"),
        "--skip-train",
        "--no-shallow",
        "--set",
        "compile.optimizer.Adam.learning_rate=10.0",
        cwd=tmp_path,
    )
    assert code == 1
    assert "error: develop: the overfit check failed" in stderr
    check = report["overfit_check"]
    assert not check["passed"] and check["reached"] < 0.9
    assert "learning rate (10) is likely too high" in check["advice"][0]
    assert report["verdict"]["advice"][0] == check["advice"][0]


@pytest.mark.slow
def test_overfit_check_fails_with_advice_for_a_one_unit_bottleneck(tmp_path):
    (tmp_path / "bottleneck.yaml").write_text(BOTTLENECK)
    done = run_cli(
        "develop", "bottleneck.yaml", "--skip-train", "--no-shallow", "--overfit-epochs", "120", cwd=tmp_path
    )
    assert done.returncode == 1
    assert "overfit check: FAILED" in done.stdout and "verdict: FAIL" in done.stdout
    assert "model.sequential[2]: Dense with 1 unit(s) is a bottleneck" in done.stdout
    report = json.loads((tmp_path / "runs" / "digits-bottleneck" / "develop.json").read_text())
    assert report["passed"] is False


@pytest.mark.slow
def test_develop_exits_1_when_the_model_does_not_beat_the_mean(tmp_path):
    # One epoch from scratch on raw targets (scaling opted out): the network's predictions are still
    # near 0, far from targets around 150.
    code, report, stderr = develop_json(
        str(CONFIGS / "diabetes.yaml"),
        "--epochs",
        "1",
        "--no-shallow",
        "--overfit-epochs",
        "3",
        "--set",
        "data.target_scaling=none",
        cwd=tmp_path,
    )
    assert code == 1
    assert "does not beat the common-sense baseline (mean of the training targets" in stderr
    assert report["metric"] == "mae" and report["higher_is_better"] is False
    assert report["run_status"] == "completed"
    assert report["model"]["score"] > report["baselines"][0]["score"]
    assert Path(report["develop"]).parent == Path(report["run"])
    advice = " ".join(report["verdict"]["advice"])
    assert "data.target_scaling: standardize" in advice  # targets far from the output layer's scale


def test_develop_reports_a_bad_config_as_a_usage_error(tmp_path):
    done = run_cli("develop", str(CONFIGS / "digits_convnet.yaml"), "--set", "fit.epochs=0", cwd=tmp_path)
    assert done.returncode == 2 and "fit.epochs" in done.stderr and "Traceback" not in done.stderr


# The baselines module, in process (evaluate and report call it too): no TensorFlow needed.


def _table(n: int = 240):
    import numpy as np
    import pandas as pd

    from dlflow.data.tabular import dataset_from_frame

    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    label = np.where((colour == "red") | (size > 1.0), "yes", "no")  # learnable from both columns
    frame = pd.DataFrame({"colour": colour, "size": size, "label": label})
    return dataset_from_frame(frame, target="label", features=None, task=None, source="table")


def test_baselines_on_a_table_one_hot_categoricals_and_beat_the_majority():
    from dlflow.workflow.baselines import evaluate_baselines

    data = _table()
    train, holdout = data.take(np.arange(0, 180)), data.take(np.arange(180, 240))
    found = evaluate_baselines(train, holdout, seed=0)
    assert [b.kind for b in found] == ["common-sense", "shallow", "shallow", "shallow"]
    majority = found[0]
    assert majority.name.startswith("majority class (") and majority.metric == "accuracy"
    assert all(b.score is not None and b.score > majority.score + 0.15 for b in found[1:]), found


def test_last_value_baseline_for_windows():
    from dlflow.data.dataset import Dataset, InputSpec, TargetSpec
    from dlflow.workflow.baselines import common_sense_baseline

    series = np.arange(40, dtype="float32")
    windows = np.stack([series[i : i + 5] for i in range(30)])[..., None]  # (30, 5, 1)
    targets = series[5:35].astype("float32")  # the next value: the last value is always 1 behind
    data = Dataset(
        "timeseries",
        {"series": windows},
        {"y": targets},
        {"series": InputSpec("series", (5, 1), "float32", "series")},
        {"y": TargetSpec("y", "regression", None, ())},
        "series",
        ordered=True,
        info={"last_value": {"input": "series", "feature_index": 0}},
    )
    baseline = common_sense_baseline(data.take(np.arange(20)), data.take(np.arange(20, 30)))
    assert baseline.name == "last value" and baseline.metric == "mae"
    assert baseline.score == pytest.approx(1.0)


def test_score_outputs_reads_sigmoid_softmax_and_logits():
    from dlflow.data.dataset import TargetSpec
    from dlflow.workflow.scores import is_better, score_outputs

    binary = TargetSpec("y", "binary", ("no", "yes"), ())
    truth = np.array([0.0, 1.0, 1.0, 0.0])
    assert score_outputs(binary, truth, np.array([[0.1], [0.9], [0.6], [0.4]])) == 1.0
    assert score_outputs(binary, truth, np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])) == 1.0
    assert score_outputs(binary, truth, np.array([[-3.0], [2.0], [0.5], [-0.1]])) == 1.0  # logits
    multiclass = TargetSpec("y", "multiclass", (0, 1, 2), ())
    assert score_outputs(multiclass, np.array([2, 0]), np.array([[0, 0.2, 0.8], [0.3, 0.6, 0.1]])) == 0.5
    regression = TargetSpec("y", "regression", None, ())
    assert score_outputs(regression, np.array([1.0, 3.0]), np.array([[2.0], [3.0]])) == 0.5
    assert is_better("mae", 0.4, 0.5) and is_better("accuracy", 0.6, 0.5) and not is_better("mae", None, 1.0)
