"""Each command parses its config once (DESIGN.md §4: a stage loads its config once).

The commands run in one process (TensorFlow loads once) with the YAML parser counted by file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CONFIGS, ROOT

COUNTING = """
import json, sys, time
from collections import Counter

import dlflow.config.load as load
from dlflow.cli.main import main

parsed = Counter()
original = load.load_yaml

def counting(text, filename):
    parsed[filename] += 1
    return original(text, filename)

load.load_yaml = counting
results = []
for argv in json.loads(sys.argv[1]):
    parsed.clear()
    started = time.time()
    try:
        main(argv)
        code = 0
    except SystemExit as done:
        code = done.code or 0
    results.append({"argv": argv, "code": code, "parsed": dict(parsed), "seconds": time.time() - started})
with open(sys.argv[2], "w") as handle:
    json.dump(results, handle)
"""


MLP, TUNE = str(CONFIGS / "digits_mlp.yaml"), str(CONFIGS / "digits_tune.yaml")
ONE_EPOCH = ["--set", "fit.epochs=1"]


def _check_parsed_once(commands: list[list[str]], cwd) -> None:
    """Run the commands in one process; each parses every file at most once, its config exactly once."""
    out = cwd / "loads.json"
    done = subprocess.run(
        [sys.executable, "-c", COUNTING, json.dumps(commands), str(out)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.exists(), done.stderr[-3000:]
    for result in json.loads(out.read_text()):
        argv, parsed = result["argv"], result["parsed"]
        assert result["code"] in (0, 1), (argv, done.stderr[-3000:])  # develop's verdict may be a fail (1)
        assert {name: n for name, n in parsed.items() if n > 1} == {}, argv  # no file parsed twice
        if argv[0] != "evaluate":
            assert parsed.get(argv[1]) == 1, (argv, parsed)


def test_train_evaluate_validate_parse_the_config_once(tmp_path):
    _check_parsed_once(
        [
            ["validate", MLP],
            ["train", MLP, *ONE_EPOCH],
            ["train", MLP, "--final", *ONE_EPOCH],
            ["evaluate", "digits-mlp"],
        ],
        tmp_path,
    )


@pytest.mark.slow
def test_cv_develop_tune_parse_the_config_once(tmp_path):
    _check_parsed_once(
        [
            ["cv", MLP, "--folds", "2", *ONE_EPOCH],
            ["develop", MLP, "--skip-train", "--no-shallow", "--overfit-epochs", "1", *ONE_EPOCH],
            ["tune", TUNE, "--set", "search.max_trials=1", *ONE_EPOCH],
        ],
        tmp_path,
    )
