"""A run's history.csv summed up: the best epoch by the monitor, the rows at best and last epoch."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any


def summarize_history(history_csv: Path, monitor: str) -> dict[str, Any]:
    """metrics.json from history.csv: best epoch by `monitor`, the rows at best and last epoch."""
    from dlflow.train.monitoring import monitor_mode

    with open(history_csv, newline="") as handle:
        # Keras writes NA in val_ columns when there is no validation data (dlflow train --final).
        rows = [{k: _number(v) for k, v in row.items() if v != "NA"} for row in csv.DictReader(handle)]
    out: dict[str, Any] = {"monitor": monitor, "mode": monitor_mode(monitor), "epochs_completed": len(rows)}
    diverged = next(
        (
            int(r["epoch"]) + 1
            for r in rows  # `loss`, or a custom step's own (d_loss, g_loss)
            if any(
                isinstance(v, float) and not math.isfinite(v)
                for k, v in r.items()
                if k == "loss" or (k.endswith("_loss") and not k.startswith("val_"))
            )
        ),
        None,
    )
    if not rows or diverged is not None:
        out["diverged_epoch"] = diverged
        return out
    scored = [r for r in rows if isinstance(r.get(monitor), float) and not math.isnan(r[monitor])]
    if scored:
        pick = max if out["mode"] == "max" else min
        best = pick(scored, key=lambda r: r[monitor])
        out.update(best_epoch=int(best["epoch"]) + 1, best_value=best[monitor], best=best)
    out["last"] = rows[-1]
    return out


def _number(value: str) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
