"""The project's fuzzers (issue #10): generated configs through `validate`, bad data files through `collect`.

The default suite runs a small sample; `make fuzz` (marker `fuzz`) runs the full counts. Each run
prints its counts; any traceback, hang or refusal without a location fails the test.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _fuzz(module: str, examples: int, timeout: float) -> dict:
    pytest.importorskip("hypothesis")
    done = subprocess.run([sys.executable, "-m", f"tests.fuzz.{module}", "--examples", str(examples)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{module}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if k != "examples"))
    assert counts["tried"] >= examples * 0.9, counts
    assert counts["tracebacks"] == 0 and counts["hangs"] == 0 and counts["unlocated"] == 0, \
        json.dumps(counts["examples"], indent=1)
    return counts


def test_config_fuzz_sample():
    _fuzz("config_fuzz", 30, timeout=300)


@pytest.mark.fuzz
def test_config_fuzz_500():
    _fuzz("config_fuzz", 500, timeout=3600)


@pytest.mark.fuzz
def test_data_fuzz_150():
    _fuzz("data_fuzz", 150, timeout=3600)
