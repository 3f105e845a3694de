"""Errors that name a config entry, located in the config file: `file:line:col: path: message`."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from dlflow.errors import ConfigError, DlflowError


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
