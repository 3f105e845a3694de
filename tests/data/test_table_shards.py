"""Tables in several files: a folder or a glob of parquet/CSV shards streams as one table through pyarrow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import cli_json, run_cli
from tests.data.test_tables import make_table, write_config


def _shards(folder: Path, suffix: str, parts: int = 3) -> Path:
    folder.mkdir()
    frame = make_table()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), parts)):
        shard = frame.iloc[rows].reset_index(drop=True)
        path = folder / f"part-{i:03d}{suffix}"
        shard.to_parquet(path) if suffix == ".parquet" else shard.to_csv(path, index=False)
    return folder


@pytest.mark.slow  # trains (about a minute on 2 busy cores)
def test_a_parquet_folder_of_shards_trains_as_one_streamed_table(tmp_path):
    folder = _shards(tmp_path / "shards", ".parquet")
    config = write_config(
        tmp_path,
        str(folder),
        name="shards",
        epochs=1,
        streaming={"chunk_rows": 100},
        missing={"numeric": "median", "categorical": "most_frequent"},
    )
    card = cli_json("collect", str(config), cwd=tmp_path)
    assert card["streamed"] and sum(card["split"]["sizes"].values()) == len(make_table())
    result = cli_json("train", str(config), cwd=tmp_path)
    manifest = json.loads((Path(result["run"]) / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["data"]["streamed"]
    assert manifest["data"]["sizes"] == card["split"]["sizes"]


def test_a_bad_value_in_a_csv_shard_names_the_shard_and_its_line(tmp_path):
    folder = _shards(tmp_path / "csvs", ".csv")
    lines = (folder / "part-001.csv").read_text().splitlines()
    cells = lines[40].split(",")
    cells[3] = "n/a?"  # the area column
    lines[40] = ",".join(cells)
    (folder / "part-001.csv").write_text("\n".join(lines) + "\n")
    config = write_config(
        tmp_path,
        str(folder / "part-*.csv"),
        name="glob",
        epochs=1,
        features={"area": "numeric"},
        streaming={"chunk_rows": 50},
    )
    done = run_cli("collect", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{folder / 'part-001.csv'}:41: column 'area': expected a number, received 'n/a?'" in done.stderr
