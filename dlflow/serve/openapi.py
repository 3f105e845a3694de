"""The predict request's JSON Schema, for the app's OpenAPI document (`app.openapi()`).

TensorFlow Serving's REST body is `{"instances": [...]}` (one item per example: the input's
nested array, or for several inputs an object by name) or `{"inputs": ...}` (columnar: one
array per input). The schema follows the served model's inputs (`ServedModel.inputs`: name,
shape of one example, dtype), so a property-based client (schemathesis) can send valid bodies and
bodies that just miss; the server itself parses with `dlflow.serve.request`, not with this schema.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

SHOWN_ROWS = 4  # the most examples the schema describes in one request (the server's limit is larger)


def _value(dtype: str) -> dict[str, Any]:
    return {"type": "string"} if dtype == "string" else {"type": "integer" if dtype.startswith("int") else "number"}


def _example(spec: Any) -> dict[str, Any]:
    """One example of one input: its value nested in arrays of the input's shape."""
    schema = _value(str(spec.dtype))
    for size in reversed(tuple(spec.shape)):
        bounded = {"minItems": int(size), "maxItems": int(size)} if size is not None and int(size) > 0 else {}
        schema = {"type": "array", "items": schema, **bounded}
    return schema


def predict_request_schema(inputs: Any) -> dict[str, Any]:
    """The JSON Schema of a predict body for a model with `inputs` (row or columnar format)."""
    inputs = list(inputs)
    if len(inputs) == 1:
        row: dict[str, Any] = _example(inputs[0])
        columns: dict[str, Any] = {"type": "array", "items": row, "minItems": 1, "maxItems": SHOWN_ROWS}
    else:
        names = [spec.name for spec in inputs]
        row = {"type": "object", "properties": {spec.name: _example(spec) for spec in inputs}, "required": names}
        columns = {
            "type": "object",
            "required": names,
            "properties": {
                spec.name: {"type": "array", "items": _example(spec), "minItems": 1, "maxItems": SHOWN_ROWS}
                for spec in inputs
            },
        }
    return {
        "oneOf": [
            {
                "type": "object",
                "required": ["instances"],
                "additionalProperties": False,
                "properties": {
                    "instances": {"type": "array", "items": row, "minItems": 1, "maxItems": SHOWN_ROWS},
                    "signature_name": {"type": "string"},
                },
            },
            {
                "type": "object",
                "required": ["inputs"],
                "additionalProperties": False,
                "properties": {"inputs": columns, "signature_name": {"type": "string"}},
            },
        ]
    }


def predict_operation(inputs: Any, path: str) -> dict[str, Any]:
    """The OpenAPI operation of `POST <path>` (a predict route): path parameters, body, answers."""
    error = {
        "description": "refused",
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
            }
        },
    }
    names = re.findall(r"{(\w+)}", path)
    return {
        "summary": "Predict",
        "operationId": "predict_" + "_".join(names),
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "title": name.title()}}
            for name in names
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": predict_request_schema(inputs)}}},
        "responses": {
            "200": {"description": "the predictions", "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": error,
            "404": error,
            "413": error,
        },
    }


def with_predict_operations(build: Callable[[], dict], inputs: Any, paths: Sequence[str]) -> Callable[[], dict]:
    """`app.openapi` with the predict operations added (the predict routes are plain Starlette
    routes, which FastAPI leaves out of its document)."""

    def openapi() -> dict[str, Any]:
        document = build()  # FastAPI builds it once and keeps it
        for path in paths:
            document.setdefault("paths", {}).setdefault(path, {}).setdefault("post", predict_operation(inputs, path))
        return document

    return openapi
