"""K-fold and iterated K-fold over the train + validation samples of a frozen split; never test."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from dlflow.data.dataset import Dataset
from dlflow.data.split import HashSplit, Split, stratify_labels
from dlflow.errors import DataError


def kfold_splits(
    split: Split, dataset: Dataset, *, folds: int = 5, repeats: int = 1, seed: int | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """K-fold (or iterated K-fold) over the train + validation samples of a frozen split; never test.

    Each repeat reshuffles with its own seed (`seed + repeat`); folds are stratified by class for
    single-target classification. Ordered data (time series) gets expanding-window folds instead
    (each fold validates on the samples right after its training samples), and only one repeat.

    Args:
        split: the experiment's frozen split.
        dataset: the data set the split indexes.
        folds: K, at least 2.
        repeats: how many times to repeat K-fold with a fresh shuffle.
        seed: the shuffles' seed; the split's seed when None.

    Yields:
        (train_indices, validation_indices): indices into `dataset`, repeat by repeat, fold by fold.

    Raises:
        DataError: fewer samples than folds, or a class with fewer samples than folds.
    """
    pool = check_kfold(split, dataset, folds=folds, repeats=repeats)
    seed = split.seed if seed is None else seed
    if dataset.ordered:
        from sklearn.model_selection import TimeSeriesSplit

        for train_at, val_at in TimeSeriesSplit(n_splits=folds).split(pool):
            yield pool[train_at], pool[val_at]
        return
    labels = stratify_labels(dataset)
    from sklearn.model_selection import KFold, StratifiedKFold

    for repeat in range(repeats):
        if labels is not None:
            stratified = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + repeat)
            folds_of = stratified.split(pool, labels[pool])
        else:
            folds_of = KFold(n_splits=folds, shuffle=True, random_state=seed + repeat).split(pool)
        for train_at, val_at in folds_of:
            yield np.sort(pool[train_at]), np.sort(pool[val_at])


def check_kfold(split: Any, dataset: Dataset, *, folds: int, repeats: int = 1) -> np.ndarray:
    """The train + validation indices K-fold draws from, after checking K folds are possible."""
    if isinstance(split, HashSplit):
        raise DataError(
            f"{dataset.source}: K-fold needs the table in memory, but it is streamed; "
            f"set data.streaming.enabled: false",
            config_path=("data", "streaming"),
        )
    if folds < 2:
        raise DataError(f"K-fold needs at least 2 folds, received {folds}")
    if repeats < 1:
        raise DataError(f"K-fold needs at least 1 repeat, received {repeats}")
    if dataset.ordered and repeats > 1:
        raise DataError(
            f"{dataset.source}: repeated K-fold reshuffles, which time-ordered data forbids; use one repeat"
        )
    pool = np.sort(np.concatenate([split.train, split.validation]))
    if len(pool) < folds:
        raise DataError(f"{dataset.source}: {len(pool)} samples in train + validation, fewer than the {folds} folds")
    labels = None if dataset.ordered else stratify_labels(dataset)
    if labels is not None:
        values, counts = np.unique(labels[pool], return_counts=True)
        spec = next(iter(dataset.target_specs.values()))
        rare = [
            (spec.classes[int(v)] if spec.classes else v, int(c))
            for v, c in zip(values, counts, strict=True)
            if c < folds
        ]
        if rare:
            named = ", ".join(f"'{label}' has {count}" for label, count in rare)
            fewest = min(count for _, count in rare)
            advice = f"use at most {fewest} folds" if fewest >= 2 else "drop that class"
            raise DataError(
                f"{dataset.source}: {folds}-fold cross-validation needs at least {folds} samples "
                f"of each class in train + validation, but {named}; {advice} "
                f"or collect more samples"
            )
    return pool
