"""Kill-and-resume soak (issue #10): SIGKILL `dlflow train` at random moments, `--resume` it, and check
that history.csv records every epoch exactly once.

    python benchmarks/soak_resume.py [--trials 10] [--epochs 6] [--seed 0]

Each trial trains configs/digits_mlp.yaml (no early stopping) in a scratch folder, kills the process
group with SIGKILL a random time after the run directory appears, resumes the run to the end and reads
its history. Prints the counts and writes bench-results/soak_resume.json; exit 1 if any trial failed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "digits_mlp.yaml"
DLFLOW = [sys.executable, "-m", "dlflow.cli"]


def trial(work: Path, epochs: int, rng: random.Random) -> dict:
    sets = ["--set", f"fit.epochs={epochs}", "--set", "fit.callbacks=[]"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DLFLOW_RUNS_DIR", None)
    experiment = work / "runs" / "digits-mlp"
    before = set(experiment.iterdir()) if experiment.exists() else set()
    process = subprocess.Popen(
        [*DLFLOW, "train", str(CONFIG), *sets],
        cwd=work,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run = None
    while process.poll() is None and run is None:
        new = [p for p in (experiment.iterdir() if experiment.exists() else []) if p not in before and p.is_dir()]
        run = new[0] if new else None
        time.sleep(0.2)
    delay = rng.uniform(0.0, 12.0)
    time.sleep(delay)
    killed = process.poll() is None
    if killed:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    if run is None:
        return {"ok": False, "why": "no run directory appeared", "killed": killed}
    epochs_before = len(_epochs(run))
    done = subprocess.run(
        [*DLFLOW, "train", str(CONFIG), *sets, "--resume", str(run)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    recorded = _epochs(run)
    ok = done.returncode == 0 and recorded == list(range(epochs))
    return {
        "ok": ok,
        "killed": killed,
        "delay_s": round(delay, 1),
        "epochs_before_kill": epochs_before,
        "recorded": recorded,
        **({} if ok else {"stderr": done.stderr[-800:]}),
    }


def _epochs(run: Path) -> list[int]:
    history = run / "history.csv"
    if not history.exists():
        return []
    with open(history, newline="") as handle:
        return [int(float(row["epoch"])) for row in csv.DictReader(handle) if row.get("epoch") not in (None, "")]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.trials):
            result = trial(Path(tmp), args.epochs, rng)
            results.append(result)
            print(
                f"trial {i + 1}: {'ok' if result['ok'] else 'FAILED'} (killed after {result.get('delay_s')} s "
                f"with {result.get('epochs_before_kill')} epoch(s) recorded; after resume: {result.get('recorded')})"
                + ("" if result["ok"] else f"\n  {result.get('why') or result.get('stderr')}"),
                flush=True,
            )
    counts = {
        "trials": len(results),
        "killed_mid_training": sum(r["killed"] for r in results),
        "every_epoch_once": sum(r["ok"] for r in results),
        "failed": sum(not r["ok"] for r in results),
    }
    print(json.dumps(counts))
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "soak_resume.json").write_text(json.dumps({"counts": counts, "trials": results}, indent=2) + "\n")
    return 0 if counts["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
