"""What every stage shares: loading a config, locating errors in it, loading data and the split."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from dlflow.errors import ConfigError, DlflowError

Log = Callable[[str], None]


def quiet(_: str) -> None:
    """A log that says nothing."""


@contextlib.contextmanager
def located_errors(loaded: Any) -> Iterator[None]:
    """Turn errors that name a config entry into "file:line:col: path: message" config errors."""
    try:
        yield
    except DlflowError as exc:
        if exc.config_path is None or getattr(exc, "_located", False):
            raise
        located = ConfigError(f"{where(loaded, exc.config_path)}: {exc.message}")
        located.exit_code = exc.exit_code if exc.exit_code != 1 else 2
        located._located = True  # type: ignore[attr-defined]
        raise located from exc


def where(loaded: Any, path: tuple) -> str:
    """`file:line:col: dotted.path` for a config path (or `--set PATH: ...` for an override)."""
    return loaded.where(tuple(path)) if path else str(loaded.path)


@dataclass
class PreparedData:
    """The loaded data, its frozen split, and the split's parts."""

    dataset: Any
    split: Any
    split_created: bool
    train: Any
    validation: Any

    def test(self) -> Any:
        """The test split (only `dlflow evaluate` should call this)."""
        return self.dataset.take(self.split.test)


def prepare_data(loaded: Any, runs_root: Path, log: Log = quiet) -> PreparedData:
    """Load the config's data and the experiment's frozen split (computing and storing it once)."""
    from dlflow.data.sources import load_dataset
    from dlflow.data.split import frozen_split
    from dlflow.runs.layout import split_store

    config = loaded.config
    with located_errors(loaded):
        dataset = load_dataset(config.data, config.task)
        split, created = frozen_split(
            dataset, validation=config.data.split.validation, test=config.data.split.test,
            stratify=config.data.split.stratify, seed=config.seed, store=split_store(runs_root, config.name),
        )
    sizes = split.sizes()
    log(f"data: {dataset.source} ({dataset.kind}, {dataset.task}): train {sizes['train']}, "
        f"validation {sizes['validation']}, test {sizes['test']}" + (" (new split stored)" if created else ""))
    return PreparedData(dataset, split, created, dataset.take(split.train), dataset.take(split.validation))
