"""Dotted config paths: formatting and parsing."""

from __future__ import annotations

import pytest

from dlflow.config import format_path, parse_path


@pytest.mark.parametrize(
    "path, text",
    [
        (("model", "sequential", 4, "Dense", "units"), "model.sequential[4].Dense.units"),
        (("compile", "optimizer", "Adam", "learning_rate"), "compile.optimizer.Adam.learning_rate"),
        (("fit", "callbacks", 0), "fit.callbacks[0]"),
        (("data", "features", "first name"), 'data.features["first name"]'),
        (("search", "space", "model.sequential[4].Dense.units"), 'search.space["model.sequential[4].Dense.units"]'),
        (("seed",), "seed"),
        ((), ""),
    ],
)
def test_format_and_parse_round_trip(path, text):
    assert format_path(path) == text
    if path:
        assert parse_path(text) == path


def test_parse_accepts_negative_indices_and_spaces():
    assert parse_path(" model.sequential[-1].Dense ") == ("model", "sequential", -1, "Dense")


@pytest.mark.parametrize("text", ["", "a..b", "a.", ".a", "[0]", "a[x]", 'a["unclosed]', "a b=c"])
def test_parse_rejects_malformed_paths(text):
    with pytest.raises(ValueError):
        parse_path(text)
