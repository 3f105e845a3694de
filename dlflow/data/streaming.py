"""Tables larger than memory, read from disk in chunks so memory stays flat as the file grows.

A table streams when `data.streaming.enabled` is true, or `auto` and its estimated in-memory size
exceeds `data.streaming.threshold_mb`. Then:

1. one pass over the file (`scan_table`) validates every row (the same checks and messages as an
   in-memory table), counts the parts, collects the target's classes and computes, from the
   TRAINING rows only, everything the model's preprocessing needs: streaming mean and variance
   for Normalization, value counts for the lookup vocabularies, fill values for missing values,
   and a hash-drawn sample of training rows (for text vocabularies, medians and building the model);
2. a row's part (train, validation, test) is `dlflow.data.split.hash_parts` of its row index,
   so reading a part needs no index arrays (not stratified; the data card shows each part's
   class balance);
3. training reads each part through a tf.data pipeline over the file's chunks (`TablePart`):
   rows are shuffled within each chunk of `chunk_rows` rows, with a seed per epoch.

Column types are inferred from the first chunk when `data.features` leaves them out.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dlflow.data.dataset import Dataset, InputSpec, TargetSpec, input_names
from dlflow.data.missing import MissingPolicy, check_no_missing, missing_mask
from dlflow.data.split import PARTS, hash_parts, hash_unit
from dlflow.errors import ConfigError, DataError

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
SAMPLE_ROWS = 20_000  # training rows kept in memory (text vocabularies, medians, building the model)
VALIDATION_SAMPLE_ROWS = 1_000
ESTIMATE_ROWS = 5_000  # rows read to estimate the in-memory size
SAMPLE_SALT = 1  # the hash that draws the sample is independent of the one that splits


def table_format(data: Any) -> str | None:
    """csv, tsv or parquet when the config's source is such a table file, else None."""
    if data.source.startswith("builtin:") or data.window is not None:
        return None
    if data.format in ("csv", "tsv", "parquet"):
        return data.format
    if data.format != "auto":
        return None
    path = Path(data.source)
    return TABLE_FORMATS.get(path.suffix.lower()) if path.is_file() else None


def should_stream(data: Any) -> bool:
    """Whether the config's table is read in chunks rather than loaded into memory."""
    setting = data.streaming.enabled
    fmt = table_format(data)
    if setting is True and fmt is None:
        raise ConfigError("streaming reads CSV, TSV or parquet tables; this source is not one",
                          config_path=("data", "streaming", "enabled"))
    if setting is False or fmt is None:
        return False
    if setting is True:
        return True
    return estimate_memory_mb(Path(data.source), fmt) > data.streaming.threshold_mb


def estimate_memory_mb(path: Path, fmt: str) -> float:
    """The estimated in-memory size of a whole table (pandas, deep), from its first rows; 0 if unreadable."""
    import pandas as pd

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            handle = pq.ParquetFile(path)
            rows = handle.metadata.num_rows
            sample = next(handle.iter_batches(batch_size=ESTIMATE_ROWS)).to_pandas()
        else:
            sample = pd.read_csv(path, sep=_separator(fmt), nrows=ESTIMATE_ROWS)
            with open(path, "rb") as handle:
                head = handle.read(4 << 20)
            lines = max(head.count(b"\n") - 1, 1)
            rows = path.stat().st_size / (len(head) / (lines + 1))
        if len(sample) == 0:
            return 0.0
        per_row = sample.memory_usage(deep=True, index=False).sum() / len(sample)
        return float(rows * per_row / 2**20)
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the loader that follows
        return 0.0


def iter_chunks(path: Path, fmt: str, chunk_rows: int, *, columns: list[str] | None = None,
                strings: list[str] | None = None) -> Iterator[Any]:
    """The table's rows as DataFrames of at most `chunk_rows` rows, missing strings as "".

    Args:
        columns: read only these columns (all when None).
        strings: columns to read as strings whatever their values look like.
    """
    from dlflow.data.table_files import blank_missing_strings, check_unique_columns, table_errors

    with table_errors(path, fmt):
        check_unique_columns(path, fmt)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=columns):
                yield blank_missing_strings(batch.to_pandas())
            return
        import pandas as pd

        reader = pd.read_csv(path, sep=_separator(fmt), chunksize=chunk_rows, usecols=columns,
                             dtype={c: object for c in strings or []})
        with reader:
            for frame in reader:
                yield blank_missing_strings(frame.reset_index(drop=True))


def file_fingerprint(path: Path) -> str:
    """A hash of the file's bytes (what identifies a streamed table's data)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


@dataclass
class TableLayout:
    """What every pass over a streamed table needs to turn a chunk into model inputs and targets."""

    path: Path
    fmt: str
    source: str
    chunk_rows: int
    specs: dict[str, InputSpec]
    target_specs: dict[str, TargetSpec]
    seed: int
    fractions: tuple[float, float]

    @property
    def columns(self) -> list[str]:
        return [s.column or n for n, s in self.specs.items()] + list(self.target_specs)

    @property
    def strings(self) -> list[str]:
        return [s.column or n for n, s in self.specs.items() if s.dtype == "string"]

    def chunks(self) -> Iterator[tuple[int, Any]]:
        """(row index of the chunk's first row, chunk) over the whole file."""
        offset = 0
        for frame in iter_chunks(self.path, self.fmt, self.chunk_rows, columns=self.columns, strings=self.strings):
            yield offset, frame
            offset += len(frame)

    def convert(self, frame: Any, offset: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """A chunk's raw model inputs and encoded targets."""
        from dlflow.data.tabular import column_values, locator

        locate = locator(self.source, None if self.fmt == "parquet" else 2)
        inputs = {name: column_values(frame[spec.column or name], spec, locate, offset)
                  for name, spec in self.specs.items()}
        targets = {name: encode_with_classes(frame[name].to_numpy(), spec) for name, spec in self.target_specs.items()}
        return inputs, targets


@dataclass
class TablePart:
    """One part (train, validation or test) of a streamed table, read from disk chunk by chunk.

    Attached to the in-memory sample of that part as `Dataset.info["stream"]`; `owner` is the
    sample's inputs dict, so a subset taken from the sample (`Dataset.take`) is plain in-memory data.
    """

    layout: TableLayout
    part: str
    rows: int
    owner: Any = field(default=None, repr=False)

    def batches(self, batch_size: int, rng: np.random.Generator | None = None,
                drop_remainder: bool = False) -> Iterator[tuple[Any, Any]]:
        """(inputs, targets) batches of this part in file order, or shuffled within chunks with `rng`."""
        code = PARTS.index(self.part)
        pending: tuple[dict, dict] | None = None
        for offset, frame in self.layout.chunks():
            keep = hash_parts(np.arange(offset, offset + len(frame)), self.layout.seed, *self.layout.fractions) == code
            if not keep.any():
                continue
            inputs, targets = self.layout.convert(frame[keep], offset)
            if rng is not None:
                order = rng.permutation(int(keep.sum()))
                inputs, targets = _take(inputs, order), _take(targets, order)
            if pending is not None:
                inputs, targets = _concat(pending[0], inputs), _concat(pending[1], targets)
            n = len(next(iter(inputs.values())))
            full = n - n % batch_size
            for start in range(0, full, batch_size):
                yield self._shape(_slice(inputs, start, start + batch_size), _slice(targets, start, start + batch_size))
            pending = (_slice(inputs, full, n), _slice(targets, full, n)) if full < n else None
        if pending is not None and not drop_remainder:
            yield self._shape(*pending)

    def tf_dataset(self, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool = False) -> Any:
        """A tf.data pipeline of this part's batches, prefetched; reshuffled each epoch when `shuffle`."""
        import tensorflow as tf

        epochs = itertools.count()

        def generate() -> Iterator[tuple[Any, Any]]:
            rng = np.random.default_rng([seed, next(epochs)]) if shuffle else None
            yield from self.batches(batch_size, rng, drop_remainder)

        inputs = {name: tf.TensorSpec((None, *spec.shape), tf.string if spec.dtype == "string" else spec.dtype)
                  for name, spec in self.layout.specs.items()}
        targets = {name: tf.TensorSpec((None, *spec.shape), _target_dtype(spec))
                   for name, spec in self.layout.target_specs.items()}
        signature = (inputs, targets if len(targets) > 1 else next(iter(targets.values())))
        dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
        batches = self.rows // batch_size if drop_remainder else math.ceil(self.rows / batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
        return dataset.prefetch(tf.data.AUTOTUNE)

    def load(self) -> Dataset:
        """This whole part as an in-memory Dataset (for evaluating on the test part)."""
        inputs: dict[str, list] = {n: [] for n in self.layout.specs}
        targets: dict[str, list] = {n: [] for n in self.layout.target_specs}
        for batch_inputs, batch_targets in self.batches(self.layout.chunk_rows):
            batch_targets = batch_targets if isinstance(batch_targets, dict) else {next(iter(targets)): batch_targets}
            for name in inputs:
                inputs[name].append(batch_inputs[name])
            for name in targets:
                targets[name].append(batch_targets[name])
        return Dataset("tabular", {n: _joined(v, self.layout.specs[n]) for n, v in inputs.items()},
                       {n: np.concatenate(v) if v else np.empty(0, _target_dtype(self.layout.target_specs[n]))
                        for n, v in targets.items()},
                       dict(self.layout.specs), dict(self.layout.target_specs), self.layout.source,
                       info={"streamed_part": self.part})

    def _shape(self, inputs: dict, targets: dict) -> tuple[Any, Any]:
        return inputs, targets if len(targets) > 1 else next(iter(targets.values()))


def streamed_part(data: Dataset) -> TablePart | None:
    """The stream a Dataset stands for (its in-memory rows being a sample of it), or None."""
    part = data.info.get("stream")
    return part if isinstance(part, TablePart) and part.owner is data.inputs else None


@dataclass
class StreamedTable:
    """The result of the pass over a streamed table: its layout, counts, statistics and samples."""

    layout: TableLayout
    fingerprint: str
    rows: int
    counts: dict[str, int]
    samples: dict[str, Dataset]
    info: dict[str, Any]

    def part(self, name: str) -> TablePart:
        """A part to read from disk (train, validation or test)."""
        return TablePart(self.layout, name, self.counts[name])


def scan_table(data: Any, task: str | None, *, seed: int, log: Any = None) -> StreamedTable:
    """One pass over a table file: validation, part counts, classes, and training statistics.

    Args:
        data: the config's DataConfig (its source a CSV, TSV or parquet file).
        task: the config's task; inferred from the first chunk's target when None.
        seed: the split's seed.
        log: receives a progress line per 10 chunks.
    """
    from dlflow.data.stats import ColumnSummary, preprocessing_stats
    from dlflow.data.tabular import column_types, column_values, input_spec, locator, target_columns

    fmt = table_format(data)
    path = Path(data.source)
    source = str(path)
    chunk_rows = data.streaming.chunk_rows
    fractions = (data.split.validation, data.split.test)
    first = next(iter_chunks(path, fmt, chunk_rows), None)
    if first is None or len(first) == 0:
        raise DataError(f"{source}: the table has no rows", config_path=("data", "source"))
    targets = target_columns(first, data.target, source)
    types, inferred = column_types(first, targets, data.features, source)
    specs = {}
    names = input_names([str(c) for c in first.columns])
    for column, kind in types.items():
        if kind != "ignore":
            spec = input_spec(first[column], column, kind, names[column])
            specs[spec.name] = spec
    if not specs:
        raise DataError(f"{source}: no feature columns left after removing the target and ignored columns",
                        config_path=("data", "features"))
    tasks = _target_tasks(first, targets, task, source)
    policy = MissingPolicy.from_config(data.missing)
    locate = locator(source, None if fmt == "parquet" else 2)

    summaries = {n: ColumnSummary(s.role, integer=s.role == "categorical" and s.dtype != "string")
                 for n, s in specs.items() if s.role in ("numeric", "categorical")}
    counts = {part: 0 for part in PARTS}
    labels: dict[str, dict[str, dict[Any, int]]] = {t: {p: {} for p in PARTS} for t in targets}
    missing = {c: 0 for c in [*types, *targets]}
    sample_rate = min(1.0, 1.2 * SAMPLE_ROWS / max(estimate_rows(path, fmt) * (1 - sum(fractions)), 1))
    kept: dict[str, list[tuple[dict, dict]]] = {"train": [], "validation": []}
    kept_rows = {"train": 0, "validation": 0}
    strings = [s.column for s in specs.values() if s.dtype == "string"]
    rows = 0
    for number, frame in enumerate(iter_chunks(path, fmt, chunk_rows, columns=[*types, *targets], strings=strings)):
        offset, n = rows, len(frame)
        at = (lambda r, o=offset: locate(r + o))
        index = np.arange(offset, offset + n)
        parts = hash_parts(index, seed, *fractions)
        draw = hash_unit(index, seed, SAMPLE_SALT) < sample_rate
        for column in missing:
            missing[column] += int(missing_mask(frame[column].to_numpy()).sum())
        inputs = {}
        for name, spec in specs.items():
            inputs[name] = column_values(frame[spec.column], spec, locate, offset)
            check_no_missing(spec.column, inputs[name], spec.role, policy, at)
        raw_targets = {}
        for name in targets:
            values = frame[name].to_numpy()
            absent = missing_mask(values)
            if absent.any():
                raise DataError(f"{at(int(np.flatnonzero(absent)[0]))}: target '{name}' is missing; drop the rows "
                                f"without a target or fill them", config_path=("data", "target"))
            raw_targets[name] = values
            if tasks[name] != "regression":
                for code, part in enumerate(PARTS):
                    _count(labels[name][part], values[parts == code])
            elif values.dtype.kind not in "iuf":
                raise DataError(f"{source}: target '{name}': regression needs numbers, received values like "
                                f"{values[0]!r}", config_path=("data", "target"))
        train = parts == 0
        for name, summary in summaries.items():
            summary.update(inputs[name][train], sample=draw[train])
        for code, part in enumerate(PARTS):
            counts[part] += int((parts == code).sum())
        for part, limit in (("train", SAMPLE_ROWS), ("validation", VALIDATION_SAMPLE_ROWS)):
            take = np.flatnonzero((parts == PARTS.index(part)) & (draw | (part == "validation")))
            take = take[: max(limit - kept_rows[part], 0)]
            if len(take):
                kept[part].append(({k: v[take] for k, v in inputs.items()}, {k: v[take] for k, v in raw_targets.items()}))
                kept_rows[part] += len(take)
        rows += n
        if log and (number + 1) % 10 == 0:
            log(f"data: scanned {rows:,} rows")

    target_specs = {name: _target_spec(name, tasks[name], labels[name], source) for name in targets}
    layout = TableLayout(path, fmt, source, chunk_rows, specs, target_specs, seed, fractions)
    _check_sizes(source, rows, counts, fractions)
    stats = preprocessing_stats(summaries, policy)
    info = {
        "column_types": types, "inferred_types": inferred,
        "missing": {c: n for c, n in missing.items() if n}, "missing_policy": policy.describe(),
        "rows": rows, "first_line": None if fmt == "parquet" else 2, "streamed": True,
        "chunk_rows": chunk_rows, "class_counts": {t: {p: _jsonable_counts(c, target_specs[t]) for p, c in by.items()}
                                                   for t, by in labels.items() if tasks[t] != "regression"},
    }
    table = StreamedTable(layout, file_fingerprint(path), rows, counts, {}, info)
    for part in ("train", "validation"):
        sample = _sample_dataset(kept[part], layout, info if part == "train" else {})
        if part == "train":
            sample.info["preprocessing"] = stats
        sample.info["stream"] = TablePart(layout, part, counts[part], owner=sample.inputs)
        table.samples[part] = sample
    return table


def estimate_rows(path: Path, fmt: str) -> int:
    """About how many rows the table has (exact for parquet)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with open(path, "rb") as handle:
        head = handle.read(4 << 20)
    lines = max(head.count(b"\n"), 1)
    return int(path.stat().st_size / (len(head) / lines))


def encode_with_classes(values: np.ndarray, spec: TargetSpec) -> np.ndarray:
    """Encode raw target values with a target's known classes (as `dlflow.data.tasks.encode_target` does)."""
    if spec.task == "regression":
        return np.asarray(values, dtype="float32")
    import pandas as pd

    codes = pd.Categorical(values, categories=list(spec.classes)).codes.astype("int64")
    return codes.astype("float32") if spec.task == "binary" else codes


def _target_tasks(frame: Any, targets: list[str], task: str | None, source: str) -> dict[str, str]:
    from dlflow.data.tasks import infer_task

    if len(targets) > 1 and task in (None, "multilabel") and all(set(frame[t].dropna().unique()) <= {0, 1}
                                                                  for t in targets):
        raise DataError(f"{source}: a multilabel table cannot be streamed yet; set data.streaming.enabled: false",
                        config_path=("data", "streaming"))
    return {t: task or infer_task(frame[t].to_numpy()) for t in targets}


def _target_spec(name: str, task: str, labels: dict[str, dict[Any, int]], source: str) -> TargetSpec:
    if task == "regression":
        return TargetSpec(name, task, None, ())
    from dlflow.data.tasks import _unique

    classes = _unique(np.array(sorted({c for by in labels.values() for c in by}, key=str), dtype=object))
    if task == "binary" and len(classes) != 2:
        raise DataError(f"{source}: target '{name}': binary needs exactly 2 classes, received {len(classes)}",
                        config_path=("data", "target"))
    if len(classes) < 2:
        raise DataError(f"{source}: target '{name}': classification needs at least 2 classes, received "
                        f"{len(classes)}", config_path=("data", "target"))
    return TargetSpec(name, task, tuple(classes), ())


def _check_sizes(source: str, rows: int, counts: dict[str, int], fractions: tuple[float, float]) -> None:
    validation, test = fractions
    if counts["train"] < 2 or (validation > 0 and counts["validation"] < 1) or (test > 0 and counts["test"] < 1):
        raise DataError(f"{source}: too few rows for the split: {rows} rows, validation {validation:g} and "
                        f"test {test:g} leave {counts['train']} for training, {counts['validation']} for "
                        f"validation and {counts['test']} for test", config_path=("data", "split"))


def _sample_dataset(kept: list[tuple[dict, dict]], layout: TableLayout, info: dict) -> Dataset:
    specs, target_specs = layout.specs, layout.target_specs
    inputs = {n: _joined([k[0][n] for k in kept], specs[n]) for n in specs}
    targets = {n: encode_with_classes(np.concatenate([k[1][n] for k in kept]) if kept else np.empty(0), s)
               for n, s in target_specs.items()}
    return Dataset("tabular", inputs, targets, dict(specs), dict(target_specs), layout.source, info=dict(info))


def _joined(arrays: list[np.ndarray], spec: InputSpec) -> np.ndarray:
    if arrays:
        return np.concatenate(arrays)
    return np.empty((0, *spec.shape), dtype=object if spec.dtype == "string" else spec.dtype)


def _count(counter: dict[Any, int], values: np.ndarray) -> None:
    if len(values):
        uniques, numbers = np.unique(values.astype(str) if values.dtype == object else values, return_counts=True)
        for value, number in zip(uniques.tolist(), numbers.tolist()):
            counter[value] = counter.get(value, 0) + int(number)


def _jsonable_counts(counter: dict[Any, int], spec: TargetSpec) -> dict[str, int]:
    return {str(label): int(counter.get(label, 0)) for label in spec.classes or ()}


def _target_dtype(spec: TargetSpec) -> str:
    return "int64" if spec.task == "multiclass" else "float32"


def _take(arrays: dict[str, np.ndarray], order: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[order] for k, v in arrays.items()}


def _slice(arrays: dict[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    return {k: v[start:stop] for k, v in arrays.items()}


def _concat(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([first[k], second[k]]) for k in first}


def _separator(fmt: str) -> str:
    return "\t" if fmt == "tsv" else ","
