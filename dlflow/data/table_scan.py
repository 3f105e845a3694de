"""The one pass over a streamed table: every row checked, the parts counted, the classes collected,
the training rows' statistics computed and a hash-drawn sample kept (see `dlflow.data.streaming`).

`plan_columns` decides from the first chunk what each column is (as for a table in memory);
`TableScan` takes the chunks one by one and, at the end, gives the `StreamedTable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlflow.data.dataset import Dataset, InputSpec, TargetSpec, input_names
from dlflow.data.missing import MissingPolicy, check_no_missing, missing_mask
from dlflow.data.split import PARTS, hash_parts, hash_unit
from dlflow.data.table_shards import TableShards
from dlflow.data.table_stream import StreamedTable, TableLayout, TablePart, encode_with_classes, joined_arrays
from dlflow.errors import DataError

SAMPLE_ROWS = 20_000  # training rows kept in memory (text vocabularies, medians, building the model)
VALIDATION_SAMPLE_ROWS = 1_000
SAMPLE_SALT = 1  # the hash that draws the sample is independent of the one that splits


@dataclass
class ColumnPlan:
    """What the first chunk says about the columns: targets, kinds, model inputs, tasks."""

    targets: list[str]
    types: dict[str, str]
    inferred: list[str]
    specs: dict[str, InputSpec]
    tasks: dict[str, str]


def plan_columns(first: Any, data: Any, task: str | None, source: str) -> ColumnPlan:
    """Column kinds (given or inferred), the model inputs and each target's task, from the first chunk."""
    from dlflow.data.tabular import column_types, input_spec, target_columns

    targets = target_columns(first, data.target, source)
    types, inferred = column_types(first, targets, data.features, source)
    specs = {}
    names = input_names([str(c) for c in first.columns])
    for column, kind in types.items():
        if kind != "ignore":
            spec = input_spec(first[column], column, kind, names[column])
            specs[spec.name] = spec
    if not specs:
        raise DataError(
            f"{source}: no feature columns left after removing the target and ignored columns",
            config_path=("data", "features"),
        )
    return ColumnPlan(targets, types, inferred, specs, _target_tasks(first, targets, task, source))


@dataclass
class TableScan:
    """Statistics gathered chunk by chunk over a streamed table (`add`), then the result (`finish`)."""

    plan: ColumnPlan
    shards: TableShards
    policy: MissingPolicy
    seed: int
    fractions: tuple[float, float]
    sample_rate: float
    rows: int = 0
    summaries: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {part: 0 for part in PARTS})
    labels: dict[str, dict[str, dict[Any, int]]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    kept: dict[str, list[tuple[dict, dict]]] = field(default_factory=lambda: {"train": [], "validation": []})
    kept_rows: dict[str, int] = field(default_factory=lambda: {"train": 0, "validation": 0})

    def __post_init__(self) -> None:
        from dlflow.data.stats import ColumnSummary

        self.summaries = {
            n: ColumnSummary(s.role, integer=s.role == "categorical" and s.dtype != "string")
            for n, s in self.plan.specs.items()
            if s.role in ("numeric", "categorical")
        }
        self.labels = {t: {p: {} for p in PARTS} for t in self.plan.targets}
        self.missing = {c: 0 for c in [*self.plan.types, *self.plan.targets]}

    def add(self, frame: Any) -> None:
        """Check and count one chunk (its first row is row `self.rows` of the table)."""
        offset, n = self.rows, len(frame)
        index = np.arange(offset, offset + n)
        parts = hash_parts(index, self.seed, *self.fractions)
        draw = hash_unit(index, self.seed, SAMPLE_SALT) < self.sample_rate
        for column in self.missing:
            self.missing[column] += int(missing_mask(frame[column].to_numpy()).sum())
        inputs = self._inputs(frame, offset)
        raw_targets = self._targets(frame, offset, parts)
        train = parts == 0
        for name, summary in self.summaries.items():
            summary.update(inputs[name][train], sample=draw[train])
        for code, part in enumerate(PARTS):
            self.counts[part] += int((parts == code).sum())
        for part, limit in (("train", SAMPLE_ROWS), ("validation", VALIDATION_SAMPLE_ROWS)):
            take = np.flatnonzero((parts == PARTS.index(part)) & (draw | (part == "validation")))
            take = take[: max(limit - self.kept_rows[part], 0)]
            if len(take):
                self.kept[part].append(
                    ({k: v[take] for k, v in inputs.items()}, {k: v[take] for k, v in raw_targets.items()})
                )
                self.kept_rows[part] += len(take)
        self.rows += n

    def _inputs(self, frame: Any, offset: int) -> dict[str, np.ndarray]:
        from dlflow.data.tabular import column_values

        inputs = {}
        for name, spec in self.plan.specs.items():
            inputs[name] = column_values(frame[spec.column], spec, self.shards.locate, offset)
            check_no_missing(
                spec.column, inputs[name], spec.role, self.policy, lambda r, o=offset: self.shards.locate(r + o)
            )
        return inputs

    def _targets(self, frame: Any, offset: int, parts: np.ndarray) -> dict[str, np.ndarray]:
        source = self.shards.source
        raw_targets = {}
        for name in self.plan.targets:
            values = frame[name].to_numpy()
            absent = missing_mask(values)
            if absent.any():
                raise DataError(
                    f"{self.shards.locate(offset + int(np.flatnonzero(absent)[0]))}: target '{name}' is "
                    f"missing; drop the rows without a target or fill them",
                    config_path=("data", "target"),
                )
            raw_targets[name] = values
            if self.plan.tasks[name] != "regression":
                for code, part in enumerate(PARTS):
                    _count(self.labels[name][part], values[parts == code])
            elif values.dtype.kind not in "iuf":
                raise DataError(
                    f"{source}: target '{name}': regression needs numbers, received values like {values[0]!r}",
                    config_path=("data", "target"),
                )
        return raw_targets

    def finish(self, chunk_rows: int, fingerprint: str) -> StreamedTable:
        """The scan's result: the layout to read the parts with, the counts, the samples and the card's facts."""
        from dlflow.data.stats import preprocessing_stats

        plan, source = self.plan, self.shards.source
        target_specs = {name: _target_spec(name, plan.tasks[name], self.labels[name], source) for name in plan.targets}
        layout = TableLayout(self.shards, chunk_rows, plan.specs, target_specs, self.seed, self.fractions)
        _check_sizes(source, self.rows, self.counts, self.fractions)
        info = {
            "column_types": plan.types,
            "inferred_types": plan.inferred,
            "missing": {c: n for c, n in self.missing.items() if n},
            "missing_policy": self.policy.describe(),
            "rows": self.rows,
            "first_line": None if self.shards.fmt == "parquet" else 2,
            "streamed": True,
            "chunk_rows": chunk_rows,
            "class_counts": {
                t: {p: _jsonable_counts(c, target_specs[t]) for p, c in by.items()}
                for t, by in self.labels.items()
                if plan.tasks[t] != "regression"
            },
        }
        if len(self.shards.files) > 1:
            info["shards"] = len(self.shards.files)
        table = StreamedTable(layout, fingerprint, self.rows, self.counts, {}, info)
        for part in ("train", "validation"):
            sample = _sample_dataset(self.kept[part], layout, info if part == "train" else {})
            if part == "train":
                sample.info["preprocessing"] = preprocessing_stats(self.summaries, self.policy)
            sample.info["stream"] = TablePart(layout, part, self.counts[part], owner=sample.inputs)
            table.samples[part] = sample
        return table


def _target_tasks(frame: Any, targets: list[str], task: str | None, source: str) -> dict[str, str]:
    from dlflow.data.tasks import infer_task

    if (
        len(targets) > 1
        and task in (None, "multilabel")
        and all(set(frame[t].dropna().unique()) <= {0, 1} for t in targets)
    ):
        raise DataError(
            f"{source}: a multilabel table cannot be streamed yet; set data.streaming.enabled: false",
            config_path=("data", "streaming"),
        )
    return {t: task or infer_task(frame[t].to_numpy()) for t in targets}


def _target_spec(name: str, task: str, labels: dict[str, dict[Any, int]], source: str) -> TargetSpec:
    if task == "regression":
        return TargetSpec(name, task, None, ())
    from dlflow.data.tasks import _unique

    classes = _unique(np.array(sorted({c for by in labels.values() for c in by}, key=str), dtype=object))
    if task == "binary" and len(classes) != 2:
        raise DataError(
            f"{source}: target '{name}': binary needs exactly 2 classes, received {len(classes)}",
            config_path=("data", "target"),
        )
    if len(classes) < 2:
        raise DataError(
            f"{source}: target '{name}': classification needs at least 2 classes, received {len(classes)}",
            config_path=("data", "target"),
        )
    return TargetSpec(name, task, tuple(classes), ())


def _check_sizes(source: str, rows: int, counts: dict[str, int], fractions: tuple[float, float]) -> None:
    validation, test = fractions
    if counts["train"] < 2 or (validation > 0 and counts["validation"] < 1) or (test > 0 and counts["test"] < 1):
        raise DataError(
            f"{source}: too few rows for the split: {rows} rows, validation {validation:g} and "
            f"test {test:g} leave {counts['train']} for training, {counts['validation']} for "
            f"validation and {counts['test']} for test",
            config_path=("data", "split"),
        )


def _sample_dataset(kept: list[tuple[dict, dict]], layout: TableLayout, info: dict) -> Dataset:
    specs, target_specs = layout.specs, layout.target_specs
    inputs = {n: joined_arrays([k[0][n] for k in kept], specs[n]) for n in specs}
    targets = {
        n: encode_with_classes(np.concatenate([k[1][n] for k in kept]) if kept else np.empty(0), s)
        for n, s in target_specs.items()
    }
    return Dataset("tabular", inputs, targets, dict(specs), dict(target_specs), layout.source, info=dict(info))


def _count(counter: dict[Any, int], values: np.ndarray) -> None:
    if len(values):
        uniques, numbers = np.unique(values.astype(str) if values.dtype == object else values, return_counts=True)
        for value, number in zip(uniques.tolist(), numbers.tolist(), strict=True):
            counter[value] = counter.get(value, 0) + int(number)


def _jsonable_counts(counter: dict[Any, int], spec: TargetSpec) -> dict[str, int]:
    return {str(label): int(counter.get(label, 0)) for label in spec.classes or ()}
