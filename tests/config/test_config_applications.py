"""The keras.applications list that `model.backbone` is checked against: current with the installed Keras."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlflow.config.catalogue import installed_keras_version
from dlflow.config.make_applications import APPLICATIONS_PATH

ROOT = Path(__file__).resolve().parents[2]


def test_committed_applications_are_for_the_installed_keras():
    data = json.loads(APPLICATIONS_PATH.read_text(encoding="utf-8"))
    assert data["keras_version"] == installed_keras_version(), (
        "keras_applications.json is stale: run `python -m dlflow.config.make_applications`"
    )
    assert data["applications"]["MobileNetV2"] == {
        "module": "mobilenet_v2",
        "min_size": 32,
        "rgb_only": False,
        "args": [
            "input_shape",
            "alpha",
            "include_top",
            "weights",
            "input_tensor",
            "pooling",
            "classes",
            "classifier_activation",
            "name",
        ],
    }


@pytest.mark.slow  # imports Keras
def test_committed_applications_match_the_generator(tmp_path):
    """Regenerate with `python -m dlflow.config.make_applications` when this fails."""
    out = tmp_path / "applications.json"
    result = subprocess.run(
        [sys.executable, "-m", "dlflow.config.make_applications", "-o", str(out)],
        cwd=ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.read_text() == APPLICATIONS_PATH.read_text(), "run `python -m dlflow.config.make_applications`"
