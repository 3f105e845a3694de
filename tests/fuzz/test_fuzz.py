"""The project's fuzzers (issue #10): generated configs through `validate` and through `validate --build`
and `train`, bad data files through `collect`, generated requests against `serve`'s API.

The default suite runs a small sample; `make fuzz` (marker `fuzz`) runs the full counts. Each run
prints its counts; any traceback, hang or refusal without a location fails the test, and so does
any disagreement between `validate --build` and `train`, a training accepted wrongly, or a serve
answer >= 500 or a 4xx that is not JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _fuzz(module: str, examples: int, timeout: float, *args: str) -> dict:
    pytest.importorskip("hypothesis")
    done = subprocess.run(
        [sys.executable, "-m", f"tests.fuzz.{module}", "--examples", str(examples), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{module}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if k != "examples"))
    if module == "serve_fuzz":
        assert counts["server_errors_5xx"] == 0 and counts["refused_4xx_not_json"] == 0 and counts["exceptions"] == 0, (
            json.dumps(counts["examples"], indent=1)
        )
        return counts
    assert counts["tried"] >= examples * 0.9, counts
    assert counts["tracebacks"] == 0 and counts["hangs"] == 0 and counts["unlocated"] == 0, json.dumps(
        counts["examples"], indent=1
    )
    return counts


def test_config_fuzz_sample():
    _fuzz("config_fuzz", 30, timeout=300)


@pytest.mark.fuzz
def test_config_fuzz_500():
    _fuzz("config_fuzz", 500, timeout=3600)


@pytest.mark.fuzz
def test_data_fuzz_150():
    _fuzz("data_fuzz", 150, timeout=3600)


def _train_fuzz(examples: int, timeout: float) -> dict:
    counts = _fuzz("train_fuzz", examples, timeout)
    assert counts["disagreements"] == 0 and counts["accepted_wrong"] == 0, json.dumps(counts["examples"], indent=1)
    return counts


def test_train_fuzz_sample():
    _train_fuzz(2, timeout=600)


@pytest.mark.fuzz
def test_train_fuzz_60():
    _train_fuzz(60, timeout=7200)


@pytest.mark.fuzz
def test_serve_fuzz(tmp_path):
    from tests.conftest import CONFIGS, cli_json

    run = cli_json("train", str(CONFIGS / "breast_cancer.yaml"), "--set", "fit.epochs=1", cwd=tmp_path)["run"]
    _fuzz("serve_fuzz", 100, 3600, "--run", run)
