"""The baselines a model must beat: a common-sense one and shallow scikit-learn models.

Each is fitted on the training split and scored on a holdout split (validation for
`dlflow develop`, test for `dlflow evaluate`) with the task's primary metric: accuracy for
classification, binary accuracy for multilabel, MAE for regression. A deep model that does
not beat the common-sense baseline has learned nothing; one that does not beat a shallow
model is not worth its cost yet.

```python
from dlflow.workflow.baselines import evaluate_baselines
from dlflow.workflow.scores import score_outputs

found = evaluate_baselines(data.train, data.validation, seed=config.seed)
found[0].name, found[0].score          # 'majority class (benign)', 0.627
score_outputs(spec, truth, model.predict(x))   # the model's score on the same metric
```
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from dlflow.config.task_kinds import is_classification
from dlflow.data.dataset import Dataset, TargetSpec
from dlflow.workflow.scores import format_score, primary_metric, primary_target, score_predictions

MAX_SHALLOW_FEATURES = 4096  # more flattened features than this (large images): no shallow models
MAX_SHALLOW_ROWS = 20000  # shallow models train on a seeded sample of this many rows at most
TABLE_TEXT_FEATURES = 500  # TF-IDF features per text column of a table
TEXT_FEATURES = 20000  # TF-IDF features (words and bigrams) for a text data set

COMMON_SENSE = "common-sense"
SHALLOW = "shallow"


@dataclass
class Baseline:
    """One baseline's score on the holdout split.

    Args:
        name: what it is, e.g. `majority class (benign)` or `random forest`.
        kind: `common-sense` or `shallow`.
        metric: the metric `score` is in (accuracy, binary_accuracy or mae).
        score: its score on the holdout split; None when it was skipped (see `note`).
        fit_seconds: how long fitting took.
        note: why it was skipped, or what to know about it.
    """

    name: str
    kind: str
    metric: str
    score: float | None
    fit_seconds: float = 0.0
    note: str | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return asdict(self)


def evaluate_baselines(
    train: Dataset,
    holdout: Dataset,
    *,
    seed: int = 1337,
    shallow: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[Baseline]:
    """The common-sense baseline, then shallow scikit-learn models, scored on `holdout`.

    Args:
        train: the training split (baselines are fitted on it alone).
        holdout: the split to score on (validation, or test once the work is done).
        seed: seeds the models and the row sample.
        shallow: also fit shallow models (False: the common-sense baseline only).
        log: receives one progress line per baseline.
    """
    found = [common_sense_baseline(train, holdout)]
    if log and found[0].score is not None:
        log(f"baseline: {found[0].name}: {found[0].metric} {format_score(found[0].metric, found[0].score)}")
    if shallow:
        found += shallow_baselines(train, holdout, seed=seed, log=log)
    return found


def common_sense_baseline(train: Dataset, holdout: Dataset) -> Baseline:
    """The answer that needs no learning: the majority class, the mean, or the last value.

    Time series forecasts (where the data sets `info["last_value"] = {"input": name,
    "feature_index": i}`) predict the last value seen in each window.
    """
    name, spec = primary_target(train)
    truth = np.asarray(holdout.targets[name])
    metric = primary_metric(spec.task)
    last = train.info.get("last_value")
    if spec.task == "regression" and last:
        windows = holdout.inputs[last["input"]]
        index = last.get("feature_indices", last.get("feature_index", 0))
        if hasattr(windows, "last_step"):  # lazy windows: their last rows, no gathered copy
            values = windows.last_step().astype("float64")[:, index]
        else:
            window = np.asarray(windows, dtype="float64")
            values = window[:, -1, index] if window.ndim == 3 else window[:, -1]
        shape = values.shape + (1,) * (truth.ndim - values.ndim)
        predicted = np.broadcast_to(values.reshape(shape), truth.shape)
        return Baseline(
            "last value",
            COMMON_SENSE,
            metric,
            score_predictions(spec.task, truth, predicted),
            note="predicts the last value of each input window",
        )
    started = time.perf_counter()
    labels = np.asarray(train.targets[name])
    if is_classification(spec.task):
        counts = np.bincount(labels.reshape(-1).astype(int), minlength=len(spec.classes or ()))
        majority = int(counts.argmax())
        predicted = np.full(len(truth), majority)
        label = spec.classes[majority] if spec.classes else majority
        title = f"majority class ({label})"
    elif spec.task == "multilabel":
        predicted = np.broadcast_to((labels.mean(axis=0) >= 0.5).astype(int), truth.shape)
        title = "majority per label"
    else:
        predicted = np.broadcast_to(labels.astype("float64").mean(axis=0), truth.shape)
        title = "mean of the training targets"
    score = score_predictions(spec.task, truth, predicted) if len(truth) else None
    return Baseline(title, COMMON_SENSE, metric, score, time.perf_counter() - started)


def shallow_baselines(
    train: Dataset, holdout: Dataset, *, seed: int = 1337, log: Callable[[str], None] | None = None
) -> list[Baseline]:
    """Shallow scikit-learn models on the data flattened to a matrix, scored on `holdout`.

    Each model fits on one thread, so fit times compare. Tables: numeric columns as they are
    (imputed, scaled), categorical columns one-hot, text columns TF-IDF. Images, arrays and
    windows: every value a feature, when there are at most MAX_SHALLOW_FEATURES. Text: TF-IDF over words and bigrams with a linear model.

    Returns:
        One Baseline per model; skipped models have `score` None and say why in `note`.
    """
    from threadpoolctl import threadpool_limits

    name, spec = primary_target(train)
    metric = primary_metric(spec.task)
    if len(holdout) == 0:
        return [Baseline("shallow models", SHALLOW, metric, None, note="no holdout samples to score on")]
    reason = shallow_skip_reason(train)
    if reason:
        return [Baseline("shallow models", SHALLOW, metric, None, note=reason)]
    y_train, y_holdout = _sklearn_targets(train, name, spec), np.asarray(holdout.targets[name])
    note = None
    if len(train) > MAX_SHALLOW_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(train), MAX_SHALLOW_ROWS, replace=False))
        train, y_train = train.take(rows), y_train[rows]
        note = f"fitted on a sample of {MAX_SHALLOW_ROWS} training rows"
    x_train, x_holdout = _frame(train), _frame(holdout)
    found = []
    for title, model in _models(spec, train, seed):
        if model is None:
            found.append(Baseline(title, SHALLOW, metric, None, note="not for this kind of target"))
            continue
        from sklearn.pipeline import make_pipeline

        pipeline = make_pipeline(_features(train), model)
        started = time.perf_counter()
        try:
            with threadpool_limits(limits=1):  # OpenMP on busy shared cores slows 20x; one thread each
                pipeline.fit(x_train, y_train)
                predicted = pipeline.predict(x_holdout)
        except (ValueError, MemoryError) as exc:
            found.append(Baseline(title, SHALLOW, metric, None, note=f"could not fit: {str(exc).splitlines()[0]}"))
            continue
        seconds = time.perf_counter() - started
        score = score_predictions(spec.task, y_holdout, predicted)
        found.append(Baseline(title, SHALLOW, metric, score, seconds, note))
        if log:
            log(f"baseline: {title}: {metric} {format_score(metric, score)} ({seconds:.1f} s)")
    return found


def shallow_skip_reason(dataset: Dataset) -> str | None:
    """Why shallow models cannot run on a data set (None when they can)."""
    if dataset.kind == "tabular" or _is_text(dataset):
        return None
    if any(spec.dtype == "string" for spec in dataset.input_specs.values()):
        return "inputs mix strings with arrays; no flat matrix for shallow models"
    width = sum(int(np.prod(spec.shape)) for spec in dataset.input_specs.values())
    if width > MAX_SHALLOW_FEATURES:
        return (
            f"{width} features per sample (more than {MAX_SHALLOW_FEATURES}): too many for shallow "
            f"models; the common-sense baseline is the bar"
        )
    return None


def _models(spec: TargetSpec, train: Dataset, seed: int) -> list[tuple[str, Any]]:
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.multioutput import MultiOutputClassifier

    if _is_text(train):  # sparse TF-IDF: a linear model is the classic shallow baseline
        if spec.task == "regression":
            return [("TF-IDF + ridge regression", Ridge(alpha=1.0))]
        linear = LogisticRegression(max_iter=1000, C=10.0)
        return [
            ("TF-IDF + logistic regression", MultiOutputClassifier(linear) if spec.task == "multilabel" else linear)
        ]
    several_outputs = spec.task == "multilabel" or (spec.task == "regression" and spec.units > 1)
    if spec.task == "regression":
        return [
            ("linear regression (ridge)", Ridge(alpha=1.0)),
            ("random forest", RandomForestRegressor(n_estimators=100, random_state=seed)),
            (
                "gradient boosting",
                None if several_outputs else HistGradientBoostingRegressor(max_iter=100, random_state=seed),
            ),
        ]
    logistic = LogisticRegression(max_iter=1000)
    return [
        ("logistic regression", MultiOutputClassifier(logistic) if several_outputs else logistic),
        ("random forest", RandomForestClassifier(n_estimators=100, random_state=seed)),
        (
            "gradient boosting",
            None if several_outputs else HistGradientBoostingClassifier(max_iter=100, random_state=seed),
        ),
    ]


def _features(train: Dataset) -> Any:
    """The scikit-learn transformer from raw inputs (a DataFrame) to a numeric matrix."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if _is_text(train):
        column = next(iter(train.input_specs))
        tfidf = TfidfVectorizer(max_features=TEXT_FEATURES, ngram_range=(1, 2), sublinear_tf=True)
        return ColumnTransformer([(column, tfidf, column)])
    parts = []
    for name, spec in train.input_specs.items():
        if spec.role == "categorical":
            parts.append(
                (
                    name,
                    make_pipeline(
                        SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    ),
                    [name],
                )
            )
        elif spec.role == "text":
            parts.append((name, TfidfVectorizer(max_features=TABLE_TEXT_FEATURES), name))
        else:
            columns = _column_names(name, spec)
            parts.append(
                (
                    name,
                    make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True), StandardScaler()),
                    columns,
                )
            )
    return ColumnTransformer(parts, sparse_threshold=0.0)


def _frame(dataset: Dataset) -> Any:
    """The inputs as one DataFrame: a column per table column, or per flattened array value."""
    import pandas as pd

    columns: dict[str, Any] = {}
    for name, spec in dataset.input_specs.items():
        values = np.asarray(dataset.inputs[name])
        if spec.role in ("categorical", "text") or spec.dtype == "string":
            flat = values.reshape(len(values), -1)[:, 0]
            columns[name] = flat.astype(str) if spec.dtype == "string" else flat
        else:
            flat = values.reshape(len(values), -1).astype("float32")
            for i, column in enumerate(_column_names(name, spec)):
                columns[column] = flat[:, i]
    return pd.DataFrame(columns)


def _column_names(name: str, spec: Any) -> list[str]:
    width = int(np.prod(spec.shape)) if spec.shape else 1
    return [name] if width == 1 else [f"{name}[{i}]" for i in range(width)]


def _sklearn_targets(dataset: Dataset, name: str, spec: TargetSpec) -> np.ndarray:
    values = np.asarray(dataset.targets[name])
    if is_classification(spec.task):
        return values.reshape(-1).astype(int)
    if spec.task == "multilabel":
        return values.astype(int)
    values = values.astype("float64")
    return values.reshape(len(values), -1) if values.ndim > 1 and spec.units > 1 else values.reshape(-1)


def _is_text(dataset: Dataset) -> bool:
    """A text data set: one string input of raw text (reviews, articles), not a table."""
    specs = list(dataset.input_specs.values())
    return dataset.kind != "tabular" and len(specs) == 1 and specs[0].role == "text"
