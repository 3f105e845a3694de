"""Opening a run never imports its code without --trust-code; a changed factory file is refused (issue #10)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, run_cli


@pytest.fixture(scope="module")
def copied_run(tmp_path_factory) -> Path:
    """configs/digits_factory.yaml trained 1 epoch, then copied elsewhere with its module inside the
    run and the manifest's config_dir pointing there (a run received from someone else)."""
    work = tmp_path_factory.mktemp("factory")
    shutil.copy(CONFIGS / "digits_factory.yaml", work / "c.yaml")
    shutil.copy(CONFIGS / "my_models.py", work / "my_models.py")
    done = run_cli(
        "train",
        "c.yaml",
        "--set",
        "fit.epochs=1",
        "--set",
        "model.args.width=16",
        "--set",
        "model.args.blocks=1",
        "--json",
        cwd=work,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = Path(json.loads(done.stdout)["run"])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["factory"]["file"] == "my_models.py" and len(manifest["factory"]["sha256"]) == 64
    received = tmp_path_factory.mktemp("received") / "runs"
    shutil.copytree(run.parent, received / run.parent.name)
    copied = received / run.parent.name / run.name
    shutil.copy(work / "my_models.py", copied / "my_models.py")
    manifest["config_dir"] = str(copied)
    (copied / "manifest.json").write_text(json.dumps(manifest))
    return copied


@pytest.mark.parametrize("command", ["evaluate", "export"])
def test_a_copied_run_with_a_factory_refuses_without_trust_code(copied_run, command):
    done = run_cli(command, str(copied_run), cwd=copied_run.parent.parent, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "--trust-code" in lines[0] and "my_models:build" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow  # the refusal without --trust-code stays in make test; make test-all runs this
def test_trust_code_opens_it_and_a_changed_file_is_refused(copied_run):
    done = run_cli("evaluate", str(copied_run), "--trust-code", "--json", cwd=copied_run.parent.parent, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    module = copied_run / "my_models.py"
    module.write_text(module.read_text() + "\n# changed\n")
    done = run_cli("evaluate", str(copied_run), "--trust-code", cwd=copied_run.parent.parent, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "changed since the run was trained" in done.stderr
