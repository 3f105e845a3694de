"""Loading and validating a config never imports TensorFlow or Keras (its speed is a benchmark, not a test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from dlflow.config import load_config, json_schema, dump_config
loaded = load_config(sys.argv[1], ["fit.epochs=3"])
dump_config(loaded.config)
json_schema()
heavy = sorted(m for m in ("tensorflow", "keras", "jax", "torch", "mlflow") if m in sys.modules)
print(heavy)
"""


def test_validation_imports_no_tensorflow_or_keras(digits, write):
    path = write(digits)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"config loading imported {result.stdout.strip()}"


def test_in_process_load_leaves_tensorflow_unimported(digits, write):
    from dlflow.config import load_config

    already = {m for m in ("tensorflow", "keras") if m in sys.modules}
    load_config(write(digits))
    assert {m for m in ("tensorflow", "keras") if m in sys.modules} == already
