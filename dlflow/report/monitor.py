"""The monitor's HTML page: the verdict, a table per check, and a plot per drifting feature."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

import numpy as np

from dlflow.report.html import STYLE
from dlflow.report.plots import _pyplot
from dlflow.runs.manifest import write_text

SHOWN_CATEGORIES = 20


def drift_plot(feature: str, reference: np.ndarray, live: np.ndarray, out: Path) -> Path:
    """A PNG comparing a feature's training and live distributions (histograms, or category shares)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    reference, live = np.asarray(reference), np.asarray(live)
    if reference.dtype.kind in "fiub" and live.dtype.kind in "fiub":
        ref, now = reference[np.isfinite(reference)], live[np.isfinite(live.astype(float))]
        both = np.concatenate([ref, now]).astype(float)
        edges = np.histogram_bin_edges(both, bins=30) if len(both) else 10
        ax.hist(ref, bins=edges, density=True, alpha=0.55, label=f"training ({len(ref)})")
        ax.hist(now, bins=edges, density=True, alpha=0.55, label=f"live ({len(now)})")
        ax.set_ylabel("density")
    else:
        ref_names, ref_counts = np.unique(reference.astype(str), return_counts=True)
        live_names, live_counts = np.unique(live.astype(str), return_counts=True)
        names = sorted(set(ref_names) | set(live_names))[:SHOWN_CATEGORIES]
        ref_share = dict(zip(ref_names, ref_counts / max(len(reference), 1)))
        live_share = dict(zip(live_names, live_counts / max(len(live), 1)))
        x = np.arange(len(names))
        ax.bar(x - 0.2, [ref_share.get(n, 0) for n in names], 0.4, label="training")
        ax.bar(x + 0.2, [live_share.get(n, 0) for n in names], 0.4, label="live")
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel("share")
    ax.set_title(f"drift: {feature}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"drift_{_safe(feature)}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def write_monitor_page(result: dict[str, Any], plots: list[Path], path: Path) -> Path:
    """Write the self-contained page (images inlined) for a `dlflow monitor` result."""
    verdict = "ALERT" if result["alerts"] else "OK"
    css = "bad" if result["alerts"] else "ok"
    parts = [
        f"<h1>monitor: {html.escape(result['run'])}</h1>",
        f"<p class='{css}'><b>{verdict}</b>: {result['rows']} live rows from {html.escape(result['source'])}, "
        f"{len(result['drifted_features'])} drifting feature(s)</p>",
    ]
    if result["alerts"]:
        parts.append("<ul>" + "".join(f"<li>{html.escape(a)}</li>" for a in result["alerts"]) + "</ul>")
    header = (
        "<tr><th>feature</th><th>type</th><th>PSI</th><th>KS p</th><th>chi-square p</th>"
        "<th>missing train / live</th><th>drifted</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{f['type']}</td><td>{_fmt(f.get('psi'))}</td>"
        f"<td>{_fmt(f.get('ks_pvalue'))}</td><td>{_fmt(f.get('chi2_pvalue'))}</td>"
        f"<td>{f['missing_train']:.1%} / {f['missing_live']:.1%}</td>"
        f"<td class='{'bad' if f['drifted'] else 'ok'}'>{'yes' if f['drifted'] else 'no'}</td></tr>"
        for name, f in result["features"].items()
    )
    parts.append(f"<h2>Features</h2><table>{header}{rows}</table>")
    for name, check in result.get("predictions", {}).items():
        parts.append(
            f"<h2>Predicted {html.escape(name)}</h2><p>chi-square p {_fmt(check.get('chi2_pvalue'))}; "
            f"reference {html.escape(str(check.get('reference_share')))}; live "
            f"{html.escape(str(check.get('live_share')))}</p>"
        )
    for name, check in result.get("accuracy", {}).items():
        parts.append(
            f"<h2>Live accuracy: {html.escape(name)}</h2><p>{_fmt(check.get('live'))} on "
            f"{check.get('rows')} labelled rows; evaluation {_fmt(check.get('evaluation'))}</p>"
        )
    for image in plots:
        data = base64.b64encode(image.read_bytes()).decode()
        parts.append(f'<img alt="{html.escape(image.stem)}" src="data:image/png;base64,{data}">')
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>monitor</title>"
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
    write_text(path, page)
    return path


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]
