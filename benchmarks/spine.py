"""Spine benchmark: `dlflow train` against a hand-written Keras script, run alternately.

Same data, model, epochs and batch size (configs/digits_convnet.yaml with fixed epochs and no
early stopping vs benchmarks/handwritten_digits.py). Reports medians over repeats of
whole-process wall time and time inside fit, their ratios, and `dlflow --help` time.
Writes bench-results/spine.json.

Usage: python benchmarks/spine.py [--repeats 5] [--epochs 20]
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
BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def dlflow_run(work: Path, epochs: int) -> dict:
    command = [str(BIN / "dlflow"), "train", str(ROOT / "configs" / "digits_convnet.yaml"),
               "--set", f"fit.epochs={epochs}", "--set", "fit.callbacks=[]", "--json"]
    wall, out = timed(command, work)
    run = Path(json.loads(out)["run"])
    manifest = json.loads((run / "manifest.json").read_text())
    return {"wall_s": wall, "fit_s": manifest["timings"]["fit_s"]}


def handwritten_run(work: Path, epochs: int, checkpoints: bool = False) -> dict:
    command = [sys.executable, str(ROOT / "benchmarks" / "handwritten_digits.py"), "--epochs", str(epochs)]
    command += ["--checkpoints"] if checkpoints else []
    wall, out = timed(command, work)
    return {"wall_s": wall, "fit_s": json.loads(out.strip().splitlines()[-1])["fit_s"]}


def help_time(work: Path, repeats: int = 7) -> float:
    return statistics.median(timed([str(BIN / "dlflow"), "--help"], work)[0] for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    # keras: a bare model.fit; keras_ckpt: the same with the best checkpoint and per-epoch backup
    # that dlflow always writes (its resumability costs one weights save per epoch).
    results: dict[str, list[dict]] = {"dlflow": [], "keras": [], "keras_ckpt": []}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for i in range(args.repeats):  # rotate the order so drift hits every side alike
            order = list(results)[i % 3:] + list(results)[:i % 3]
            for side in order:
                if side == "dlflow":
                    result = dlflow_run(work, args.epochs)
                else:
                    result = handwritten_run(work, args.epochs, checkpoints=side == "keras_ckpt")
                results[side].append(result)
                print(f"repeat {i + 1} {side:7s} wall {result['wall_s']:.2f}s fit {result['fit_s']:.2f}s", file=sys.stderr)
        help_s = help_time(work)
    summary = {}
    for side, rows in results.items():
        summary[side] = {key: statistics.median(r[key] for r in rows) for key in ("wall_s", "fit_s")}
    ratios = {key: summary["dlflow"][key] / summary["keras"][key] for key in ("wall_s", "fit_s")}
    ratios_ckpt = {key: summary["dlflow"][key] / summary["keras_ckpt"][key] for key in ("wall_s", "fit_s")}
    report = {"benchmark": "spine", "config": "configs/digits_convnet.yaml", "epochs": args.epochs,
              "repeats": args.repeats, "median": summary, "ratio": ratios,
              "ratio_vs_checkpointing_script": ratios_ckpt,
              "goals": {"wall_s": 1.10, "fit_s": 1.02}, "dlflow_help_s": help_s, "runs": results}
    out = ROOT / "bench-results" / "spine.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{'':10s}{'dlflow':>10s}{'keras':>10s}{'ratio':>8s}{'goal':>7s}{'+ckpt':>10s}{'ratio':>8s}")
    for key, label in (("wall_s", "process"), ("fit_s", "fit")):
        print(f"{label:10s}{summary['dlflow'][key]:9.2f}s{summary['keras'][key]:9.2f}s"
              f"{ratios[key]:8.3f}{report['goals'][key]:7.2f}"
              f"{summary['keras_ckpt'][key]:9.2f}s{ratios_ckpt[key]:8.3f}")
    print(f"dlflow --help: {help_s * 1000:.0f} ms (median of 7)")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
