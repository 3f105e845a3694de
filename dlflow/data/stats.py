"""Training statistics for a table's preprocessing, computed in one pass or chunk by chunk.

Per column: Normalization's mean and variance (after missing values are filled), the fill value
of the missing-value policy, and the lookup vocabulary. The same accumulators serve in-memory
tables (one update with the training split) and streamed tables (one update per chunk of
training rows), so both give the model the same preprocessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlflow.data.missing import MISSING_STRING, MissingPolicy, categorical_fill, missing_mask, numeric_fill

STAT_ROLES = ("numeric", "categorical")


@dataclass
class Moments:
    """Count, mean and sum of squared deviations of numbers, merged chunk by chunk (Chan et al.)."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def update(self, values: np.ndarray) -> None:
        """Add a batch of numbers (no NaN)."""
        values = np.asarray(values, dtype="float64").reshape(-1)
        if len(values):
            self.merge(len(values), float(values.mean()), float(((values - values.mean()) ** 2).sum()))

    def merge(self, count: int, mean: float, m2: float) -> None:
        """Add a group of `count` numbers with the given mean and sum of squared deviations."""
        if count == 0:
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean += delta * count / total
        self.m2 += m2 + delta * delta * self.count * count / total
        self.count = total

    @property
    def variance(self) -> float:
        """The population variance (what Normalization uses); 0 with fewer than 2 values."""
        return self.m2 / self.count if self.count else 0.0


@dataclass
class ValueCounts:
    """How often each value occurs."""

    counts: dict[Any, int] = field(default_factory=dict)

    def update(self, values: np.ndarray) -> None:
        if len(values) == 0:
            return
        import pandas as pd

        for value, count in pd.Series(np.asarray(values)).value_counts(sort=False).items():
            value = value.item() if isinstance(value, np.generic) else value
            self.counts[value] = self.counts.get(value, 0) + int(count)

    def most_frequent(self) -> Any:
        """The most frequent value (ties: the first in sorted order); None when empty."""
        if not self.counts:
            return None
        top = max(self.counts.values())
        return sorted((v for v, c in self.counts.items() if c == top), key=_sort_key)[0]


@dataclass
class ColumnSummary:
    """What the preprocessing of one numeric or categorical column needs to know about its training values.

    Args:
        role: numeric or categorical.
        integer: an integer-coded categorical column (float input, IntegerLookup).
    """

    role: str
    integer: bool = False
    rows: int = 0
    missing: int = 0
    moments: Moments = field(default_factory=Moments)
    counts: ValueCounts = field(default_factory=ValueCounts)
    sample: list[np.ndarray] = field(default_factory=list)

    def update(self, values: np.ndarray, sample: np.ndarray | None = None) -> None:
        """Add a batch of raw training values.

        Args:
            values: raw values of the column, one per row.
            sample: rows to keep for the median (all rows when None).
        """
        values = np.asarray(values).reshape(len(values))
        absent = missing_mask(values)
        self.rows += len(values)
        self.missing += int(absent.sum())
        present = values[~absent]
        if self.role == "numeric":
            numbers = present.astype("float64")
            self.moments.update(numbers)
            kept = numbers if sample is None else values[sample & ~absent].astype("float64")
            self.sample.append(kept)
        elif self.integer:
            self.counts.update(present.astype("int64"))
        else:
            self.counts.update(present.astype(str))

    def median(self) -> float | None:
        kept = np.concatenate(self.sample) if self.sample else np.empty(0)
        return float(np.median(kept)) if len(kept) else None


def summarize(inputs: dict[str, np.ndarray], specs: dict[str, Any]) -> dict[str, ColumnSummary]:
    """Summaries of the numeric and categorical inputs of an in-memory training split."""
    out = {}
    for name, spec in specs.items():
        if spec.role in STAT_ROLES:
            out[name] = ColumnSummary(spec.role, integer=spec.role == "categorical" and spec.dtype != "string")
            out[name].update(inputs[name])
    return out


def preprocessing_stats(summaries: dict[str, ColumnSummary], policy: MissingPolicy) -> dict[str, dict[str, Any]]:
    """Fill value, mean and variance (numeric) or fill value and vocabulary (categorical), by input.

    The mean and variance describe the values after filling, as the model's Normalization sees them.
    An integer-coded column also gets its `oov_token` (a value outside its vocabulary).
    """
    out: dict[str, dict[str, Any]] = {}
    for name, summary in summaries.items():
        if summary.role == "numeric":
            fill = numeric_fill(policy, summary.moments.mean, summary.median() if policy.numeric == "median" else None)
            moments = Moments(summary.moments.count, summary.moments.mean, summary.moments.m2)
            if fill is not None:
                moments.merge(summary.missing, fill, 0.0)
            variance = moments.variance if moments.variance > 0 else 1.0
            out[name] = {"fill": fill, "mean": moments.mean, "variance": variance}
            continue
        fill = categorical_fill(policy, summary.counts.most_frequent(), integer=summary.integer)
        values = set(summary.counts.counts)
        if fill is not None and summary.missing:
            values.add(fill)
        vocabulary = sorted(values, key=_sort_key) or [0 if summary.integer else MISSING_STRING]
        entry: dict[str, Any] = {"fill": fill, "vocabulary": vocabulary}
        if summary.integer:
            oov = -1 if -1 not in values else int(min(vocabulary)) - 1
            entry["oov_token"] = oov
            if fill is None and policy.categorical == "constant":
                entry["fill"] = oov  # a non-integer constant: missing values share the unknown bucket
        out[name] = entry
    return out


def _sort_key(value: Any) -> Any:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))
