"""Time series benchmark: a 10,000,000-step univariate series, windows of 256, trained with flat memory.

Generates a parquet table of one noisy wave (10M rows, one float column), then runs
`dlflow train` on it in its own process (peak RSS from `resource.getrusage` of that child):
windows of 256 steps, stride 1, horizon 1; the split's defaults (validation 0.15, test 0.15);
a small model (a strided Conv1D, then Dense). The windows are never materialized
(`dlflow.data.windows`): 10M windows x 256 steps would be 10 GB as float32.

One full epoch (about 7M training windows) and its validation pass (about 1.5M windows). Writes
bench-results/series_windows.json with the peak RSS, the wall time, the fit time and the
windows per second. Goal: peak RSS <= 2 GB.

Usage: python benchmarks/series_windows.py [--rows 10000000] [--length 256] [--batch 4096]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from peak_rss import run_measured  # noqa: E402  (benchmarks run as scripts: their folder is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
RSS_GOAL_MB = 2048


def write_series(path: Path, rows: int) -> None:
    """One noisy wave of `rows` steps, as parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = np.arange(rows, dtype="float64")
    level = (np.sin(t / 50) + 0.3 * np.sin(t / 7) + np.random.default_rng(0).normal(0, 0.1, rows)).astype("float32")
    pq.write_table(pa.table({"level": level}), path)


def write_config(path: Path, source: Path, length: int, batch: int) -> None:
    import yaml

    fit = {"epochs": 1, "batch_size": batch}
    config = {
        "name": "series-bench",
        "seed": 1,
        "task": "regression",
        "data": {
            "source": str(source),
            "format": "timeseries",
            "target": "level",
            "window": {"length": length, "horizon": 1},
            "target_scaling": "none",
        },
        "model": {
            "sequential": [
                {"Conv1D": {"filters": 8, "kernel_size": 8, "strides": 8, "activation": "relu"}},
                "Flatten",
                {"Dense": {"units": 1}},
            ]
        },
        "compile": {"optimizer": "adam", "loss": "mse"},
        "fit": fit,
        "export": {"formats": ["keras"]},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4096)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        write_series(work / "series.parquet", args.rows)
        generated = time.perf_counter() - started
        write_config(work / "series.yaml", work / "series.parquet", args.length, args.batch)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [
            sys.executable,
            "-m",
            "dlflow.cli",
            "--runs-dir",
            str(work / "runs"),
            "train",
            str(work / "series.yaml"),
            "--json",
        ]
        measured = run_measured(command, work, env)
        manifest = next((work / "runs" / "series-bench").glob("*/manifest.json"), None)
        timings = json.loads(manifest.read_text()).get("timings", {}) if manifest else {}
        data = json.loads(manifest.read_text()).get("data", {}) if manifest else {}
    if measured["rc"] != 0:
        print(measured["stderr"], file=sys.stderr)
        return 1
    sizes = data.get("sizes", {})
    trained = sizes.get("train", 0)
    result = {
        "rows": args.rows,
        "length": args.length,
        "batch": args.batch,
        "generate_s": round(generated, 1),
        "wall_s": round(measured["wall_s"], 1),
        "fit_s": timings.get("fit_s"),
        "train_windows": trained,
        "split_sizes": sizes,
        "windows_per_s": round(trained / timings["fit_s"]) if timings.get("fit_s") else None,
        "max_rss_mb": round(measured["max_rss_mb"]),
        "goal_rss_mb": RSS_GOAL_MB,
        "rss_ok": measured["max_rss_mb"] <= RSS_GOAL_MB,
    }
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "series_windows.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if result["rss_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
