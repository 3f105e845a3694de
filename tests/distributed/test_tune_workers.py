"""`dlflow tune` over three processes on 127.0.0.1: a chief serving KerasTuner's oracle, two workers.

Every trial the oracle hands out runs exactly once, on one worker; the chief ranks them all in
the one tune directory.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import CONFIGS
from tests.distributed.conftest import finish, free_port, start_dlflow

TRIALS = 4


@pytest.mark.slow
def test_two_tuner_workers_run_every_trial_once(tmp_path):
    oracle = f"127.0.0.1:{free_port()}"
    args = [
        "tune",
        str(CONFIGS / "digits_tune.yaml"),
        "--set",
        f"search.max_trials={TRIALS}",
        "--set",
        "fit.epochs=2",
        "--oracle",
        oracle,
        "--json",
    ]
    processes = {
        tuner: start_dlflow([*args, "--tuner-id", tuner], cwd=tmp_path, tag=tuner)
        for tuner in ("chief", "tuner0", "tuner1")
    }
    for tuner, process in processes.items():
        assert finish(process) == 0, f"{tuner}:\n" + (tmp_path / f"{tuner}.err").read_text()[-3000:]
    chief = json.loads((tmp_path / "chief.out").read_text())
    workers = [json.loads((tmp_path / f"tuner{i}.out").read_text()) for i in range(2)]

    # One tune directory (the chief's); the workers put their trials into it.
    tune_dirs = [p for p in (tmp_path / "runs" / "digits-tune").iterdir() if p.is_dir()]
    assert [str(p) for p in tune_dirs] == [chief["tune_dir"]]
    assert all(w["tune_dir"] == chief["tune_dir"] for w in workers)

    # Every trial ran once: the workers' trials are disjoint and together make the leaderboard.
    ran = [[t["trial"] for t in w["trials"]] for w in workers]
    assert all(ran) and not set(ran[0]) & set(ran[1]), ran
    ranked = [row["trial"] for row in chief["leaderboard"]]
    assert sorted(ranked) == sorted(ran[0] + ran[1]) and len(ranked) == TRIALS
    assert all(row["status"] == "completed" and row["epochs"] == 2 for row in chief["leaderboard"])
    scores = {t["trial"]: t["score"] for w in workers for t in w["trials"]}
    assert all(abs(row["score"] - scores[row["trial"]]) < 1e-9 for row in chief["leaderboard"])
    for trial in ranked:
        history = (tmp_path / chief["tune_dir"] / "trials" / trial / "history.csv").read_text().splitlines()
        assert len(history) == 1 + 2  # header and two epochs: trained once
    manifest = json.loads((tmp_path / chief["tune_dir"] / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["distributed"] == {"tuner_id": "chief", "oracle": oracle}
    assert (tmp_path / chief["tune_dir"] / "best.yaml").exists()
