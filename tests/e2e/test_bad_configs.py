"""Bad configs through the real CLI: exit 2, `file:line:col: path: message`, no traceback."""

from __future__ import annotations

import re
import textwrap

import pytest

from tests.conftest import run_cli

GOOD = """\
name: tiny
data:
  source: builtin:digits
model:
  sequential:
    - Flatten
    - Dense: {units: 10, activation: softmax}
fit:
  epochs: 1
"""

CASES = {
    # name: (config text, command, expected message pattern)
    "unknown_key": (
        GOOD.replace("fit:\n", "fitt:\n"),
        "validate",
        r":8:1: unknown top-level key 'fitt' \(did you mean 'fit'\?\)",
    ),
    "unknown_layer": (
        GOOD.replace("- Flatten", "- Flaten"),
        "validate",
        r":6:7: model\.sequential\[0\]: unknown layer 'Flaten' \(did you mean 'Flatten'\?\)",
    ),
    "misspelled_argument": (
        GOOD.replace("units: 10", "unit: 10"),
        "validate",
        r":7:\d+: model\.sequential\[1\]\.Dense: unknown argument 'unit' \(did you mean 'units'\?\)",
    ),
    "wrong_type": (GOOD.replace("epochs: 1", "epochs: ten"), "validate", r":9:\d+: fit\.epochs: .*integer.*'ten'"),
    "yaml_syntax": (
        GOOD.replace("fit:\n  epochs: 1", "fit:\n  epochs: [1"),
        "validate",
        r":\d+:\d+: YAML syntax error",
    ),
    "output_target_mismatch": (
        GOOD.replace("units: 10", "units: 5"),
        "train",
        r":7:\d+: model\.sequential\[1\]: the model's output has 5 unit\(s\) but the target 'label' has 10 classes; the last layer should be Dense: \{units: 10, activation: softmax\}",
    ),
    "missing_data_file": (
        GOOD.replace("builtin:digits", "no_such_file.csv"),
        "train",
        r":3:\d+: data\.source: no such file or folder",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_exits_2_with_location_and_no_traceback(case, tmp_path):
    text, command, pattern = CASES[case]
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    done = run_cli(command, str(config), cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    first = next(line for line in done.stderr.splitlines() if line.startswith("error:"))
    assert first.startswith(f"error: {config}:"), first
    assert re.search(pattern, first), first
    assert not (tmp_path / "runs" / "tiny").exists() or not any((tmp_path / "runs" / "tiny").glob("*/model.keras"))


def test_all_problems_are_reported_at_once(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(GOOD.replace("- Flatten", "- Flaten").replace("epochs: 1", "epochs: ten"))
    done = run_cli("validate", str(config), cwd=tmp_path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 2 and "Flaten" in lines[0] and "epochs" in lines[1]


def test_bad_override_names_the_set_flag(tmp_path):
    config = tmp_path / "ok.yaml"
    config.write_text(GOOD)
    done = run_cli("validate", str(config), "--set", "fit.epochs=-3", cwd=tmp_path)
    assert done.returncode == 2
    assert "--set fit.epochs" in done.stderr


def test_validate_and_help_never_import_tensorflow(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "ok.yaml"
    config.write_text(GOOD)
    probe = textwrap.dedent("""
        import sys, atexit
        atexit.register(lambda: print("TF" if "tensorflow" in sys.modules else "NO_TF"))
        sys.argv = ["dlflow", *sys.argv[1:]]
        from dlflow.cli.main import main
        main()
    """)
    for args in (["--help"], ["validate", str(config)], ["schema"]):
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith("NO_TF"), (args, done.stdout[-200:])
