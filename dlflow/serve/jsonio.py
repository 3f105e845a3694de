"""JSON for the server's bodies: orjson where it answers as Python's `json` would, `json` otherwise.

orjson decodes a one-image request in about a quarter of `json.loads`'s time and encodes an
answer in a fifth of `json.dumps`'s. It is stricter than `json` (it refuses NaN and Infinity,
UTF-16 bodies, lone surrogates): whatever it refuses is decoded again by `json`, so a body means
exactly what it meant before and refusals keep `json`'s messages and the parser's own
(`dlflow.serve.request`: "non-finite number NaN is not accepted"). orjson reads an integer beyond
64 bits as a float where `json` keeps it exact, so a body with a run of 19 digits or more goes to
`json` directly (tests/serve/test_serve_jsonio.py compares the two on generated bodies).
"""

from __future__ import annotations

import json
from typing import Any, Callable

import orjson

DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
LONG_NUMBER = b"0" * 19  # 19 digits in a row: an integer that may not fit 64 bits (or a long fraction)
CODEC = "orjson (Python's json for what orjson refuses)"  # shown in /metadata


def loads(body: bytes, parse_constant: Callable[[str], Any]) -> Any:
    """The JSON value of `body`, as `json.loads(body, parse_constant=parse_constant)` gives it.

    Raises:
        ValueError, UnicodeDecodeError, RecursionError: as `json.loads` raises them.
    """
    if LONG_NUMBER not in body.translate(DIGITS_AS_ZERO):  # a search for 19 digits, 10x faster than a regex
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body, parse_constant=parse_constant)


def dumps(data: Any) -> bytes:
    """`data` as compact JSON bytes; numpy scalars and arrays as numbers and lists, NaN and
    infinities as null (the answer is always valid JSON).

    Raises:
        ValueError: a non-finite float in data that orjson cannot write (keys that are not
            strings, integers beyond 64 bits: written by `json`, which refuses NaN).
        TypeError: a value JSON has no form for.
    """
    try:
        return orjson.dumps(data, default=_plain)
    except TypeError:  # keys that are not strings, integers beyond 64 bits: json's rules, as before
        return json.dumps(data, separators=(",", ":"), allow_nan=False, default=_plain).encode()


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
