"""Tables and arrays that used to mislead: repeated headers, non-ASCII names, NaN targets, bare errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlflow.errors import DataError
from tests.conftest import run_cli
from tests.data.kinds_helpers import assert_data_error, write_config


def _iris_like(rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    labels = np.array(["setosa", "virginica"])[np.arange(rows) % 2]
    return pd.DataFrame(
        {"length": rng.normal(size=rows) + (labels == "setosa"), "width": rng.normal(size=rows), "species": labels}
    )


def _data(source: Path, target="species", **extra):
    from dlflow.config.schema import DataConfig

    return DataConfig(source=str(source), target=target, **extra)


# -- duplicate headers ----------------------------------------------------------------------------


def test_repeated_header_in_a_csv_is_an_error_naming_both_columns(tmp_path):
    (tmp_path / "t.csv").write_text("species,length,width,species\n" + "".join(f"a,{i},{i},b\n" for i in range(30)))
    config = write_config(
        tmp_path, "dup", {"source": "t.csv", "target": "species"}, [{"Dense": {"units": 1, "activation": "sigmoid"}}]
    )
    done = run_cli("collect", str(config), cwd=tmp_path)
    assert_data_error(done, "dup.yaml:", "data.source", "t.csv: columns 1 and 4 are both named 'species'")


@pytest.mark.parametrize("streaming", [False, True])
def test_repeated_header_is_refused_by_every_table_reader(tmp_path, streaming):
    from dlflow.data.sources import load_dataset
    from dlflow.data.streaming import scan_table

    frame = _iris_like()
    frame.columns = ["length", "species", "species"]
    csv = tmp_path / "t.csv"
    frame.to_csv(csv, index=False)
    data = _data(csv, streaming={"enabled": streaming})
    with pytest.raises(DataError, match=r"columns 2 and 3 are both named 'species'") as info:
        scan_table(data, None, seed=1) if streaming else load_dataset(data, None)
    assert str(csv) in info.value.message and info.value.config_path == ("data", "source")


def test_repeated_header_in_parquet_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dlflow.data.sources import load_dataset

    table = pa.Table.from_arrays(
        [pa.array([1.0, 2.0] * 20), pa.array(["a", "b"] * 20), pa.array(["b", "a"] * 20)],
        names=["length", "species", "species"],
    )
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(DataError, match=r"t.parquet: columns 2 and 3 are both named 'species'"):
        load_dataset(_data(tmp_path / "t.parquet"), None)


# -- non-ASCII column names -------------------------------------------------------------------------

NON_ASCII = ["Länge", "Breite", "长度", "宽度 🌸"]


def test_input_names_keep_distinct_columns_distinct():
    from dlflow.data.dataset import input_names

    assert input_names([*NON_ASCII, "a b", "a_b", "col_3"]) == {
        "Länge": "Lange",
        "Breite": "Breite",
        "长度": "col_3",
        "宽度 🌸": "col_4",
        "a b": "a_b",
        "a_b": "a_b_6",
        "col_3": "col_3_7",
    }


@pytest.mark.parametrize("streaming", [False, True])
def test_non_ascii_columns_load_as_distinct_inputs_keeping_their_names(tmp_path, streaming):
    from dlflow.data.sources import load_dataset
    from dlflow.data.streaming import scan_table

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.normal(size=40) for c in NON_ASCII})
    frame["species"] = ["a", "b"] * 20
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = _data(tmp_path / "t.csv", streaming={"enabled": streaming})
    dataset = scan_table(data, None, seed=1).samples["train"] if streaming else load_dataset(data, None)
    assert {n: s.column for n, s in dataset.input_specs.items()} == {
        "Lange": "Länge",
        "Breite": "Breite",
        "col_3": "长度",
        "col_4": "宽度 🌸",
    }


# -- targets: NaN and infinity; errors name the file and data.target --------------------------------


def _npz(tmp_path: Path, y: np.ndarray, **arrays) -> Path:
    path = tmp_path / "a.npz"
    np.savez(path, x=np.random.default_rng(0).normal(size=(len(y), 3)).astype("float32"), y=y, **arrays)
    return path


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_npz_target_is_refused(tmp_path, bad):
    from dlflow.data.sources import load_dataset

    y = np.arange(40, dtype="float64") % 10
    y[7] = bad
    path = _npz(tmp_path, y)
    with pytest.raises(DataError) as info:
        load_dataset(_data(path, target="y"), None)
    assert info.value.message.startswith(f"{path}: target 'y': 1 samples have a NaN or infinite target")
    assert "sample 7" in info.value.message and info.value.config_path == ("data", "target")


def test_infinite_csv_target_is_refused(tmp_path):
    from dlflow.data.sources import load_dataset

    frame = _iris_like()
    frame["size"] = np.linspace(0, 1, len(frame))
    frame.loc[3, "size"] = np.inf
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"t.csv: target 'size': 1 samples have a NaN or infinite target"):
        load_dataset(_data(tmp_path / "t.csv", target="size"), "regression")


@pytest.mark.parametrize(
    "y, extra, task, fragment",
    [
        (np.array([[0, 1, 2]] * 40), {}, "multiclass", "multiclass needs one label per sample"),
        (np.array(["a"] * 40), {}, "multiclass", "at least 2 classes"),
        (np.arange(40) % 3, {}, "binary", "binary needs exactly 2 classes"),
        (np.arange(40) % 2, {"z": np.zeros(41)}, None, "every array needs the same number of samples"),
    ],
)
def test_npz_data_errors_name_the_file_and_a_config_path(tmp_path, y, extra, task, fragment):
    from dlflow.data.sources import load_dataset

    path = _npz(tmp_path, y, **extra)
    with pytest.raises(DataError) as info:
        load_dataset(_data(path, target="y"), task)
    assert info.value.message.startswith(f"{path}: ") and fragment in info.value.message
    assert info.value.config_path in (("data", "target"), ("data", "source"))


def test_npz_without_input_arrays_names_a_config_path(tmp_path):
    from dlflow.data.sources import load_dataset

    np.savez(tmp_path / "a.npz", y=np.arange(40) % 2)
    with pytest.raises(DataError) as info:
        load_dataset(_data(tmp_path / "a.npz", target="y"), None)
    assert info.value.config_path == ("data", "target")
