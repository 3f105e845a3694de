"""The in-memory data set every source produces: raw inputs, encoded targets, and their specs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from dlflow.data.names import safe_name  # its home: NumPy-free, for `dlflow validate`


@dataclass(frozen=True)
class InputSpec:
    """One model input, as the data gives it (raw, before preprocessing).

    Args:
        name: the input's name (a column, an array key, `image`, `text`).
        shape: the shape of one sample, without the batch dimension.
        dtype: "float32", "int64" or "string".
        role: how dlflow preprocesses it inside the model: "image" (Rescaling),
            "numeric" (Normalization), "categorical" (StringLookup/IntegerLookup),
            "text" (TextVectorization), "series" (time windows, Normalization per feature)
            or "array" (passed as is).
        scale: for images, the factor that maps raw pixels to [0, 1].
        column: the original column name when it differs from `name` (which is a safe identifier).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    role: str
    scale: float | None = None
    column: str | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (for the manifest and the data card)."""
        out = {
            "name": self.name,
            "shape": list(self.shape),
            "rank": len(self.shape) + 1,
            "dtype": self.dtype,
            "role": self.role,
        }
        if self.column and self.column != self.name:
            out["column"] = self.column
        if self.scale is not None:
            out["scale"] = self.scale
        return out

    @classmethod
    def from_description(cls, described: dict[str, Any]) -> "InputSpec":
        """The spec `describe()` wrote (e.g. in a run's manifest)."""
        return cls(
            described["name"],
            tuple(described["shape"]),
            described["dtype"],
            described["role"],
            scale=described.get("scale"),
            column=described.get("column"),
        )


@dataclass(frozen=True)
class TargetSpec:
    """One model output's target.

    Args:
        name: the target's name (a column or array key; the model output of that name).
        task: binary, multiclass, multilabel or regression.
        classes: the original labels, in encoded order (index i means classes[i]); None for regression.
        shape: the shape of one encoded target, without the batch dimension.
    """

    name: str
    task: str
    classes: tuple[Any, ...] | None
    shape: tuple[int, ...]

    @property
    def units(self) -> int:
        """How many units the output layer for this target must have."""
        if self.task == "multiclass":
            return len(self.classes or ())
        if self.task == "binary":
            return 1
        return int(np.prod(self.shape)) if self.shape else 1

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "task": self.task, "shape": list(self.shape)}
        if self.classes is not None:
            out["classes"] = [_jsonable(c) for c in self.classes]
        return out

    @classmethod
    def from_description(cls, described: dict[str, Any]) -> "TargetSpec":
        """The spec `describe()` wrote (e.g. in a run's manifest)."""
        classes = described.get("classes")
        return cls(
            described["name"],
            described["task"],
            tuple(classes) if classes is not None else None,
            tuple(described["shape"]),
        )


@dataclass
class Dataset:
    """Raw inputs and encoded targets, all with the same number of samples.

    Args:
        kind: tabular, image, text, timeseries or arrays.
        inputs: raw input arrays by name (first axis: samples).
        targets: encoded target arrays by name.
        input_specs: one InputSpec per input, same order as `inputs`.
        target_specs: one TargetSpec per target, same order as `targets`.
        source: where the data came from, for messages.
        ordered: True when sample order is meaningful (time series): splits are chronological.
        info: extra facts for the data card (column types, missing values, ...).
    """

    kind: str
    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    input_specs: dict[str, InputSpec]
    target_specs: dict[str, TargetSpec]
    source: str
    ordered: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        first = next(iter(self.inputs.values()))
        return int(first.shape[0])

    @property
    def task(self) -> str:
        """The task of the first target (all targets of a multi-output set share a primary task);
        `none` for data without a target (`data.target: none`)."""
        return next(iter(self.target_specs.values())).task if self.target_specs else "none"

    def take(self, indices: np.ndarray) -> "Dataset":
        """The samples at `indices`, as a new Dataset with the same specs.

        Ordered data (a time series) takes a contiguous run of samples as views, not copies: the
        parts of its chronological split cost no memory."""
        at = contiguous_run(indices) if self.ordered else None
        at = indices if at is None else at
        return replace(
            self,
            inputs={k: v[at] for k, v in self.inputs.items()},
            targets={k: v[at] for k, v in self.targets.items()},
        )

    def model_inputs(self) -> np.ndarray | dict[str, np.ndarray]:
        """Inputs in the form `model.predict` takes: one array, or a dict by name.

        Lazy inputs (image files) are decoded here: call it on bounded samples only."""
        inputs = {k: v if isinstance(v, np.ndarray) else np.asarray(v) for k, v in self.inputs.items()}
        if len(inputs) == 1 and self.kind != "tabular":
            return next(iter(inputs.values()))
        return inputs

    def model_targets(self) -> np.ndarray | dict[str, np.ndarray]:
        """Targets in the form `model.fit` takes: one array, or a dict by output name; None without a target."""
        if not self.targets:
            return None
        if len(self.targets) == 1:
            return next(iter(self.targets.values()))
        return dict(self.targets)

    def signature(self) -> dict[str, Any]:
        """What a model trained on this data takes and answers, JSON-ready (for the run's manifest).

        `inputs` and `targets` (their specs' descriptions); for a time series also `series`: the
        table columns a window holds, in order, and the window settings, so that `dlflow predict`
        can window a raw table without the training data.
        """
        out: dict[str, Any] = {
            "inputs": [s.describe() for s in self.input_specs.values()],
            "targets": [s.describe() for s in self.target_specs.values()],
        }
        if self.kind == "timeseries" and "columns" in self.info:
            out["series"] = {"columns": list(self.info["columns"]), "window": dict(self.info["window"])}
        return out

    def fingerprint(self) -> str:
        """A SHA-256 over every input and target array: changes whenever the data does.

        Image files count by relative path and content digest (no decoding)."""
        digest = hashlib.sha256()
        for group in (self.inputs, self.targets):
            for name in sorted(group):
                if hasattr(group[name], "fingerprint_into"):  # image files: paths and contents
                    digest.update(name.encode())
                    group[name].fingerprint_into(digest)
                    continue
                array = np.ascontiguousarray(group[name])
                digest.update(name.encode())
                digest.update(str(array.dtype).encode() + str(array.shape).encode())
                if array.dtype == object:
                    for item in array.reshape(-1):
                        digest.update(str(item).encode("utf-8", "surrogatepass") + b"\0")
                else:
                    digest.update(as_bytes(array))
        return digest.hexdigest()[:16]


def contiguous_run(indices: Any) -> slice | None:
    """`indices` as a slice when they are consecutive ascending integers (i, i + 1, ...), else None."""
    spaced = evenly_spaced(indices)
    if spaced is None or spaced[1] != 1 or spaced[0] < 0:
        return None
    return slice(spaced[0], spaced[0] + len(indices))


def evenly_spaced(values: Any, block: int = 1 << 20) -> tuple[int, int] | None:
    """(first, step) when integer `values` are first, first + step, first + 2 * step, ... (step >= 1),
    else None; checked in blocks, without a temporary the size of `values`."""
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype.kind not in "iu" or not len(values):
        return None
    first = int(values[0])
    step = int(values[1]) - first if len(values) > 1 else 1
    if step < 1 or int(values[-1]) - first != step * (len(values) - 1):
        return None
    for start in range(0, len(values) - 1, block):
        if not np.all(np.diff(values[start : start + block + 1]) == step):
            return None
    return first, step


def as_bytes(array: np.ndarray) -> np.ndarray:
    """A C-contiguous array's bytes as a uint8 view, for hashlib: `tobytes()` without its copy."""
    return array.reshape(-1).view(np.uint8)


def input_names(columns: list[str]) -> dict[str, str]:
    """Distinct model-input names for a table's distinct columns, by column position.

    Each is `safe_name(column)`; a column left with no ASCII name is `col_<N>` (N its 1-based
    position in the table), and a name already taken gets `_<N>` appended. The original column
    names stay in `InputSpec.column`: requests, predictions and reports use those.

    >>> input_names(["Länge", "长度", "宽度 🌸", "a b", "a_b"])
    {'Länge': 'Lange', '长度': 'col_2', '宽度 🌸': 'col_3', 'a b': 'a_b', 'a_b': 'a_b_5'}
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for number, column in enumerate(columns, start=1):
        name = safe_name(column, fallback=f"col_{number}")
        while name in taken:
            name = f"{name}_{number}"
        names[column] = name
        taken.add(name)
    return names


def _jsonable(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
