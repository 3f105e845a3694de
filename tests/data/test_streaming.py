"""Streaming tables from disk: the same statistics as in memory, every row of a part exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import cli_json, run_cli
from tests.data.test_tables import make_table, write_config


@pytest.fixture()
def table(tmp_path) -> dict:
    make_table().to_csv(tmp_path / "t.csv", index=False)
    config = write_config(
        tmp_path,
        "t.csv",
        streaming={"enabled": True, "chunk_rows": 50},
        missing={"numeric": "median", "categorical": "most_frequent"},
    )
    from dlflow.config import load_config

    return {"work": tmp_path, "config": config, "loaded": load_config(config)}


def test_streamed_statistics_equal_in_memory_statistics_of_the_same_training_rows(table):
    from dlflow.data.missing import MissingPolicy
    from dlflow.data.split import hash_parts
    from dlflow.data.stats import preprocessing_stats, summarize
    from dlflow.data.streaming import scan_table
    from dlflow.data.table_files import read_table
    from dlflow.data.tabular import dataset_from_frame

    config = table["loaded"].config
    streamed = scan_table(config.data, None, seed=config.seed)
    assert streamed.rows == 569 and sum(streamed.counts.values()) == 569
    parts = hash_parts(np.arange(569), config.seed, 0.15, 0.15)
    assert streamed.counts == {
        "train": int((parts == 0).sum()),
        "validation": int((parts == 1).sum()),
        "test": int((parts == 2).sum()),
    }

    frame = read_table(Path(config.data.source), "csv")
    memory = dataset_from_frame(frame, target="diagnosis", features=None, task=None, source="t.csv")
    train = memory.take(np.flatnonzero(parts == 0))
    expected = preprocessing_stats(summarize(train.inputs, train.input_specs), MissingPolicy(numeric="median"))
    got = streamed.samples["train"].info["preprocessing"]
    assert set(got) == set(expected)
    for name, entry in expected.items():
        for key, value in entry.items():
            if isinstance(value, float):
                assert got[name][key] == pytest.approx(value, rel=1e-9), (name, key)
            else:
                assert got[name][key] == value, (name, key)
    assert streamed.layout.target_specs["diagnosis"].classes == memory.target_specs["diagnosis"].classes
    assert {n: s.dtype for n, s in streamed.layout.specs.items()} == {n: s.dtype for n, s in memory.input_specs.items()}


def test_a_part_yields_each_of_its_rows_once_shuffled_per_epoch(table):
    from dlflow.data.streaming import scan_table

    config = table["loaded"].config
    streamed = scan_table(config.data, None, seed=config.seed)
    part = streamed.part("validation")
    whole = part.load()
    assert len(whole) == streamed.counts["validation"]

    def radii(rng):
        batches = list(part.batches(16, rng))
        assert all(len(inputs["radius"]) == 16 for inputs, _ in batches[:-1])
        return np.concatenate([inputs["radius"].reshape(-1) for inputs, _ in batches])

    ordered = radii(None)
    assert np.array_equal(ordered, whole.inputs["radius"].reshape(-1))
    first, second = radii(np.random.default_rng([1, 0])), radii(np.random.default_rng([1, 1]))
    assert sorted(first) == sorted(second) == sorted(ordered)  # the same rows...
    assert not np.array_equal(first, second)  # ...in a new order each epoch
    assert np.array_equal(first, radii(np.random.default_rng([1, 0])))  # fixed by the seed

    def rows(data):
        return set(zip(*(data.inputs[c].reshape(-1).tolist() for c in ("radius", "area", "smoothness"))))

    assert len(rows(whole)) == len(whole)  # these columns identify a row
    assert not rows(streamed.part("train").load()) & rows(whole)  # no row of another part


def test_auto_streams_only_above_the_threshold(table):
    from dlflow.config import load_config
    from dlflow.data.streaming import estimate_memory_mb, should_stream

    path = Path(table["loaded"].config.data.source)
    estimate = estimate_memory_mb(path, "csv")
    assert 0.05 < estimate < 5  # 569 rows, 9 columns
    small = load_config(write_config(table["work"], "t.csv", name="auto"))
    assert not should_stream(small.config.data)
    tiny = load_config(write_config(table["work"], "t.csv", name="tiny", streaming={"threshold_mb": 0.01}))
    assert should_stream(tiny.config.data)


def test_bad_value_deep_in_a_streamed_file_names_its_line(tmp_path):
    frame = make_table()
    frame["area"] = frame["area"].astype(object)
    frame.loc[500, "area"] = "n/a?"
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = write_config(
        tmp_path, "t.csv", streaming={"enabled": True, "chunk_rows": 100}, features={"area": "numeric"}
    )
    done = run_cli("collect", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "t.csv:502: column 'area': expected a number, received 'n/a?'" in done.stderr


@pytest.mark.slow
def test_train_evaluate_and_predict_on_a_streamed_table(table):
    work, config = table["work"], table["config"]
    card = cli_json("collect", str(config), cwd=work)
    assert card["streamed"] and card["split"]["method"] == "hash"
    result = cli_json("train", str(config), cwd=work)
    run = Path(result["run"])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["data"]["streamed"] and manifest["data"]["sizes"] == card["split"]["sizes"]
    evaluation = cli_json("evaluate", str(run), cwd=work)
    assert evaluation["samples"] == card["split"]["sizes"]["test"]
    assert evaluation["metrics"]["accuracy"] > 0.6
    make_table(20).drop(columns=["diagnosis"]).to_csv(work / "rows.csv", index=False)
    predicted = cli_json("predict", str(run), "rows.csv", cwd=work)
    assert predicted["rows"] == 20 and set(predicted["predictions"]["diagnosis"]) <= {"benign", "malignant"}
