"""Parsing `:predict` bodies: both TF Serving formats, and a clear message for each kind of bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlflow.data.dataset import InputSpec
from dlflow.serve.request import RequestError, parse_predict_request

IMAGE = [InputSpec("image", (2, 2, 1), "float32", "image")]
TABLE = [
    InputSpec("mean_radius", (1,), "float32", "numeric", column="mean radius"),
    InputSpec("grade", (1,), "int64", "categorical"),
    InputSpec("size", (1,), "string", "categorical"),
]


def parse(body, specs=IMAGE, noun="input"):
    return parse_predict_request(json.dumps(body).encode() if not isinstance(body, bytes) else body, specs, noun=noun)


def error(body, specs=IMAGE, noun="input") -> str:
    with pytest.raises(RequestError) as caught:
        parse(body, specs, noun)
    return str(caught.value)


def test_row_and_columnar_formats_give_the_same_arrays():
    images = [[[[1], [2]], [[3], [4]]], [[[5], [6]], [[7], [8]]]]
    rows = parse({"instances": images})
    columns = parse({"inputs": images})
    named = parse({"inputs": {"image": images}})
    assert rows.rows == 2 and not rows.columnar and columns.columnar
    for parsed in (rows, columns, named):
        assert parsed.inputs["image"].shape == (2, 2, 2, 1)
        assert parsed.inputs["image"].dtype == np.float32
    np.testing.assert_array_equal(rows.inputs["image"], columns.inputs["image"])


def test_a_trailing_1_may_be_left_out():
    parsed = parse({"instances": [[[1, 2], [3, 4]]]})  # a 2-D grayscale image
    assert parsed.inputs["image"].shape == (1, 2, 2, 1)


def test_table_rows_by_original_column_names_or_input_names():
    parsed = parse(
        {
            "instances": [
                {"mean radius": 17.9, "grade": 2, "size": "large"},
                {"mean_radius": 11, "grade": [3], "size": None},
            ]
        },
        TABLE,
        "column",
    )
    np.testing.assert_allclose(parsed.inputs["mean_radius"], [[17.9], [11.0]])
    assert parsed.inputs["grade"].dtype == np.int64 and parsed.inputs["grade"].tolist() == [[2], [3]]
    assert parsed.inputs["size"].tolist() == [["large"], [""]]  # null: a missing string


def test_null_in_a_numeric_column_is_a_missing_value():
    parsed = parse({"inputs": {"mean radius": [None, 3.5], "grade": [1, 2], "size": ["a", "b"]}}, TABLE, "column")
    assert np.isnan(parsed.inputs["mean_radius"][0, 0]) and parsed.inputs["mean_radius"][1, 0] == 3.5


@pytest.mark.parametrize(
    "body, specs, expected",
    [
        (b'{"instances": [1,', IMAGE, "malformed JSON: "),
        (
            [1, 2],
            IMAGE,
            'expected a JSON object with "instances" (row format) or "inputs" (columnar format), received a list of 2',
        ),
        ({"instance": []}, IMAGE, 'unknown key "instance" (did you mean "instances"?)'),
        ({"instances": [], "inputs": []}, IMAGE, 'expected exactly one of "instances"'),
        ({"instances": []}, IMAGE, '"instances" is empty'),
        (
            {"instances": [[1, 2, 3]]},
            IMAGE,
            'instances[0]: input "image": expected numbers of shape [2, 2, 1], received shape [3]',
        ),
        (
            {"instances": [[[1, 2], [3, "x"]]]},
            IMAGE,
            'instances[0]: input "image": expected numbers of shape [2, 2, 1], received a string "x"',
        ),
        (
            {"instances": [[[1, 2], [3, 4]], [[1, 2], [3]]]},
            IMAGE,
            'instances[1]: input "image": expected numbers of shape [2, 2, 1], received ragged nested lists',
        ),
        ({"instances": [[[1, 2], [3, None]]]}, IMAGE, "received null"),
        ({"instances": [[[True, False], [True, True]]]}, IMAGE, "received a boolean (true)"),
        (
            {"instances": [{"mean radius": 1, "grade": 2}]},
            TABLE,
            'instances[0]: missing column "size"; the model takes: mean radius, grade, size',
        ),
        (
            {"instances": [{"mean radius": 1, "grade": 2, "size": "s", "sise": 1}]},
            TABLE,
            'instances[0]: unknown column "sise" (did you mean "size"?)',
        ),
        (
            {"instances": [{"mean radius": "big", "grade": 2, "size": "s"}]},
            TABLE,
            'instances[0]: column "mean radius": expected a number, received a string "big"',
        ),
        (
            {"instances": [{"mean radius": 1, "grade": 2.5, "size": "s"}]},
            TABLE,
            'column "grade": expected an integer, received a fraction',
        ),
        (
            {"instances": [{"mean radius": 1, "grade": 2, "size": {"a": 1}}]},
            TABLE,
            'column "size": expected a string, received an object',
        ),
        (
            {"instances": [[1]]},
            TABLE,
            "instances[0]: expected an object {column name: value} for a model with 3 columns",
        ),
        (
            {"inputs": {"mean radius": [1, 2], "grade": [1], "size": ["a", "b"]}},
            TABLE,
            '"mean radius" has 2, "grade" has 1',
        ),
        (
            {"inputs": {"mean radius": 1, "grade": [1], "size": ["a"]}},
            TABLE,
            '"inputs".mean radius: expected a non-empty list',
        ),
        ({"instances": [[1]], "signature_name": "other"}, IMAGE, 'unknown signature_name "other"'),
    ],
)
def test_bad_requests_say_what_was_expected_and_received(body, specs, expected):
    assert expected in error(body, specs, "column" if specs is TABLE else "input")
