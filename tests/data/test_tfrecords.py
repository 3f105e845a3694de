"""TFRecord files with a declared feature spec (`data.format: tfrecord`) train through `dlflow train`;
collect checks every record against the spec and names a bad one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import cli_json, run_cli
from tests.data.kinds_helpers import assert_data_error


def _write_records(folder: Path, files: int = 2, per_file: int = 150) -> Path:
    import tensorflow as tf

    folder.mkdir()
    rng = np.random.default_rng(0)
    for f in range(files):
        with tf.io.TFRecordWriter(str(folder / f"part-{f}.tfrecord")) as writer:
            for _ in range(per_file):
                label = int(rng.integers(0, 3))
                x = rng.normal(label * 2.0, 0.5, 4).astype("float32")
                example = tf.train.Example(
                    features=tf.train.Features(
                        feature={
                            "x": tf.train.Feature(float_list=tf.train.FloatList(value=x)),
                            "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                        }
                    )
                )
                writer.write(example.SerializeToString())
    return folder


def _config(work: Path, source: str, features: dict) -> Path:
    config = {
        "name": "records",
        "seed": 3,
        "task": "multiclass",
        "data": {"source": source, "format": "tfrecord", "target": "label", "tfrecord": {"features": features}},
        "model": {
            "sequential": [
                {"Dense": {"units": 8, "activation": "relu"}},
                {"Dense": {"units": 3, "activation": "softmax"}},
            ]
        },
        "compile": {
            "optimizer": {"Adam": {"learning_rate": 0.03}},
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
        },
        "fit": {"epochs": 6, "batch_size": 32, "verbose": 0},
        "export": {"formats": ["keras"]},
    }
    path = work / "records.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


SPEC = {"x": {"dtype": "float32", "shape": [4]}, "label": {"dtype": "int64"}}


@pytest.mark.slow  # trains (about a minute on 2 busy cores)
def test_a_tfrecord_folder_trains_and_evaluates(tmp_path):
    folder = _write_records(tmp_path / "records")
    config = _config(tmp_path, str(folder), SPEC)
    card = cli_json("collect", str(config), cwd=tmp_path)
    assert card["streamed"] and sum(card["split"]["sizes"].values()) == 300
    result = cli_json("train", str(config), cwd=tmp_path)
    run = Path(result["run"])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["data"]["sizes"] == card["split"]["sizes"]
    evaluation = cli_json("evaluate", str(run), cwd=tmp_path)
    assert evaluation["samples"] == card["split"]["sizes"]["test"] and evaluation["metrics"]["accuracy"] > 0.6


def test_a_record_that_breaks_the_spec_is_named_by_file_and_number(tmp_path):
    folder = _write_records(tmp_path / "records", files=1, per_file=20)
    config = _config(tmp_path, str(folder / "*.tfrecord"), {**SPEC, "x": {"dtype": "float32", "shape": [5]}})
    assert_data_error(run_cli("collect", str(config), cwd=tmp_path), str(folder / "part-0.tfrecord"), "record 1 ")
