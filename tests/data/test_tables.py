"""Tables done right: column types, missing values by policy, string columns, raw-column exports.

The tables are built here from scikit-learn's breast cancer data (569 real rows) with string,
integer-coded and text columns added and missing values injected.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import cli_json, run_cli

WORDS_BENIGN = ["round", "smooth", "regular", "small", "even"]
WORDS_MALIGNANT = ["irregular", "spiky", "dense", "large", "uneven"]


def make_table(rows: int | None = None, seed: int = 0, missing: float = 0.05) -> pd.DataFrame:
    """Breast cancer measurements plus a string, an integer-coded and a text column, with gaps.

    Columns: radius, texture, perimeter, area, smoothness (numeric), clinic (string categorical),
    grade (integer codes 1-4), notes (text), diagnosis (the target: "benign" / "malignant").
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.iloc[:, :5].copy()
    frame.columns = ["radius", "texture", "perimeter", "area", "smoothness"]
    rng = np.random.default_rng(seed)
    y = bunch.target.to_numpy()
    honest = rng.random(len(frame)) < 0.7
    frame["clinic"] = np.where(
        honest, np.where(y == 1, "north", "south"), rng.choice(["north", "south", "east"], len(frame))
    )
    frame["grade"] = np.clip(np.round(frame["radius"] / 6).astype(int), 1, 4)
    frame["notes"] = [" ".join(rng.choice(WORDS_BENIGN if t else WORDS_MALIGNANT, 5)) for t in y]
    frame["diagnosis"] = np.asarray(bunch.target_names)[y]
    for column in ("texture", "clinic", "grade", "notes"):
        frame[column] = frame[column].astype(object)
        frame.loc[rng.random(len(frame)) < missing, column] = np.nan
    return frame.iloc[:rows].reset_index(drop=True) if rows else frame


def write_config(folder: Path, source: str, *, name: str = "tables", epochs: int = 2, **data: object) -> Path:
    """A small Sequential MLP config on `source` (a file in `folder`)."""
    config = {
        "name": name,
        "seed": 7,
        "data": {"source": source, "target": "diagnosis", **data},
        "model": {
            "sequential": [
                {"Dense": {"units": 16, "activation": "relu"}},
                {"Dense": {"units": 1, "activation": "sigmoid"}},
            ]
        },
        "fit": {"epochs": epochs, "batch_size": 32, "verbose": 0},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# -- column types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1.5, 2.25, 3.0, 4.75] * 10, "numeric"),
        ([1, 2, 3, 1, 2, 3] * 10, "categorical"),  # few integer codes
        ([True, False] * 20, "categorical"),
        (["red", "blue", "green"] * 10, "categorical"),
        (["a long description of the case"] * 30, "text"),
        ([f"id-{i}" for i in range(50)], "ignore"),  # an identifier
        (list(range(1, 51)), "ignore"),  # a row number
        ([np.nan] * 30, "ignore"),
        (["1.5", "2.5", "3.5"] * 20 + ["oops"], "numeric"),  # numbers with a typo: reported by row later
        ([1.0, 2.0, np.nan, 3.0] * 10, "categorical"),  # integer codes with gaps
    ],
)
def test_infer_column_type(values, expected):
    from dlflow.data.tabular import infer_column_type

    assert infer_column_type(pd.Series(values)) == expected


def test_table_inputs_keep_missing_values_raw_and_count_them():
    from dlflow.data.tabular import dataset_from_frame

    frame = make_table()
    frame["clinic"] = frame["clinic"].where(frame["clinic"].notna(), "")  # as read_table gives it
    data = dataset_from_frame(frame, target="diagnosis", features=None, task=None, source="t.csv", first_line=2)
    specs = data.input_specs
    assert specs["clinic"].dtype == "string" and specs["clinic"].role == "categorical"
    assert specs["grade"].dtype == "float32" and specs["grade"].role == "categorical"  # integer codes
    assert specs["notes"].role == "text" and specs["texture"].role == "numeric"
    assert np.isnan(data.inputs["texture"]).sum() == frame["texture"].isna().sum() > 0
    assert (data.inputs["clinic"] == "").sum() == (frame["clinic"] == "").sum() > 0
    assert data.info["missing"]["clinic"] == (frame["clinic"] == "").sum()
    assert data.target_specs["diagnosis"].classes == ("benign", "malignant")


# -- statistics from the training split only ----------------------------------------------------


def test_fill_values_and_normalization_come_from_training_rows_only():
    from dlflow.data.missing import MissingPolicy
    from dlflow.data.stats import preprocessing_stats, summarize
    from dlflow.data.tabular import dataset_from_frame

    frame = make_table()
    data = dataset_from_frame(frame, target="diagnosis", features=None, task=None, source="t.csv")
    train_rows = np.arange(0, 400)
    train = data.take(train_rows)
    texture = frame["texture"].iloc[train_rows].astype(float)
    grade = frame["grade"].iloc[train_rows].dropna().astype(int)
    clinic = frame["clinic"].iloc[train_rows].dropna()

    stats = preprocessing_stats(summarize(train.inputs, train.input_specs), MissingPolicy())
    assert stats["texture"]["fill"] == pytest.approx(texture.mean(), rel=1e-5)
    filled = texture.fillna(texture.mean())
    assert stats["texture"]["mean"] == pytest.approx(filled.mean(), rel=1e-5)
    assert stats["texture"]["variance"] == pytest.approx(filled.var(ddof=0), rel=1e-4)
    assert stats["clinic"]["fill"] == clinic.mode().sort_values().iloc[0]
    assert stats["grade"]["fill"] == grade.mode().min()
    assert stats["grade"]["vocabulary"] == sorted(grade.unique().tolist())

    median = preprocessing_stats(
        summarize(train.inputs, train.input_specs),
        MissingPolicy(numeric="median", categorical="constant", categorical_constant="n/a"),
    )
    assert median["texture"]["fill"] == pytest.approx(texture.median(), rel=1e-5)
    assert median["clinic"]["fill"] == "n/a" and "n/a" in median["clinic"]["vocabulary"]
    assert (
        median["grade"]["fill"] == median["grade"]["oov_token"]
    )  # a string constant for integer codes: unknown bucket
    # validation and test rows never matter: change them all, the statistics stay
    changed = frame.copy()
    changed.loc[400:, "texture"] = 1e6
    changed.loc[400:, "clinic"] = "elsewhere"
    again = dataset_from_frame(changed, target="diagnosis", features=None, task=None, source="t.csv").take(train_rows)
    assert preprocessing_stats(summarize(again.inputs, again.input_specs), MissingPolicy()) == stats


def test_model_fills_missing_inputs_with_training_statistics():
    import keras

    from dlflow.data.tabular import dataset_from_frame
    from dlflow.model.inputs import build_inputs

    frame = make_table()
    frame["clinic"] = frame["clinic"].where(frame["clinic"].notna(), "")
    data = dataset_from_frame(
        frame,
        target="diagnosis",
        features=None,
        task=None,
        source="t.csv",
        missing={
            "numeric": "constant",
            "categorical": "most_frequent",
            "numeric_constant": -3.0,
            "categorical_constant": "missing",
        },
    )
    train = data.take(np.arange(450))
    inputs = build_inputs(train)
    model = keras.Model(inputs.model_inputs("tabular"), inputs.combined)
    assert model.get_layer("fill_numeric").values == [-3.0] * 5  # numeric: constant
    assert model.get_layer("fill_clinic").values == [train_mode(train, "clinic")]  # categorical: most_frequent
    row = {name: np.asarray(values[:1]) for name, values in train.inputs.items()}
    row["texture"] = np.array([[np.nan]], "float32")
    row["clinic"] = np.array([[""]], dtype=object)
    import tensorflow as tf

    out = model({k: tf.constant(v) for k, v in row.items()})
    assert np.isfinite(out.numpy()).all()


def train_mode(train, name: str) -> str:
    values = train.inputs[name].reshape(-1)
    present = pd.Series(values[values != ""])
    return present.mode().sort_values().iloc[0]


# -- through the CLI: train, predict and a SavedModel on raw columns ------------------------------


@pytest.fixture(scope="module")
def table_run(tmp_path_factory) -> dict:
    """A run trained through the CLI on a table with string, integer-coded and text columns, with gaps."""
    work = tmp_path_factory.mktemp("tables")
    make_table().to_csv(work / "cancer.csv", index=False)
    config = write_config(work, "cancer.csv", epochs=3)
    result = cli_json("train", str(config), cwd=work)
    return {"work": work, "run": Path(result["run"]), "config": config}


@pytest.mark.slow
def test_saved_model_answers_raw_columns_like_dlflow_predict(table_run):
    import tensorflow as tf

    work, run = table_run["work"], table_run["run"]
    rows = make_table().iloc[:40]
    rows.drop(columns=["diagnosis"]).to_csv(work / "rows.csv", index=False)
    done = run_cli("predict", str(run), "rows.csv", "-o", "-", cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    predicted = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {r["prediction"] for r in predicted} <= {"benign", "malignant"}  # labels decoded

    exported = cli_json("export", str(run), "--format", "saved_model", cwd=work)
    assert exported["formats"]["saved_model"]["ok"]
    loaded = tf.saved_model.load(str(run / "export" / "saved_model"))
    raw = pd.read_csv(work / "rows.csv")  # missing cells: NaN numbers, NaN strings
    columns = {}
    for column in ("radius", "texture", "perimeter", "area", "smoothness", "grade"):
        columns[column] = tf.constant(raw[column].to_numpy("float32").reshape(-1, 1))
    for column in ("clinic", "notes"):
        columns[column] = tf.constant(raw[column].fillna("").astype(str).to_numpy().reshape(-1, 1), dtype=tf.string)
    assert raw[["texture", "clinic", "grade", "notes"]].isna().any().all()  # the rows do have gaps
    probabilities = loaded.serve(columns).numpy().reshape(-1)
    manifest_classes = json.loads((run / "manifest.json").read_text())["data"]["targets"][0]["classes"]
    for p, row in zip(probabilities, predicted):
        label = manifest_classes[int(p >= 0.5)]
        assert row["prediction"] == label
        assert float(row["prediction_confidence"]) == pytest.approx(p if p >= 0.5 else 1 - p, abs=1e-5)


@pytest.mark.slow
def test_tflite_reports_string_tables_unsupported_instead_of_crashing(table_run):
    done = run_cli("export", str(table_run["run"]), "--format", "tflite", "--json", cwd=table_run["work"])
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr[-2000:]
    assert report["formats"]["tflite"]["unsupported"] is True
    assert "tflite" in report["skipped"]


# -- bad data: exit 2, one line naming the file and the row or column ----------------------------


def _collect_error(work: Path, config: Path) -> str:
    done = run_cli("collect", str(config), cwd=work)
    assert done.returncode == 2, (done.returncode, done.stdout[-1000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert lines, done.stderr
    return lines[0]


def test_empty_file_is_a_data_error(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    message = _collect_error(tmp_path, write_config(tmp_path, "empty.csv"))
    assert "empty.csv: the file is empty" in message and "data.source" in message


def test_header_only_file_is_a_data_error(tmp_path):
    (tmp_path / "header.csv").write_text("radius,diagnosis\n")
    message = _collect_error(tmp_path, write_config(tmp_path, "header.csv"))
    assert "header.csv: the table has no rows" in message


def test_missing_target_column_is_named_with_a_suggestion(tmp_path):
    make_table(100).rename(columns={"diagnosis": "diagnoses"}).to_csv(tmp_path / "t.csv", index=False)
    message = _collect_error(tmp_path, write_config(tmp_path, "t.csv"))
    assert "no target column 'diagnosis' (did you mean 'diagnoses'?)" in message
    assert "tables.yaml:" in message and "data.target" in message


def test_text_in_a_numeric_column_names_line_and_column(tmp_path):
    frame = make_table(100)
    frame["area"] = frame["area"].astype(object)
    frame.loc[41, "area"] = "unknown"
    frame.to_csv(tmp_path / "t.csv", index=False)
    message = _collect_error(tmp_path, write_config(tmp_path, "t.csv", features={"area": "numeric"}))
    assert "t.csv:43: column 'area': expected a number, received 'unknown'" in message  # header is line 1


def test_non_utf8_text_names_line_and_byte(tmp_path):
    make_table(50).to_csv(tmp_path / "t.csv", index=False)
    lines = (tmp_path / "t.csv").read_bytes().split(b"\n")
    lines[10] = lines[10].replace(b"north", b"n\xf6rth").replace(b"south", b"s\xf6uth")
    (tmp_path / "t.csv").write_bytes(b"\n".join(lines))
    message = _collect_error(tmp_path, write_config(tmp_path, "t.csv"))
    assert "t.csv:11: not UTF-8 text (byte offset" in message


def test_too_few_rows_for_the_split(tmp_path):
    frame = make_table(3)
    frame["diagnosis"] = ["benign", "malignant", "benign"]
    frame.to_csv(tmp_path / "t.csv", index=False)
    message = _collect_error(tmp_path, write_config(tmp_path, "t.csv", split={"stratify": False}))
    assert "t.csv: too few samples for the split: 3 samples" in message and "data.split" in message


def test_a_class_with_fewer_samples_than_folds(tmp_path):
    frame = make_table(200)
    frame.loc[:2, "diagnosis"] = "unsure"  # 3 samples of a third class
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = write_config(tmp_path, "t.csv", split={"validation": 0.15, "test": 0.15, "stratify": False})
    done = run_cli("collect", str(config), "--folds", "5", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "5-fold cross-validation needs at least 5 samples of each class" in done.stderr
    assert "'unsure' has" in done.stderr and "Traceback" not in done.stderr


def test_missing_value_under_the_error_policy_names_line_and_column(tmp_path):
    make_table(100).to_csv(tmp_path / "t.csv", index=False)
    frame = pd.read_csv(tmp_path / "t.csv")
    first = int(np.flatnonzero(frame["texture"].isna().to_numpy())[0])
    message = _collect_error(tmp_path, write_config(tmp_path, "t.csv", missing={"numeric": "error"}))
    assert f"t.csv:{first + 2}: column 'texture' has a missing value" in message
    assert "data.missing.numeric" in message


def test_missing_target_value_names_its_line(tmp_path):
    frame = make_table(100)
    frame.loc[9, "diagnosis"] = np.nan
    frame.to_csv(tmp_path / "t.csv", index=False)
    message = _collect_error(tmp_path, write_config(tmp_path, "t.csv"))
    assert "t.csv:11: target 'diagnosis' is missing" in message


def test_integer_target_labels_come_back_as_integers():
    from dlflow.data.tabular import dataset_from_frame
    from dlflow.data.tasks import decode_predictions

    frame = make_table()
    frame["grade_target"] = frame["grade"].fillna(2).astype(int) * 10
    data = dataset_from_frame(
        frame.drop(columns=["diagnosis"]), target="grade_target", features=None, task="multiclass", source="t.csv"
    )
    spec = data.target_specs["grade_target"]
    assert spec.classes == (10, 20, 30, 40)
    labels, _ = decode_predictions(spec, np.eye(4)[[2, 0]])
    assert labels.tolist() == [30, 10]


@pytest.mark.slow
def test_every_export_format_handles_missing_values_or_says_it_cannot(tmp_path):
    import keras

    from dlflow.data.tabular import dataset_from_frame
    from dlflow.export import export_model
    from dlflow.model.inputs import build_inputs

    frame = make_table().drop(columns=["notes"])  # text needs string ops no TFLite/ONNX runtime has
    frame["clinic"] = frame["clinic"].where(frame["clinic"].notna(), "")
    data = dataset_from_frame(frame, target="diagnosis", features=None, task=None, source="t.csv")
    inputs = build_inputs(data.take(np.arange(450)))
    head = keras.layers.Dense(1, activation="sigmoid", name="diagnosis")(inputs.combined)
    model = keras.Model(inputs.model_inputs("tabular"), head)
    samples = data.take(np.arange(450, 569)).model_inputs()
    assert any(np.isnan(samples["texture"]).ravel()) and any(samples["clinic"].ravel() == "")
    report = export_model(model, tmp_path / "export", ["keras", "saved_model", "onnx", "tflite"], samples)
    formats = report["formats"]
    assert report["ok"], formats
    assert formats["keras"]["ok"] and formats["saved_model"]["ok"] and formats["onnx"]["ok"]
    assert formats["tflite"]["ok"] or formats["tflite"]["unsupported"]  # string tensors: TFLite lacks SelectV2
