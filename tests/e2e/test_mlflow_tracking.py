"""MLflow tracking (`dlflow train --mlflow URI`, `tracking.mlflow`), read back through MLflow's own client;
TensorBoard HParams for every train run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, cli_json, run_cli

pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def tracked(tmp_path_factory) -> dict:
    """The digits MLP, 2 epochs, tracked to a SQLite store in tmp, then evaluated."""
    work = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{work / 'store' / 'mlflow.db'}"
    (work / "store").mkdir()
    done = run_cli(
        "train", str(CONFIGS / "digits_mlp.yaml"), "--set", "fit.epochs=2", "--mlflow", uri, "--json", cwd=work
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = Path(json.loads(done.stdout)["run"])
    evaluation = cli_json("evaluate", str(run), cwd=work)
    return {"work": work, "uri": uri, "run": run, "stderr": done.stderr, "evaluation": evaluation}


@pytest.mark.slow  # a full MLflow round trip (~40 s): make test-all runs it
def test_params_epoch_metrics_model_and_evaluation_read_back(tracked):
    from mlflow.tracking import MlflowClient

    manifest = json.loads((tracked["run"] / "manifest.json").read_text())
    recorded = manifest["mlflow"]
    assert recorded["uri"] == tracked["uri"] and recorded["experiment"] == "digits-mlp"
    assert f"mlflow: run {recorded['run_id']}" in tracked["stderr"]
    client = MlflowClient(tracking_uri=tracked["uri"])
    run = client.get_run(recorded["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == tracked["run"].name
    params = run.data.params
    assert params["fit.epochs"] == "2" and params["name"] == "digits-mlp"
    assert params["model.sequential.1.Dense.units"] == "128"  # `[1]` of the --set path as `.1`
    assert params["tracking.mlflow.uri"] == tracked["uri"]
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert sorted(m.step for m in history) == [0, 1]  # one value per epoch
    rows = (tracked["run"] / "history.csv").read_text().splitlines()
    header, last = rows[0].split(","), rows[-1].split(",")
    assert max(history, key=lambda m: m.step).value == pytest.approx(float(last[header.index("val_loss")]))
    assert len(client.get_metric_history(run.info.run_id, "accuracy")) == 2
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model.keras", "metrics.json", "data_card.json", "report.html", "plots", "evaluation.json"} <= artifacts
    model_file = Path(client.download_artifacts(run.info.run_id, "model.keras", str(tracked["work"])))
    assert model_file.read_bytes() == (tracked["run"] / "model.keras").read_bytes()
    # The evaluation went to the same MLflow run.
    assert run.data.metrics["test_accuracy"] == pytest.approx(tracked["evaluation"]["metrics"]["accuracy"])
    # A SQLite store's artifacts sit next to it, not in the working folder.
    assert (tracked["work"] / "store" / "mlartifacts").is_dir() and not (tracked["work"] / "mlruns").exists()


def test_tracking_without_mlflow_uri_defaults_to_sqlite_next_to_runs(tmp_path):
    """`tracking: {mlflow: {}}` resolves to sqlite:///<folder of the runs folder>/mlruns.db (no training)."""
    from dlflow.config import load_config
    from dlflow.runs.mlflow_tracking import resolve_target

    config = load_config(CONFIGS / "digits_mlp.yaml", ["tracking.mlflow={}"]).config
    target = resolve_target(config, tmp_path / "runs")
    assert target.uri == f"sqlite:///{tmp_path / 'mlruns.db'}" and target.default
    assert target.experiment == "digits-mlp" and target.artifacts == (tmp_path / "mlartifacts").as_uri()
