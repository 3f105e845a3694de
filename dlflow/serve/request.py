"""Parsing a `:predict` request body into model inputs, as TensorFlow Serving's REST API takes them.

Two formats, as in TF Serving:

- row format, `{"instances": [...]}`: one item per example; for a model with one input the
  item is the value itself (e.g. an 8x8x1 image as nested lists), for several inputs (a
  table's columns included) an object `{input name: value}`. Table columns go by their
  original names (`"mean radius"`) or the input names (`"mean_radius"`);
- columnar format, `{"inputs": ...}`: for one input the batch itself, otherwise an object
  `{input name: [one value per example]}`.

An image input also takes `{"b64": "<base64 PNG/JPEG>"}` per example (`dlflow.serve.b64`).
Each value must have the input's shape, or that shape without a trailing 1 (a table cell as a
scalar, a grayscale image as a 2-D array). In a table, null is a missing value, as an empty
cell: NaN in a numeric column, "" in a string column (the model's own imputation fills it).
Anything else raises `RequestError`, whose message says where (`instances[3]: column "mean
radius"`), what was expected and what was received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from dlflow.config.problems import did_you_mean
from dlflow.serve import jsonio
from dlflow.serve.b64 import decode_b64_values, is_b64

KNOWN_KEYS = ("instances", "inputs", "signature_name")
NAMES_SHOWN = 8  # messages list at most this many input names
SIGNATURE_NAME = "serving_default"


class RequestError(Exception):
    """A request the model cannot take; the app answers 400 with {"error": message}."""


@dataclass
class PredictRequest:
    """A parsed `:predict` request.

    Args:
        inputs: one array per model input, by input name; each `(rows, *shape)`.
        rows: the number of examples.
        columnar: True for the `"inputs"` format (answered with `"outputs"`).
    """

    inputs: dict[str, np.ndarray]
    rows: int
    columnar: bool


def parse_predict_request(body: bytes, specs: Sequence[Any], *, noun: str = "input") -> PredictRequest:
    """Parse and check a `:predict` body against the model's input specs.

    Args:
        body: the raw request body (JSON).
        specs: the model's input specs (`name`, `shape`, `dtype`, `column`).
        noun: what messages call an input ("column" for tables).

    Raises:
        RequestError: malformed JSON, an unknown format, a missing or unknown input, a value
            of the wrong shape or type.
    """
    try:
        payload = jsonio.loads(body, _refuse_constant)
    except RecursionError:
        raise RequestError("malformed JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"malformed JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise RequestError(
            'expected a JSON object with "instances" (row format) or "inputs" (columnar format), '
            f"received {_describe(payload)}"
        )
    unknown = [key for key in payload if key not in KNOWN_KEYS]
    if unknown:
        raise RequestError(
            f'unknown key "{unknown[0]}"{did_you_mean(unknown[0], KNOWN_KEYS, json=True)}; '
            f'expected "instances" (row format) or "inputs" (columnar format)'
        )
    signature = payload.get("signature_name", SIGNATURE_NAME)
    if signature != SIGNATURE_NAME:
        raise RequestError(f'unknown signature_name "{signature}"; the model has "{SIGNATURE_NAME}"')
    if ("instances" in payload) == ("inputs" in payload):
        raise RequestError('expected exactly one of "instances" (row format) or "inputs" (columnar format)')
    parser = _Parser(specs, noun)
    if "instances" in payload:
        inputs = parser.rows(payload["instances"])
        return PredictRequest(inputs, len(payload["instances"]), columnar=False)
    inputs = parser.columns(payload["inputs"])
    return PredictRequest(inputs, len(next(iter(inputs.values()))), columnar=True)


def _refuse_constant(name: str) -> Any:
    """`json.loads` hook for NaN, Infinity and -Infinity, which models must not be fed."""
    raise RequestError(
        f"non-finite number {name} is not accepted; send finite numbers (or null where a column may be missing)"
    )


class _Parser:
    """Turns JSON values into arrays shaped and typed as the model's inputs."""

    def __init__(self, specs: Sequence[Any], noun: str):
        self.specs = list(specs)
        self.noun = noun
        self.by_key: dict[str, Any] = {}
        for spec in self.specs:
            self.by_key[spec.name] = spec
            if getattr(spec, "column", None):
                self.by_key[spec.column] = spec

    def rows(self, instances: Any) -> dict[str, np.ndarray]:
        """Row format: one item per example."""
        if not isinstance(instances, list):
            raise RequestError(
                f'"instances": expected a list with one item per example, received {_describe(instances)}'
            )
        if not instances:
            raise RequestError('"instances" is empty; expected at least one example')
        values: dict[str, list] = {spec.name: [] for spec in self.specs}
        for i, instance in enumerate(instances):
            if isinstance(instance, dict) and not (is_b64(instance) and len(self.specs) == 1):
                named = self._match(instance, f"instances[{i}]")
            elif len(self.specs) == 1:
                named = {self.specs[0].name: instance}
            else:
                raise RequestError(
                    f"instances[{i}]: expected an object {{{self.noun} name: value}} for a model with "
                    f"{len(self.specs)} {self.noun}s ({self._names()}), received {_describe(instance)}"
                )
            for name, value in named.items():
                values[name].append(value)
        return {spec.name: self._array(values[spec.name], spec, lambda j: f"instances[{j}]") for spec in self.specs}

    def columns(self, inputs: Any) -> dict[str, np.ndarray]:
        """Columnar format: the batch, or an object of batches by input name."""
        if isinstance(inputs, dict):
            named = self._match(inputs, '"inputs"')
        elif len(self.specs) == 1:
            named = {self.specs[0].name: inputs}
        else:
            raise RequestError(
                f'"inputs": expected an object {{{self.noun} name: [one value per example]}} for a '
                f"model with {len(self.specs)} {self.noun}s ({self._names()}), received {_describe(inputs)}"
            )
        arrays = {}
        for spec in self.specs:
            where = '"inputs"' + (f".{self._label(spec)}" if isinstance(inputs, dict) else "")
            batch = named[spec.name]
            if not isinstance(batch, list) or not batch:
                raise RequestError(
                    f"{where}: expected a non-empty list with one value per example, received {_describe(batch)}"
                )
            arrays[spec.name] = self._array(batch, spec, lambda j, where=where: f"{where}[{j}]")
        first = self.specs[0]
        for spec in self.specs[1:]:
            if len(arrays[spec.name]) != len(arrays[first.name]):
                raise RequestError(
                    f'"inputs": every {self.noun} needs the same number of examples; '
                    f'"{self._label(first)}" has {len(arrays[first.name])}, '
                    f'"{self._label(spec)}" has {len(arrays[spec.name])}'
                )
        return arrays

    def _match(self, given: dict, where: str) -> dict[str, Any]:
        """Map an object's keys (input names or column names) onto the inputs; all, and only those."""
        named: dict[str, Any] = {}
        for key, value in given.items():
            spec = self.by_key.get(key)
            if spec is None:
                hint = did_you_mean(key, list(self.by_key), json=True)
                raise RequestError(f'{where}: unknown {self.noun} "{key}"{hint}; the model takes: {self._names()}')
            if spec.name in named:
                raise RequestError(f'{where}: {self.noun} "{self._label(spec)}" is given twice')
            named[spec.name] = value
        missing = [self._label(spec) for spec in self.specs if spec.name not in named]
        if missing:
            listed = ", ".join(f'"{name}"' for name in missing[:NAMES_SHOWN])
            more = f" and {len(missing) - NAMES_SHOWN} more" if len(missing) > NAMES_SHOWN else ""
            plural = "s" if len(missing) > 1 else ""
            raise RequestError(f"{where}: missing {self.noun}{plural} {listed}{more}; the model takes: {self._names()}")
        return named

    def _array(self, values: list, spec: Any, where: Callable[[int], str]) -> np.ndarray:
        """`values` (one per example) as one `(rows, *shape)` array of the spec's dtype."""
        shape = tuple(spec.shape)
        values = decode_b64_values(values, spec, where, RequestError)
        if spec.dtype == "string":
            return self._strings(values, spec, where)
        try:
            array = np.asarray(values)
            if array.dtype == object and _null_ok(spec) and _first_non_number(values, null_ok=True) is None:
                array = array.astype("float32")  # null is a missing value: NaN, as in a table's empty cell
        except ValueError:  # ragged nested lists
            array = None
        if array is not None and array.shape[1:] in _accepted_shapes(shape) and _numbers_fit(array, spec.dtype):
            return self._in_range(array.reshape(len(values), *shape), spec)
        for j, value in enumerate(values):  # find the first bad example and say what is wrong with it
            self._check_value(value, spec, lambda j=j: f'{where(j)}: {self.noun} "{self._label(spec)}"')
        # Every example is fine on its own: some came with the trailing 1, some without.
        return self._in_range(np.stack([np.asarray(value, dtype=object).reshape(shape) for value in values]), spec)

    def _in_range(self, array: np.ndarray, spec: Any) -> np.ndarray:
        """`array` as the spec's dtype; a finite number beyond that dtype's range (1e300 for float32) is refused."""
        if array.dtype.kind == "f" and spec.dtype == "float32":  # the common case, in one pass
            with np.errstate(over="ignore"):
                out = array.astype(np.float32, copy=False)
            if np.isinf(out).any():  # JSON has no infinities: each one is a finite number that overflowed
                raise self._out_of_range(spec)
            return out
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                out = array.astype(spec.dtype, copy=False)
            except OverflowError:
                out = None
        wrapped = (
            out is not None
            and out.dtype.kind in "iu"
            and array.dtype.kind == "f"
            and bool((np.abs(array) >= float(np.iinfo(out.dtype).max)).any())
        )  # 1e300 as int64 wraps round silently
        if out is None or wrapped or (out.dtype.kind == "f" and bool(np.isinf(out).any())):
            raise self._out_of_range(spec)
        return out

    def _out_of_range(self, spec: Any) -> RequestError:
        return RequestError(
            f'{self.noun} "{self._label(spec)}": a number beyond the range of {spec.dtype}; '
            f"send numbers the model's {spec.dtype} input can hold"
        )

    def _check_value(self, value: Any, spec: Any, where: Callable[[], str]) -> None:
        shape = tuple(spec.shape)
        try:
            array = np.asarray(value)
        except ValueError:
            raise RequestError(f"{where()}: expected {_expected(spec)}, received ragged nested lists") from None
        bad = _first_non_number(value, null_ok=_null_ok(spec))
        if bad is not None:
            raise RequestError(f"{where()}: expected {_expected(spec)}, received {_describe(bad)}")
        if array.shape not in _accepted_shapes(shape):
            raise RequestError(f"{where()}: expected {_expected(spec)}, received shape {list(array.shape)}")
        if spec.dtype == "int64" and not _numbers_fit(array[np.newaxis], "int64"):
            raise RequestError(f"{where()}: expected {_expected(spec)}, received a fraction")

    def _strings(self, values: list, spec: Any, where: Callable[[int], str]) -> np.ndarray:
        shape = tuple(spec.shape)
        if shape != (1,):  # string arrays from an .npz: strings only, of the exact shape
            try:
                array = np.array(values, dtype=object)
            except ValueError:
                array = None
            if (
                array is None
                or array.shape[1:] not in _accepted_shapes(shape)
                or not all(isinstance(v, str) for v in array.ravel())
            ):
                raise RequestError(f'{self.noun} "{self._label(spec)}": expected {_expected(spec)} in each example')
            return array.reshape(len(values), *shape)
        out = np.empty((len(values), 1), dtype=object)
        for j, value in enumerate(values):
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            if value is None:
                value = ""  # as `dlflow predict` reads an empty cell
            elif not isinstance(value, str):
                if not isinstance(value, (int, float)):
                    raise RequestError(
                        f'{where(j)}: {self.noun} "{self._label(spec)}": expected a string, received {_describe(value)}'
                    )
                value = str(value)
            out[j, 0] = value
        return out

    def _label(self, spec: Any) -> str:
        return getattr(spec, "column", None) or spec.name

    def _names(self) -> str:
        """The inputs' names for messages: the first few, and how many in all."""
        labels = [self._label(spec) for spec in self.specs]
        if len(labels) <= NAMES_SHOWN:
            return ", ".join(labels)
        return (
            ", ".join(labels[:NAMES_SHOWN]) + f", ... ({len(labels)} in all; GET the model's /metadata for every one)"
        )


def _accepted_shapes(shape: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """The input's shape, and that shape without a trailing 1 (a scalar cell, a 2-D grayscale image)."""
    return (shape, shape[:-1]) if shape and shape[-1] == 1 else (shape,)


def _null_ok(spec: Any) -> bool:
    """A table's numeric column takes null as a missing value (NaN, filled by the model)."""
    return spec.dtype == "float32" and getattr(spec, "role", None) == "numeric"


def _numbers_fit(array: np.ndarray, dtype: str) -> bool:
    if dtype == "int64":
        return array.dtype.kind in "iu" or (array.dtype.kind == "f" and bool(np.all(np.mod(array, 1) == 0)))
    return array.dtype.kind in "iuf"


def _first_non_number(value: Any, *, null_ok: bool = False) -> Any:
    """The first leaf of nested lists that is not a number (booleans are not), as a `_Leaf`; or None.

    Args:
        null_ok: accept null leaves (missing values of a float input).
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif item is None and null_ok:
            continue
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            return _Leaf(item)
    return None


class _Leaf:
    """A bad leaf value (so that None itself can be reported)."""

    def __init__(self, value: Any):
        self.value = value


def _expected(spec: Any) -> str:
    what = {"float32": "numbers", "int64": "integers", "string": "strings"}.get(spec.dtype, spec.dtype)
    shape = list(spec.shape)
    if shape == [1]:
        return {"float32": "a number", "int64": "an integer", "string": "a string"}.get(spec.dtype, spec.dtype)
    return f"{what} of shape {shape}"


def _describe(value: Any) -> str:
    """A short account of a received JSON value, for messages."""
    if isinstance(value, _Leaf):
        value = value.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string {json.dumps(shown)}"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
