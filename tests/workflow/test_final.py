"""`dlflow train --final` through the real CLI: train+validation, the best epoch count, then evaluate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, cli_json, run_cli

MLP = str(CONFIGS / "digits_mlp.yaml")


def test_final_without_an_earlier_run_exits_2(tmp_path):
    done = run_cli("train", MLP, "--final", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "from a completed run of experiment 'digits-mlp'" in done.stderr and "train first" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_final_trains_on_train_and_validation_for_the_best_epoch_count_then_evaluates(tmp_path):
    first = run_cli("train", MLP, "--set", "fit.epochs=4", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    source = json.loads(first.stdout)
    assert "20/20" in first.stderr  # 1257 training samples in batches of 64

    done = run_cli("train", MLP, "--final", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    final = json.loads(done.stdout)
    epochs = source["best_epoch"]
    assert final["final"]["epochs"] == epochs and final["epochs_completed"] == epochs
    assert final["final"]["from_run"] == source["run"] and final["final"]["trained_on"] == "train+validation"
    assert "24/24" in done.stderr and "20/20" not in done.stderr  # 1257 + 270 samples in batches of 64
    assert re.search(r"Epoch \d+/" + str(epochs) + r"\b", done.stderr)
    assert "dropped callback EarlyStopping (it monitors val_loss)" in done.stderr
    assert final["monitor"] == "loss" and "val_loss" not in final["best"]

    run = Path(final["run"])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["final"]["epochs"] == epochs
    assert "EarlyStopping" not in (run / "config.yaml").read_text()
    evaluated = cli_json("evaluate", str(run), cwd=tmp_path)
    assert evaluated["samples"] == 270 and 0.0 <= evaluated["metrics"]["accuracy"] <= 1.0

    again = run_cli("train", MLP, "--final", "--set", "fit.batch_size=64", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["final"]["from_run"] == source["run"]  # final runs are never the source
