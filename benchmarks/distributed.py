"""Distributed benchmark: `dlflow train` as one process against two worker processes (JAX backend).

The same config (configs/digits_convnet.yaml, fixed epochs, no early stopping) trained as:
- `single`: one process, one CPU device (runtime.strategy none);
- `data_parallel`: one process, the CPU split into two devices (Keras DataParallel);
- `two_workers`: two processes on 127.0.0.1, one device each (runtime.strategy multi_worker,
  gloo collectives over TCP), started together like two machines would be.
Variants alternate within each repeat so drift on a shared machine hits all alike. Reports
medians of whole-command wall time, time inside fit, and the last epoch's time per step
(steady state: after XLA compilation), and the fastest repeat (on a shared machine, the least
disturbed). Writes bench-results/distributed.json.

Usage: python benchmarks/distributed.py [--repeats 3] [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "digits_convnet.yaml"
VARIANTS = ("single", "data_parallel", "two_workers")
TIMEOUT = 900  # seconds per command; a stuck collective ends here (timeout -k)


def dlflow(args: list[str], work: Path) -> subprocess.Popen:
    command = ["timeout", "-k", "10", str(TIMEOUT), sys.executable, "-m", "dlflow.cli", *args, "--json"]
    return subprocess.Popen(
        command,
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def finished(process: subprocess.Popen) -> tuple[dict, str]:
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(process.args)}\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1]), err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def last_step_ms(stderr: str) -> float | None:
    """The last epoch's time per step from Keras's progress lines (`20/20 - 1s - 43ms/step - ...`)."""
    found = re.findall(r"- (\d+(?:\.\d+)?)(ms|s|us)/step", stderr)
    if not found:
        return None
    value, unit = found[-1]
    return float(value) * {"ms": 1.0, "s": 1000.0, "us": 0.001}[unit]


def run_variant(variant: str, work: Path, epochs: int) -> dict:
    common = [
        "train",
        str(CONFIG),
        "--set",
        f"fit.epochs={epochs}",
        "--set",
        "fit.callbacks=[]",
        "--set",
        "runtime.backend=jax",
    ]
    started = time.perf_counter()
    if variant == "two_workers":
        port = free_port()
        processes = [
            dlflow(
                [
                    *common,
                    "--set",
                    "runtime.strategy=multi_worker",
                    "--coordinator",
                    f"127.0.0.1:{port}",
                    "--num-workers",
                    "2",
                    "--worker-index",
                    str(i),
                ],
                work,
            )
            for i in range(2)
        ]
        results = [finished(p) for p in processes]
        result, err = results[0]
    else:
        strategy = (
            ["--set", "runtime.strategy=none"]
            if variant == "single"
            else ["--set", "runtime.strategy=data_parallel", "--set", "runtime.logical_cpus=2"]
        )
        result, err = finished(dlflow([*common, *strategy], work))
    wall = time.perf_counter() - started
    manifest = json.loads((Path(result["run"]) / "manifest.json").read_text())
    return {
        "wall_s": wall,
        "fit_s": manifest["timings"]["fit_s"],
        "last_epoch_step_ms": last_step_ms(err),
        "replicas": manifest["runtime"]["replicas"],
        "val_accuracy": result["last"].get("val_accuracy"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for i in range(args.repeats):
            order = VARIANTS[i % len(VARIANTS) :] + VARIANTS[: i % len(VARIANTS)]
            for variant in order:
                row = run_variant(variant, work, args.epochs)
                results[variant].append(row)
                print(
                    f"repeat {i + 1} {variant:13s} wall {row['wall_s']:.1f}s fit {row['fit_s']:.1f}s "
                    f"step {row['last_epoch_step_ms']}ms",
                    file=sys.stderr,
                    flush=True,
                )
    keys = ("wall_s", "fit_s", "last_epoch_step_ms")
    median = {
        v: {k: statistics.median(r[k] for r in rows if r[k] is not None) for k in keys} for v, rows in results.items()
    }
    fastest = {v: {k: min(r[k] for r in rows if r[k] is not None) for k in keys} for v, rows in results.items()}
    ratio = {v: {k: median[v][k] / median["single"][k] for k in keys} for v in VARIANTS}
    report = {
        "benchmark": "distributed",
        "config": "configs/digits_convnet.yaml",
        "backend": "jax",
        "epochs": args.epochs,
        "repeats": args.repeats,
        "cpu_cores": os.cpu_count(),
        "note": "two workers share this machine's cores: expect them slower here; the speed-up "
        "needs a device (GPU) or a machine per worker",
        "median": median,
        "fastest": fastest,
        "ratio_to_single": ratio,
        "runs": results,
    }
    out = ROOT / "bench-results" / "distributed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'median (fastest)':17s}{'wall s':>15s}{'fit s':>15s}{'ms/step':>15s}{'x single':>10s}")
    for variant in VARIANTS:
        m, f = median[variant], fastest[variant]
        cells = "".join(f"{m[k]:8.1f} ({f[k]:4.0f})" for k in keys)
        print(f"{variant:17s}{cells}{ratio[variant]['wall_s']:10.2f}")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
