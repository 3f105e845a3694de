"""Run a command in a child of a fresh process and report its wall time, output and peak RSS.

Shared by the benchmarks that have memory goals (image_folder, stream_csv, series_windows).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": done.returncode, "wall_s": wall, "stdout": done.stdout, "stderr": done.stderr[-4000:],
                  "max_rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime}))
"""


def run_measured(command: list[str], cwd: Path, env: dict | None = None) -> dict:
    """{"rc", "wall_s", "stdout", "stderr", "max_rss_mb", "cpu_s"} of `command`, whatever its exit status.

    cpu_s is the command's user + system CPU time: the work done, which a busy shared machine
    stretches less than the wall time.
    """
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"measuring failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout)


def measured(command: list[str], cwd: Path) -> dict:
    """As `run_measured`, stopping the benchmark when the command fails."""
    result = run_measured(command, cwd)
    if result["rc"] != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result['stderr']}")
    return result
