"""The Python API, for notebooks: the workflow functions the CLI calls, with small results.

```python
import dlflow

run = dlflow.train("configs/digits_mlp.yaml", set={"fit.epochs": 2})
run.path, run.metrics["best_value"]           # runs/digits-mlp/<run-id>, the best val_loss
dlflow.evaluate(run).metrics                  # the test split: {"accuracy": ..., "loss": ...}
dlflow.export(run, formats=["saved_model"]).ok
model = dlflow.load(run)                      # the Keras model and what decodes its outputs
model.predict(images)                         # decoded labels: [0, 7, ...]
```

Each function takes what the command takes (a config path, a run: a `Run`, a run directory or
an experiment name) and raises dlflow's own errors (`dlflow.errors.ConfigError`, `UsageError`,
`DataError`, `WorkFailed`, ...), whose `.message` is what the CLI would print. Progress goes to
`log` (default: nowhere; pass `print` to see it). TensorFlow loads on the first call, never at
`import dlflow`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, Union

Log = Callable[[str], None]
RunRef = Union["Run", str, os.PathLike]


@dataclass
class Run:
    """A train run: its directory and what `metrics.json` says (best epoch, best and last values).

    A `Run` works wherever a path does (`os.fspath(run)`).
    """

    path: Path
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest(self) -> dict[str, Any]:
        """manifest.json, read now."""
        from dlflow.runs.manifest import read_json

        return read_json(self.path / "manifest.json")

    @property
    def evaluation(self) -> dict[str, Any] | None:
        """evaluation.json once `evaluate` ran, else None."""
        from dlflow.runs.manifest import read_json

        file = self.path / "evaluation.json"
        return read_json(file) if file.exists() else None

    def __fspath__(self) -> str:
        return str(self.path)


@dataclass
class Evaluation:
    """`evaluate`'s result: test metrics, sample count, and the whole report (as evaluation.json)."""

    run: Path
    metrics: dict[str, float]
    samples: int
    report: dict[str, Any]


@dataclass
class Export:
    """`export`'s result: the export folder, each format's path and parity entry, and whether all passed."""

    path: Path
    formats: dict[str, Any]
    ok: bool
    report: dict[str, Any]


def train(
    config: str | os.PathLike,
    set: Mapping[str, Any] | Sequence[str] | None = None,
    *,  # noqa: A002
    runs_root: str | os.PathLike = "runs",
    resume: RunRef | None = None,
    final: bool = False,
    log: Log | None = None,
) -> Run:
    """Train one run, as `dlflow train CONFIG` does.

    Args:
        config: the experiment config (YAML).
        set: overrides, `{"fit.epochs": 2}` (values as Python data) or `["fit.epochs=2"]` (as `--set`).
        runs_root: the runs folder.
        resume: a run to continue where it stopped.
        final: retrain on train + validation for the best epoch count of the latest run.
        log: receives progress lines.
    """
    from dlflow.workflow.training import train as run_train

    overrides = _overrides(set)
    result = run_train(
        config,
        overrides,
        runs_root=Path(runs_root),
        resume=_ref(resume) if resume else None,
        log=log or _quiet,
        argv=["dlflow.train", str(config), *overrides],
        final=final,
    )
    return Run(Path(result.run.path), dict(result.metrics))


def evaluate(
    run: RunRef, *, slice_by: Sequence[str] = (), runs_root: str | os.PathLike = "runs", log: Log | None = None
) -> Evaluation:
    """Score the run's model on the test split, as `dlflow evaluate RUN` does (writes evaluation.json)."""
    from dlflow.workflow.evaluate import evaluate as run_evaluate

    report = run_evaluate(_ref(run), runs_root=Path(runs_root), slice_by=list(slice_by), log=log or _quiet)
    return Evaluation(Path(report["run"]), dict(report["metrics"]), int(report["samples"]), report)


def export(
    run: RunRef, formats: Sequence[str] = (), *, runs_root: str | os.PathLike = "runs", log: Log | None = None
) -> Export:
    """Export the run's model and check parity, as `dlflow export RUN` does.

    Raises:
        WorkFailed: an artifact predicts differently from the Keras model.
    """
    from dlflow.workflow.deploy import export as run_export

    report = run_export(_ref(run), list(formats), runs_root=Path(runs_root), log=log or _quiet)
    return Export(Path(report["run"]) / "export", dict(report.get("formats", {})), bool(report.get("ok")), report)


class Loaded:
    """A run's Keras model with what decodes its outputs (`load`'s result).

    Attributes:
        model: the `keras.Model` (raw inputs in, raw outputs out).
        run: the run directory.
        inputs, targets: the input and target specs training saw.
    """

    def __init__(self, model: Any, signature: Any, run: Path, batch_size: int):
        self.model = model
        self.run = run
        self.inputs = list(signature.inputs)
        self.targets = list(signature.targets)
        self._signature = signature
        self._batch_size = batch_size

    def predict(self, inputs: Any) -> Any:
        """Decoded predictions (labels; values for regression) for raw inputs.

        Args:
            inputs: an array (a one-input model), a dict `{input or column name: values}`, a
                pandas DataFrame of the model's columns, or a file or folder `dlflow predict` reads.

        Returns:
            One label per example (a list), or `{target name: list}` for several targets.
        """
        arrays = self._arrays(inputs)
        from dlflow.workflow.predict import predict_labels

        decoded = predict_labels(self.model, self._signature, arrays, self._batch_size)
        plain = {
            name: [value.item() if hasattr(value, "item") else value for value in labels]
            for name, (labels, _) in decoded.items()
        }
        return next(iter(plain.values())) if len(plain) == 1 else plain

    def _arrays(self, inputs: Any) -> Any:
        import numpy as np

        from dlflow.workflow.predict import read_inputs, table_inputs

        specs = {spec.name: spec for spec in self.inputs}
        if isinstance(inputs, (str, os.PathLike)):
            return read_inputs(Path(inputs), self._signature)[0]
        if hasattr(inputs, "columns"):  # a DataFrame
            return table_inputs(inputs, specs, "the DataFrame")
        if isinstance(inputs, Mapping):
            arrays = table_inputs(_Columns(inputs), specs, "the dict")
            one = len(arrays) == 1 and self._signature.kind != "tabular"
            return next(iter(arrays.values())) if one else arrays  # a one-input model takes the array itself
        if len(specs) != 1:
            from dlflow.errors import UsageError

            raise UsageError(f"the model takes {len(specs)} inputs ({', '.join(specs)}): pass a dict or a DataFrame")
        spec = next(iter(specs.values()))
        return np.asarray(inputs, dtype=object if spec.dtype == "string" else spec.dtype).reshape(-1, *spec.shape)


class _Columns(dict):
    """A dict of columns, read as `table_inputs` reads a DataFrame."""

    @property
    def columns(self) -> list[str]:
        return list(self)


def load(run: RunRef, *, runs_root: str | os.PathLike = "runs", log: Log | None = None) -> Loaded:
    """Load a run's model and its decoding, for `predict` in-process (as `dlflow predict` and `serve` do)."""
    from dlflow.workflow.opened_run import load_run_model, open_run, run_signature

    opened = open_run(_ref(run), Path(runs_root), log or _quiet, with_data=False)
    signature = run_signature(opened, log or _quiet)
    return Loaded(load_run_model(opened), signature, Path(opened.run.path), opened.loaded.config.fit.batch_size)


def _ref(run: RunRef) -> str:
    """A run reference as the workflow takes it: a directory path or an experiment name."""
    return os.fspath(run) if isinstance(run, (Run, os.PathLike)) else str(run)


def _overrides(values: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    """`{"fit.epochs": 2}` as `["fit.epochs=2"]` (values written as YAML flow, so lists and dicts keep their type)."""
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    if not isinstance(values, Mapping):
        return [str(v) for v in values]
    import yaml

    out = []
    for key, value in values.items():
        text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
        out.append(f"{key}={text.removesuffix('...').strip()}")
    return out


def _quiet(_line: str) -> None:
    pass
