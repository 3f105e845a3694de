"""dlflow.serve.jsonio: orjson's speed, Python json's meaning (a differential test on generated bodies)."""

import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dlflow.serve import jsonio

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # past 64 bits: orjson refuses, json takes them
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(["\ud800", "\x00", "\u2028"]), max_size=8)
)
VALUES = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
)


class Refused(Exception):
    pass


def hook(name):
    raise Refused(name)


def outcome(decode, body):
    """What decoding `body` gives: ('ok', canonical text) or ('error', exception type)."""
    try:
        return "ok", json.dumps(decode(body), sort_keys=True)  # NaN and big ints written alike by json
    except Refused as error:
        return "refused", str(error)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        return "error", type(error).__name__


def stdlib(body):
    return json.loads(body, parse_constant=hook)


def ours(body):
    return jsonio.loads(body, hook)


@settings(max_examples=150, deadline=None)
@given(VALUES, st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]), st.data())
def test_loads_means_what_json_loads_means(value, encoding, data):
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    body = text.encode(encoding, errors="surrogatepass")
    if data.draw(st.booleans()) and body:  # and a body broken at one byte
        at = data.draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([data.draw(st.integers(0, 255))]) + body[at + 1 :]
    assert outcome(ours, body) == outcome(stdlib, body)


def test_loads_refusals_keep_the_parsers_messages():
    assert outcome(ours, b'{"instances": [NaN]}') == ("refused", "NaN")
    assert outcome(ours, b"[" * 100_000)[0] == "error"  # nested too deeply: json's RecursionError
    assert ours(b'{"a": 123456789012345678901234567890}') == {"a": 123456789012345678901234567890}


ANSWERS = st.recursive(  # what answers hold: 64-bit integers at most
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
)


@settings(max_examples=100, deadline=None)
@given(ANSWERS)
def test_dumps_writes_valid_json_that_reads_back_as_json_wrote_it(value):
    written = jsonio.dumps(value)
    assert isinstance(written, bytes)
    back = json.loads(written)  # strict JSON: no NaN or Infinity in it
    expected = _finite(value)
    assert json.dumps(back, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_dumps_takes_numpy_values():
    data = {"p": np.float32(0.25), "n": np.int64(3), "a": np.arange(3), "nan": float("nan")}
    assert json.loads(jsonio.dumps(data)) == {"p": 0.25, "n": 3, "a": [0, 1, 2], "nan": None}


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


NUMBER = st.from_regex(r"-?(0|[1-9][0-9]{0,22})(\.[0-9]{1,22})?([eE][+-]?[0-9]{1,3})?", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(NUMBER, min_size=1, max_size=4))
def test_numbers_read_as_json_reads_them(numbers):
    body = ("[" + ",".join(numbers) + "]").encode()  # overflow to inf, underflow to 0, long mantissas
    assert outcome(ours, body) == outcome(stdlib, body)


def test_numbers_at_the_edges():
    for text in ("1e400", "-1e400", "1e-400", "9223372036854775807", "-9223372036854775808", "1.7976931348623157e308"):
        body = f'{{"instances": [{text}]}}'.encode()
        assert outcome(ours, body) == outcome(stdlib, body), text
