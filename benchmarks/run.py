"""`make bench`: run every benchmark in this folder, then print one table of every ratio.

Each benchmark is a script that prints its own table and writes bench-results/<name>.json; this
script then reads those files and writes bench-results/summary.json and summary.txt (the table),
so a regression shows as one line that moved. Pass names to run only some:
python benchmarks/run.py spine serve   (the summary covers every result file present)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "bench-results"
BENCHMARKS = ["start_up", "spine", "table_text", "stream_csv", "image_folder", "series_windows", "serve", "distributed"]


def summary_rows() -> list[dict]:
    """(what, dlflow, reference, ratio, goal) for every ratio in bench-results/*.json."""
    rows = []

    def read(name: str) -> dict | None:
        path = RESULTS / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    if spine := read("spine"):
        for case, r in spine["cases"].items():
            for key, label in (("wall_s", "whole process"), ("fit_s", "inside fit")):
                goal = r["goal"] if key == "wall_s" else None
                rows.append(
                    {
                        "what": f"train {case}: {label} vs hand-written (s)",
                        "dlflow": r["median"]["dlflow"][key],
                        "reference": r["median"]["script"][key],
                        "ratio": r["ratio"][key],
                        "goal": goal,
                        "worse_is": "higher",
                    }
                )
    s = read("start_up") or (spine or {}).get("start_up", {})  # start_up.py's own run first, else spine's
    for key, goal in (("help", 0.25), ("validate", 0.25)):
        if key in s:
            rows.append(
                {
                    "what": f"dlflow {'--help' if key == 'help' else key} vs import typer, rich (s)",
                    "dlflow": s[key],
                    "reference": s["import_typer_rich"],
                    "ratio": s[key] / s["import_typer_rich"],
                    "goal": f"<= {goal} s",
                    "worse_is": "higher",
                }
            )
        if key in s.get("cpu_s", {}):  # CPU time: the wall time on an idle machine
            c = s["cpu_s"]
            rows.append(
                {
                    "what": f"dlflow {'--help' if key == 'help' else key} CPU time vs typer, rich (s)",
                    "dlflow": c[key],
                    "reference": c["import_typer_rich"],
                    "ratio": c[key] / c["import_typer_rich"],
                    "goal": f"<= {goal} s",
                    "worse_is": "higher",
                }
            )
    if serve := read("serve"):
        bare = serve["scenarios"]["bare_fastapi"]
        for name in ("batched", "unbatched"):
            r = serve["scenarios"].get(name)
            if r and "vs_bare" in r:
                rows.append(
                    {
                        "what": f"serve {name} req/s vs bare FastAPI (8 clients)",
                        "dlflow": r["requests_per_s"],
                        "reference": bare["requests_per_s"],
                        "ratio": r["vs_bare"],
                        "goal": 0.6,
                        "worse_is": "lower",
                    }
                )
                rows.append(
                    {
                        "what": f"serve {name} p99 ms (errors {r['errors']} of {r['requests']})",
                        "dlflow": r["p99_ms"],
                        "reference": bare["p99_ms"],
                        "ratio": r["p99_ms"] / bare["p99_ms"],
                        "goal": "< 25 ms",
                        "worse_is": "higher",
                    }
                )
    if stream := read("stream_csv"):
        for key, value in stream.items():
            if "ratio" in key and isinstance(value, (int, float)):
                goal = f">= {stream['rows_per_s_goal']}" if key == "median_streamed_vs_in_memory_ratio" else None
                rows.append(
                    {
                        "what": f"stream_csv {key} (rows/s)",
                        "dlflow": None,
                        "reference": None,
                        "ratio": value,
                        "goal": goal,
                        "worse_is": "lower",
                    }
                )
        if "streamed_max_rss_mb" in stream:
            rows.append(
                {
                    "what": f"stream_csv {stream['rows']:,} rows streamed: peak RSS (MB)",
                    "dlflow": stream["streamed_max_rss_mb"],
                    "reference": None,
                    "ratio": None,
                    "goal": f"< {stream['rss_goal_mb']}",
                    "worse_is": "higher",
                }
            )
    if image := read("image_folder"):
        ratio, rss = image["summary"]["median_wall_ratio"], image["summary"]["peak_rss_mb"]
        rows.append(
            {
                "what": f"image_folder {image['images']:,} JPEGs, 1 epoch: wall vs hand-written",
                "dlflow": None,
                "reference": None,
                "ratio": ratio,
                "goal": "<= 1.15",
                "worse_is": "higher",
            }
        )
        if "median_cpu_ratio" in image["summary"]:
            rows.append(
                {
                    "what": f"image_folder {image['images']:,} JPEGs, 1 epoch: CPU time vs hand-written",
                    "dlflow": None,
                    "reference": None,
                    "ratio": image["summary"]["median_cpu_ratio"],
                    "goal": None,
                    "worse_is": "higher",
                }
            )
        rows.append(
            {
                "what": f"image_folder {image['images']:,} JPEGs: peak RSS (MB)",
                "dlflow": rss["dlflow"],
                "reference": rss["handwritten"],
                "ratio": rss["dlflow"] / rss["handwritten"],
                "goal": "<= 2048",
                "worse_is": "higher",
            }
        )
    if series := read("series_windows"):
        rows.append(
            {
                "what": f"series_windows {series['rows']:,} steps x {series['length']}: peak RSS (MB)",
                "dlflow": series["max_rss_mb"],
                "reference": None,
                "ratio": None,
                "goal": f"<= {series['goal_rss_mb']}",
                "worse_is": "higher",
            }
        )
    if dist := read("distributed"):
        for variant, r in dist.get("ratio_to_single", {}).items():
            if variant != "single":
                rows.append(
                    {
                        "what": f"distributed {variant} vs single device (wall)",
                        "dlflow": None,
                        "reference": None,
                        "ratio": r["wall_s"],
                        "goal": None,
                        "worse_is": "higher",
                    }
                )
    return rows


def table(rows: list[dict]) -> str:
    def cell(value: object) -> str:
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = [f"{'what':62s}{'dlflow':>10s}{'reference':>11s}{'ratio':>8s}  goal"]
    for r in rows:
        lines.append(
            f"{r['what']:62s}{cell(r['dlflow']):>10s}{cell(r['reference']):>11s}{cell(r['ratio']):>8s}"
            f"  {cell(r['goal'])}"
        )
    return "\n".join(lines)


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
    rows = summary_rows()
    text = table(rows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "summary.json").write_text(
        json.dumps({"written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}, indent=2)
    )
    (RESULTS / "summary.txt").write_text(text + "\n")
    print(f"\n== summary (medians of alternated runs; bench-results/summary.txt)\n{text}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
