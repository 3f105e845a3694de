"""Honest splits: holdout fixed by the seed and the data's fingerprint, stored once per experiment.

Every run, `tune` and `cv` of an experiment reads the same stored split, so the test set stays
the same and untouched; only `dlflow evaluate` reads its samples.

- `frozen_split`: the holdout split (stratified for classification, chronological for ordered
  data), stored in runs/<name>/split.npz with exact duplicate inputs across parts counted
  (`dlflow.data.duplicates`);
- `kfold_splits` (`dlflow.data.kfold`): K-fold and iterated K-fold over train + validation only (never test);
- `hash_parts` / `HashSplit`: the split of a streamed table, by a seeded hash of the row index,
  so no index arrays are needed to read a part.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlflow.config.task_kinds import is_classification
from dlflow.data.dataset import Dataset, as_bytes
from dlflow.data.duplicates import find_duplicates, row_digests  # noqa: F401  (their old home)
from dlflow.errors import DataError
from dlflow.runs.files import atomic_path

PARTS = ("train", "validation", "test")


@dataclass
class Split:
    """Sample indices of each part, and what they were computed from.

    `duplicates` counts samples whose inputs exactly repeat a sample of another part (see
    `find_duplicates`); they are reported, never silently dropped.
    """

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    fingerprint: str
    seed: int
    fractions: tuple[float, float]
    stratified: bool
    chronological: bool
    duplicates: dict[str, Any] | None = None

    def sizes(self) -> dict[str, int]:
        return {part: int(len(getattr(self, part))) for part in PARTS}

    def digests(self) -> dict[str, str]:
        """A short SHA-256 of each part's indices: equal digests mean identical parts."""
        return {part: _digest(getattr(self, part)) for part in PARTS}

    def describe(self) -> dict:
        """JSON-ready facts for the manifest."""
        out = {
            "sizes": self.sizes(),
            "fingerprint": self.fingerprint,
            "seed": self.seed,
            "validation": self.fractions[0],
            "test": self.fractions[1],
            "stratified": self.stratified,
            "chronological": self.chronological,
            "digests": self.digests(),
        }
        if self.duplicates is not None:
            out["duplicates"] = self.duplicates
        return out


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
            f"and test {test:g} leave {n - n_test - n_val} for training, "
            f"{n_val} for validation and {n_test} for test",
            config_path=("data", "split"),
        )
    fractions = (validation, test)
    if dataset.ordered:
        idx = np.arange(n)
        return Split(
            idx[: n - n_val - n_test],
            idx[n - n_val - n_test : n - n_test],
            idx[n - n_test :],
            dataset.fingerprint(),
            seed,
            fractions,
            False,
            True,
        )
    labels = stratify_labels(dataset) if stratify else None
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    try:
        rest, test_idx = _cut(idx, n_test, labels, seed, train_test_split)
        rest_labels = labels[rest] if labels is not None else None
        train_idx, val_idx = _cut(rest, n_val, rest_labels, seed + 1, train_test_split)
    except ValueError as exc:
        raise DataError(
            f"{dataset.source}: cannot stratify the split: {exc}; set data.split.stratify: false "
            f"or collect more samples of the rare classes",
            config_path=("data", "split"),
        ) from exc
    return Split(
        np.sort(train_idx),
        np.sort(val_idx),
        np.sort(test_idx),
        dataset.fingerprint(),
        seed,
        fractions,
        labels is not None,
        False,
    )


def frozen_split(
    dataset: Dataset,
    *,
    validation: float,
    test: float,
    stratify: bool,
    seed: int,
    store: Path,
    trained_on: dict | None = None,
) -> tuple[Split, bool]:
    """The experiment's stored split when it still matches; otherwise a new one, stored.

    Args:
        trained_on: for an existing run, its manifest's `data` (fingerprint and split digests): a
            split computed now is stored only when it is the very split the run was trained on.

    Returns:
        (split, created): created is True when the split was computed now.
    """
    fingerprint = dataset.fingerprint()
    stored = load_split(store)
    if (
        isinstance(stored, Split)
        and stored.fingerprint == fingerprint
        and stored.seed == seed
        and stored.fractions == (validation, test)
        and sum(stored.sizes().values()) == len(dataset)
    ):
        if stored.duplicates is None:
            stored.duplicates = find_duplicates(stored, dataset)
        return stored, False
    split = make_split(dataset, validation=validation, test=test, stratify=stratify, seed=seed)
    if trained_on is not None:
        check_same_split(split, trained_on, store)
    split.duplicates = find_duplicates(split, dataset)
    save_split(split, store)
    return split, True


def save_split(split: Split | "HashSplit", path: Path) -> None:
    """Write the split atomically as an .npz of indices (none for a hash split) plus its metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(split, HashSplit):
        meta = {
            "method": "hash",
            "fingerprint": split.fingerprint,
            "seed": split.seed,
            "fractions": split.fractions,
            "rows": split.rows,
            "counts": split.counts,
        }
        arrays: dict[str, np.ndarray] = {}
    else:
        meta = {
            "method": "holdout",
            "fingerprint": split.fingerprint,
            "seed": split.seed,
            "fractions": split.fractions,
            "stratified": split.stratified,
            "chronological": split.chronological,
            "duplicates": split.duplicates,
        }
        arrays = {"train": split.train, "validation": split.validation, "test": split.test}
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)


def load_split(path: Path) -> "Split | HashSplit | None":
    """The split stored at `path`, or None when there is none.

    Raises:
        DataError: the file is damaged (not an .npz dlflow wrote).
    """
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            if meta.get("method") == "hash":
                return HashSplit(
                    meta["fingerprint"],
                    meta["seed"],
                    tuple(meta["fractions"]),
                    meta["rows"],
                    {k: int(v) for k, v in meta["counts"].items()},
                )
            return Split(
                archive["train"],
                archive["validation"],
                archive["test"],
                meta["fingerprint"],
                meta["seed"],
                tuple(meta["fractions"]),
                meta["stratified"],
                meta["chronological"],
                meta.get("duplicates"),
            )
    except Exception as exc:  # noqa: BLE001 - any failure to read it means the file is damaged
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}"
        raise DataError(
            f"{path}: the experiment's stored split is damaged ({reason}); restore it from a backup, "
            f"or delete it: dlflow computes it again and keeps it only if it matches the runs "
            f"trained on it"
        ) from None


def check_same_split(split: "Split | HashSplit", trained_on: dict, store: Path) -> None:
    """Refuse a split computed now that differs from the one a run was trained on (its manifest's `data`)."""
    fingerprint = trained_on.get("fingerprint")
    if fingerprint and fingerprint != split.fingerprint:
        raise DataError(
            f"the data changed since this run was trained (fingerprint {fingerprint} -> "
            f"{split.fingerprint}); its test split no longer exists",
            config_path=("data", "source"),
        )
    digests = trained_on.get("digests")
    if isinstance(split, Split) and digests and digests != split.digests():
        raise DataError(
            f"{store} is missing and the split computed now differs from the one this run was trained "
            f"on (digests {digests} -> {split.digests()}); restore {store.name} from a backup"
        )


# -- streamed tables: a split by a seeded hash of the row index ---------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def hash_unit(index: np.ndarray, seed: int, salt: int = 0) -> np.ndarray:
    """A uniform number in [0, 1) per row index, fixed by `seed` and `salt` (splitmix64)."""
    with np.errstate(over="ignore"):
        z = (
            np.asarray(index, dtype=np.uint64)
            + np.uint64(seed & 0xFFFFFFFF) * _GOLDEN
            + np.uint64(salt + 1) * np.uint64(0xD1B54A32D192ED03)
        )
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def hash_parts(index: np.ndarray, seed: int, validation: float, test: float) -> np.ndarray:
    """The part of each row index: 0 train, 1 validation, 2 test (by `hash_unit`, not stratified)."""
    u = hash_unit(index, seed)
    return np.where(u < test, 2, np.where(u < test + validation, 1, 0)).astype(np.int8)


@dataclass
class HashSplit:
    """The split of a streamed table: a row's part is `hash_parts(row index)`.

    Index arrays are only computed when asked for (`train`, `validation`, `test`); reading a part
    from disk needs none.
    """

    fingerprint: str
    seed: int
    fractions: tuple[float, float]
    rows: int
    counts: dict[str, int]
    stratified: bool = False
    chronological: bool = False
    duplicates: dict[str, Any] | None = None

    def indices(self, part: str) -> np.ndarray:
        parts = hash_parts(np.arange(self.rows), self.seed, *self.fractions)
        return np.flatnonzero(parts == PARTS.index(part))

    train = property(lambda self: self.indices("train"))
    validation = property(lambda self: self.indices("validation"))
    test = property(lambda self: self.indices("test"))

    def sizes(self) -> dict[str, int]:
        return {part: int(self.counts.get(part, 0)) for part in PARTS}

    def describe(self) -> dict:
        """JSON-ready facts for the manifest."""
        return {
            "sizes": self.sizes(),
            "fingerprint": self.fingerprint,
            "seed": self.seed,
            "validation": self.fractions[0],
            "test": self.fractions[1],
            "stratified": False,
            "chronological": False,
            "method": "hash",
            "streamed": True,
        }


def _digest(indices: np.ndarray) -> str:
    return hashlib.sha256(as_bytes(np.ascontiguousarray(indices, dtype=np.int64))).hexdigest()[:12]


def stratify_labels(dataset: Dataset) -> np.ndarray | None:
    """The class of each sample, for a single-target classification data set; else None."""
    if len(dataset.target_specs) != 1 or not is_classification(dataset.task):
        return None
    return np.asarray(next(iter(dataset.targets.values()))).reshape(-1).astype(np.int64)


def _cut(idx, n_out, labels, seed, train_test_split):
    if n_out == 0:
        return idx, idx[:0]
    return train_test_split(idx, test_size=n_out, random_state=seed, shuffle=True, stratify=labels)
