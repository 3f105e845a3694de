"""The spine through the real CLI: train, evaluate, predict on the default digits convnet."""

from __future__ import annotations

import csv
import json

import numpy as np

from tests.conftest import cli_json, run_cli

RUN_FILES = [
    "config.yaml",
    "manifest.json",
    "history.csv",
    "metrics.json",
    "checkpoints/best.keras",
    "checkpoints/last.keras",
    "backup",
    "logs",
    "model.keras",
    "report.html",
    "plots",
]


def test_run_directory_has_every_file_of_the_design(digits_run):
    run = digits_run["run"]
    for name in RUN_FILES:
        assert (run / name).exists(), name
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["seed"] == 1337
    assert manifest["data"]["sizes"] == {"train": 1257, "validation": 270, "test": 270}
    assert manifest["runtime"]["strategy"] in ("none", "mirrored")
    assert manifest["versions"]["keras"].startswith("3.")
    with open(run / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_completed"] == len(rows)
    assert [int(r["epoch"]) for r in rows] == list(range(len(rows)))
    assert 1 <= metrics["best_epoch"] <= len(rows)
    assert list((run / "plots").glob("curve_*.svg"))  # learning curves: plain SVG, no matplotlib in train


def test_tensorboard_reader_finds_loss_scalars(digits_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = digits_run["run"] / "logs"
    tags = {}
    for sub in ("train", "validation"):
        acc = EventAccumulator(str(logs / sub), size_guidance={"tensors": 0, "scalars": 0})
        acc.Reload()
        tags[sub] = set(acc.Tags().get("tensors", [])) | set(acc.Tags().get("scalars", []))
    assert "epoch_loss" in tags["train"]
    assert "epoch_loss" in tags["validation"]
    assert "epoch_learning_rate" in tags["train"]


def test_evaluate_reaches_97_percent_on_the_test_split(digits_run):
    result = cli_json("evaluate", "digits-convnet", cwd=digits_run["work"])
    assert result["samples"] == 270
    assert result["metrics"]["accuracy"] >= 0.97, result["metrics"]
    target = result["targets"]["label"]
    assert np.array(target["confusion_matrix"]).sum() == 270
    assert (digits_run["run"] / "evaluation.json").exists()


def test_predict_npz_and_image_folder_decode_labels(digits_run, tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(tmp_path / "some.npz", image=digits.images[:20, :, :, None].astype("float32"))
    done = run_cli("predict", str(digits_run["run"]), str(tmp_path / "some.npz"), "-o", "-", cwd=digits_run["work"])
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len(rows) == 20
    assert np.mean([int(r["prediction"]) == t for r, t in zip(rows, digits.target[:20])]) >= 0.9

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(10):  # 0-16 pixels saved as 0-255 grayscale PNGs
        Image.fromarray((digits.images[i] * 255 / 16).astype("uint8"), mode="L").save(folder / f"{i}.png")
    result = cli_json("predict", str(digits_run["run"]), str(folder), cwd=digits_run["work"])
    assert result["rows"] == 10
    assert np.mean([int(p) == t for p, t in zip(result["predictions"]["label"], digits.target[:10])]) >= 0.8


def test_runs_lists_the_run(digits_run):
    result = cli_json("runs", cwd=digits_run["work"])
    row = next(r for r in result["runs"] if r["run"] == digits_run["run"].name)
    assert row["status"] == "completed" and row["monitor"] == "val_loss" and row["best"] > 0


def test_second_run_reuses_the_frozen_split(digits_run):
    from dlflow.data.split import load_split

    split = load_split(digits_run["work"] / "runs" / "digits-convnet" / "split.npz")
    assert not set(split.test) & (set(split.train) | set(split.validation))
    manifest = json.loads((digits_run["run"] / "manifest.json").read_text())
    assert manifest["data"]["fingerprint"] == split.fingerprint


def test_export_all_four_formats_with_parity(digits_run):
    report = cli_json("export", "digits-convnet", cwd=digits_run["work"])
    assert report["ok"] and report["samples"] == 64
    tolerances = {"keras": 1e-5, "saved_model": 1e-5, "onnx": 1e-5, "tflite": 1e-3}
    for name, tolerance in tolerances.items():
        entry = report["formats"][name]
        assert entry["ok"] and entry["max_rel_diff"] <= tolerance, (name, entry)
    export = digits_run["run"] / "export"
    for artifact in ("model.keras", "saved_model", "model.tflite", "model.onnx", "parity.json"):
        assert (export / artifact).exists(), artifact
    assert json.loads((export / "parity.json").read_text())["ok"] is True


def test_export_unknown_format_is_a_usage_error(digits_run):
    done = run_cli("export", "digits-convnet", "--format", "pickle", cwd=digits_run["work"])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "pickle" in done.stderr


def test_every_train_run_writes_tensorboard_hparams(digits_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(digits_run["run"] / "logs"))
    events.Reload()
    from tensorboard.plugins.hparams import plugin_data_pb2

    assert events.PluginTagToContent("hparams"), "no HParams summary in the run's logs/"

    content = next(iter(events.PluginTagToContent("hparams").values()))
    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    values = {
        key: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
        for key, value in data.session_start_info.hparams.items()
    }
    assert values["fit.epochs"] == 40 and values["model.sequential[1].Conv2D.filters"] == 64


def test_sample_refuses_a_classifier_run_in_one_line(digits_run):
    """`dlflow sample` is for generative runs (tests/e2e/test_generative.py); here because this
    module already has a classifier run (the session's digits run is trained once per worker)."""
    done = run_cli("sample", str(digits_run["run"]), cwd=digits_run["work"])
    assert done.returncode == 2, done.stderr[-2000:]
    assert "cannot be sampled" in done.stderr and "Traceback" not in done.stderr
