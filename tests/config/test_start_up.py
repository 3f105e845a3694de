"""What `dlflow validate` spends its start-up on: each piece of work done once, nothing imported it does not use.

The times themselves are a benchmark (benchmarks/start_up.py), not a test; these check the mechanisms.
"""

from __future__ import annotations

import subprocess
import sys

import yaml

from dlflow.config.yaml_loader import load_yaml


def test_a_config_is_scanned_once(monkeypatch):
    # The depth check scans the text; the parse reuses its tokens instead of scanning again
    # (scanning is half of PyYAML's time).
    text = "fit:\n  epochs: 5\n  callbacks: [{EarlyStopping: {patience: 2}}]\nmodel: {sequential: [relu]}\n"
    scanned = []
    original = yaml.scanner.Scanner.fetch_more_tokens

    def counting(self):
        scanned.append(1)
        return original(self)

    monkeypatch.setattr(yaml.scanner.Scanner, "fetch_more_tokens", counting)
    list(yaml.scan(text, Loader=yaml.SafeLoader))
    once = len(scanned)
    scanned.clear()
    data, positions = load_yaml(text, "c.yaml")
    assert data["fit"]["callbacks"] == [{"EarlyStopping": {"patience": 2}}]
    assert positions.describe(("fit", "callbacks", 0, "EarlyStopping", "patience"), value=True) == "c.yaml:3:42"
    assert len(scanned) == once


VALIDATE = """
import sys
from dlflow.cli.main import main
try:
    main(["validate", sys.argv[1]])
except SystemExit as done:
    assert done.code in (0, None), done.code
print(sorted(m for m in ("numpy", "pandas", "tensorflow", "keras") if m in sys.modules))
"""

FUNCTIONAL_ON_A_TABLE = """
data: {source: table.csv, target: y}
model:
  functional:
    inputs: [Lange, width]
    layers:
      joined: {Concatenate: {}, inputs: [Lange, width]}
      y: {Dense: {units: 1}, inputs: joined}
    outputs: [y]
"""


def test_validate_reads_a_tables_input_names_without_numpy(tmp_path):
    # `validate` checks the functional graph's inputs against the CSV header (data/peek.py): no NumPy for that.
    (tmp_path / "table.csv").write_text("Länge,width,y\n1,2,3\n", encoding="utf-8")
    config = tmp_path / "exp.yaml"
    config.write_text(FUNCTIONAL_ON_A_TABLE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", VALIDATE, str(config)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "functional model" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"


def test_the_keras_versions_are_read_beside_the_packages(monkeypatch):
    # importlib.metadata searches every sys.path folder (milliseconds); the dist-info beside the package is enough.
    from importlib import metadata

    from dlflow.config.catalogue import installed_keras_version, installed_version

    expected = metadata.version("keras"), metadata.version("keras-hub")

    def searched(name):
        raise AssertionError(f"searched sys.path for {name}")

    monkeypatch.setattr(metadata, "version", searched)
    assert (installed_keras_version(), installed_version("keras_hub")) == expected
