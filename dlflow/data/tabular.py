"""Tables (a pandas DataFrame from CSV, TSV, parquet or a built-in) as one model input per column.

Each kept column becomes a named raw input of shape (1,), preprocessed inside the model by its
type (`data.features`, inferred when omitted):

| type        | raw input                                    | inside the model                              |
|-------------|----------------------------------------------|-----------------------------------------------|
| numeric     | float32, NaN when missing                    | FillMissing, then Normalization               |
| categorical | string ("" when missing), or float32 for     | FillMissing, then StringLookup (strings) or   |
|             | integer codes and booleans (NaN when missing)| IntegerCategories (codes): one-hot, or an     |
|             |                                              | embedding when many values; an OOV slot       |
| text        | string ("" when missing)                     | TextVectorization (tf_idf or multi_hot)       |
| ignore      | -                                            | -                                             |

Missing values follow `data.missing` (see `dlflow.data.missing`); the target may have none.
Errors name the file and the line (CSV, TSV) or row (parquet) and the column.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from dlflow.config.problems import did_you_mean
from dlflow.data.dataset import Dataset, InputSpec, TargetSpec, input_names, safe_name
from dlflow.data.missing import MISSING_STRING, MissingPolicy, check_no_missing, missing_mask
from dlflow.data.tasks import encode_target
from dlflow.errors import DataError

CATEGORICAL_MAX_INT_VALUES = 10  # an integer column with at most this many values is categorical
TEXT_MIN_MEAN_WORDS = 4  # a string column whose values average this many words is text
NUMERIC_MIN_SHARE = 0.95  # a string column whose values are this often numbers is numeric (the rest are errors)
ID_MIN_ROWS = 20  # a column unique per row is an identifier (ignored) from this many rows on
INFER_SAMPLE = 10_000  # string values looked at to tell numbers, text and categories apart
COLUMN_TYPES = ("numeric", "categorical", "text", "ignore")

Locate = Callable[[int], str]


def infer_column_type(values: Any) -> str:
    """numeric, categorical, text or ignore, from a column's raw values.

    - all values missing, a row number (consecutive integers) or an identifier (a string unique
      per row): ignore;
    - booleans, and integers with at most 10 distinct values (each seen at least twice on
      average): categorical;
    - other numbers, and strings that are numbers at least 95% of the time (the others are
      reported as errors with their row): numeric;
    - strings of 4 or more words on average: text; other strings: categorical.
    """
    import pandas as pd

    series = pd.Series(values)
    present = series[~missing_mask(series.to_numpy())]
    if present.empty:
        return "ignore"
    if pd.api.types.is_bool_dtype(series) or all(isinstance(v, (bool, np.bool_)) for v in present.head(1000)):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series):
        return _numeric_type(present)
    strings = present.head(INFER_SAMPLE).astype(str)
    numbers = pd.to_numeric(strings, errors="coerce")
    if numbers.notna().all():
        return _numeric_type(numbers)  # numbers held as strings or Python objects
    if numbers.notna().mean() >= NUMERIC_MIN_SHARE:
        return "numeric"
    if strings.str.split().str.len().mean() >= TEXT_MIN_MEAN_WORDS:
        return "text"
    if present.nunique() == len(present) and len(present) > ID_MIN_ROWS:
        return "ignore"  # an identifier: unique per row, carries no signal
    return "categorical"


def _numeric_type(present: Any) -> str:
    numbers = present.to_numpy(dtype="float64")
    integral = bool(np.all(np.mod(numbers, 1) == 0))
    distinct = int(present.nunique())
    if integral and distinct <= CATEGORICAL_MAX_INT_VALUES and len(numbers) > 2 * distinct:
        return "categorical"
    if integral and distinct == len(numbers) > ID_MIN_ROWS and np.all(np.diff(numbers) == 1):
        return "ignore"  # a row number
    return "numeric"


def dataset_from_frame(
    frame: Any,
    *,
    target: str | list[str] | None,
    features: dict[str, str] | None,
    task: str | None,
    source: str,
    missing: Any = None,
    first_line: int | None = None,
) -> Dataset:
    """Build a tabular Dataset: each kept column becomes a named input of shape (1,).

    Args:
        frame: the table (pandas DataFrame).
        target: the target column(s); required.
        features: column types (numeric, categorical, text, ignore); inferred when omitted.
        task: the task, inferred from the target when None.
        source: the file or built-in name, for messages.
        missing: the config's `data.missing` (defaults when None).
        first_line: the file line of the first data row (2 for a CSV with a header), so
            errors name lines; None names rows instead.
    """
    locate = locator(source, first_line)
    if frame.shape[0] == 0:
        raise DataError(f"{source}: the table has no rows (only a header)", config_path=("data", "source"))
    targets = target_columns(frame, target, source)
    types, inferred = column_types(frame, targets, features, source)
    policy = MissingPolicy.from_config(missing)

    inputs: dict[str, np.ndarray] = {}
    specs: dict[str, InputSpec] = {}
    names = input_names([str(c) for c in frame.columns])
    for column, kind in types.items():
        if kind == "ignore":
            continue
        spec = input_spec(frame[column], column, kind, names[column])
        values = column_values(frame[column], spec, locate)
        check_no_missing(column, values, spec.role, policy, locate)
        inputs[spec.name], specs[spec.name] = values, spec
    if not inputs:
        raise DataError(
            f"{source}: no feature columns left after removing the target and ignored columns",
            config_path=("data", "features"),
        )

    encoded, target_specs = encode_targets(frame, targets, task, locate, source)
    info = {
        "column_types": types,
        "inferred_types": inferred,
        "missing": {str(c): int(n) for c, n in missing_counts(frame).items() if n},
        "missing_policy": policy.describe(),
        "rows": int(frame.shape[0]),
        "first_line": first_line,
    }
    return Dataset("tabular", inputs, encoded, specs, target_specs, source, info=info)


def locator(source: str, first_line: int | None) -> Locate:
    """A function turning a row index into `file:line` (or `file: row N` without lines)."""
    if first_line is None:
        return lambda row: f"{source}: row {row + 1}"
    return lambda row: f"{source}:{row + first_line}"


def target_columns(frame: Any, target: str | list[str] | None, source: str) -> list[str]:
    """The target column names, checked against the table's columns."""
    targets = [target] if isinstance(target, str) else list(target or [])
    columns = [str(c) for c in frame.columns]
    if not targets:
        raise DataError(
            f"{source}: data.target is required for a table; columns are: {', '.join(columns)}",
            config_path=("data", "target"),
        )
    for name in targets:
        if name not in frame.columns:
            raise DataError(
                f"{source}: no target column '{name}'{did_you_mean(name, columns)}; columns are: {', '.join(columns)}",
                config_path=("data", "target"),
            )
    return targets


def column_types(
    frame: Any, targets: list[str], features: dict[str, str] | None, source: str
) -> tuple[dict[str, str], list[str]]:
    """The type of every non-target column (given, or inferred) and which of them were inferred."""
    given = dict(features or {})
    for name in given:
        if name not in frame.columns:
            raise DataError(
                f"{source}: data.features names column '{name}', which the table does not have; "
                f"columns are: {', '.join(map(str, frame.columns))}",
                config_path=("data", "features", name),
            )
    types, inferred = {}, []
    for column in frame.columns:
        column = str(column)
        if column in targets:
            continue
        if column in given:
            types[column] = given[column]
        else:
            types[column] = infer_column_type(frame[column])
            inferred.append(column)
    return types, inferred


def input_spec(series: Any, column: str, kind: str, name: str) -> InputSpec:
    """The raw input `name` a column of this type becomes (its dtype decided from the column's values).

    `name` comes from `input_names` over all the table's columns.
    """
    if kind == "numeric":
        return InputSpec(name, (1,), "float32", "numeric", column=column)
    if kind == "categorical":
        dtype = "float32" if _integer_coded(series) else "string"
        return InputSpec(name, (1,), dtype, "categorical", column=column)
    if kind == "text":
        return InputSpec(name, (1,), "string", "text", column=column)
    raise DataError(
        f"column '{column}': unknown type '{kind}'; expected one of: {', '.join(COLUMN_TYPES)}",
        config_path=("data", "features", column),
    )


def column_values(series: Any, spec: InputSpec, locate: Locate, offset: int = 0) -> np.ndarray:
    """A column's raw values as the model input `spec` takes them, shape (rows, 1).

    Args:
        series: the column (pandas Series).
        spec: its InputSpec (dtype float32 or string).
        locate: names a row in messages.
        offset: the row index of the series' first value in the whole table (for chunks).
    """
    import pandas as pd

    column = spec.column or spec.name
    if spec.dtype == "float32" and (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        return series.to_numpy("float32", na_value=np.nan).reshape(-1, 1)  # already numbers: NaN when missing
    if spec.dtype == "float32":
        values = series.to_numpy()
        absent = missing_mask(values) if values.dtype.kind in "OUS" else pd.isna(series).to_numpy()
        numbers = pd.to_numeric(series.where(~absent, np.nan), errors="coerce")
        bad = ~absent & numbers.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            advice = (
                f"fix the value, or set data.features.{column}: categorical if the column holds categories"
                if spec.role == "numeric"
                else "fix the value: the column's other values are integer codes"
            )
            raise DataError(
                f"{locate(offset + row)}: column '{column}': expected a number, received "
                f"{series.iloc[row]!r}; {advice}",
                config_path=("data", "source"),
            )
        return numbers.to_numpy("float32").reshape(-1, 1)
    strings = series.astype("string").fillna(MISSING_STRING).to_numpy(dtype=object)
    return strings.reshape(-1, 1)


def missing_counts(frame: Any) -> dict[str, int]:
    """Missing values per column (NaN, None or the empty string)."""
    return {str(c): int(missing_mask(frame[c].to_numpy()).sum()) for c in frame.columns}


def encode_targets(
    frame: Any, targets: list[str], task: str | None, locate: Locate, source: str
) -> tuple[dict[str, np.ndarray], dict[str, TargetSpec]]:
    """Encode the target column(s); a missing label is an error naming its row."""
    for name in targets:
        absent = missing_mask(frame[name].to_numpy())
        if absent.any():
            row = int(np.flatnonzero(absent)[0])
            raise DataError(
                f"{locate(row)}: target '{name}' is missing ({int(absent.sum())} rows have no "
                f"target); drop those rows or fill them",
                config_path=("data", "target"),
            )
    encoded, specs = {}, {}
    if (
        len(targets) > 1
        and task in (None, "multilabel")
        and all(set(frame[t].dropna().unique()) <= {0, 1} for t in targets)
    ):
        values, spec = encode_target(
            frame[targets].to_numpy(), "labels", "multilabel", source=source
        )  # one sigmoid output
        spec = TargetSpec(spec.name, spec.task, tuple(targets), spec.shape)
        return {spec.name: values}, {spec.name: spec}
    for name in targets:
        values, spec = encode_target(
            frame[name].to_numpy(),
            safe_name(name, fallback="target"),
            task,  # a Keras output name
            source=source,
        )
        encoded[name], specs[name] = values, spec
    return encoded, specs


def _integer_coded(series: Any) -> bool:
    """True for a categorical column of integers or booleans (possibly with missing values)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return True
    present = series[~missing_mask(series.to_numpy())]
    if not pd.api.types.is_numeric_dtype(series):
        if not all(isinstance(v, (int, float, np.integer, np.floating)) for v in present.head(1000)):
            return False  # strings (even "1", "2") stay strings: the CSV reader gives them as such
        present = pd.to_numeric(present, errors="coerce")
    numbers = present.to_numpy(dtype="float64")
    return bool(np.all(np.isfinite(numbers)) and np.all(np.mod(numbers, 1) == 0))
