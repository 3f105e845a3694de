"""Safe by default: confined callback paths, unsafe callbacks refused, absurd sizes refused (issue #10)."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.conftest import run_cli

GOOD = """\
name: safe
data:
  source: builtin:digits
model:
  sequential:
    - Flatten
    - Dense: {units: 10, activation: softmax}
fit:
  epochs: 1
"""

CALLBACKS = (
    GOOD
    + """\
  callbacks:
    - BackupAndRestore: {backup_dir: /tmp/outside}
    - CSVLogger: {filename: ../../x.csv}
    - ModelCheckpoint: {filepath: a/../../../m.keras}
    - RemoteMonitor: {root: 'http://example.com'}
    - LambdaCallback: {on_epoch_end: print}
    - LearningRateScheduler: {schedule: 'lambda e: 0.1'}
    - CSVLogger: {filename: mine/log.csv}
"""
)
CALLBACK_LINES = [
    r"c\.yaml:11:\d+: fit\.callbacks\[0\]\.BackupAndRestore\.backup_dir: absolute paths are refused",
    r"c\.yaml:12:\d+: fit\.callbacks\[1\]\.CSVLogger\.filename: '\.\.' climbs out of the run directory",
    r"c\.yaml:13:\d+: fit\.callbacks\[2\]\.ModelCheckpoint\.filepath: '\.\.' climbs out",
    r"c\.yaml:14:\d+: fit\.callbacks\[3\]\.RemoteMonitor: refused: .*network; set fit\.allow_unsafe_callbacks: true",
    r"c\.yaml:15:\d+: fit\.callbacks\[4\]\.LambdaCallback: refused: .*Python functions",
    r"c\.yaml:16:\d+: fit\.callbacks\[5\]\.LearningRateScheduler: refused",
]
SIZES = (
    GOOD.replace("units: 10,", "units: 1000000000000,").replace(
        "builtin:digits", "builtin:digits\n  image: {size: [-4, 8]}\n  text: {max_tokens: 2}"
    )
    + "  batch_size: 9223372036854775807\n"
)
SIZE_LINES = [
    r"c\.yaml:4:\d+: data\.image\.size\[0\]: expected a value greater than 0",
    r"c\.yaml:5:\d+: data\.text: max_tokens: 2 leaves no room for a word",
    r"c\.yaml:9:\d+: model\.sequential\[1\]\.Dense\.units: about 1e\+12 parameters needs about .* of memory",
    r"c\.yaml:12:\d+: fit\.batch_size: one batch of 9223372036854775807 rows needs",
]
IMAGE = GOOD.replace("builtin:digits", "builtin:digits\n  image: {size: [1000000, 1000000]}")
IMAGE_LINES = [r"c\.yaml:4:\d+: data\.image\.size: one decoded 1000000 x 1000000 image needs about 15 TiB"]


@pytest.mark.parametrize("case", ["callbacks", "sizes", "image"])
def test_validate_refuses_each_with_a_located_line(case, tmp_path):
    text, patterns = {
        "callbacks": (CALLBACKS, CALLBACK_LINES),
        "sizes": (SIZES, SIZE_LINES),
        "image": (IMAGE, IMAGE_LINES),
    }[case]
    (tmp_path / "c.yaml").write_text(text)
    done = run_cli("validate", "c.yaml", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == len(patterns), done.stderr
    for line, pattern in zip(lines, patterns):
        assert re.search(pattern, line), (pattern, line)


def test_allow_unsafe_callbacks_opts_in(tmp_path):
    text = GOOD + "  allow_unsafe_callbacks: true\n  callbacks:\n    - RemoteMonitor: {root: 'http://127.0.0.1:9'}\n"
    (tmp_path / "c.yaml").write_text(text)
    done = run_cli("validate", "c.yaml", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr


def test_callback_paths_resolve_inside_the_run(tmp_path):
    """BackupAndRestore deletes its folder at the end: it must be the run's, never one outside."""
    outside = tmp_path / "keep"
    outside.mkdir()
    (outside / "precious.txt").write_text("x")
    text = GOOD + (
        "  callbacks:\n    - BackupAndRestore: {backup_dir: keep}\n"
        "    - CSVLogger: {filename: mine/log.csv}\n    - TensorBoard: {}\n"
    )
    (tmp_path / "c.yaml").write_text(text)
    done = run_cli("train", "c.yaml", "--json", cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(done.stdout)["run"]
    from pathlib import Path

    assert (outside / "precious.txt").exists()
    assert (Path(run) / "callbacks" / "mine" / "log.csv").exists()
    assert (Path(run) / "callbacks" / "logs").is_dir()  # TensorBoard's default, inside the run
    assert not (tmp_path / "logs").exists() and not (tmp_path / "mine").exists()
    umask = os.umask(0o022)
    os.umask(umask)
    modes = {str(p.relative_to(run)): oct(p.stat().st_mode & 0o777) for p in Path(run).rglob("*") if p.is_file()}
    split = Path(run).parent / "split.npz"
    modes["split.npz"] = oct(split.stat().st_mode & 0o777)
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes  # one mode whoever wrote the file
    assert not [p for p in Path(run).rglob("*.tmp*")]
