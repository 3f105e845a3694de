"""report.html: one self-contained page (images inlined, no external URLs) about a run."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from dlflow.report.plots import learning_curves, plot_evaluation
from dlflow.runs.layout import RunDir
from dlflow.runs.manifest import write_text

STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f3f3f3}img{max-width:100%;margin:.5rem 0}pre{background:#f6f6f6;padding:1rem;overflow:auto}
.ok{color:#2a7a2a}.bad{color:#b22}"""


def write_report(run: RunDir) -> Path:
    """Write plots (learning curves as SVG, confusion matrices as PNG) and report.html for a run from what its directory holds."""
    metrics = _read(run.metrics)
    evaluation = _read(run.evaluation)
    parity = _read(run.export / "parity.json")
    manifest = _read(run.manifest)
    images = []
    if run.history.exists():
        images += learning_curves(run.history, run.plots, best_epoch=metrics.get("best_epoch"))
    if evaluation:
        images += plot_evaluation(evaluation, run.plots)
    parts = [
        f"<h1>{html.escape(run.experiment)} / {html.escape(run.run_id)}</h1>",
        f"<p>status: <b>{html.escape(str(manifest.get('status', '?')))}</b></p>",
    ]
    if metrics:
        parts.append(
            "<h2>Training</h2>"
            + _table(
                {
                    "monitor": metrics.get("monitor"),
                    "best epoch": metrics.get("best_epoch"),
                    "best value": metrics.get("best_value"),
                    "epochs": metrics.get("epochs_completed"),
                }
            )
        )
        if metrics.get("best"):
            parts.append("<h3>Metrics at the best epoch</h3>" + _table(metrics["best"]))
    for image in images:
        data = base64.b64encode(image.read_bytes()).decode()
        kind = "svg+xml" if image.suffix == ".svg" else "png"
        parts.append(f'<img alt="{html.escape(image.stem)}" src="data:image/{kind};base64,{data}">')
    parts += sample_grids(run)
    if evaluation:
        parts.append("<h2>Test evaluation</h2>" + _table(evaluation.get("metrics", {})))
        for name, target in (evaluation.get("targets") or {}).items():
            if "per_class" in target:
                rows = {
                    c: ", ".join(f"{k} {v:.3f}" for k, v in s.items() if k != "support")
                    for c, s in target["per_class"].items()
                }
                parts.append(f"<h3>{html.escape(name)}: per class</h3>" + _table(rows))
    if parity:
        from dlflow.export.parity import verdict

        rows = {f: verdict(r) for f, r in parity.get("formats", {}).items()}
        parts.append("<h2>Export parity</h2>" + _table(rows))
    if run.config.exists():
        parts.append("<h2>Config</h2><pre>" + html.escape(run.config.read_text()) + "</pre>")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(run.experiment)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
    write_text(run.report, page)
    return run.report


def sample_grids(run: RunDir, most: int = 12) -> list[str]:
    """The sample grids a generative model's run saved per epoch (samples/epoch_NNN.png), at most `most`
    spread over the epochs (the first and the last always)."""
    grids = sorted(run.samples.glob("epoch_*.png")) if run.samples.is_dir() else []
    if len(grids) > most:
        grids = [grids[round(i * (len(grids) - 1) / (most - 1))] for i in range(most)]
    parts = ["<h2>Samples per epoch</h2>"] if grids else []
    for grid in grids:
        data = base64.b64encode(grid.read_bytes()).decode()
        epoch = int(grid.stem.split("_")[1])
        parts.append(
            f'<figure style="display:inline-block"><img alt="samples after epoch {epoch}" '
            f'src="data:image/png;base64,{data}"><figcaption>epoch {epoch}</figcaption></figure>'
        )
    return parts


def _table(values: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
