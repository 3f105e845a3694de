"""A `data:` option the loaded data cannot use is a located error, never silently ignored."""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_cli
from tests.data.kinds_helpers import DATASETS, assert_data_error


def _load(data: dict):
    import yaml

    from dlflow.config import loads_config
    from dlflow.data.sources import load_dataset

    config = {"name": "t", "data": data, "model": {"sequential": [{"Dense": {"units": 1}}]}}
    loaded = loads_config(yaml.safe_dump(config), "t.yaml")
    return load_dataset(loaded.config.data, loaded.config.task)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"source": "builtin:wine", "image": {"size": [8, 8]}}, "data.image applies to a folder of images"),
        ({"source": "builtin:digits", "image": {"color_mode": "rgb"}}, "data.image applies to a folder of images"),
        ({"source": "builtin:wine", "text": {"output_mode": "int"}}, "data.text applies to text inputs"),
        (
            {"source": str(DATASETS / "digits_multi_io.npz"), "target": "digit", "window": {"length": 4}},
            "data.window applies to a time series table",
        ),
        ({"source": str(DATASETS / "bbc_news"), "features": {"text": "text"}}, "data.features applies to tables"),
        ({"source": "builtin:wine", "augment": [{"RandomFlip": {}}]}, "data.augment applies to image inputs"),
        (
            {
                "source": str(DATASETS / "sunspots.csv"),
                "target": "sunactivity",
                "window": {"length": 8},
                "missing": {"numeric": "median"},
            },
            "data.missing applies to tables",
        ),
        ({"source": "builtin:digits", "streaming": {"chunk_rows": 10}}, "data.streaming applies to tables"),
    ],
)
def test_an_option_the_data_cannot_use_is_refused(data, message):
    from dlflow.errors import DataError

    with pytest.raises(DataError, match=message) as caught:
        _load(data)
    assert caught.value.config_path == ("data", [k for k in data if k not in ("source", "target")][-1])


def test_options_that_apply_are_accepted():
    assert (
        _load(
            {
                "source": str(DATASETS / "sunspots.csv"),
                "target": "sunactivity",
                "features": {"year": "ignore"},
                "window": {"length": 8},
            }
        ).kind
        == "timeseries"
    )


def test_the_refusal_points_at_the_option_in_the_file(tmp_path):
    config = tmp_path / "wine.yaml"
    config.write_text(
        "name: wine\ndata:\n  source: builtin:wine\n  image: {size: [8, 8]}\n"
        "model:\n  sequential: [{Dense: {units: 3, activation: softmax}}]\n"
    )
    done = run_cli("collect", str(config), cwd=tmp_path)
    assert_data_error(done, f"{config}:4:", "data.image: data.image applies to a folder of images")


@pytest.mark.parametrize(
    "text, message",
    [
        ({"sequence_length": 32}, "vectorized as tf_idf (the default for a table's text column)"),
        ({"sequence_length": 32, "output_mode": "multi_hot"}, "vectorized as multi_hot"),
    ],
)
def test_a_sequence_length_for_bag_of_words_vectors_is_refused(tmp_path, text, message):
    from dlflow.errors import DataError

    (tmp_path / "t.csv").write_text("review,label\n" + "".join(f"good film {i},{i % 2}\n" for i in range(40)))
    with pytest.raises(DataError, match=re.escape(message)) as caught:
        _load({"source": str(tmp_path / "t.csv"), "target": "label", "features": {"review": "text"}, "text": text})
    assert caught.value.config_path == ("data", "text", "sequence_length")
    _load(
        {
            "source": str(tmp_path / "t.csv"),
            "target": "label",
            "features": {"review": "text"},
            "text": {**text, "output_mode": "int"},
        }
    )  # token ids: the length takes effect
