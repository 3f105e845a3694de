"""`dlflow predict` streams a table: CSV and parquet read in chunks, predicted batch by batch, the CSV
written as it goes, with the output of the whole table predicted at once (ids, columns, formatting)."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, cli_json


@pytest.fixture(scope="module")
def table_run(tmp_path_factory) -> dict:
    """A one-epoch MLP on 200 rows of the messy breast cancer table (numbers, strings, text, gaps)."""
    from tests.data.test_tables import make_table, write_config

    work = tmp_path_factory.mktemp("table-stream")
    make_table(rows=200).to_csv(work / "cancer.csv", index=False)
    result = cli_json("train", str(write_config(work, "cancer.csv", epochs=1)), cwd=work)
    return {"work": work, "run": Path(result["run"])}


def _whole_table_csv(run: Path, path: Path) -> str:
    """The predictions CSV of the in-memory path: the table read whole, its inputs predicted at once."""
    from dlflow.workflow import predict as module
    from dlflow.workflow.opened_run import load_run_model, open_run, run_signature

    opened = open_run(str(run), run.parent.parent, with_data=False)
    signature = run_signature(opened)
    inputs, ids = module.read_inputs(path, signature)
    labelled = module.predict_labels(load_run_model(opened), signature, inputs, opened.loaded.config.fit.batch_size)
    specs = {spec.name: spec for spec in signature.targets}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(module._header(specs, labelled))
    writer.writerows(module._rows(specs, labelled, ids, {name: [] for name in specs}))
    return buffer.getvalue()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_streamed_table_predicts_as_the_whole_table_does(table_run, tmp_path, monkeypatch, suffix):
    from dlflow.data import table_files
    from dlflow.workflow import predict_stream
    from dlflow.workflow.predict import predict
    from tests.data.test_tables import make_table

    frame = make_table(seed=5).drop(columns=["diagnosis"])  # 569 rows, gaps in strings and numbers
    frame.insert(0, "id", [f"case-{i}" for i in range(len(frame))])
    path = tmp_path / f"new{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
    expected = _whole_table_csv(table_run["run"], path)
    monkeypatch.setattr(predict_stream, "TABLE_CHUNK_ROWS", 100)  # 96-row chunks (3 batches of 32): 6 chunks
    monkeypatch.setattr(table_files, "read_table", lambda *a, **k: pytest.fail("the table was read whole"))
    result = predict(str(table_run["run"]), path, runs_root=table_run["run"].parent.parent, output="-")
    assert result["rows"] == len(frame) and result["csv"] == expected
    assert [row["id"] for row in csv.DictReader(io.StringIO(result["csv"]))] == list(frame["id"])


MEASURE = ROOT / "benchmarks"


@pytest.mark.slow  # writes a 1,000,000-row CSV (about 250 MB) and predicts it and half of it (4 min on 2 busy cores)
def test_predicting_a_million_rows_keeps_memory_flat(tmp_path):
    """Peak RSS predicting 1,000,000 rows is within 50 MB of predicting 500,000 rows (measured: 1,003
    and 1,008 MB, TensorFlow included), while the table alone would take over 300 MB in memory (as
    pandas holds it). Before, the CSV reader's read-ahead (32 blocks of 8 MB) made it grow with the file."""
    from tests.data.test_tables import make_table

    base = make_table(seed=1)
    base["notes"] = base["notes"].fillna("") + " " + "x" * 120  # wide rows: the table is big in memory
    base.to_csv(tmp_path / "train.csv", index=False)
    config = {
        "name": "wide",
        "seed": 7,
        "data": {"source": str(tmp_path / "train.csv"), "target": "diagnosis"},
        "model": {"sequential": [{"Dense": {"units": 1, "activation": "sigmoid"}}]},
        "fit": {"epochs": 1, "batch_size": 4096, "verbose": 0},
    }
    (tmp_path / "wide.yaml").write_text(yaml.safe_dump(config))
    run = cli_json("train", str(tmp_path / "wide.yaml"), cwd=tmp_path)["run"]
    rows = base.drop(columns=["diagnosis"])
    repeats = -(-1_000_000 // len(rows))
    in_memory = 0
    with open(tmp_path / "big.csv", "w", newline="") as handle:
        for k in range(repeats):
            rows.to_csv(handle, index=False, header=k == 0)
            in_memory += int(rows.memory_usage(deep=True).sum())
    rows.iloc[:0].to_csv(tmp_path / "small.csv", index=False)
    with open(tmp_path / "small.csv", "a", newline="") as handle:
        for _ in range(-(-500_000 // len(rows))):
            rows.to_csv(handle, index=False, header=False)
    small, big = (_measured_predict(run, tmp_path / name, tmp_path) for name in ("small.csv", "big.csv"))
    print(
        f"peak RSS: {small['max_rss_mb']:.0f} MB for {small['rows']:,} rows, {big['max_rss_mb']:.0f} MB for "
        f"{big['rows']:,} rows; the table in memory: {in_memory / 2**20:.0f} MB"
    )
    assert big["rows"] == repeats * len(rows) and in_memory > 300 * 2**20
    assert big["max_rss_mb"] - small["max_rss_mb"] < 50, (small, big, in_memory / 2**20)


def _measured_predict(run: str, path: Path, cwd: Path) -> dict:
    sys.path.insert(0, str(MEASURE))
    from peak_rss import run_measured

    command = [sys.executable, "-m", "dlflow.cli", "predict", run, str(path), "-o", str(cwd / "out.csv")]
    done = run_measured(command, cwd)
    assert done["rc"] == 0, done["stderr"]
    with open(cwd / "out.csv", newline="") as handle:
        return {"rows": sum(1 for _ in csv.DictReader(handle)), "max_rss_mb": done["max_rss_mb"]}
