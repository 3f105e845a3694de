"""Functional (two inputs, two outputs) and factory (subclassed) models end to end, and strategies."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import CONFIGS, cli_json, run_cli


@pytest.mark.slow  # a longer check beside faster ones of the same path: make test-all runs it (make test < 10 min)
def test_functional_two_inputs_two_outputs_train_evaluate_predict(tmp_path):
    result = cli_json("train", str(CONFIGS / "multi_io.yaml"), "--set", "fit.epochs=4", cwd=tmp_path)
    best = result["best"]
    assert {"val_digit_accuracy", "val_even_accuracy", "val_digit_loss", "val_even_loss"} <= set(best)
    evaluation = cli_json("evaluate", result["run"], cwd=tmp_path)
    assert set(evaluation["targets"]) == {"digit", "even"}
    assert evaluation["targets"]["digit"]["accuracy"] > 0.5
    data = np.load(CONFIGS.parent / "datasets" / "digits_multi_io.npz")
    np.savez(tmp_path / "new.npz", image=data["image"][:8], profile=data["profile"][:8])
    predicted = cli_json("predict", result["run"], str(tmp_path / "new.npz"), cwd=tmp_path)
    assert predicted["rows"] == 8 and set(predicted["predictions"]) == {"digit", "even"}


@pytest.mark.slow  # factory models train in test_factory_own_loop.py and test_trust_code.py; make test-all
def test_factory_subclassed_model_trains_and_reloads(tmp_path):
    result = cli_json("train", str(CONFIGS / "digits_factory.yaml"), "--set", "fit.epochs=3", cwd=tmp_path)
    assert result["best"]["val_accuracy"] > 0.5
    evaluation = cli_json("evaluate", result["run"], "--trust-code", cwd=tmp_path)  # imports my_models for its class
    assert evaluation["metrics"]["accuracy"] > 0.5


@pytest.mark.slow  # a longer duplicate of faster checks: make test-all runs it
def test_tabular_binary_keeps_labels_slices_and_second_look_warning(tmp_path):
    result = cli_json("train", str(CONFIGS / "breast_cancer.yaml"), "--set", "fit.epochs=5", cwd=tmp_path)
    evaluation = cli_json("evaluate", result["run"], "--slice-by", "mean radius", cwd=tmp_path)
    assert evaluation["targets"]["diagnosis"]["classes"] == ["benign", "malignant"]
    assert evaluation["metrics"]["accuracy"] > 0.85
    sliced = evaluation["slices"]["mean radius"]
    assert sum(g["samples"] for g in sliced["groups"].values()) == evaluation["samples"]
    assert len(sliced["groups"]) == 4 and sliced["gap"] >= 0
    assert "warning" not in evaluation
    again = run_cli("evaluate", result["run"], cwd=tmp_path)
    assert again.returncode == 0 and "no longer an unbiased estimate" in again.stderr
    bad = run_cli("evaluate", result["run"], "--slice-by", "radius", cwd=tmp_path)
    assert bad.returncode == 2 and "not an input column" in bad.stderr


@pytest.mark.slow  # make test-all; keeps make test under 10 minutes on 2 cores
def test_runs_compares_an_experiment_best_first_and_report_embeds_plots(tmp_path):
    config = str(CONFIGS / "digits_mlp.yaml")
    for epochs in (1, 3):
        cli_json("train", config, "--set", f"fit.epochs={epochs}", "--set", "fit.callbacks=[]", cwd=tmp_path)
    rows = cli_json("runs", "--experiment", "digits-mlp", cwd=tmp_path)["runs"]
    assert [r["differs"]["fit.epochs"] for r in rows] == [3, 1]  # best val_loss first
    report = cli_json("report", "digits-mlp", cwd=tmp_path)
    page = open(report["report"]).read()
    assert page.count("data:image/svg+xml;base64,") >= 2 and "http://" not in page and "https://" not in page


def test_mirrored_strategy_over_two_logical_cpus_matches_one_device(tmp_path):
    common = [
        "train",
        str(CONFIGS / "digits_mlp.yaml"),
        "--set",
        "fit.epochs=3",
        "--set",
        "fit.callbacks=[]",
        "--set",
        "model.sequential[2].Dropout.rate=0.0",
        "--set",
        "runtime.deterministic=true",
    ]
    single = cli_json(*common, "--set", "runtime.strategy=none", cwd=tmp_path)
    mirrored = cli_json(*common, "--set", "runtime.strategy=mirrored", cwd=tmp_path)
    manifest = json.loads((tmp_path / mirrored["run"] / "manifest.json").read_text())
    assert manifest["runtime"]["strategy"] == "mirrored" and manifest["runtime"]["replicas"] == 2
    for key in ("val_loss", "val_accuracy"):
        assert abs(single["last"][key] - mirrored["last"][key]) < 0.02, (key, single["last"], mirrored["last"])


def test_diverging_training_exits_1(tmp_path):
    done = run_cli(
        "train",
        str(CONFIGS / "diabetes.yaml"),
        "--set",
        "fit.epochs=3",
        "--set",
        "fit.callbacks=[]",
        "--set",
        "compile.optimizer.Adam.learning_rate=1e12",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr[-1500:]
    assert "diverged" in done.stderr and "Traceback" not in done.stderr
