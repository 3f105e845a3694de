"""Time series (timeseries, builtin:sunspots/co2): windows, a leak-free chronological split,
normalization from training windows, training through the CLI, and whole-sequence arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import CONFIGS, cli_json, run_cli
from tests.data.kinds_helpers import assert_data_error, write_config

MLP = ["Flatten", {"Dense": {"units": 8, "activation": "relu"}}, {"Dense": {"units": 1}}]


def _series_csv(path: Path, rows: int = 200) -> Path:
    """A time-ordered table: a date column, the row number `t`, a noisy wave `y` to forecast."""
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2020-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "t": t,
            "y": np.sin(t / 5) + rng.normal(0, 0.1, rows),
        }
    )
    frame.to_csv(path, index=False)
    return path


def _load(data: dict, task: str | None = None):
    from dlflow.config import loads_config
    from dlflow.data.sources import load_dataset

    config = {"name": "t", "data": data, "model": {"sequential": MLP}, **({"task": task} if task else {})}
    loaded = loads_config(yaml.safe_dump(config), "t.yaml")
    return load_dataset(loaded.config.data, loaded.config.task), loaded


# -- windows ------------------------------------------------------------------------------------


def test_windows_follow_the_documented_rule(tmp_path):
    source = _series_csv(tmp_path / "s.csv")
    window = {"length": 10, "horizon": 3, "stride": 2, "sampling_rate": 2}
    dataset, _ = _load({"source": str(source), "target": "y", "window": window})
    frame = pd.read_csv(source)
    assert dataset.kind == "timeseries" and dataset.ordered
    assert dataset.info["columns"] == ["t", "y"] and dataset.info["ignored"] == ["date"]
    assert dataset.info["time_column"] == "date"
    series = dataset.inputs["series"]
    assert series.shape[1:] == (5, 2) and dataset.input_specs["series"].role == "series"
    for i in range(len(dataset)):
        end = int(series[i, -1, 0])  # column t holds the row number
        assert series[i, :, 0].tolist() == [end - 8, end - 6, end - 4, end - 2, end]
        assert dataset.targets["y"][i] == pytest.approx(frame["y"][end + 3], abs=1e-6)
    assert dataset.info["last_value"] == {"input": "series", "feature_index": 1}


def test_sampling_rate_one_matches_keras_timeseries_dataset_from_array(tmp_path):
    import keras

    source = _series_csv(tmp_path / "s.csv", rows=60)
    split = {"validation": 0.0, "test": 0.0}
    dataset, _ = _load(
        {
            "source": str(source),
            "target": "y",
            "window": {"length": 7, "horizon": 2, "stride": 3},
            "features": {"t": "ignore"},
            "split": split,
        }
    )
    values = pd.read_csv(source)[["y"]].to_numpy("float32")
    reference = keras.utils.timeseries_dataset_from_array(
        values[:-2], targets=values[7 - 1 + 2 :, 0], sequence_length=7, sequence_stride=3, batch_size=1000
    )
    inputs, targets = next(iter(reference))
    assert np.allclose(dataset.inputs["series"], inputs.numpy())
    assert np.allclose(dataset.targets["y"], targets.numpy())


def test_builtin_series_load_through_the_time_series_kind():
    sunspots, _ = _load({"source": "builtin:sunspots", "window": {"length": 24}})
    assert sunspots.kind == "timeseries" and sunspots.inputs["series"].shape[1:] == (24, 1)
    assert list(sunspots.target_specs) == ["sunactivity"] and sunspots.info["ignored"] == ["year"]
    co2, _ = _load({"source": "builtin:co2", "window": {"length": 52, "stride": 4}})
    assert co2.inputs["series"].shape[1:] == (52, 1) and co2.info["time_column"] == "date"
    assert co2.target_specs["co2"].task == "regression"


# -- the split: chronological, no leakage --------------------------------------------------------


def test_chronological_split_has_no_overlap_and_no_leakage(tmp_path):
    """Through the CLI: the stored split keeps time order and no row is in two parts' windows."""
    from dlflow.data.split import load_split

    source = _series_csv(tmp_path / "s.csv")
    window = {"length": 12, "horizon": 3, "stride": 1, "sampling_rate": 1}
    data = {"source": str(source), "target": "y", "window": window}
    config = write_config(tmp_path, "leak", data, MLP)
    cli_json("train", str(config), cwd=tmp_path)
    split = load_split(tmp_path / "runs" / "leak" / "split.npz")
    assert split.chronological
    dataset, _ = _load(data)
    assert split.fingerprint == dataset.fingerprint()
    assert np.array_equal(np.concatenate([split.train, split.validation, split.test]), np.arange(len(dataset)))
    rows = {}
    for part in ("train", "validation", "test"):
        windows = dataset.inputs["series"][getattr(split, part), :, 0].astype(int)  # column t: row numbers
        targets = windows[:, -1] + 3
        rows[part] = (windows.min(), targets.max(), set(targets.tolist()))
        assert list(dataset.info["parts_rows"][part]) == [windows.min(), targets.max()]
    train_rows = set(range(rows["train"][0], rows["train"][1] + 1))
    assert rows["train"][1] < rows["validation"][0] and rows["validation"][1] < rows["test"][0]
    assert not (rows["validation"][2] | rows["test"][2]) & train_rows  # no holdout target in a training window
    assert dataset.info["windows_dropped"] == 2 * (12 + 3 - 1)


def test_series_normalization_uses_training_windows_only(tmp_path):
    from dlflow.data.split import make_split
    from dlflow.model.inputs import build_inputs

    source = tmp_path / "trend.csv"
    pd.DataFrame(
        {"level": np.arange(300, dtype=float) ** 1.5, "noise": np.random.default_rng(1).normal(5, 2, 300)}
    ).to_csv(source, index=False)
    dataset, _ = _load({"source": str(source), "target": "level", "window": {"length": 10}})
    split = make_split(dataset, validation=0.15, test=0.15, stratify=False, seed=0)
    train = dataset.take(split.train)
    inputs = build_inputs(train)
    layer = inputs.combined._keras_history.operation
    assert layer.name == "normalize_series" and layer.axis == (-1,)
    steps = np.asarray(train.inputs["series"]).reshape(-1, 2).astype("float64")
    assert np.allclose(np.asarray(layer.mean).reshape(-1), steps.mean(axis=0), rtol=1e-5)
    assert np.allclose(np.asarray(layer.variance).reshape(-1), steps.var(axis=0), rtol=1e-5)
    everything = np.asarray(dataset.inputs["series"]).reshape(-1, 2).mean(axis=0)
    assert not np.isclose(np.asarray(layer.mean).reshape(-1)[0], everything[0], rtol=1e-2)


# -- training through the CLI ------------------------------------------------------------------


@pytest.mark.slow  # make test-all; keeps make test under 10 minutes on 2 cores
def test_sunspots_config_trains_and_evaluates_briefly(tmp_path):
    result = cli_json(
        "train", str(CONFIGS / "sunspots.yaml"), "--set", "fit.epochs=3", "--set", "fit.verbose=0", cwd=tmp_path
    )
    manifest = json.loads((Path(result["run"]) / "manifest.json").read_text())
    assert manifest["data"]["kind"] == "timeseries" and manifest["data"]["chronological"]
    assert manifest["data"]["sizes"] == {"train": 165, "validation": 36, "test": 36}
    evaluation = cli_json("evaluate", "sunspots", cwd=tmp_path)
    assert evaluation["targets"]["sunactivity"]["task"] == "regression" and evaluation["metrics"]["mae"] > 0


@pytest.mark.slow
def test_sunspots_config_beats_the_last_value_baseline(tmp_path):
    from dlflow.config import load_config
    from dlflow.data.sources import load_dataset
    from dlflow.data.split import load_split

    cli_json("train", str(CONFIGS / "sunspots.yaml"), "--set", "fit.verbose=0", cwd=tmp_path)
    evaluation = cli_json("evaluate", "sunspots", cwd=tmp_path)
    loaded = load_config(CONFIGS / "sunspots.yaml")
    dataset = load_dataset(loaded.config.data, loaded.config.task)
    test = dataset.take(load_split(tmp_path / "runs" / "sunspots" / "split.npz").test)
    last = test.info["last_value"]
    baseline = np.mean(np.abs(test.inputs[last["input"]][:, -1, last["feature_index"]] - test.targets["sunactivity"]))
    assert evaluation["metrics"]["mae"] < baseline, (evaluation["metrics"], baseline)


@pytest.mark.slow  # a longer check beside faster ones of the same path: make test-all runs it (make test < 10 min)
def test_whole_sequence_classification_from_npz_trains_conv1d_and_lstm_layers(tmp_path):
    """Each digit's 8 pixel rows as a sequence of 8 steps x 8 features (kind arrays)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(tmp_path / "rows.npz", rows=(digits.images / 16.0).astype("float32"), digit=digits.target)
    layers = [
        {"Conv1D": {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}},
        {"LSTM": {"units": 32}},
        {"Dense": {"units": 10, "activation": "softmax"}},
    ]
    config = write_config(
        tmp_path,
        "rows",
        {"source": "rows.npz", "target": "digit"},
        layers,
        compile={"optimizer": {"Adam": {"learning_rate": 0.01}}},
        fit={"epochs": 4, "batch_size": 64, "verbose": 0},
    )
    result = cli_json("train", str(config), cwd=tmp_path)
    manifest = json.loads((Path(result["run"]) / "manifest.json").read_text())
    assert manifest["data"]["kind"] == "arrays" and manifest["data"]["inputs"][0]["shape"] == [8, 8]
    assert result["last"]["val_accuracy"] > 0.5, result["last"]  # 10 classes: chance is 0.1


# -- bad data ----------------------------------------------------------------------------------


def test_window_longer_than_the_series_is_a_data_error(tmp_path):
    source = _series_csv(tmp_path / "s.csv", rows=50)
    config = write_config(tmp_path, "long", {"source": str(source), "target": "y", "window": {"length": 60}}, MLP)
    assert_data_error(
        run_cli("train", str(config), cwd=tmp_path),
        "data.window.length",
        "a window of length 60 plus horizon 1 needs at least 61 rows, but the series has 50",
    )


def test_too_few_windows_for_the_split_is_a_data_error_naming_the_length(tmp_path):
    from dlflow.errors import DataError

    source = _series_csv(tmp_path / "s.csv", rows=50)
    with pytest.raises(DataError) as caught:
        _load({"source": str(source), "target": "y", "window": {"length": 20}})
    assert caught.value.config_path == ("data", "window", "length")
    assert "50 rows give 30 windows of length 20" in caught.value.message


def test_builtin_series_without_a_window_is_a_data_error(tmp_path):
    config = write_config(tmp_path, "nowindow", {"source": "builtin:sunspots"}, MLP)
    assert_data_error(run_cli("collect", str(config), cwd=tmp_path), "data.window", "builtin:sunspots is a time series")


def test_non_numeric_column_task_and_gaps_are_data_errors(tmp_path):
    from dlflow.errors import DataError

    source = _series_csv(tmp_path / "s.csv")
    frame = pd.read_csv(source)
    frame["city"] = "Paris"
    frame.to_csv(source, index=False)
    data = {"source": str(source), "target": "y", "window": {"length": 5}}
    with pytest.raises(DataError, match="column 'city': a window takes numbers, received 'Paris'"):
        _load(data)
    assert _load({**data, "features": {"city": "ignore"}})[0].info["ignored"] == ["date", "city"]
    with pytest.raises(DataError, match="expected task regression"):
        _load({**data, "features": {"city": "ignore"}}, task="multiclass")
    frame.loc[7, "y"] = np.nan
    frame.to_csv(source, index=False)
    with pytest.raises(DataError, match="row 9, column 'y' has no value"):
        _load({**data, "features": {"city": "ignore"}})
