"""Run directories that were damaged or are busy: one line naming the file and what to do, exit 2.

One tiny run (a table whose column names are not ASCII, 1 epoch) is trained once; each test
damages its own copy.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import cli_json, run_cli

COLUMNS = ["Länge", "Breite", "长度", "宽度 🌸"]


def _table(rows: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(size=rows) for c in COLUMNS})
    frame["Art"] = np.where(frame["Länge"] + frame["长度"] > 0, "gross", "klein")
    return frame


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A work folder holding flowers.csv, flowers.yaml and runs/flowers/<run>: trained once."""
    work = tmp_path_factory.mktemp("damaged")
    _table().to_csv(work / "flowers.csv", index=False)
    config = {
        "name": "flowers",
        "seed": 3,
        "data": {"source": "flowers.csv", "target": "Art"},
        "model": {
            "sequential": [
                {"Dense": {"units": 4, "activation": "relu"}},
                {"Dense": {"units": 1, "activation": "sigmoid"}},
            ]
        },
        "fit": {"epochs": 1, "batch_size": 16, "verbose": 0, "callbacks": []},
    }
    (work / "flowers.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    cli_json("train", "flowers.yaml", cwd=work)
    return work


@pytest.fixture
def work(trained, tmp_path) -> Path:
    """A private copy of the trained work folder."""
    copy = tmp_path / "w"
    shutil.copytree(trained, copy)
    return copy


def _run(work: Path) -> Path:
    (run,) = [p for p in (work / "runs" / "flowers").iterdir() if p.is_dir()]
    return run


def _one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def test_non_ascii_columns_train_and_predict_by_their_own_names(work):
    run = _run(work)
    inputs = [d["name"] for d in json.loads((run / "manifest.json").read_text())["data"]["inputs"]]
    assert inputs == ["Lange", "Breite", "col_3", "col_4"]
    _table(10, seed=1).drop(columns="Art").to_csv(work / "new.csv", index=False)
    from dlflow.workflow.predict import predict

    predict(str(run), work / "new.csv", runs_root=work / "runs", output=str(work / "out.csv"))
    assert set(pd.read_csv(work / "out.csv")["prediction"]) <= {"gross", "klein"}


def _refused(call, *fragments: str) -> str:
    """`call()` raises a dlflow error of exit code 2 whose one line holds every fragment."""
    from dlflow.errors import DlflowError

    with pytest.raises(DlflowError) as info:
        call()
    assert info.value.exit_code == 2 and not info.value.details, info.value.lines()
    for fragment in fragments:
        assert fragment in info.value.message, (fragment, info.value.message)
    return info.value.message


@pytest.mark.slow  # make test-all; keeps make test under 10 minutes on 2 cores
def test_damaged_model_is_one_line_on_the_command_line(work):
    model = _run(work) / "model.keras"
    model.write_bytes(model.read_bytes()[:1000])  # truncated
    _one_line_error(run_cli("evaluate", str(_run(work)), cwd=work), f"{model}: damaged", "checkpoints/best.keras")


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "zip without a model"])
def test_damaged_model_is_refused_by_every_command_saying_how_to_restore_it(work, damage):
    import zipfile

    from dlflow.workflow.deploy import export
    from dlflow.workflow.evaluate import evaluate
    from dlflow.workflow.predict import predict
    from dlflow.workflow.serving import load_served_model

    run, runs = str(_run(work)), work / "runs"
    model = _run(work) / "model.keras"
    data = model.read_bytes()
    if damage == "zip without a model":
        with zipfile.ZipFile(model, "w") as archive:
            archive.writestr("notes.txt", "hello")
    else:
        model.write_bytes({"truncated": data[: len(data) // 2], "empty": b"", "garbage": b"\x00garbage" * 50}[damage])
    for call in (
        lambda: evaluate(run, runs_root=runs),
        lambda: export(run, runs_root=runs),
        lambda: predict(run, work / "flowers.csv", runs_root=runs, output=str(work / "p.csv")),
        lambda: load_served_model(run, runs_root=runs),
    ):
        _refused(call, f"{model}: damaged", f"cp {_run(work) / 'checkpoints' / 'best.keras'} {model}")


@pytest.mark.parametrize("text", ["{not json", "[]", "\xff\xfe"])
def test_damaged_manifest_is_one_line(work, text):
    from dlflow.workflow.evaluate import evaluate

    manifest = _run(work) / "manifest.json"
    manifest.write_bytes(text.encode("latin-1"))
    _refused(
        lambda: evaluate(str(_run(work)), runs_root=work / "runs"), f"{manifest}: damaged", "restore manifest.json"
    )
    from dlflow.runs.listing import list_runs

    assert [row["status"] for row in list_runs(work / "runs")] == ["damaged"]  # dlflow runs shows it


def test_missing_manifest_says_so(work):
    from dlflow.workflow.evaluate import evaluate

    (_run(work) / "manifest.json").unlink()
    _refused(lambda: evaluate(str(_run(work)), runs_root=work / "runs"), "manifest.json: missing")


def test_damaged_split_is_one_line(work):
    from dlflow.workflow.evaluate import evaluate

    store = work / "runs" / "flowers" / "split.npz"
    store.write_bytes(b"garbage")
    _refused(
        lambda: evaluate(str(_run(work)), runs_root=work / "runs"), f"{store}: the experiment's stored split is damaged"
    )


def test_binary_history_is_one_line_in_report(work):
    from dlflow.report import write_report
    from dlflow.runs.layout import RunDir

    history = _run(work) / "history.csv"
    history.write_bytes(bytes(range(256)) * 4)
    _refused(lambda: write_report(RunDir(_run(work))), f"{history}: damaged")


def test_deleted_split_is_recreated_only_when_it_is_the_runs_split(work):
    from dlflow.workflow.evaluate import evaluate

    store = work / "runs" / "flowers" / "split.npz"
    manifest_file = _run(work) / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    store.unlink()
    altered = {**manifest, "data": {**manifest["data"], "digests": {**manifest["data"]["digests"], "test": "0" * 12}}}
    manifest_file.write_text(json.dumps(altered))
    _refused(
        lambda: evaluate(str(_run(work)), runs_root=work / "runs"),
        "split.npz is missing",
        "differs from the one this run was trained on",
    )
    assert not store.exists()  # nothing stored that the run was not trained on

    manifest_file.write_text(json.dumps(manifest))
    result = evaluate(str(_run(work)), runs_root=work / "runs")
    assert store.exists() and result["samples"] == manifest["data"]["sizes"]["test"]


def test_a_busy_run_is_refused_naming_its_holder_and_freed_by_sigkill(work):
    from dlflow.runs.layout import RunDir
    from dlflow.runs.lock import run_lock
    from dlflow.workflow.evaluate import evaluate
    from dlflow.workflow.training import train

    run = _run(work)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from dlflow.runs.layout import RunDir;"
            "from dlflow.runs.lock import run_lock\nwith run_lock(RunDir(Path(sys.argv[1]))):\n"
            "    print('held', flush=True); time.sleep(120)",
            str(run),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = f"{run} is in use by pid {holder.pid} on "
        _refused(lambda: train(work / "flowers.yaml", runs_root=work / "runs", resume=str(run)), busy, "since 20")
        _refused(lambda: evaluate(str(run), runs_root=work / "runs"), busy)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with run_lock(RunDir(run)):  # the kernel released the killed holder's lock
        pass
