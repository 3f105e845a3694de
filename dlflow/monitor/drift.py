"""Drift statistics: live values against the training split's, one feature at a time.

- numeric: the population stability index (PSI, on the training deciles) and SciPy's two-sample
  Kolmogorov-Smirnov test. A feature drifts when both say so: PSI at or past `psi` (the shift
  is large enough to matter) and the KS p-value under `ks_pvalue` (it is not noise). KS alone
  flags negligible shifts once there are many rows; PSI alone is noisy on few rows;
- categorical: SciPy's chi-square test of independence on the two count tables
  (`chi2_contingency`), with the categories never seen in training listed;
- every feature: the share of missing values (NaN, null, ""), drifting when the live share
  exceeds the training one by more than `missing_increase`.

PSI = sum over bins of (live% - train%) * ln(live% / train%), each share floored at 1e-4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PSI_BINS = 10
FLOOR = 1e-4
UNSEEN_SHOWN = 10


@dataclass(frozen=True)
class Thresholds:
    """When drift is drift (the config's `monitor:` block)."""

    psi: float = 0.2
    ks_pvalue: float = 0.01
    chi2_pvalue: float = 0.01
    missing_increase: float = 0.1
    min_rows: int = 50


def psi(reference: np.ndarray, live: np.ndarray, bins: int = PSI_BINS) -> float:
    """The population stability index of `live` against `reference`, on the reference's quantile bins."""
    reference, live = _present_numbers(reference), _present_numbers(live)
    if len(reference) == 0 or len(live) == 0:
        return float("nan")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = np.concatenate([[-np.inf], edges, [np.inf]])
    expected = np.maximum(np.histogram(reference, edges)[0] / len(reference), FLOOR)
    actual = np.maximum(np.histogram(live, edges)[0] / len(live), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def numeric_drift(reference: np.ndarray, live: np.ndarray, limits: Thresholds) -> dict[str, Any]:
    """PSI, the KS statistic and p-value, and whether they cross the limits."""
    from scipy.stats import ks_2samp

    ref, now = _present_numbers(reference), _present_numbers(live)
    out: dict[str, Any] = {"type": "numeric", "psi": psi(ref, now)}
    if len(ref) and len(now):
        test = ks_2samp(ref, now)
        out.update(ks=float(test.statistic), ks_pvalue=float(test.pvalue))
        out["train_mean"], out["live_mean"] = float(ref.mean()), float(now.mean())
    crossed = []
    if out["psi"] >= limits.psi and out.get("ks_pvalue", 1.0) < limits.ks_pvalue:
        crossed.append(f"PSI {out['psi']:.3f} >= {limits.psi} and KS p {out['ks_pvalue']:.2g} < {limits.ks_pvalue}")
    out["crossed"] = crossed
    return out


def categorical_drift(reference: np.ndarray, live: np.ndarray, limits: Thresholds) -> dict[str, Any]:
    """The chi-square test on the category counts, and the categories training never saw."""
    from scipy.stats import chi2_contingency

    ref, now = _present_labels(reference), _present_labels(live)
    categories = sorted(set(ref) | set(now), key=str)
    unseen = sorted(set(now) - set(ref), key=str)
    out: dict[str, Any] = {
        "type": "categorical",
        "unseen": [str(c) for c in unseen[:UNSEEN_SHOWN]],
        "unseen_count": len(unseen),
        "unseen_rate": float(np.isin(now, unseen).mean()) if len(now) and unseen else 0.0,
    }
    pvalue = 1.0
    if len(categories) > 1 and len(ref) and len(now):
        counts = np.array([[np.sum(ref == c) for c in categories], [np.sum(now == c) for c in categories]])
        test = chi2_contingency(counts)
        out["chi2"], pvalue = float(test.statistic), float(test.pvalue)
    out["chi2_pvalue"] = pvalue
    out["crossed"] = [f"chi-square p {pvalue:.2g} < {limits.chi2_pvalue}"] if pvalue < limits.chi2_pvalue else []
    if unseen:
        out["crossed"].append(f"{len(unseen)} categories never seen in training")
    return out


def feature_drift(reference: np.ndarray, live: np.ndarray, limits: Thresholds) -> dict[str, Any]:
    """One feature's drift: the numeric or categorical tests, missing rates, rows, and `drifted`."""
    reference, live = np.asarray(reference), np.asarray(live)
    numeric = reference.dtype.kind in "fiub" and (live.dtype.kind in "fiub" or len(live) == 0)
    out = (numeric_drift if numeric else categorical_drift)(reference, live, limits)
    out["rows"] = int(len(live))
    out["missing_train"], out["missing_live"] = missing_rate(reference), missing_rate(live)
    if out["missing_live"] - out["missing_train"] > limits.missing_increase:
        out["crossed"].append(f"missing {out['missing_live']:.1%} vs {out['missing_train']:.1%} in training")
    if len(live) < limits.min_rows:
        out["crossed"] = []
        out["note"] = f"only {len(live)} live rows (monitor.min_rows: {limits.min_rows}): not tested"
    out["drifted"] = bool(out["crossed"])
    return out


def label_drift(reference: np.ndarray, live: np.ndarray, limits: Thresholds) -> dict[str, Any]:
    """Predicted-class drift: the chi-square test on the class counts, and both distributions."""
    out = categorical_drift(reference, live, limits)
    out["reference_share"] = _shares(reference)
    out["live_share"] = _shares(live)
    out["rows"] = int(len(live))
    if len(live) < limits.min_rows:
        out["crossed"] = []
    out["drifted"] = bool(out["crossed"])
    return out


def missing_rate(values: np.ndarray) -> float:
    values = np.asarray(values)
    if len(values) == 0:
        return 0.0
    return float(np.mean(_missing(values)))


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "iub":
        return np.zeros(len(values), dtype=bool)
    return np.array([v is None or v == "" or (isinstance(v, float) and np.isnan(v)) for v in values], dtype=bool)


def _present_numbers(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def _present_labels(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    kept = values[~_missing(values)]
    return np.array([str(v) for v in kept], dtype=object)


def _shares(values: np.ndarray) -> dict[str, float]:
    labels = _present_labels(values)
    if len(labels) == 0:
        return {}
    names, counts = np.unique(labels.astype(str), return_counts=True)
    return {str(n): round(float(c) / len(labels), 4) for n, c in zip(names, counts)}
