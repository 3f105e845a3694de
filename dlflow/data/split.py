"""Honest splits: holdout fixed by the seed and the data's fingerprint, stored once per experiment.

Every run, `tune` and `cv` of an experiment reads the same stored split, so the test set stays
the same and untouched; only `dlflow evaluate` reads its samples.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlflow.data.dataset import Dataset
from dlflow.errors import DataError

PARTS = ("train", "validation", "test")


@dataclass
class Split:
    """Sample indices of each part, and what they were computed from."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    fingerprint: str
    seed: int
    fractions: tuple[float, float]
    stratified: bool
    chronological: bool

    def sizes(self) -> dict[str, int]:
        return {part: int(len(getattr(self, part))) for part in PARTS}

    def describe(self) -> dict:
        """JSON-ready facts for the manifest."""
        return {"sizes": self.sizes(), "fingerprint": self.fingerprint, "seed": self.seed,
                "validation": self.fractions[0], "test": self.fractions[1],
                "stratified": self.stratified, "chronological": self.chronological}


def make_split(dataset: Dataset, *, validation: float, test: float, stratify: bool, seed: int) -> Split:
    """Split a dataset into train/validation/test.

    Ordered data (time series) is split chronologically: train, then validation, then test.
    Otherwise samples are shuffled with `seed`, stratified by class for single-target
    classification when `stratify` is true.
    """
    n = len(dataset)
    n_test, n_val = int(round(n * test)), int(round(n * validation))
    if n - n_test - n_val < 2 or (test > 0 and n_test < 1) or (validation > 0 and n_val < 1):
        raise DataError(
            f"{dataset.source}: too few samples for the split: {n} samples, validation {validation:g} "
            f"and test {test:g} leave {n - n_test - n_val} for training", config_path=("data", "split"),
        )
    fractions = (validation, test)
    if dataset.ordered:
        idx = np.arange(n)
        return Split(idx[: n - n_val - n_test], idx[n - n_val - n_test: n - n_test], idx[n - n_test:],
                     dataset.fingerprint(), seed, fractions, False, True)
    labels = _stratify_labels(dataset) if stratify else None
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    try:
        rest, test_idx = _cut(idx, n_test, labels, seed, train_test_split)
        rest_labels = labels[rest] if labels is not None else None
        train_idx, val_idx = _cut(rest, n_val, rest_labels, seed + 1, train_test_split)
    except ValueError as exc:
        raise DataError(f"{dataset.source}: cannot stratify the split: {exc}; set data.split.stratify: false "
                        f"or collect more samples of the rare classes", config_path=("data", "split")) from exc
    return Split(np.sort(train_idx), np.sort(val_idx), np.sort(test_idx), dataset.fingerprint(), seed,
                 fractions, labels is not None, False)


def frozen_split(dataset: Dataset, *, validation: float, test: float, stratify: bool, seed: int,
                 store: Path) -> tuple[Split, bool]:
    """The experiment's stored split when it still matches; otherwise a new one, stored.

    Returns:
        (split, created): created is True when the split was computed now.
    """
    fingerprint = dataset.fingerprint()
    stored = load_split(store)
    if (stored is not None and stored.fingerprint == fingerprint and stored.seed == seed
            and stored.fractions == (validation, test) and sum(stored.sizes().values()) == len(dataset)):
        return stored, False
    split = make_split(dataset, validation=validation, test=test, stratify=stratify, seed=seed)
    save_split(split, store)
    return split, True


def save_split(split: Split, path: Path) -> None:
    """Write the split atomically as an .npz of indices plus its metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"fingerprint": split.fingerprint, "seed": split.seed, "fractions": split.fractions,
                       "stratified": split.stratified, "chronological": split.chronological})
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    with os.fdopen(fd, "wb") as handle:
        np.savez(handle, train=split.train, validation=split.validation, test=split.test, meta=np.array(meta))
    os.replace(tmp, path)


def load_split(path: Path) -> Split | None:
    """The split stored at `path`, or None when there is none."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["meta"]))
        return Split(archive["train"], archive["validation"], archive["test"], meta["fingerprint"],
                     meta["seed"], tuple(meta["fractions"]), meta["stratified"], meta["chronological"])


def _stratify_labels(dataset: Dataset) -> np.ndarray | None:
    if len(dataset.target_specs) != 1 or dataset.task not in ("binary", "multiclass"):
        return None
    return np.asarray(next(iter(dataset.targets.values()))).reshape(-1)


def _cut(idx, n_out, labels, seed, train_test_split):
    if n_out == 0:
        return idx, idx[:0]
    return train_test_split(idx, test_size=n_out, random_state=seed, shuffle=True, stratify=labels)
