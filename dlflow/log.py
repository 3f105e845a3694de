"""Progress lines: a stage reports through a `Log` (the CLI prints its lines to stderr)."""

from __future__ import annotations

from typing import Callable

Log = Callable[[str], None]


def quiet(_: str) -> None:
    """A log that says nothing."""
