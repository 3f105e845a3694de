"""The define stage: frame the task from the data and write a commented config that runs as is.

Inspects the data (a table, an .npz, an image or text folder, a time series, a built-in), frames
the task from the target (binary, multiclass, multilabel or regression), picks the metric,
scores the common-sense baseline on the validation split the experiment will use, and writes
a config with a starter model suited to the data. Imports no TensorFlow.

```python
definition = define("datasets/heart.csv", target="target", config_dir=Path("."))
definition.task, definition.baseline.score      # 'binary', 0.543
write_definition(definition, Path("heart.yaml"))
```
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from dlflow.config.task_kinds import TASKS, is_classification
from dlflow.errors import DataError, UsageError
from dlflow.log import Log, quiet
from dlflow.workflow.baselines import Baseline, common_sense_baseline
from dlflow.workflow.define_data import (
    TABLE_FORMATS,
    data_options,
    find_time_column,
    is_builtin_series,
    npz_arrays,
    read_frame,
)
from dlflow.workflow.define_text import TEST, VALIDATION, config_text, describe_data
from dlflow.workflow.scores import primary_metric
from dlflow.workflow.starter import loss_for, starter_model

# ask(question, choices, default) -> answer: the CLI's prompt at a terminal, None elsewhere.
Ask = Callable[[str, Sequence[str], Optional[str]], str]

TARGET_NAMES = ("target", "label", "labels", "y", "class")  # an .npz array named so is the default target
MAX_PARENT_STEPS = 1  # a data path relative to the config climbs at most this many folders, else absolute
DATA_HELP = "a .csv/.tsv/.parquet table, an .npz, a folder of class sub-folders, or builtin:<name>"


@dataclass
class Definition:
    """A framed task and its config.

    Args:
        name: the experiment name.
        text: the commented config (YAML).
        source: the data source as the config writes it.
        format: the data format.
        kind: tabular, image, text, timeseries or arrays.
        task: binary, multiclass, multilabel or regression.
        target: the target column(s) or array(s); None for class folders' default.
        metric: the metric baselines and the model are compared on.
        samples: how many samples the data has.
        description: one line describing the data.
        baseline: the common-sense baseline on the validation split (None when not computable).
        model: one line describing the starter model.
        classes: the classes, for classification.
    """

    name: str
    text: str
    source: str
    format: str
    kind: str
    task: str
    target: Any
    metric: str
    samples: int
    description: str
    baseline: Baseline | None
    model: str
    classes: list[str] | None = None

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (no config text)."""
        return {
            "name": self.name,
            "data": {
                "source": self.source,
                "format": self.format,
                "kind": self.kind,
                "samples": self.samples,
                "description": self.description,
            },
            "task": self.task,
            "target": self.target,
            "classes": self.classes,
            "metric": self.metric,
            "loss": loss_for(self.task),
            "baseline": self.baseline.describe() if self.baseline else None,
            "model": self.model,
        }


def define(
    data: str | None,
    *,
    target: str | list[str] | None = None,
    task: str | None = None,
    fmt: str | None = None,
    name: str | None = None,
    config_dir: Path = Path("."),
    ask: Ask | None = None,
    seed: int = 1337,
    log: Log = quiet,
) -> Definition:
    """Frame the task for `data` and compose its config.

    Args:
        data: a file, a folder or builtin:<name>; None asks for it (or is a usage error without `ask`).
        target: the target column(s) or array(s); asked for when the data needs one and it is None.
        task: binary, multiclass, multilabel or regression; inferred from the target when None.
        fmt: the data format; detected from the source when None.
        name: the experiment name; from the data's name when None.
        config_dir: the folder the config will be written to (its data path is relative to it).
        ask: asks the user a question at a terminal; None when nobody can answer (then a missing
            answer is a UsageError naming the flag).
        seed: the config's seed (it also fixes the split the baseline is scored on).
        log: receives progress lines.
    """
    source = _source(data, ask)
    data = data or source
    fmt, frame, time_column = _format(source, fmt, log)
    if target is None:
        target = _missing_target(source, fmt, frame, ask)
    options = data_options(source, fmt, frame, time_column)
    log(f"define: loading {data} ({fmt})")
    dataset, task_given = _load(source, fmt, target, task, options, ask)
    if target is None and fmt not in ("image_dir", "text_dir"):  # a built-in's own target, written out
        target = dataset.info["targets"][0] if dataset.kind == "timeseries" else next(iter(dataset.target_specs))
    name = _experiment_name(name or _data_name(data))
    return _definition(
        dataset,
        name=name,
        source=source,
        fmt=fmt,
        target=target,
        task_given=task_given,
        options=options,
        config_dir=config_dir,
        seed=seed,
    )


def _definition(
    dataset: Any,
    *,
    name: str,
    source: str,
    fmt: str,
    target: Any,
    task_given: bool,
    options: dict[str, Any],
    config_dir: Path,
    seed: int,
) -> Definition:
    """The loaded data's baseline, starter model and config text, as a Definition."""
    from dlflow.data.sources import detect_format

    train, validation = _parts(dataset, seed)
    baseline = common_sense_baseline(train, validation) if train is not None and len(validation) else None
    written = _written_source(source, config_dir)
    starter = starter_model(dataset, train)
    text = config_text(
        dataset,
        starter,
        name=name,
        source=written,
        fmt=fmt,
        given_format=fmt != detect_format(source),
        target=target,
        task_given=task_given,
        seed=seed,
        baseline=baseline,
        extra=_plain(options),
    )
    return Definition(
        name,
        text,
        written,
        fmt,
        dataset.kind,
        dataset.task,
        target,
        primary_metric(dataset.task),
        len(dataset),
        describe_data(dataset),
        baseline,
        starter.description,
        _classes(dataset),
    )


def _missing_target(source: str, fmt: str, frame: Any, ask: Ask | None) -> str | None:
    """The target column of a table or array of an .npz, asked for; None where the data names its own."""
    if frame is not None and not is_builtin_series(source):
        return _ask_target([str(c) for c in frame.columns], "column", ask)
    if fmt == "npz":
        return _ask_target(npz_arrays(source), "array", ask)
    return None


def _classes(dataset: Any) -> list[str] | None:
    """The classes of a single-label classification target (None otherwise)."""
    spec = next(iter(dataset.target_specs.values()))
    return [str(c) for c in spec.classes] if spec.classes is not None and spec.task != "multilabel" else None


def _source(data: str | None, ask: Ask | None) -> str:
    """The data source: `builtin:<name>` or an absolute path that exists (asked for when None)."""
    if data is None:
        if ask is None:
            raise UsageError(f"missing DATA: give {DATA_HELP} (e.g. dlflow define data.csv --target label)")
        question = f"Data ({DATA_HELP})"
        data = ask(question, [], None)
        while not data.startswith("builtin:") and not Path(os.path.expanduser(data)).exists():
            data = ask(f"No such file or folder '{data}'. {question}", [], None)  # asked again, not aborted
    if data.startswith("builtin:"):
        return data
    source = os.path.abspath(os.path.expanduser(data))
    if not Path(source).exists():
        raise UsageError(f"no such file or folder '{data}'")
    return source


def _format(source: str, given: str | None, log: Log) -> tuple[str, Any, str | None]:
    """(format, the table when there is one, its time column): a table ordered by time is a series."""
    from dlflow.data.sources import detect_format

    fmt = given or detect_format(source)
    if fmt == "unknown":
        raise UsageError(f"cannot tell the format of '{source}': expected {DATA_HELP}; or give --format")
    frame = read_frame(source, fmt)
    time_column = find_time_column(frame) if frame is not None else None
    if fmt in TABLE_FORMATS and given is None and time_column is not None:
        log(
            f"define: column '{time_column}' orders the rows: framed as a time series to forecast "
            f"(give --format {fmt} to treat it as a plain table)"
        )
        fmt = "timeseries"
    return fmt, frame, time_column


def _load(
    source: str, fmt: str, target: Any, task: str | None, options: dict[str, Any], ask: Ask | None
) -> tuple[Any, bool]:
    """(the data set, whether the task was given): the task inferred, confirmed at a terminal."""
    from dlflow.config import DataConfig
    from dlflow.data.sources import load_dataset

    data_config = DataConfig(source=source, format=fmt, target=target, **options)
    dataset = load_dataset(data_config, task)
    if task is None and ask is not None and len(dataset.target_specs) == 1 and dataset.kind != "timeseries":
        chosen = ask("Task", list(TASKS), dataset.task)
        if chosen != dataset.task:
            return load_dataset(data_config, chosen), True
    return dataset, task is not None


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    """The chosen options as they are written in the config."""
    out = {
        key: value.model_dump(mode="json") if hasattr(value, "model_dump") else value for key, value in options.items()
    }
    if "window" in options:
        out["window"] = {"length": options["window"].length, "horizon": options["window"].horizon}
    return out


def check_writable(path: Path, *, force: bool = False) -> None:
    """Refuse to overwrite an existing file without `force` (a UsageError)."""
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; pass --force to overwrite it, or -o to write elsewhere")


def default_config_path(data: str, name: str | None = None) -> Path:
    """Where the config goes without `-o`: `<experiment name>.yaml` in the current folder."""
    return Path(f"{_experiment_name(name or _data_name(data))}.yaml")


def check_definition(definition: Definition, path: Path) -> None:
    """Load the config text as `dlflow validate` would, as if written to `path` (a ConfigError if not)."""
    from dlflow.config import loads_config

    loads_config(definition.text, str(path), base_dir=path.parent.resolve())


def write_definition(definition: Definition, path: Path, *, force: bool = False) -> Path:
    """Write the config atomically, after checking it loads; refuses to overwrite without `force`."""
    from dlflow.runs.manifest import write_text

    check_writable(path, force=force)
    check_definition(definition, path)
    write_text(path, definition.text)
    return path


def _parts(dataset: Any, seed: int) -> tuple[Any, Any]:
    """(train, validation) as the experiment's frozen split will make them; (None, None) when too small."""
    from dlflow.data.split import make_split

    stratify = is_classification(dataset.task) and len(dataset.target_specs) == 1
    try:
        split = make_split(dataset, validation=VALIDATION, test=TEST, stratify=stratify, seed=seed)
    except DataError:
        return None, None
    return dataset.take(split.train), dataset.take(split.validation)


def _ask_target(columns: list[str], what: str, ask: Ask | None) -> str:
    """The target column or array: asked at a terminal (the last one, or one named like a target, by
    default), else a usage error naming --target."""
    default = next(
        (c for c in columns if what == "array" and c.lower() in TARGET_NAMES), columns[-1] if columns else None
    )
    if ask is None:
        raise UsageError(f"missing --target: name the {what} to predict; {what}s are: {', '.join(columns)}")
    answer = ask(f"Which {what} is the target?", columns, default)
    if answer not in columns:
        raise UsageError(f"--target {answer!r}: no such {what}; {what}s are: {', '.join(columns)}")
    return answer


def _data_name(data: str) -> str:
    if data.startswith("builtin:"):
        return data.removeprefix("builtin:")
    path = Path(data.rstrip("/\\"))
    return path.stem if path.suffix else path.name


def _experiment_name(raw: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-._") or "experiment"
    return cleaned if cleaned[0].isalnum() else f"x{cleaned}"


def _written_source(source: str, config_dir: Path) -> str:
    if source.startswith("builtin:"):
        return source
    try:
        relative = os.path.relpath(source, os.path.abspath(config_dir))
    except ValueError:  # another drive
        return source
    if Path(relative).parts[: MAX_PARENT_STEPS + 1].count("..") > MAX_PARENT_STEPS:
        return source  # far away: absolute reads better than ../../../..
    return relative.replace(os.sep, "/")
