"""manifest.json: a run's status, command line, versions, devices, seed, data and timings."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dlflow.runs import files

STATUSES = ("running", "completed", "failed", "interrupted")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (see `dlflow.runs.files`)."""
    files.write_json(path, data, default=_default)


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (see `dlflow.runs.files`)."""
    files.write_text(path, text)


def read_json(path: Path, advice: str = "restore it, or re-run the command that wrote it") -> dict:
    """A JSON object file of a run (manifest.json, metrics.json...).

    Raises:
        UsageError: the file is missing, unreadable, not JSON or not an object: one line naming it and `advice`.
    """
    from dlflow.errors import UsageError

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise UsageError(f"{path}: missing; {advice}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: damaged, not readable JSON ({str(exc).splitlines()[0]}); {advice}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: damaged, expected a JSON object, received {type(data).__name__}; {advice}")
    return data


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """Versions of the stack, read from package metadata (imports nothing heavy)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for package in ("dlflow", "tensorflow", "keras", "numpy"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def update_manifest(path: Path, **changes: Any) -> dict:
    """Merge `changes` into the manifest (top-level keys; dicts are merged one level deep)."""
    manifest = read_json(path) if path.exists() else {}
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(manifest.get(key), dict):
            manifest[key] = {**manifest[key], **value}
        else:
            manifest[key] = value
    write_json(path, manifest)
    return manifest


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)
