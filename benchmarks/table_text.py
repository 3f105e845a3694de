"""Table text benchmark: a CSV's text column through an Embedding, `dlflow train` against plain Keras.

13,350 sentences of datasets/bbc_news labelled by topic (tests/data/text_table.py builds the CSV),
`data.text: {output_mode: int, sequence_length: 32}`, Embedding(20000, 32) ->
GlobalAveragePooling1D -> Dense(5, softmax), Adam, batch 32, no callbacks; against
benchmarks/handwritten_table_text.py, the same model hand-written. Runs alternate; reports the
medians of the time inside fit and of the time per training step, and their ratio.
Writes bench-results/table_text.json.

Usage: python benchmarks/table_text.py [--repeats 3] [--epochs 4]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.spine import timed  # noqa: E402
from tests.data.text_table import write_sentences  # noqa: E402

MODEL = [
    {"Embedding": {"input_dim": 20000, "output_dim": 32}},
    "GlobalAveragePooling1D",
    {"Dense": {"units": 5, "activation": "softmax"}},
]


def write_config(work: Path, epochs: int) -> Path:
    config = {
        "name": "table-text",
        "seed": 1337,
        "data": {
            "source": "sentences.csv",
            "target": "topic",
            "features": {"text": "text", "words": "ignore"},
            "text": {"output_mode": "int", "sequence_length": 32, "max_tokens": 20000},
        },
        "model": {"sequential": MODEL},
        "compile": {"optimizer": "adam"},
        "fit": {"epochs": epochs, "batch_size": 32, "verbose": 2, "callbacks": []},
    }
    path = work / "table_text.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def dlflow_run(work: Path, config: Path) -> dict:
    wall, out = timed([sys.executable, "-m", "dlflow.cli", "train", str(config), "--json"], work)
    run = Path(json.loads(out)["run"])
    manifest = json.loads((run / "manifest.json").read_text())
    epochs = json.loads(out)["epochs_completed"]
    steps = epochs * math.ceil(manifest["data"]["sizes"]["train"] / 32)
    return {
        "wall_s": wall,
        "fit_s": manifest["timings"]["fit_s"],
        "step_ms": 1000 * manifest["timings"]["fit_s"] / steps,
    }


def handwritten_run(work: Path, epochs: int) -> dict:
    script = ROOT / "benchmarks" / "handwritten_table_text.py"
    wall, out = timed([sys.executable, str(script), "sentences.csv", "--epochs", str(epochs)], work)
    result = json.loads(out.strip().splitlines()[-1])
    return {"wall_s": wall, "fit_s": result["fit_s"], "step_ms": 1000 * result["fit_s"] / result["steps"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"dlflow": [], "keras": []}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        write_sentences(work / "sentences.csv")
        config = write_config(work, args.epochs)
        for i in range(args.repeats):  # alternate the order so drift hits both sides alike
            for side in ["dlflow", "keras"] if i % 2 == 0 else ["keras", "dlflow"]:
                result = dlflow_run(work, config) if side == "dlflow" else handwritten_run(work, args.epochs)
                results[side].append(result)
                print(
                    f"repeat {i + 1} {side:6s} wall {result['wall_s']:.2f}s fit {result['fit_s']:.2f}s "
                    f"step {result['step_ms']:.2f}ms",
                    file=sys.stderr,
                )
    summary = {
        side: {k: statistics.median(r[k] for r in rows) for k in ("wall_s", "fit_s", "step_ms")}
        for side, rows in results.items()
    }
    ratio = {k: summary["dlflow"][k] / summary["keras"][k] for k in ("wall_s", "fit_s", "step_ms")}
    report = {
        "benchmark": "table_text",
        "rows": 13350,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "median": summary,
        "ratio": ratio,
        "goals": {"step_ms": 1.10},
        "runs": results,
    }
    out = ROOT / "bench-results" / "table_text.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{'':10s}{'dlflow':>10s}{'keras':>10s}{'ratio':>8s}")
    for key, label, unit in (("wall_s", "process", "s"), ("fit_s", "fit", "s"), ("step_ms", "step", "ms")):
        print(f"{label:10s}{summary['dlflow'][key]:9.2f}{unit}{summary['keras'][key]:9.2f}{unit}{ratio[key]:8.3f}")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
