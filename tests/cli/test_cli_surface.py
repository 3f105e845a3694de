"""The CLI as a new user meets it: `python -m dlflow`, choices in --help and completion, --json on failure,
`validate --print`, tables that keep one row per line when piped. No training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIGS, run_cli


def _dlflow(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m dlflow ARGS` (the package's own __main__, not dlflow.cli's)."""
    return subprocess.run(
        [sys.executable, "-m", "dlflow", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_python_m_dlflow_is_the_cli(tmp_path):
    done = _dlflow("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("dlflow ")


def test_help_lists_the_choices_and_completion_offers_them(tmp_path):
    assert "<binary|multiclass|multilabel|regression>" in run_cli("define", "--help", cwd=tmp_path).stdout
    assert "keras|saved_model|tflite|onnx" in run_cli("export", "--help", cwd=tmp_path).stdout
    assert "<decoded|raw>" in run_cli("serve", "--help", cwd=tmp_path).stdout
    top = run_cli("--help", cwd=tmp_path).stdout
    assert "--install-completion" in top and "--show-completion" in top
    explicit = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1", "HOME": str(tmp_path)}  # name the shell
    script = run_cli("--show-completion", "bash", cwd=tmp_path, env=explicit)
    assert script.returncode == 0 and "_DLFLOW_COMPLETE" in script.stdout
    installed = run_cli("--install-completion", "bash", cwd=tmp_path, env=explicit)
    assert installed.returncode == 0, installed.stderr
    assert "_DLFLOW_COMPLETE" in (tmp_path / ".bash_completions" / "dlflow.sh").read_text()
    offered = _dlflow(
        cwd=tmp_path,
        env={"_DLFLOW_COMPLETE": "complete_bash", "COMP_CWORD": "4", "COMP_WORDS": "dlflow export some-run --format "},
    )
    assert offered.stdout.split() == ["keras", "saved_model", "tflite", "onnx"], offered.stderr
    commands = _dlflow(
        cwd=tmp_path, env={"_DLFLOW_COMPLETE": "complete_bash", "COMP_CWORD": "1", "COMP_WORDS": "dlflow de"}
    )
    assert commands.stdout.split() == ["define", "develop"]


def test_a_choice_outside_the_enum_is_a_usage_error(tmp_path):
    done = run_cli("define", "x.csv", "--task", "ordinal", cwd=tmp_path)
    assert done.returncode == 2 and "'ordinal' is not one of" in done.stderr and "Traceback" not in done.stderr


def test_json_failures_print_one_error_object(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("name: bad\ndata: {source: builtin:digits}\nmodel:\n  sequential:\n    - Dense: {unit: 3}\n")
    done = run_cli("validate", str(config), "--json", cwd=tmp_path)
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error == {
        "message": "unknown argument 'unit' (did you mean 'units'?)",
        "file": str(config),
        "line": 5,
        "column": 15,
        "path": "model.sequential[0].Dense",
        "kind": "ConfigError",
        "exit_code": 2,
        "lines": [done.stderr.strip().removeprefix("error: ")],
    }
    for args, kind, words in [
        (("validate",), "UsageError", "Missing argument"),
        (("define", "no-such.csv"), "UsageError", "no such file"),
        (("validate", "missing.yaml"), "ConfigError", "no such config file"),
    ]:
        done = run_cli(*args, "--json", cwd=tmp_path)
        error = json.loads(done.stdout)["error"]
        assert done.returncode == error["exit_code"] == 2, args
        assert error["kind"] == kind and words in error["message"], error


def test_json_error_object_shapes_and_one_object_per_process(capsys):
    from dlflow.cli import output

    shaped = output.error_object(["--set fit.epochs: expected a value greater than 0, received -1"], 2, "ConfigError")
    assert shaped["error"]["path"] == "fit.epochs" and shaped["error"]["file"] is None
    row = output.error_object(["data/t.csv:7: column 'age': 'ten' is not a number"], 2, "DataError")["error"]
    assert (row["file"], row["line"], row["column"], row["path"]) == ("data/t.csv", 7, None, None)
    failed = output.error_object(["training diverged: the loss became NaN at epoch 3"], 1, "WorkFailed")["error"]
    assert failed["message"].startswith("training diverged") and failed["exit_code"] == 1 and failed["path"] is None
    output._Emitted.done = False
    output.emit_json({"result": 1})
    output.print_json_error(["develop: the overfit check failed"], 1, "WorkFailed")  # the result came first
    output._Emitted.done = False
    assert capsys.readouterr().out == '{"result": 1}\n'


def test_validate_print_shows_the_resolved_config(tmp_path):
    done = run_cli("validate", str(CONFIGS / "digits_mlp.yaml"), "--print", "--set", "fit.epochs=3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)  # stdout is the YAML alone; the verdict is on stderr
    assert resolved["fit"]["epochs"] == 3 and resolved["runtime"]["device"] == "auto"  # a default, filled
    assert "valid" in done.stderr
    as_json = json.loads(
        run_cli("validate", str(CONFIGS / "digits_mlp.yaml"), "--print", "--json", cwd=tmp_path).stdout
    )
    assert as_json["resolved"]["fit"]["batch_size"] == resolved["fit"]["batch_size"]


def test_a_piped_table_keeps_each_row_on_one_line(tmp_path):
    name = "an-experiment-with-a-name-longer-than-any-terminal-" + "x" * 150
    run = tmp_path / "runs" / name / "20260101-000000"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(
        json.dumps({"status": "completed", "monitor": "val_loss", "timings": {"total_s": 12.0}})
    )
    (run / "metrics.json").write_text(
        json.dumps({"monitor": "val_loss", "best_value": 0.5, "best_epoch": 2, "epochs_completed": 3})
    )
    done = run_cli("runs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if "20260101-000000" in line)
    assert name in row and "completed" in row and "0.5000" in row, done.stdout


@pytest.mark.slow
def test_train_shows_the_model_summary_before_fit(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(
        textwrap.dedent("""\
        name: tiny
        data: {source: builtin:digits}
        model:
          sequential:
            - Flatten
            - Dense: {units: 10, activation: softmax}
        fit: {epochs: 1}
        """)
    )
    done = run_cli("train", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        "Param #" in done.stderr and "Trainable params: 650" in done.stderr
    )  # (the dry build built the optimizer: its slots count in Total)
    assert done.stderr.index("Total params") < done.stderr.index("done: 1 epochs")
    quiet = run_cli("train", str(config), "--json", cwd=tmp_path)
    assert quiet.returncode == 0 and "Param #" not in quiet.stderr
