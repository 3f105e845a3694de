"""Spine benchmark: `dlflow train` against the hand-written Keras script, run alternately.

Two cases, each with the same data, model, epochs and batch size on both sides (no early stopping):

- `table_mlp`: configs/breast_cancer.yaml (a 2-layer MLP on a 569-row table, 30 epochs, batch 32)
  vs benchmarks/handwritten_table.py, where start-up and saving weigh most;
- `digits_convnet`: configs/digits_convnet.yaml vs benchmarks/handwritten_digits.py, where fit dominates.

The hand-written scripts write no checkpoints; dlflow writes everything of its run directory.
Pairs alternate (dlflow first, then the script first, ...), so drift in the machine's load hits
both alike. Reports medians of whole-process wall time and time inside fit, their ratios, and
`dlflow --help` / `dlflow validate` against `python -c "import typer, rich"`.
Writes bench-results/spine.json.

Five pairs by default: with three, one disturbed pair on this shared machine moved the convnet's
median from 0.95 to 1.18 (a run's fit took 14-20 s instead of 10-11).

Usage: python benchmarks/spine.py [--pairs 5] [--cases table_mlp,digits_convnet]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DLFLOW = [sys.executable, "-m", "dlflow.cli"]
CASES = {
    "table_mlp": {
        "config": "breast_cancer.yaml",
        "script": "handwritten_table.py",
        "epochs": 30,
        "batch": 32,
        "goal": 1.10,
    },
    "digits_convnet": {
        "config": "digits_convnet.yaml",
        "script": "handwritten_digits.py",
        "epochs": 20,
        "batch": 32,
        "goal": 1.05,
    },
}


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def dlflow_run(work: Path, case: dict) -> dict:
    command = [
        *DLFLOW,
        "train",
        str(ROOT / "configs" / case["config"]),
        "--set",
        f"fit.epochs={case['epochs']}",
        "--set",
        f"fit.batch_size={case['batch']}",
        "--set",
        "fit.callbacks=[]",
        "--json",
    ]
    wall, out = timed(command, work)
    manifest = json.loads((Path(json.loads(out)["run"]) / "manifest.json").read_text())
    return {"wall_s": wall, "fit_s": manifest["timings"]["fit_s"]}


def script_run(work: Path, case: dict) -> dict:
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / case["script"]),
        "--epochs",
        str(case["epochs"]),
        "--batch-size",
        str(case["batch"]),
    ]
    wall, out = timed(command, work)
    return {"wall_s": wall, "fit_s": json.loads(out.strip().splitlines()[-1])["fit_s"]}


def median_time(command: list[str], work: Path, repeats: int) -> float:
    return statistics.median(timed(command, work)[0] for _ in range(repeats))


def start_up(work: Path, repeats: int = 10) -> dict:
    """--help and validate vs importing typer and rich, alternated."""
    commands = {
        "help": [*DLFLOW, "--help"],
        "validate": [*DLFLOW, "validate", str(ROOT / "configs" / "digits_convnet.yaml")],
        "import_typer_rich": [sys.executable, "-c", "import typer, rich"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            times[name].append(timed(command, work)[0])
    return {name: statistics.median(values) for name, values in times.items()} | {"repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    report: dict = {"benchmark": "spine", "pairs": args.pairs, "cases": {}}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for name in args.cases.split(","):
            case = CASES[name]
            runs: dict[str, list[dict]] = {"dlflow": [], "script": []}
            for i in range(args.pairs):
                for side in ("dlflow", "script") if i % 2 == 0 else ("script", "dlflow"):
                    result = dlflow_run(work, case) if side == "dlflow" else script_run(work, case)
                    runs[side].append(result)
                    print(
                        f"{name} pair {i + 1} {side:6s} wall {result['wall_s']:.2f}s fit {result['fit_s']:.2f}s",
                        file=sys.stderr,
                    )
            median = {
                side: {k: statistics.median(r[k] for r in rows) for k in ("wall_s", "fit_s")}
                for side, rows in runs.items()
            }
            pair_ratios = [d["wall_s"] / s["wall_s"] for d, s in zip(runs["dlflow"], runs["script"])]
            report["cases"][name] = {
                **case,
                "median": median,
                "runs": runs,
                "ratio": {k: median["dlflow"][k] / median["script"][k] for k in ("wall_s", "fit_s")},
                "wall_ratio_by_pair": pair_ratios,
            }
        report["start_up"] = start_up(work)
    out = ROOT / "bench-results" / "spine.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{'case':16s}{'':9s}{'dlflow':>9s}{'script':>9s}{'ratio':>8s}{'goal':>7s}")
    for name, r in report["cases"].items():
        for key, label in (("wall_s", "process"), ("fit_s", "fit")):
            print(
                f"{name:16s}{label:9s}{r['median']['dlflow'][key]:8.2f}s{r['median']['script'][key]:8.2f}s"
                f"{r['ratio'][key]:8.3f}{r['goal'] if key == 'wall_s' else '':>7}"
            )
    s = report["start_up"]
    print(
        f"dlflow --help {s['help'] * 1000:.0f} ms, validate {s['validate'] * 1000:.0f} ms, "
        f"import typer, rich {s['import_typer_rich'] * 1000:.0f} ms (medians of {s['repeats']})"
    )
    print(f"written: {out}")


if __name__ == "__main__":
    main()
