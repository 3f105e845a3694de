"""Safe by default: confined callback paths, unsafe callbacks refused, absurd sizes refused (issue #10)."""

from __future__ import annotations

import json
import os

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

REFUSED = {
    "absolute_backup_dir": ("  callbacks:\n    - BackupAndRestore: {backup_dir: /tmp/outside}\n",
                            r":11:\d+: fit\.callbacks\[0\]\.BackupAndRestore\.backup_dir: absolute paths are refused"),
    "escaping_csv": ("  callbacks:\n    - CSVLogger: {filename: ../../x.csv}\n",
                     r":11:\d+: fit\.callbacks\[0\]\.CSVLogger\.filename: '\.\.' climbs out"),
    "escaping_checkpoint": ("  callbacks:\n    - ModelCheckpoint: {filepath: a/../../../m.keras}\n",
                            r"ModelCheckpoint\.filepath: '\.\.' climbs out"),
    "remote_monitor": ("  callbacks:\n    - RemoteMonitor: {root: 'http://example.com'}\n",
                       r":11:\d+: fit\.callbacks\[0\]\.RemoteMonitor: refused: .*network; set fit\.allow_unsafe_callbacks"),
    "lambda_strings": ("  callbacks:\n    - LambdaCallback: {on_epoch_end: print}\n",
                       r"fit\.callbacks\[0\]\.LambdaCallback: refused: .*Python functions"),
    "scheduler_string": ("  callbacks:\n    - LearningRateScheduler: {schedule: 'lambda e: 0.1'}\n",
                         r"LearningRateScheduler: refused"),
}
SIZES = {
    "huge_units": (GOOD.replace("units: 10,", "units: 1000000000000,"), r":7:\d+: model\.sequential\[1\]\.Dense\.units: about 1e\+12 parameters needs about .* of memory"),
    "huge_batch": (GOOD + "  batch_size: 9223372036854775807\n", r":10:\d+: fit\.batch_size: one batch of 9223372036854775807 rows needs"),
    "huge_image": (GOOD.replace("builtin:digits", "builtin:digits\n  image: {size: [100000, 100000]}"), r"data\.image\.size: one decoded 100000 x 100000 image needs"),
    "max_tokens_two": (GOOD.replace("builtin:digits", "builtin:digits\n  text: {max_tokens: 2}"), r"data\.text: max_tokens: 2 leaves no room for a word"),
    "negative_image": (GOOD.replace("builtin:digits", "builtin:digits\n  image: {size: [-4, 8]}"), r"data\.image\.size\[0\]: expected a value greater than 0"),
}


@pytest.mark.parametrize("case", sorted(REFUSED) + sorted(SIZES))
def test_validate_refuses_with_a_located_line(case, tmp_path):
    import re

    text, pattern = (GOOD + REFUSED[case][0], REFUSED[case][1]) if case in REFUSED else SIZES[case]
    (tmp_path / "c.yaml").write_text(text)
    done = run_cli("validate", "c.yaml", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert re.search(pattern, done.stderr), done.stderr
    assert "Traceback" not in done.stderr


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
    text = GOOD + ("  callbacks:\n    - BackupAndRestore: {backup_dir: keep}\n"
                   "    - CSVLogger: {filename: mine/log.csv}\n    - TensorBoard: {}\n")
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
