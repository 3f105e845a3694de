"""What training watches and what the last layer gives must fit the data: checked before the run exists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dlflow.errors import ConfigError


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """A small binary table (80 rows) and the folder it is in."""
    folder = tmp_path_factory.mktemp("outputs")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    frame["label"] = np.where(frame["a"] > 0, "yes", "no")
    frame.to_csv(folder / "t.csv", index=False)
    return folder


def _config(table: Path, units: int = 1, activation: str = "sigmoid", **sections) -> Path:
    """A config next to its own runs folder (a fresh one per config written)."""
    folder = Path(__import__("tempfile").mkdtemp(dir=table))
    config = {
        "name": "outs",
        "seed": 1,
        "data": {"source": str(table / "t.csv"), "target": "label"},
        "model": {"sequential": [{"Dense": {"units": units, "activation": activation}}]},
        "fit": {"epochs": 1, "batch_size": 16, "verbose": 0},
    }
    for key, value in sections.items():
        config.setdefault(key, {}).update(value)
    path = folder / "outs.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _train(path: Path, overrides=()):
    from dlflow.workflow.training import train

    return train(path, list(overrides), runs_root=path.parent / "runs")


def _refused(path: Path, overrides=()) -> str:
    with pytest.raises(ConfigError) as info:
        _train(path, overrides)
    assert not any((path.parent / "runs" / "outs").glob("2*")), "a run directory was created"
    return info.value.message


@pytest.mark.parametrize(
    "monitor, fragment",
    [
        (
            "val_los",
            "fit.monitor: training logs no 'val_los' (did you mean 'val_loss'?); expected one of: "
            "loss, accuracy, val_loss, val_accuracy",
        ),
        ("val_auc", "training logs no 'val_auc'"),
    ],
)
def test_unknown_fit_monitor_is_refused_before_the_run_exists(table, monitor, fragment):
    assert fragment in _refused(_config(table), [f"fit.monitor={monitor}"])


def test_callback_monitor_is_checked_against_the_written_metrics(table):
    path = _config(
        table,
        compile={"metrics": [{"AUC": {"name": "auc"}}]},
        fit={"callbacks": [{"EarlyStopping": {"monitor": "val_acc", "patience": 2}}]},
    )
    message = _refused(path)
    assert "fit.callbacks[0].EarlyStopping.monitor: training logs no 'val_acc'" in message
    assert "expected one of: loss, auc, val_loss, val_auc" in message


def test_empty_monitor_is_refused_by_validate(table):
    from dlflow.config import load_config

    with pytest.raises(ConfigError, match=r"fit.monitor: .*at least 1"):
        load_config(_config(table), ["fit.monitor="])


def test_logged_names_follow_keras_for_several_outputs():
    from dlflow.model.build import logged_names

    assert logged_names({"a": "mse", "b": "mse"}, {"a": ["mae"], "b": ["accuracy"]}, True) == [
        "loss",
        "a_loss",
        "b_loss",
        "a_mae",
        "b_accuracy",
    ]


def test_binary_target_with_two_softmax_units_trains_with_the_matching_loss(table):
    from dlflow.workflow.predict import predict

    result = _train(_config(table, units=2, activation="softmax"))
    assert result.metrics["epochs_completed"] == 1
    predict(str(result.run.path), table / "t.csv", runs_root=result.run.path.parents[1], output=str(table / "p.csv"))
    predictions = pd.read_csv(table / "p.csv")
    assert set(predictions["prediction"]) <= {"yes", "no"}
    assert predictions["prediction_confidence"].between(0.5, 1).all()


def test_binary_target_with_two_units_refuses_a_written_binary_loss(table):
    path = _config(table, units=2, activation="softmax", compile={"loss": "binary_crossentropy"})
    message = _refused(path)
    assert "compile.loss: the binary target 'label' has a 2-unit output" in message
    assert "sparse_categorical_crossentropy" in message
