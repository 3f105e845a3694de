"""`dlflow predict` needs only the run: no training data; raw series tables and .txt files as input.

Each run trains one epoch on a copy of a dataset in a scratch folder; the copy is deleted before
predicting, so a predict that still reads the training data fails.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import CONFIGS, cli_json, run_cli
from tests.data.kinds_helpers import DATASETS, assert_data_error

TOPICS = ["business", "entertainment", "politics", "sports", "tech"]


def _train_on_copy(tmp_path_factory, name: str, config: str, dataset: str) -> dict:
    """Train `config` for one epoch on a copy of `datasets/<dataset>`, then delete the copy."""
    work = tmp_path_factory.mktemp(name)
    source = DATASETS / dataset
    copy = work / dataset
    (shutil.copytree if source.is_dir() else shutil.copy)(source, copy)
    result = cli_json(
        "train",
        str(CONFIGS / config),
        "--set",
        f"data.source={copy}",
        "--set",
        "fit.epochs=1",
        "--set",
        "fit.verbose=0",
        cwd=work,
    )
    (shutil.rmtree if copy.is_dir() else Path.unlink)(copy)
    return {"work": work, "run": Path(result["run"])}


def _predict(run: dict, path: Path):
    done = run_cli("predict", str(run["run"]), str(path), "-o", "-", cwd=run["work"])
    return done, list(csv.DictReader(io.StringIO(done.stdout))) if done.returncode == 0 else []


@pytest.fixture(scope="module")
def series_run(tmp_path_factory) -> dict:
    return _train_on_copy(tmp_path_factory, "series", "sunspots.yaml", "sunspots.csv")


@pytest.fixture(scope="module")
def text_run(tmp_path_factory) -> dict:
    return _train_on_copy(tmp_path_factory, "text", "bbc_text.yaml", "bbc_news")


def test_a_series_table_is_windowed_like_training_without_the_training_data(series_run, tmp_path):
    manifest = json.loads((series_run["run"] / "manifest.json").read_text())
    assert manifest["data"]["series"]["columns"] == ["sunactivity"]  # year is ignored by the config
    table = pd.read_csv(DATASETS / "sunspots.csv").iloc[-30:]
    table.to_csv(tmp_path / "recent.csv", index=False)
    done, rows = _predict(series_run, tmp_path / "recent.csv")
    assert done.returncode == 0, done.stderr[-2000:]
    # windows of 24 rows, stride 1, the last one ending at the table's last row: rows 23..29
    assert [int(r["id"]) for r in rows] == list(range(23, 30))
    assert all(float(r["prediction"]) == float(r["prediction"]) for r in rows)  # numbers, not NaN


@pytest.mark.parametrize(
    "rows, columns, message",
    [
        (10, {"sunactivity": "sunactivity"}, "10 rows, but the run's windows need 24 rows"),
        (30, {"sunactivity": "activity"}, "no column 'sunactivity'"),
    ],
)
def test_a_series_table_shorter_than_a_window_or_without_the_columns_is_refused(rows, columns, message):
    from dlflow.data.timeseries import prediction_windows
    from dlflow.errors import DataError

    series = {"columns": ["sunactivity"], "window": {"length": 24, "horizon": 1, "stride": 1, "sampling_rate": 1}}
    table = pd.read_csv(DATASETS / "sunspots.csv").iloc[:rows].rename(columns=columns)
    with pytest.raises(DataError, match=re.escape(message)):
        prediction_windows(table, series, "t.csv")


def test_series_windows_follow_the_run_s_stride_and_sampling_rate_from_the_last_row():
    from dlflow.data.timeseries import prediction_windows

    table = pd.DataFrame({"t": range(10), "v": [float(i) for i in range(10)]})
    series = {"columns": ["v"], "window": {"length": 4, "horizon": 1, "stride": 3, "sampling_rate": 2}}
    windows, ends = prediction_windows(table, series, "t.csv")
    assert ends.tolist() == [3, 6, 9]  # anchored at the last row, one every 3 rows
    assert windows[:, :, 0].tolist() == [[1.0, 3.0], [4.0, 6.0], [7.0, 9.0]]  # every 2nd of 4 rows


def test_a_run_whose_manifest_predates_the_record_says_it_needs_its_data(series_run, tmp_path):
    old = series_run["run"].parent / "19990101-000000"  # an older run of the same experiment
    shutil.copytree(series_run["run"], old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["data"]["series"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    pd.read_csv(DATASETS / "sunspots.csv").to_csv(tmp_path / "all.csv", index=False)
    done = run_cli("predict", str(old), str(tmp_path / "all.csv"), "-o", "-", cwd=series_run["work"])
    assert_data_error(done, "predates", "training data is needed")


def test_a_text_model_takes_a_txt_file_and_a_folder_of_them(text_run, tmp_path):
    folder = tmp_path / "articles"
    (folder / "more").mkdir(parents=True)
    for i, topic in enumerate(TOPICS):
        article = sorted((DATASETS / "bbc_news" / topic).glob("*.txt"))[-1]
        shutil.copy(article, folder / ("more" if i % 2 else ".") / f"{topic}.txt")
    done, rows = _predict(text_run, folder / "business.txt")
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r["id"] for r in rows] == ["business.txt"] and rows[0]["prediction"] in TOPICS
    done, rows = _predict(text_run, folder)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r["id"] for r in rows] == [
        "business.txt",
        "more/entertainment.txt",
        "more/sports.txt",
        "politics.txt",
        "tech.txt",
    ]
    assert {r["prediction"] for r in rows} <= set(TOPICS) and all(r["prediction_confidence"] for r in rows)


@pytest.mark.slow
def test_a_table_model_predicts_without_its_training_table(tmp_path_factory):
    from tests.data.test_tables import make_table, write_config

    work = tmp_path_factory.mktemp("table")
    make_table(rows=200).to_csv(work / "cancer.csv", index=False)
    result = cli_json("train", str(write_config(work, "cancer.csv", epochs=1)), cwd=work)
    (work / "cancer.csv").unlink()
    make_table(rows=20, seed=3).drop(columns=["diagnosis"]).to_csv(work / "new.csv", index=False)
    done, rows = _predict({"work": work, "run": Path(result["run"])}, work / "new.csv")
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(rows) == 20 and {r["prediction"] for r in rows} <= {"benign", "malignant"}


@pytest.mark.slow
@pytest.mark.parametrize(
    "config, dataset, sample",
    [
        ("digits_images.yaml", "digits_images", "digits_images/3"),
        ("multi_io.yaml", "digits_multi_io.npz", "digits_multi_io.npz"),
    ],
)
def test_image_and_npz_models_predict_without_their_training_data(tmp_path_factory, config, dataset, sample):
    keep = tmp_path_factory.mktemp("inputs")
    source = DATASETS / sample
    (shutil.copytree if source.is_dir() else shutil.copy)(source, keep / source.name)
    run = _train_on_copy(tmp_path_factory, "kinds", config, dataset)
    done, rows = _predict(run, keep / source.name)
    assert done.returncode == 0, done.stderr[-2000:]
    assert rows and all(r.get("prediction", r.get("digit")) not in (None, "") for r in rows)
