"""`dlflow serve --output raw`: answers exactly as TF Serving answers for the run's SavedModel.

The values are the model's output tensors as they are (probabilities, not labels), named as the
exported SavedModel's `serving_default` signature names them (`dlflow.export.signature`): a
model returning a dict keeps its keys, otherwise `output_0`, `output_1`, ... in order. The JSON
shapes are TF Serving's REST API's:

| request                      | one output                    | several outputs                               |
|------------------------------|-------------------------------|-----------------------------------------------|
| row format, `"instances"`    | `{"predictions": [row, ...]}` | `{"predictions": [{name: row value}, ...]}`   |
| columnar format, `"inputs"`  | `{"outputs": batch}`          | `{"outputs": {name: batch}}`                  |

Non-finite numbers are written as null (TF Serving writes NaN, which is not JSON).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from dlflow.choices import SERVE_OUTPUTS as OUTPUT_FORMATS  # noqa: F401  (re-exported: what serve --output takes)


def signature_output_names(model: Any, output_names: Sequence[str]) -> dict[str, str]:
    """Each served output's name in the SavedModel signature: `{served name: signature name}`.

    Args:
        model: the Keras model being served.
        output_names: the served outputs' names in the model's output order (`compile_predict`'s).
    """
    try:
        structure = model.output
    except (AttributeError, ValueError):
        structure = None
    if isinstance(structure, dict):
        return {name: name for name in output_names}
    return {name: f"output_{i}" for i, name in enumerate(output_names)}


def raw_predictions(served: Any, outputs: dict[str, np.ndarray], *, columnar: bool) -> dict[str, Any]:
    """The answer to `:predict` in TF Serving's shapes (see module doc)."""
    named = {served.raw_names.get(name, name): _values(array) for name, array in outputs.items()}
    if len(named) == 1:
        values = next(iter(named.values()))
        return {"outputs": values} if columnar else {"predictions": values}
    if columnar:
        return {"outputs": named}
    rows = len(next(iter(named.values())))
    return {"predictions": [{name: values[i] for name, values in named.items()} for i in range(rows)]}


def raw_metadata(metadata: dict[str, Any], served: Any) -> dict[str, Any]:
    """The metadata answer with the signature's outputs under their SavedModel names."""
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    renamed = {}
    for name, info in signature["outputs"].items():
        raw = served.raw_names.get(name, name)
        renamed[raw] = {**info, "name": raw}
    signature["outputs"] = renamed
    return metadata


def _values(array: np.ndarray) -> list:
    """An output batch as nested lists; floats non-finite as None."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            return np.where(np.isfinite(array), array.astype("float64"), None).tolist()
        return array.astype("float64").tolist()
    if array.dtype.kind in "SO":
        return (
            [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in array.ravel().tolist()]
            if array.ndim == 1
            else [_values(row) for row in array]
        )
    return array.tolist()
