"""The Keras catalogue: up to date with the installed Keras, and regenerated on a mismatch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlflow.config import catalogue as catalogue_module
from dlflow.config.catalogue import CATALOGUE_PATH, installed_keras_version, load_catalogue

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # make test-all; keeps make test under 10 minutes on 2 cores
def test_committed_catalogue_matches_the_generator():
    """Regenerate with `python -m dlflow.config.make_catalogue` when this fails."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-m", "dlflow.config.make_catalogue", "--stdout"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == CATALOGUE_PATH.read_text(encoding="utf-8"), (
        "keras_catalogue.json is stale: run `python -m dlflow.config.make_catalogue`"
    )


def test_committed_catalogue_is_for_the_installed_keras():
    data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    assert data["keras_version"] == installed_keras_version()


def test_catalogue_contents():
    catalogue = load_catalogue()
    dense = catalogue["layers"].classes["Dense"]
    assert dense.required == ("units",)
    assert {"units", "kernel_regularizer", "name", "dtype", "trainable", "input_shape"} <= set(dense.args)
    assert "batch_size" not in dense.args  # Keras 3 layers reject it
    assert {"learning_rate", "clipnorm", "weight_decay", "name"} <= set(catalogue["optimizers"].classes["Adam"].args)
    assert catalogue["optimizers"].accepts_identifier("adam")
    assert catalogue["optimizers"].accepts_identifier("Adam")
    assert catalogue["losses"].accepts_identifier("mse")
    assert catalogue["losses"].accepts_identifier("sparse_categorical_crossentropy")
    for metric in ("accuracy", "acc", "mae", "auc"):
        assert catalogue["metrics"].accepts_identifier(metric)
    assert catalogue["activations"].accepts_identifier("relu")
    assert catalogue["initializers"].accepts_identifier("he_normal")
    assert catalogue["regularizers"].accepts_identifier("l2")
    assert "ExponentialDecay" in catalogue["schedules"].classes
    assert "EarlyStopping" in catalogue["callbacks"].classes
    assert "MaxNorm" in catalogue["constraints"].classes


def test_version_mismatch_regenerates_into_the_cache_once(monkeypatch, tmp_path):
    calls = []

    def fake_regenerate(path: Path):
        calls.append(path)
        data = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
        data["keras_version"] = "9.9.9"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), encoding="utf-8")
        return data

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(catalogue_module, "installed_keras_version", lambda: "9.9.9")
    monkeypatch.setattr(catalogue_module, "_regenerate", fake_regenerate)
    load_catalogue.cache_clear()
    try:
        assert load_catalogue().keras_version == "9.9.9"
        load_catalogue.cache_clear()
        assert load_catalogue().keras_version == "9.9.9"  # read from the cache this time
    finally:
        load_catalogue.cache_clear()
    assert calls == [tmp_path / "dlflow" / "keras_catalogue-9.9.9.json"]


def test_failed_regeneration_falls_back_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(catalogue_module, "installed_keras_version", lambda: "9.9.9")
    monkeypatch.setattr(catalogue_module, "_regenerate", lambda path: None)
    load_catalogue.cache_clear()
    try:
        with pytest.warns(UserWarning, match="could not build the Keras 9.9.9 catalogue"):
            assert load_catalogue().keras_version == installed_keras_version()
    finally:
        load_catalogue.cache_clear()
