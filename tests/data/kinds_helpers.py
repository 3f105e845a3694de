"""Helpers shared by the image, text and time series tests: small configs and error checks."""

from __future__ import annotations

from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import yaml

from tests.conftest import ROOT

DATASETS = ROOT / "datasets"


def write_config(folder: Path, name: str, data: dict[str, Any], layers: list[Any], **sections: Any) -> Path:
    """Write `<folder>/<name>.yaml`: a Sequential model over `data`, 1 quiet epoch unless `fit` says otherwise."""
    config = {
        "name": name,
        "seed": 7,
        "data": data,
        "model": {"sequential": layers},
        "fit": {"epochs": 1, "batch_size": 32, "verbose": 0},
        **sections,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def assert_data_error(done: CompletedProcess, *fragments: str) -> str:
    """The command exited 2 with one `error:` line holding every fragment, and no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors, done.stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]
