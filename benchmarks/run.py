"""`make bench`: run every benchmark in this folder, one after the other.

Each benchmark is a script that prints its own table and writes bench-results/<name>.json.
Pass names to run only some: python benchmarks/run.py spine serve
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["spine", "table_text", "stream_csv", "image_folder", "serve", "distributed"]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    failed = []
    for name in names:
        script = HERE / f"{name}.py"
        if not script.exists():
            print(f"skip {name}: {script.name} not found", file=sys.stderr)
            continue
        print(f"\n== {name}", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
