"""Regression targets are learned standardized; the model, its exports and `evaluate` answer in raw units."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CONFIGS, cli_json, run_cli

DIABETES = CONFIGS / "diabetes.yaml"


def _training_targets(config: Path, work: Path, overrides: tuple[str, ...] = ()) -> tuple:
    """(loaded config, prepared data) of a config, with the experiment's stored split under `work`."""
    from dlflow.config import load_config
    from dlflow.workflow.prepared_data import prepare_data

    loaded = load_config(config, overrides)
    return loaded, prepare_data(loaded, work / "runs")


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory) -> dict:
    """configs/diabetes.yaml as shipped (target_scaling left out), a few epochs."""
    work = tmp_path_factory.mktemp("scaling")
    done = run_cli("train", str(DIABETES), "--set", "fit.epochs=8", "--set", "fit.verbose=0", "--json", cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"work": work, "run": Path(json.loads(done.stdout)["run"]), "stderr": done.stderr}


def test_regression_trains_on_standardized_targets_recorded_with_training_moments(diabetes_run):
    import keras

    import dlflow.model.table_layers  # noqa: F401 - registers FillMissing for loading a table model

    run = diabetes_run["run"]
    assert (
        "default: data.target_scaling: standardize (the model learns progression standardized" in diabetes_run["stderr"]
    )
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["defaults"] == {"data.target_scaling": "standardize"}
    _, data = _training_targets(DIABETES, diabetes_run["work"])
    train_y = data.train.targets["progression"].astype("float64")
    recorded = manifest["target_scaling"]["progression"]
    assert recorded["method"] == "standardize"
    assert recorded["mean"] == pytest.approx([train_y.mean()], rel=1e-9)
    assert recorded["std"] == pytest.approx([train_y.std()], rel=1e-9)
    model = keras.saving.load_model(run / "model.keras")
    scaling = model.get_layer("progression")
    assert isinstance(scaling, keras.layers.Normalization) and scaling.invert and not scaling.trainable_weights
    assert np.asarray(scaling.mean).reshape(-1) == pytest.approx([train_y.mean()], rel=1e-6)
    assert isinstance(model.get_layer("progression_standardized"), keras.layers.Dense)


@pytest.mark.slow  # a longer check beside faster ones of the same path: make test-all runs it (make test < 10 min)
def test_saved_model_and_evaluate_answer_in_the_targets_units(diabetes_run):
    from dlflow.export.saved_model import predict

    work, run = diabetes_run["work"], diabetes_run["run"]
    exported = cli_json("export", str(run), "--format", "saved_model", cwd=work)
    assert exported["formats"]["saved_model"]["ok"]
    _, data = _training_targets(DIABETES, work)
    test = data.dataset.take(data.split.test)
    outputs = predict(run / "export" / "saved_model", {k: v.astype("float32") for k, v in test.inputs.items()})
    predicted = next(iter(outputs.values())).reshape(-1)
    truth = test.targets["progression"].reshape(-1)
    assert abs(predicted.mean() - truth.mean()) < 0.3 * truth.mean()  # raw units (about 150), not about 0
    evaluation = cli_json("evaluate", str(run), cwd=work)
    assert evaluation["metrics"]["mae"] == pytest.approx(np.abs(predicted - truth).mean(), rel=1e-3)
    assert evaluation["metrics"]["mae"] > 20  # the standardized scale would read below 1


def test_opt_out_fits_raw_values_without_a_scaling_layer(tmp_path):
    from dlflow.model.build import build_model
    from dlflow.model.choices import model_choices

    loaded, data = _training_targets(DIABETES, tmp_path, ("data.target_scaling=none",))
    choices = model_choices(loaded.config, data.train)
    assert choices.scaled == {} and choices.defaults == []
    model = build_model(loaded.config, data.train, choices=choices)
    assert type(model.get_layer("progression")).__name__ == "Dense"
    assert not any(type(layer).__name__ == "Normalization" and layer.invert for layer in model.layers)


def test_an_output_rescaling_of_the_users_own_is_not_scaled_twice(tmp_path):
    import yaml

    from dlflow.model.choices import model_choices

    raw = yaml.safe_load(DIABETES.read_text())
    raw["model"]["sequential"].append({"Rescaling": {"scale": 78.0, "offset": 152.0}})
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(raw))
    loaded, data = _training_targets(tmp_path / "own.yaml", tmp_path)
    choices = model_choices(loaded.config, data.train)
    assert choices.scaled == {}
    assert [(d.path, d.value) for d in choices.defaults] == [("data.target_scaling", "none")]
    assert "your Rescaling" in choices.defaults[0].line()
    loaded, data = _training_targets(tmp_path / "own.yaml", tmp_path, ("data.target_scaling=standardize",))
    assert list(model_choices(loaded.config, data.train).scaled) == ["progression"]  # written: it runs


def test_standardize_on_a_classification_task_is_a_located_error(tmp_path):
    from dlflow.errors import ConfigError
    from dlflow.model.choices import model_choices

    loaded, data = _training_targets(CONFIGS / "breast_cancer.yaml", tmp_path, ("data.target_scaling=standardize",))
    with pytest.raises(ConfigError, match="standardize applies to regression targets") as caught:
        model_choices(loaded.config, data.train)
    assert caught.value.config_path == ("data", "target_scaling")
    loaded, _ = _training_targets(CONFIGS / "breast_cancer.yaml", tmp_path)  # left out: nothing to scale
    assert model_choices(loaded.config, data.train).scaled == {}


def test_functional_model_scales_each_regression_output_and_leaves_classes_alone(tmp_path):
    import keras
    import yaml

    from dlflow.config import load_config
    from dlflow.data.sources import load_dataset
    from dlflow.model.build import build_model, compile_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    np.savez(
        tmp_path / "multi.npz",
        x=x.astype("float32"),
        price=(1000 + 300 * x[:, 0]).astype("float32"),
        size=(-50 + 5 * x[:, 1]).astype("float32"),
        big=(x[:, 2] > 0).astype("int64"),
    )
    graph = {
        "inputs": ["x"],
        "outputs": ["price", "size", "big"],
        "layers": {
            "hidden": {"Dense": {"units": 8, "activation": "relu"}, "inputs": "x"},
            "price": {"Dense": {"units": 1}, "inputs": "hidden"},
            "size": {"Dense": {"units": 1}, "inputs": "hidden"},
            "big": {"Dense": {"units": 1, "activation": "sigmoid"}, "inputs": "hidden"},
        },
    }
    config = {
        "name": "multi",
        "data": {"source": "multi.npz", "target": ["price", "size", "big"], "split": {"stratify": False}},
        "model": {"functional": graph},
    }
    (tmp_path / "multi.yaml").write_text(yaml.safe_dump(config))
    loaded = load_config(tmp_path / "multi.yaml")
    train = load_dataset(loaded.config.data, loaded.config.task)
    model = build_model(loaded.config, train)
    for name, mean in (("price", 1000), ("size", -50)):
        assert model.get_layer(name).invert and model.get_layer(name).mean.numpy()[0] == pytest.approx(
            train.targets[name].mean(), rel=1e-5
        )
        assert abs(float(train.targets[name].mean()) - mean) < abs(mean) * 0.2
    assert isinstance(model.get_layer("big"), keras.layers.Dense)
    compile_model(model, loaded.config, train.target_specs)
    outputs = model.predict(train.model_inputs(), verbose=0)
    assert abs(outputs["price"].mean() - 1000) < 300  # an untrained model already answers near the mean


@pytest.mark.slow
def test_lstm_forecaster_on_sunspots_beats_its_raw_scale_twin(tmp_path):
    """A one-step LSTM on yearly sunspots: standardized targets end far below the raw-scale fit."""
    import yaml

    config = {
        "name": "lstm",
        "seed": 1337,
        "task": "regression",
        "data": {
            "source": str(CONFIGS.parent / "datasets" / "sunspots.csv"),
            "format": "timeseries",
            "target": "sunactivity",
            "features": {"year": "ignore"},
            "window": {"length": 24},
        },
        "model": {"sequential": [{"LSTM": {"units": 32}}, {"Dense": {"units": 1}}]},
        "compile": {"optimizer": "adam", "loss": "mse", "metrics": ["mae"]},
        "fit": {
            "epochs": 100,
            "batch_size": 16,
            "verbose": 0,
            "callbacks": [{"EarlyStopping": {"monitor": "val_loss", "patience": 20, "restore_best_weights": True}}],
        },
    }
    (tmp_path / "lstm.yaml").write_text(yaml.safe_dump(config))
    mae = {}
    for scaling in ("standardize", "none"):
        cli_json("train", "lstm.yaml", "--set", f"data.target_scaling={scaling}", cwd=tmp_path)
        mae[scaling] = cli_json("evaluate", "lstm", cwd=tmp_path)["metrics"]["mae"]
    assert mae["standardize"] < 25 and mae["standardize"] < 0.6 * mae["none"], mae
