"""Generative models: data without a target, a DCGAN and a VAE fitted as they are, `dlflow sample`, resuming a GAN."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CONFIGS, cli_json, run_cli


def _history(run: Path) -> list[dict]:
    with open(run / "history.csv") as handle:
        return list(csv.DictReader(handle))


def _png_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory) -> dict:
    """configs/digits_dcgan.yaml (data.target: none, two optimizers) trained for 1 epoch."""
    work = tmp_path_factory.mktemp("dcgan")
    done = run_cli("train", str(CONFIGS / "digits_dcgan.yaml"), "--set", "fit.epochs=1", "--json", cwd=work)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"work": work, "run": Path(json.loads(done.stdout)["run"]), "stderr": done.stderr}


def test_a_dcgan_learns_from_images_without_a_target(dcgan_run):
    run = dcgan_run["run"]
    assert {"d_loss", "g_loss"} <= set(_history(run)[0])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["data"]["task"] == "none" and manifest["data"]["targets"] == []
    assert "fitted as it is, on raw x batches" in dcgan_run["stderr"]
    assert _png_size(run / "samples" / "epoch_001.png") == (4 * 34 + 2, 4 * 34 + 2)  # 16 samples, 8x8 enlarged 4x
    assert 'alt="samples after epoch 1"' in (run / "report.html").read_text()


@pytest.mark.slow  # the slow DCGAN test samples a 64-grid too; make test-all
def test_sample_writes_a_png_grid_of_the_requested_size(dcgan_run):
    out = dcgan_run["work"] / "grid.png"
    result = cli_json(
        "sample", str(dcgan_run["run"]), "-n", "10", "-o", str(out), "--trust-code", cwd=dcgan_run["work"]
    )
    assert result["samples"] == 10 and (result["columns"], result["rows"]) == (4, 3)
    assert _png_size(out) == tuple(result["size"]) == (4 * 34 + 2, 3 * 34 + 2)  # cells of 8x8 pixels x 4, 2 apart
    refused = run_cli("sample", str(dcgan_run["run"]), cwd=dcgan_run["work"])  # its factory is not installed
    assert refused.returncode == 2 and "--trust-code" in refused.stderr


def test_evaluate_of_a_model_without_test_step_says_there_is_nothing_to_evaluate(dcgan_run):
    done = run_cli("evaluate", str(dcgan_run["run"]), "--trust-code", cwd=dcgan_run["work"])
    assert done.returncode == 2 and "nothing to evaluate" in done.stderr and "Traceback" not in done.stderr


def test_a_sequential_model_on_data_without_a_target_is_a_config_error(tmp_path):
    done = run_cli("train", str(CONFIGS / "digits_mlp.yaml"), "--set", "data.target=none", cwd=tmp_path)
    assert done.returncode == 2
    assert "data.target: none leaves the data without a target, which a sequential model" in done.stderr


def _adam_iterations(run: Path) -> tuple[int, list[int]]:
    """The backed-up epoch and the iteration counts of the model's Adam optimizers (d_ and g_optimizer)."""
    with np.load(run / "backup" / "state.npz") as saved:
        meta = json.loads(saved["meta"].tobytes().decode())
        return meta["epoch"], [
            int(saved[f"v{i}"])
            for i, path in enumerate(meta["paths"])
            if path.startswith("adam") and path.endswith("/iteration")
        ]


@pytest.mark.slow  # 21 s; the resume machinery is in make test (test_resume.py), the GAN's own in make test-all
def test_sigkill_and_resume_of_a_gan_restores_both_optimizers(tmp_path):
    args = ["train", str(CONFIGS / "digits_gan.yaml"), "--set", "fit.backup_every=1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "dlflow.cli", *args, "--set", "fit.epochs=500"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline, run = time.time() + 240, None
    while time.time() < deadline and run is None:
        states = list((tmp_path / "runs" / "digits-gan").glob("*/backup/state.npz"))
        run = states[0].parents[1] if states and _adam_iterations(states[0].parents[1])[0] >= 2 else None
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert run is not None, "the GAN never backed up its second epoch"
    killed_at, counts = _adam_iterations(run)
    steps = counts[0] // killed_at
    assert len(counts) == 2 and counts == [steps * killed_at] * 2  # both optimizers, one step per batch

    done = run_cli(*args, "--set", f"fit.epochs={killed_at + 1}", "--resume", str(run), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [int(r["epoch"]) for r in _history(run)] == list(range(killed_at + 1))
    assert "Epoch 1/" not in done.stderr  # continued from its last epoch
    assert _adam_iterations(run) == (killed_at + 1, [steps * (killed_at + 1)] * 2)  # not restarted from 0


@pytest.mark.slow
def test_the_vae_example_halves_its_reconstruction_loss_and_evaluates_its_own_test_losses(tmp_path):
    result = cli_json("train", str(CONFIGS / "digits_vae.yaml"), cwd=tmp_path)
    run = Path(result["run"])
    losses = [float(row["reconstruction_loss"]) for row in _history(run)]
    assert losses[-1] <= 0.5 * losses[0], losses
    assert len(list((run / "samples").glob("epoch_*.png"))) == len(losses)
    evaluation = cli_json("evaluate", str(run), "--trust-code", cwd=tmp_path)
    assert {"loss", "reconstruction_loss", "kl_loss"} <= set(evaluation["metrics"])
    assert "targets" not in evaluation


@pytest.mark.slow
def test_the_dcgan_example_trains_10_epochs_without_nan_and_samples_a_64_grid(tmp_path):
    result = cli_json("train", str(CONFIGS / "digits_dcgan.yaml"), cwd=tmp_path)
    run = Path(result["run"])
    rows = _history(run)
    assert len(rows) == 10 and all(np.isfinite(float(r[k])) for r in rows for k in ("d_loss", "g_loss"))
    sampled = cli_json("sample", str(run), "-n", "64", "-o", str(tmp_path / "grid.png"), "--trust-code", cwd=tmp_path)
    assert (sampled["columns"], sampled["rows"], sampled["cell"]) == (8, 8, [32, 32])
    assert _png_size(tmp_path / "grid.png") == (8 * 34 + 2, 8 * 34 + 2)
