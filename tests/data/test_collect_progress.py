"""`dlflow collect` on a folder shows how far its pass over the files is: files scanned, per second,
ETA, on stderr; nothing of it under --json."""

from __future__ import annotations

import json
import re

import numpy as np
from PIL import Image

from tests.conftest import run_cli
from tests.data.kinds_helpers import write_config


def test_collect_reports_files_scanned_per_second_on_stderr_and_is_quiet_under_json(tmp_path):
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "pics" / label).mkdir(parents=True)
        for i in range(100):
            Image.fromarray((rng.random((8, 8)) * 255).astype("uint8"), mode="L").save(
                tmp_path / "pics" / label / f"{i}.png"
            )
    config = write_config(tmp_path, "pics", {"source": str(tmp_path / "pics")}, ["Flatten", {"Dense": {"units": 1}}])
    done = run_cli("collect", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if "files scanned" in line]
    assert lines and re.fullmatch(r"data: image files scanned 200/200 \([\d,]+/s, in [\d.]+ s\)", lines[-1]), lines
    quiet = run_cli("collect", str(config), "--json", cwd=tmp_path)
    assert quiet.returncode == 0 and "files scanned" not in quiet.stderr, quiet.stderr[-2000:]
    assert json.loads(quiet.stdout)["kind"] == "image"
