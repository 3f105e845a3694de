"""Splits that cannot leak: a frozen test split, duplicates across parts, K-fold over train + validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import cli_json
from tests.data.test_tables import make_table, write_config


def _dataset(frame: pd.DataFrame | None = None):
    from dlflow.data.tabular import dataset_from_frame

    frame = make_table() if frame is None else frame
    return dataset_from_frame(frame, target="diagnosis", features=None, task=None, source="t.csv")


def _split(dataset, seed: int = 7):
    from dlflow.data.split import make_split

    return make_split(dataset, validation=0.15, test=0.15, stratify=True, seed=seed)


# -- K-fold -------------------------------------------------------------------------------------


def test_kfold_covers_train_and_validation_only_and_is_stratified():
    from dlflow.data.kfold import kfold_splits

    dataset = _dataset()
    split = _split(dataset)
    pool = set(np.concatenate([split.train, split.validation]).tolist())
    labels = dataset.targets["diagnosis"]
    folds = list(kfold_splits(split, dataset, folds=5, repeats=2, seed=3))
    assert len(folds) == 10
    for repeat in (folds[:5], folds[5:]):
        seen = np.concatenate([val for _, val in repeat])
        assert sorted(seen.tolist()) == sorted(pool)  # each sample validates once per repeat
    for train_idx, val_idx in folds:
        assert not set(train_idx) & set(val_idx)
        assert set(train_idx) | set(val_idx) == pool
        assert not set(val_idx) & set(split.test.tolist()) and not set(train_idx) & set(split.test.tolist())
        share = labels[val_idx].mean()
        assert abs(share - labels[list(pool)].mean()) < 0.03  # stratified
    assert not np.array_equal(folds[0][1], folds[5][1])  # each repeat reshuffles
    again = list(kfold_splits(split, dataset, folds=5, repeats=2, seed=3))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))  # and is reproducible


def test_kfold_refuses_a_class_with_fewer_samples_than_folds():
    from dlflow.data.kfold import kfold_splits
    from dlflow.errors import DataError

    frame = make_table()
    frame.loc[:3, "diagnosis"] = "unsure"
    dataset = _dataset(frame)
    from dlflow.data.split import make_split

    split = make_split(dataset, validation=0.15, test=0.15, stratify=False, seed=1)
    with pytest.raises(DataError, match="needs at least 10 samples of each class.*'unsure' has"):
        next(kfold_splits(split, dataset, folds=10))


def test_kfold_on_ordered_data_validates_on_later_samples_only():
    from dlflow.data.dataset import Dataset, InputSpec, TargetSpec
    from dlflow.data.kfold import kfold_splits
    from dlflow.data.split import make_split

    n = 100
    series = Dataset(
        "timeseries",
        {"series": np.arange(n, dtype="float32").reshape(n, 1, 1)},
        {"y": np.arange(n, dtype="float32")},
        {"series": InputSpec("series", (1, 1), "float32", "series")},
        {"y": TargetSpec("y", "regression", None, ())},
        "series.csv",
        ordered=True,
    )
    split = make_split(series, validation=0.2, test=0.2, stratify=False, seed=0)
    for train_idx, val_idx in kfold_splits(split, series, folds=4):
        assert train_idx.max() < val_idx.min()
        assert val_idx.max() < split.test.min()


# -- duplicates across parts ------------------------------------------------------------------------


def test_exact_duplicates_across_parts_are_counted_and_located():
    from dlflow.data.split import find_duplicates, row_digests

    frame = make_table()
    dataset = _dataset(frame)
    split = _split(dataset)
    assert find_duplicates(split, dataset)["train_test"] == 0
    # copy three training rows' features over three test rows (labels may differ: still a leak)
    doubled = frame.copy()
    sources, targets = split.train[:3], split.test[:3]
    features = [c for c in frame.columns if c != "diagnosis"]
    doubled.loc[targets, features] = frame.loc[sources, features].to_numpy()
    leaky = _dataset(doubled)
    found = find_duplicates(split, leaky)
    assert found["train_test"] == 3 and found["train_validation"] == 0 and found["validation_test"] == 0
    assert sorted(map(tuple, found["examples"]["train_test"])) == sorted(zip(sources.tolist(), targets.tolist()))
    assert found["repeated_rows"] == 3
    digests = row_digests(leaky)
    assert (digests[sources] == digests[targets]).all() and len(set(digests[split.train].tolist())) == len(split.train)


def test_frozen_split_stores_duplicates_and_digests(tmp_path):
    from dlflow.data.split import frozen_split, load_split

    dataset = _dataset()
    split, created = frozen_split(dataset, validation=0.15, test=0.15, stratify=True, seed=7, store=tmp_path / "s.npz")
    again, created_again = frozen_split(
        dataset, validation=0.15, test=0.15, stratify=True, seed=7, store=tmp_path / "s.npz"
    )
    assert created and not created_again
    assert again.describe() == split.describe()
    assert load_split(tmp_path / "s.npz").duplicates == split.duplicates
    assert split.describe()["digests"]["test"] == again.digests()["test"]


# -- the hash split of streamed tables ----------------------------------------------------------


def test_hash_parts_are_fixed_by_the_seed_and_near_the_fractions():
    from dlflow.data.split import hash_parts

    index = np.arange(200_000)
    parts = hash_parts(index, seed=11, validation=0.15, test=0.2)
    shares = np.bincount(parts, minlength=3) / len(index)
    assert shares == pytest.approx([0.65, 0.15, 0.2], abs=0.005)
    assert np.array_equal(parts[1000:2000], hash_parts(np.arange(1000, 2000), 11, 0.15, 0.2))  # per row, not per file
    assert not np.array_equal(parts, hash_parts(index, seed=12, validation=0.15, test=0.2))


# -- through the CLI: one test split per experiment -------------------------------------------------


def _split_facts(runs: Path, name: str) -> dict:
    from dlflow.data.split import load_split

    split = load_split(runs / name / "split.npz")
    return {part: getattr(split, part).tolist() for part in ("train", "validation", "test")}


def test_test_split_is_the_same_when_recomputed_and_disjoint(tmp_path):
    make_table(300).to_csv(tmp_path / "t.csv", index=False)
    config = write_config(tmp_path, "t.csv")
    first = cli_json("--runs-dir", "a", "collect", str(config), cwd=tmp_path)
    second = cli_json("--runs-dir", "b", "collect", str(config), cwd=tmp_path)  # a fresh experiment folder
    assert first["split_created"] and second["split_created"]
    assert first["split"]["digests"] == second["split"]["digests"]
    parts = _split_facts(tmp_path / "a", "tables")
    assert parts == _split_facts(tmp_path / "b", "tables")
    train, validation, test = (set(parts[p]) for p in ("train", "validation", "test"))
    assert not (train & test) and not (validation & test) and not (train & validation)
    assert len(train | validation | test) == 300
    third = cli_json("--runs-dir", "a", "collect", str(config), cwd=tmp_path)
    assert not third["split_created"]  # frozen: read back, not recomputed


@pytest.mark.slow
def test_two_training_runs_of_an_experiment_share_the_test_split(tmp_path):
    make_table(200).to_csv(tmp_path / "t.csv", index=False)
    config = write_config(tmp_path, "t.csv", epochs=1)
    runs = [Path(cli_json("train", str(config), cwd=tmp_path)["run"]) for _ in range(2)]
    manifests = [json.loads((run / "manifest.json").read_text())["data"] for run in runs]
    assert runs[0] != runs[1]
    assert manifests[0]["digests"] == manifests[1]["digests"]
    assert manifests[0]["sizes"] == {"train": 140, "validation": 30, "test": 30}
    parts = _split_facts(tmp_path / "runs", "tables")
    assert not set(parts["test"]) & (set(parts["train"]) | set(parts["validation"]))
