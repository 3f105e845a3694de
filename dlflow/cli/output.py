"""The only place that prints: results to stdout, progress and errors to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from dlflow.errors import DlflowError
from dlflow.native_output import quiet_tensorflow  # noqa: F401  (commands that take a RUN quiet it here)


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


def emit_json(data: Any) -> None:
    """The command's result as one JSON object on stdout, and nothing else there."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")


def print_error(error: DlflowError) -> None:
    """`error: <message>` (plus detail lines) on stderr."""
    lines = error.lines()
    print(f"error: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(line if line.startswith(" ") else f"error: {line}", file=sys.stderr)
