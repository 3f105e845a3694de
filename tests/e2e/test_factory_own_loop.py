"""A factory's model with its own training loop (train_step, compile...) is fitted as it is, not wrapped."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, run_cli

FACTORIES = Path(__file__).parent / "factories"


def write_config(folder: Path, text: str, module: str) -> Path:
    shutil.copy(FACTORIES / f"{module}.py", folder / f"{module}.py")
    path = folder / "config.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory) -> dict:
    """configs/digits_gan.yaml (keras-io's GAN example in small: its own compile with two optimizers,
    metrics and train_step) trained 2 epochs on builtin:digits."""
    work = tmp_path_factory.mktemp("gan")
    config = CONFIGS / "digits_gan.yaml"
    done = run_cli("train", str(config), "--json", cwd=work)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"work": work, "config": config, "run": Path(json.loads(done.stdout)["run"]), "stderr": done.stderr}


def test_a_factory_train_step_that_raises_makes_train_fail(tmp_path):
    config = write_config(
        tmp_path,
        "name: raising\ndata: {source: builtin:digits}\nmodel: {factory: 'raising_step:build'}\nfit: {epochs: 1}\n",
        "raising_step",
    )
    done = run_cli("train", str(config), cwd=tmp_path)
    assert done.returncode == 1  # the user's own code failed: unexpected, not a usage error
    assert "RaisingStep.train_step ran and raised on purpose" in done.stderr
    assert "Traceback" not in done.stderr  # one line, and the traceback in a file it names
    saved = tmp_path / done.stderr.split("traceback saved to ")[1].split(";")[0]
    assert "raised on purpose" in saved.read_text() and saved.is_relative_to(tmp_path / "runs")
    run = next((tmp_path / "runs" / "raising").glob("2*"))
    assert json.loads((run / "manifest.json").read_text())["status"] == "failed"


@pytest.mark.slow  # the generative tests (test_generative.py) train a GAN in make test; make test-all runs this
def test_a_factory_gan_trains_with_its_own_train_step_and_compile(gan_run):
    run = gan_run["run"]
    with open(run / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and {"d_loss", "g_loss"} <= set(rows[0]) and "loss" not in rows[0]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["fitted_as_is"] == {"class": "my_models.GAN", "methods": ["compile", "metrics", "train_step"]}
    assert "my_models.GAN has its own compile, metrics, train_step: fitted as it is" in gan_run["stderr"]
    for path in ("model.keras", "checkpoints/best.keras", "checkpoints/last.keras", "report.html"):
        assert (run / path).is_file(), path


@pytest.mark.slow  # the generative tests (test_generative.py) train a GAN in make test; make test-all runs this
def test_a_gan_run_reloads_and_evaluate_refuses_it_with_one_line(gan_run):
    done = run_cli("evaluate", str(gan_run["run"]), cwd=gan_run["work"])
    assert done.returncode == 2
    assert "nothing to evaluate: its model (my_models.GAN) was fitted as it is and defines no test_step" in done.stderr
    assert "Traceback" not in done.stderr
    probe = (
        "import sys, keras; sys.path.insert(0, sys.argv[1]); import my_models; "
        "m = keras.saving.load_model(sys.argv[2]); print(type(m).__name__, m.generator(keras.ops.ones((3, 8))).shape)"
    )
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", probe, str(CONFIGS), str(gan_run["run"] / "model.keras")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.split() == ["GAN", "(3,", "64)"], out.stderr[-2000:]


def test_a_compile_block_for_a_self_compiled_factory_model_is_an_error(tmp_path):
    done = run_cli("train", str(CONFIGS / "digits_gan.yaml"), "--set", "compile.optimizer=sgd", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        "compile: my_models:build_gan compiled its GAN itself, so the config's compile: block cannot take effect"
        in done.stderr
    )
    assert "Traceback" not in done.stderr
