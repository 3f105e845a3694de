"""`dlflow tune` through the real CLI: trials on the training split, a leaderboard, best.yaml, resume."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CONFIGS, cli_json, run_cli
from tests.workflow.test_cv import poisoned_experiment, stored_split

TUNE = ["tune", str(CONFIGS / "digits_tune.yaml")]


def _trial_completed(folder: Path, trial: str) -> bool:
    state = folder / "tuner" / f"trial_{trial}" / "trial.json"
    return state.exists() and json.loads(state.read_text() or "{}").get("status") == "COMPLETED"


@pytest.mark.slow  # a longer duplicate of faster checks: make test-all runs it
def test_tune_writes_a_leaderboard_and_a_best_config_that_trains(tmp_path):
    result = cli_json(*TUNE, "--set", "search.max_trials=3", "--set", "fit.epochs=1", cwd=tmp_path)
    folder = Path(result["tune_dir"])
    assert folder.parent == tmp_path / "runs" / "digits-tune" and folder.name.startswith("tune-")
    rows = result["leaderboard"]
    assert len(rows) == 3 and all(r["status"] == "completed" for r in rows)
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)  # val_accuracy: best (highest) first
    assert result["direction"] == "max" and result["best"]["trial"] == rows[0]["trial"]
    assert set(rows[0]["values"]) == {
        "model.sequential[1].Dense.units",
        "model.sequential[1].Dense.activation",
        "model.sequential[2].Dropout.rate",
        "compile.optimizer.Adam.learning_rate",
    }
    with open(folder / "leaderboard.csv") as handle:
        assert [r["trial"] for r in csv.DictReader(handle)] == [r["trial"] for r in rows]
    assert json.loads((folder / "manifest.json").read_text())["status"] == "completed"
    for row in rows:  # each trial's logs, with its values for TensorBoard's HParams dashboard
        logs = folder / "trials" / row["trial"] / "logs"
        assert list(logs.glob("events.out.tfevents.*")) and (logs / "validation").is_dir()
    assert list((folder / "trials").glob("events.out.tfevents.*"))  # the HParams experiment

    best = folder / "best.yaml"
    trained = cli_json("train", str(best), cwd=tmp_path)
    config = (Path(trained["run"]) / "config.yaml").read_text()
    units = rows[0]["values"]["model.sequential[1].Dense.units"]
    assert f"units: {units}" in config
    assert Path(trained["run"]).parent == tmp_path / "runs" / "digits-tune"


@pytest.mark.slow  # a longer check beside faster ones of the same path: make test-all runs it (make test < 10 min)
def test_the_human_leaderboard_is_a_table_on_stdout(tmp_path):
    done = run_cli(
        *TUNE, "--set", "search.max_trials=2", "--set", "fit.epochs=1", "--set", "search.tuner=grid", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 trials, best val_accuracy first (max)" in done.stdout
    assert "Dense.units" in done.stdout and "best config:" in done.stdout and "dlflow train" in done.stdout
    assert "trial 0 (1/2)" in done.stderr and "Epoch" not in done.stdout


def test_a_search_space_that_does_not_fit_the_config_exits_2_before_training(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(
        (CONFIGS / "digits_tune.yaml")
        .read_text()
        .replace("model.sequential[2].Dropout.rate", "model.sequential[3].Dropout.rate")
        .replace("{choice: [relu, gelu, tanh]}", "{choice: [relu, gelu, tanhh]}")
    )
    done = run_cli("tune", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    number = next(i for i, text in enumerate(config.read_text().splitlines(), 1) if "tanhh" in text)
    expected = [
        f"bad.yaml:{number}:",
        "with tanhh: model.sequential[1].Dense.activation: unknown activation 'tanhh'",
        'search.space["model.sequential[3].Dropout.rate"]: model.sequential[3] is Dense, not Dropout',
    ]
    for text in expected:
        assert text in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "runs").exists()


def test_trials_train_and_score_without_the_test_split(tmp_path):
    config, test = poisoned_experiment(tmp_path)
    result = cli_json("tune", str(config), cwd=tmp_path)
    assert np.array_equal(stored_split(tmp_path, "poison").test, test)
    assert [r["status"] for r in result["leaderboard"]] == ["completed", "completed"]
    assert all(np.isfinite(r["score"]) for r in result["leaderboard"])  # a NaN test row would make it NaN
    manifest = json.loads((Path(result["tune_dir"]) / "manifest.json").read_text())
    assert manifest["data"]["trained_on"] == "train" and manifest["data"]["scored_on"] == "validation"


@pytest.mark.slow
def test_eight_trials_bayesian_search(tmp_path):
    result = cli_json(*TUNE, "--set", "search.tuner=bayesian", "--set", "fit.epochs=2", cwd=tmp_path)
    rows = result["leaderboard"]
    assert len(rows) == 8 and len({json.dumps(r["values"], sort_keys=True) for r in rows}) == 8
    assert all(r["status"] == "completed" for r in rows)
    assert Path(result["best_config"]).exists()


@pytest.mark.slow
def test_an_interrupted_search_resumes_without_rerunning_finished_trials(tmp_path):
    args = [*TUNE, "--set", "search.max_trials=3", "--set", "fit.epochs=2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "dlflow.cli", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    experiment = tmp_path / "runs" / "digits-tune"
    deadline, folder = time.time() + 300, None
    while time.time() < deadline and process.poll() is None:
        folders = list(experiment.glob("tune-*")) if experiment.exists() else []
        if folders and _trial_completed(folders[0], "0"):
            folder = folders[0]
            break
        time.sleep(0.05)
    assert folder is not None, "the first trial never completed"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert f"--resume {folder}" in stderr
    assert json.loads((folder / "manifest.json").read_text())["status"] == "interrupted"
    finished = {t for t in ("0", "1", "2") if _trial_completed(folder, t)}
    assert "0" in finished and len(finished) < 3, "the search finished before it could be interrupted"
    stamps = {t: (folder / "trials" / t / "metrics.json").stat().st_mtime_ns for t in finished}

    resumed = run_cli(*args, "--resume", str(folder), "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result = json.loads(resumed.stdout)
    assert Path(result["tune_dir"]) == folder and sorted(experiment.glob("tune-*")) == [folder]
    assert sorted(r["trial"] for r in result["leaderboard"]) == ["0", "1", "2"]
    assert f"resuming: {len(finished)} finished trial(s) kept" in resumed.stderr
    for trial, stamp in stamps.items():  # finished trials were not trained again
        assert f"trial {trial} (" not in resumed.stderr
        assert (folder / "trials" / trial / "metrics.json").stat().st_mtime_ns == stamp
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["resumes"] == 1


def test_resume_refuses_a_changed_search(tmp_path):
    folder = tmp_path / "runs" / "digits-tune" / "tune-20260101-000000"
    folder.mkdir(parents=True)
    from dlflow.config import dump_config, load_config

    (folder / "config.yaml").write_text(dump_config(load_config(CONFIGS / "digits_tune.yaml").config))
    (folder / "manifest.json").write_text(json.dumps({"kind": "tune", "experiment": "digits-tune"}))
    done = run_cli(*TUNE, "--set", "fit.batch_size=16", "--resume", str(folder), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "cannot resume" in done.stderr and "fit.batch_size: 64 -> 16" in done.stderr
