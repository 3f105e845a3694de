"""`dlflow collect`: the data card on stdout, in collect.json, and its warnings with advice."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, cli_json, run_cli
from tests.data.test_tables import make_table, write_config


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> dict:
    """The card of a table with an imbalance, a constant column, leaks, duplicates and gaps."""
    work = tmp_path_factory.mktemp("collect")
    frame = make_table()
    frame = frame[(frame["diagnosis"] == "benign") | (frame.index % 8 == 0)].reset_index(drop=True)  # ~11% malignant
    rng = np.random.default_rng(3)
    frame["site"] = "hospital-a"  # constant
    frame["outcome_code"] = np.where(frame["diagnosis"] == "malignant", "M-1", "B-0")  # a lookup of the target
    frame["biopsy"] = frame["diagnosis"]  # an exact copy
    frame["followup"] = np.where(rng.random(len(frame)) < 0.7, np.nan, rng.random(len(frame)))  # mostly missing
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame = pd.concat([frame, frame.iloc[:30]], ignore_index=True)  # 30 exact duplicate rows
    frame.to_csv(work / "cards.csv", index=False)
    config = write_config(work, "cards.csv", name="cards")
    done = run_cli("collect", str(config), cwd=work)
    return {
        "work": work,
        "config": config,
        "done": done,
        "json": json.loads((work / "runs" / "cards" / "collect.json").read_text()),
    }


def test_collect_prints_the_card_and_writes_collect_json(card):
    done = card["done"]
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    for needle in (
        "data card of cards",
        "inputs",
        "clinic",
        "categorical (inferred)",
        "text (inferred)",
        "split (stratified)",
        "diagnosis: class balance",
        "duplicates across parts",
        "warnings",
    ):
        assert needle in out, needle
    saved = card["json"]
    assert saved["kind"] == "tabular" and saved["task"] == "binary"
    assert saved["rows"] == sum(saved["split"]["sizes"].values())
    inputs = {i["name"]: i for i in saved["inputs"]}
    assert inputs["radius"] == {
        **inputs["radius"],
        "rank": 2,
        "shape": [1],
        "dtype": "float32",
        "column_type": "numeric",
        "inferred": True,
    }
    assert inputs["clinic"]["dtype"] == "string" and inputs["grade"]["column_type"] == "categorical"
    assert saved["missing"]["texture"]["count"] > 0
    assert set(saved["class_balance"]["diagnosis"]) == {"train", "validation", "test"}
    assert (card["work"] / "runs" / "cards" / "split.npz").exists()  # the split is frozen


def _warnings(card: dict, kind: str) -> list[dict]:
    return [w for w in card["json"]["warnings"] if w["kind"] == kind]


def test_imbalance_warning_advises_balanced_class_weights(card):
    (warning,) = _warnings(card, "imbalance")
    assert "class 'malignant'" in warning["message"]
    assert "fit.class_weight: balanced" in warning["advice"]


def test_constant_and_mostly_missing_columns_are_flagged(card):
    assert [w["column"] for w in _warnings(card, "constant")] == ["site"]
    assert "data.features.site: ignore" in _warnings(card, "constant")[0]["advice"]
    assert [w["column"] for w in _warnings(card, "mostly_missing")] == ["followup"]


def test_columns_that_leak_the_target_are_flagged(card):
    leaks = {w["column"]: w["message"] for w in _warnings(card, "leak")}
    assert "exact copy" in leaks["biopsy"]
    assert "determines" in leaks["outcome_code"]
    assert not {"radius", "texture", "clinic", "notes"} & set(leaks)  # honest features are not flagged


def test_duplicates_across_parts_are_reported_with_where(card):
    duplicates = card["json"]["duplicates"]
    across = duplicates["train_validation"] + duplicates["train_test"] + duplicates["validation_test"]
    assert across > 0 and duplicates["repeated_rows"] == 30
    for _pair, examples in duplicates["examples"].items():
        assert all(len(example) == 2 for example in examples)
    (warning,) = _warnings(card, "duplicates")
    assert "deduplicate" in warning["advice"]


def test_collect_json_prints_one_object_and_checks_folds(card):
    result = cli_json("collect", str(card["config"]), "--folds", "3", cwd=card["work"])
    assert result["card"].endswith("collect.json") and not result["split_created"]
    assert result["cv"]["folds"] == 3 and len(result["cv"]["fold_sizes"]) == 3
    pool = result["split"]["sizes"]["train"] + result["split"]["sizes"]["validation"]
    assert all(f["train"] + f["validation"] == pool for f in result["cv"]["fold_sizes"])


def test_collect_never_imports_tensorflow(card):
    probe = (
        "import sys\nfrom dlflow.cli.main import main\ntry:\n    main(['collect', sys.argv[1], '--json'])\n"
        "except SystemExit as done:\n    assert done.code == 0, done.code\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(card["config"])],
        cwd=card["work"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_collect_on_a_builtin_image_set(tmp_path):
    config = tmp_path / "digits.yaml"
    config.write_text(
        "name: digits\ndata: {source: 'builtin:digits'}\nmodel: {sequential: [Flatten, {Dense: {units: 10}}]}\n"
    )
    result = cli_json("collect", str(config), cwd=tmp_path)
    assert result["kind"] == "image" and result["inputs"][0]["shape"] == [8, 8, 1] and result["inputs"][0]["rank"] == 4
    assert sum(result["class_balance"]["label"]["test"].values()) == result["split"]["sizes"]["test"]
    assert result["duplicates"]["train_test"] == 0
