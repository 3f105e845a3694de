"""Start-up benchmark: `dlflow --help` (shell completion enabled) and `dlflow validate`, no training.

Each command runs 10 times, alternated with `python -c "import typer, rich"` (the floor any Typer
CLI pays) and with the imports `validate` cannot do without (Typer's pydantic coercion, pydantic,
PyYAML), so drift in the machine's load hits all alike; reports the medians of wall time and of
CPU time (user + system of the child: what the wall time is on an idle machine, when the machine is
shared), and the load average. `validate` runs on three configs: an image convnet (its figure is
`validate`), a table, and a functional text model whose input names are read from the data.
dlflow's modules are byte-compiled first, as an installed package's are.
Goal: `--help` and `validate` <= 0.25 s (DESIGN.md: --help and validation answer in well under a second).
Writes bench-results/start_up.json.

Usage: python benchmarks/start_up.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DLFLOW = [sys.executable, "-m", "dlflow.cli"]
GOAL_S = 0.25
VALIDATE = {"validate": "digits_convnet", "validate_table": "breast_cancer", "validate_text": "bbc_transformer"}
DEPENDENCIES = (
    "import os; os.environ['PYDANTIC_DISABLE_PLUGINS'] = '1'; import typer, rich, typer._adapters, yaml; "
    "from pydantic import BaseModel"
)


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one run of `command`; exits when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    commands = {
        "help": [*DLFLOW, "--help"],
        **{key: [*DLFLOW, "validate", str(ROOT / "configs" / f"{name}.yaml")] for key, name in VALIDATE.items()},
        "import_typer_rich": [sys.executable, "-c", "import typer, rich"],
        "import_dependencies": [sys.executable, "-c", DEPENDENCIES],
    }
    compileall.compile_dir(ROOT / "dlflow", quiet=1)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if "--show-completion" not in timed(commands["help"], work)[2]:
            raise SystemExit("dlflow --help does not offer --show-completion: completion is not enabled")
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                wall, used, _ = timed(command, work)
                times[name].append(wall)
                cpu[name].append(used)
    report = {name: statistics.median(values) for name, values in times.items()}
    report["cpu_s"] = {name: statistics.median(values) for name, values in cpu.items()}
    report |= {
        "repeats": args.repeats,
        "completion": True,
        "goal_help_s": GOAL_S,
        "goal_validate_s": GOAL_S,
        "configs": VALIDATE,
        "load_average": {"before": load[0], "after": os.getloadavg()[0]},
        "runs": times,
    }
    out = ROOT / "bench-results" / "start_up.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(
        f"medians of {args.repeats} (goal <= {GOAL_S * 1000:.0f} ms; load average {load[0]:.2f} before, "
        f"{report['load_average']['after']:.2f} after):"
    )
    for name in commands:
        shown = f"validate {VALIDATE[name]}" if name in VALIDATE else name.replace("_", " ")
        print(f"  {shown:<30} wall {report[name] * 1000:5.0f} ms   CPU {report['cpu_s'][name] * 1000:5.0f} ms")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
