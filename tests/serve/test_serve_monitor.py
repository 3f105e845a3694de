"""The prediction log, `dlflow monitor` on it, and the drift gauges on /metrics (issue 14, items 1-3)."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import run_cli
from tests.serve.conftest import TF_RUNTIME, cancer_table, running_server

SHIFTED = ("mean texture", "worst smoothness")
ROWS, PER_REQUEST = 1000, 50


def traffic(shifted: bool, seed: int = 7) -> list[dict]:
    """1,000 rows drawn from the table (labels dropped); with `shifted`, the last half has SHIFTED scaled by 3."""
    rows = cancer_table().sample(ROWS, replace=True, random_state=seed).reset_index(drop=True)
    if shifted:
        for column in SHIFTED:
            rows.loc[ROWS // 2 :, column] = rows.loc[ROWS // 2 :, column] * 3
    return rows.drop(columns=["diagnosis"]).to_dict(orient="records")


def true_labels(seed: int = 7) -> list[str]:
    return list(cancer_table().sample(ROWS, replace=True, random_state=seed)["diagnosis"])


def send(url: str, rows: list[dict]) -> list[httpx.Response]:
    with httpx.Client(timeout=60) as client:
        return [
            client.post(f"{url}:predict", json={"instances": rows[i : i + PER_REQUEST]})
            for i in range(0, len(rows), PER_REQUEST)
        ]


def families(metrics_url: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(httpx.get(metrics_url).text)}


def wait_logged(metrics_url: str, rows: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = families(metrics_url)
        logged = sum(s.value for s in found["dlflow_serve_log_rows"].samples if s.name.endswith("_total"))
        if logged >= rows or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.fixture(scope="module")
def served_logs(serve_runs) -> dict:
    """Shifted and unshifted traffic through `dlflow serve`, each into its own --log-dir."""
    work, run = serve_runs["work"], serve_runs["table"]
    out = {"work": work, "run": run}
    for name, shifted in (("shifted", True), ("plain", False)):
        folder = work / f"log-{name}"
        with running_server(run, work, "--log-dir", str(folder), *TF_RUNTIME) as info:
            answers = send(info["url"], traffic(shifted))
            assert [a.status_code for a in answers] == [200] * (ROWS // PER_REQUEST)
            out[f"{name}_ids"] = [a.headers["x-request-id"] for a in answers]
            out[f"{name}_metrics"] = wait_logged(info["metrics"], ROWS)
        out[name] = folder
        assert "prediction log: drift gauges off" not in info["stderr"], info["stderr"][-2000:]
    return out


def test_prediction_log_records_inputs_predictions_and_request_ids(served_logs):
    import pandas as pd

    files = sorted(served_logs["plain"].glob("predictions-*.parquet"))
    assert files and not list(served_logs["plain"].glob("*.tmp"))
    log = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    assert len(log) == ROWS
    sent = pd.DataFrame(traffic(False))
    assert np.allclose(log["mean radius"].to_numpy(), sent["mean radius"].to_numpy(), rtol=1e-6)
    assert list(log["size"][:5]) == list(sent["size"][:5])
    assert set(log["_pred.diagnosis"]) <= {"malignant", "benign"}
    assert set(log["_request_id"]) == set(served_logs["plain_ids"])
    assert (log["_latency_ms"] > 0).all() and set(log["_version"]) == {"1"}


def test_monitor_flags_exactly_the_shifted_features_and_plots_them(served_logs):
    work, run = served_logs["work"], served_logs["run"]
    page = work / "shifted.html"
    done = run_cli("monitor", str(run), "--log", str(served_logs["shifted"]), "--json", "-o", str(page), cwd=work)
    assert done.returncode == 1, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert sorted(result["drifted_features"]) == sorted(SHIFTED)
    assert result["rows"] == ROWS and result["features"]["mean texture"]["psi"] > 0.2
    assert "size" in result["features"] and result["features"]["size"]["type"] == "categorical"
    text = page.read_text()
    assert all(f'alt="drift_{name.replace(" ", "_")}"' in text for name in SHIFTED)
    assert text.count("<img") == len(SHIFTED)


def test_monitor_passes_unshifted_traffic(served_logs):
    work, run = served_logs["work"], served_logs["run"]
    done = run_cli("monitor", str(run), "--log", str(served_logs["plain"]), cwd=work)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "mean texture" in done.stdout and (run / "monitor" / "report.html").exists()


def test_metrics_parse_with_prometheus_client_and_carry_drift_gauges(served_logs):
    shifted, plain = served_logs["shifted_metrics"], served_logs["plain_metrics"]
    requests = {
        (s.labels["endpoint"], s.labels["code"]): s.value
        for s in shifted["dlflow_serve_requests"].samples
        if s.name == "dlflow_serve_requests_total"
    }
    assert requests[("predict", "200")] == ROWS // PER_REQUEST
    psi = {s.labels["feature"]: s.value for s in shifted["dlflow_serve_feature_psi"].samples}
    calm = {s.labels["feature"]: s.value for s in plain["dlflow_serve_feature_psi"].samples}
    assert psi["mean texture"] > 0.2 and calm["mean texture"] < 0.2
    assert shifted["dlflow_serve_model_info"].samples[0].labels["version"] == "1"


@pytest.mark.slow  # a longer check beside faster ones of the same path: make test-all runs it (make test < 10 min)
def test_an_unwritable_log_folder_fails_no_request(serve_runs):
    work = serve_runs["work"]
    blocker = work / "not-a-folder"
    blocker.write_text("a file where the log folder should go")
    with running_server(serve_runs["table"], work, "--log-dir", str(blocker / "serving"), *TF_RUNTIME) as info:
        answers = send(info["url"], traffic(False)[:200])
        assert [a.status_code for a in answers] == [200] * 4
        found = wait_logged(info["metrics"], 1, timeout=6)
        dropped = sum(
            s.value
            for s in found["dlflow_serve_log_dropped_rows"].samples
            if s.name.endswith("_total") and s.labels["reason"] == "write_error"
        )
        assert dropped > 0
    assert info["stderr"].count("prediction log: cannot write") == 1


@pytest.mark.slow  # one more monitor run (TensorFlow, data and model loaded): ~15 s
def test_monitor_measures_live_accuracy_from_labels_by_request_id(served_logs, tmp_path):
    import pandas as pd

    work, run = served_logs["work"], served_logs["run"]
    ids = np.repeat(served_logs["plain_ids"], PER_REQUEST)
    labels = pd.DataFrame(
        {"request_id": ids, "row": np.tile(np.arange(PER_REQUEST), ROWS // PER_REQUEST), "diagnosis": true_labels()}
    )
    labels.to_csv(tmp_path / "labels.csv", index=False)
    done = run_cli(
        "monitor",
        str(run),
        "--log",
        str(served_logs["plain"]),
        "--labels",
        str(tmp_path / "labels.csv"),
        "--json",
        cwd=work,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    accuracy = json.loads(done.stdout)["accuracy"]["diagnosis"]
    assert accuracy["rows"] == ROWS and 0.5 < accuracy["live"] <= 1 and accuracy["evaluation"] is None


@pytest.mark.slow  # one more monitor run (TensorFlow, data and model loaded): ~15 s
def test_monitor_on_a_data_file_with_labels_in_row_order(serve_runs):
    work, run = serve_runs["work"], serve_runs["table"]
    table = str(work / "cancer.csv")
    done = run_cli(
        "monitor", str(run), "--data", table, "--labels", table, "--json", "-o", str(work / "file.html"), cwd=work
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["rows"] == 569 and result["drifted_features"] == []
    assert result["accuracy"]["diagnosis"]["rows"] == 569


def test_a_training_split_that_cannot_load_turns_the_drift_gauges_off_at_start_up(tmp_path):
    """The drift reference loads before the server is ready; a run whose data is gone serves without gauges."""
    from dlflow.workflow.serving import _psi_gauges

    said = []
    assert _psi_gauges(tmp_path / "no-such-run", [], tmp_path, said.append) is None
    assert len(said) == 1 and said[0].startswith("prediction log: drift gauges off ("), said
