"""What changed between two configs: the paths whose values differ (resume, tune --resume, train --final)."""

from __future__ import annotations

from typing import Any


def config_changes(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every value that differs between two config dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            out += config_changes(old.get(key), new.get(key), path)
        return out
    return [] if old == new else [(prefix, old, new)]
