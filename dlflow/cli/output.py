"""The only place that prints: results to stdout, progress and errors to stderr."""

from __future__ import annotations

import json
import re
import sys
from typing import Any, Optional

from dlflow.errors import DlflowError
from dlflow.native_output import quiet_tensorflow  # noqa: F401  (commands that take a RUN quiet it here)


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


class _Emitted:
    """Whether this process already wrote its one JSON object (a failure after it adds none)."""

    done = False


def new_command() -> None:
    """Forget an earlier command's output (`main` called again in one process: tests, the fuzzers)."""
    _Emitted.done = False


def emit_json(data: Any) -> None:
    """The command's result as one JSON object on stdout, and nothing else there."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()
    _Emitted.done = True


# `FILE:LINE:COL: ` (or `FILE:LINE: `, a data file's row) and then `PATH: ` (a config path: no spaces).
_LOCATION = re.compile(r"^(?P<file>\S.*?):(?P<line>\d+)(?::(?P<column>\d+))?: (?P<rest>.*)$", re.S)
_OVERRIDE = re.compile(r"^--set (?P<path>\S+?): (?P<message>.*)$", re.S)
_PATH = re.compile(r"^(?P<path>[A-Za-z_][\w.\[\]-]*): (?P<message>.*)$", re.S)


def error_object(lines: list[str], exit_code: int, kind: str) -> dict[str, Any]:
    """A failure as `--json` prints it: `{"error": {message, file, line, column, path, ...}}`.

    Args:
        lines: the error's lines as printed after `error: ` (the first one is the error).
        exit_code: the process's exit status.
        kind: what failed: the error's class name (ConfigError, DataError, UsageError, WorkFailed, ...).
    """
    first = lines[0] if lines else ""
    where: dict[str, Optional[Any]] = {"file": None, "line": None, "column": None, "path": None}
    located = _LOCATION.match(first)
    rest = located["rest"] if located else first
    if located:
        column = located["column"]
        where.update(file=located["file"], line=int(located["line"]), column=int(column) if column else None)
    named = _OVERRIDE.match(rest) or (_PATH.match(rest) if located else None)
    if named:
        where["path"] = named["path"]
        rest = named["message"]
    return {"error": {"message": rest, **where, "kind": kind, "exit_code": exit_code, "lines": lines}}


def print_json_error(lines: list[str], exit_code: int, kind: str) -> None:
    """The failure as the one JSON object on stdout, unless the command already wrote its result."""
    if not _Emitted.done:
        emit_json(error_object(lines, exit_code, kind))


def print_error(error: DlflowError) -> None:
    """`error: <message>` (plus detail lines) on stderr."""
    lines = error.lines()
    print(f"error: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(line if line.startswith(" ") else f"error: {line}", file=sys.stderr)


# Piped or redirected output has no width to fit: tables keep their natural width, rows stay one line each.
PIPED_WIDTH = 10_000


def stdout_console(**options: Any) -> Any:
    """A Rich console on stdout: the terminal's width at a terminal, else no width limit (nothing wraps)."""
    from rich.console import Console

    return Console(file=sys.stdout, soft_wrap=True, width=None if sys.stdout.isatty() else PIPED_WIDTH, **options)
