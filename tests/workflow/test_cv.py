"""`dlflow cv` through the real CLI: K-fold on train+validation only, mean ± std, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CONFIGS, cli_json, run_cli

POISON_CONFIG = """\
name: poison
seed: 1337
task: multiclass
data:
  source: data.npz
  target: y
  split: {validation: 0.2, test: 0.2, stratify: true}
model:
  sequential:
    - Dense: {units: 8, activation: relu}
    - Dense: {units: 3, activation: softmax}
fit:
  epochs: 2
  batch_size: 16
search:
  tuner: random
  max_trials: 2
  objective: val_loss
  space:
    fit.batch_size: {choice: [16, 32]}
"""


def poisoned_experiment(folder: Path) -> tuple[Path, np.ndarray]:
    """An .npz experiment whose test-split samples are NaN: training or scoring on any of them
    turns a loss NaN. Returns the config and the test indices (the split dlflow will freeze)."""
    from dlflow.config import load_config
    from dlflow.data.sources import load_dataset
    from dlflow.data.split import make_split

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 240)
    features = (rng.normal(size=(240, 4)) + labels[:, None]).astype("float32")
    np.savez(folder / "data.npz", x=features, y=labels)
    config = folder / "poison.yaml"
    config.write_text(POISON_CONFIG)
    loaded = load_config(config).config
    test = make_split(load_dataset(loaded.data, loaded.task), validation=0.2, test=0.2, stratify=True, seed=1337).test
    features[test] = np.nan
    np.savez(folder / "data.npz", x=features, y=labels)
    return config, test


def stored_split(work: Path, experiment: str):
    from dlflow.data.split import load_split

    return load_split(work / "runs" / experiment / "split.npz")


@pytest.mark.slow
def test_five_fold_cv_on_wine_prints_mean_and_std(tmp_path):
    done = run_cli("cv", str(CONFIGS / "wine.yaml"), "--folds", "5", "--set", "fit.epochs=3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "±" in done.stdout and "val_accuracy" in done.stdout and "val_loss" in done.stdout
    assert "the test split is not used" in done.stderr
    folder = next((tmp_path / "runs" / "wine").glob("cv-*"))
    result = json.loads((folder / "cv.json").read_text())
    assert [f["fold"] for f in result["per_fold"]] == [f"r1-f{i}" for i in range(1, 6)]
    accuracy = result["summary"]["val_accuracy"]
    assert 0.0 <= accuracy["mean"] <= 1.0 and accuracy["std"] >= 0.0 and len(accuracy["values"]) == 5
    assert f"{accuracy['mean']:.4f} ± {accuracy['std']:.4f}" in done.stdout
    assert json.loads((folder / "manifest.json").read_text())["status"] == "completed"
    for fold in result["per_fold"]:
        assert (folder / "folds" / fold["fold"] / "history.csv").exists()
        assert fold["train"] + fold["validation"] == 151  # wine's train + validation, never its 27 test rows


def test_a_class_with_fewer_samples_than_folds_exits_2(tmp_path):
    done = run_cli("cv", str(CONFIGS / "wine.yaml"), "--folds", "45", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "'class_2' has 41" in done.stderr and "use at most 41 folds" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list((tmp_path / "runs" / "wine").glob("cv-*"))  # refused before any fold ran


@pytest.mark.slow  # the other cv tests stay in make test; make test-all runs this
def test_iterated_folds_come_from_train_and_validation_never_the_test_split(tmp_path):
    config, test = poisoned_experiment(tmp_path)
    result = cli_json("cv", str(config), "--folds", "2", "--repeats", "2", "--set", "fit.epochs=1", cwd=tmp_path)
    assert [f["fold"] for f in result["per_fold"]] == ["r1-f1", "r1-f2", "r2-f1", "r2-f2"]
    assert set(result["summary"]["val_loss"]) >= {"mean", "std", "min", "max", "values"}
    split = stored_split(tmp_path, "poison")
    assert np.array_equal(split.test, test)  # the NaN rows are exactly the frozen test split
    pool = np.sort(np.concatenate([split.train, split.validation]))
    folder = Path(result["cv_dir"])
    validated = []
    for fold in result["per_fold"]:
        indices = np.load(folder / "folds" / fold["fold"] / "indices.npz")
        assert not set(indices["train"]) & set(test) and not set(indices["validation"]) & set(test)
        assert set(indices["train"]) | set(indices["validation"]) == set(pool)
        validated.append(np.sort(indices["validation"]))
        assert np.isfinite(fold["metrics"]["val_loss"]) and np.isfinite(fold["metrics"]["loss"])
    for repeat in (validated[:2], validated[2:]):
        assert np.array_equal(np.sort(np.concatenate(repeat)), pool)  # each sample validated once per repeat
    assert not np.array_equal(validated[0], validated[2])  # the second repeat reshuffled


@pytest.mark.parametrize(
    "args, message", [(["--folds", "1"], "--folds of at least 2"), (["--repeats", "0"], "--repeats of at least 1")]
)
def test_bad_fold_counts_exit_2(tmp_path, args, message):
    done = run_cli("cv", str(CONFIGS / "wine.yaml"), *args, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
