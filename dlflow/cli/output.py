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


class CountProgress:
    """Shows a long pass's progress on stderr: `<what> 1,200/30,000 (850/s, ETA 34 s)`.

    On a terminal one line is rewritten in place; otherwise a plain line at most every
    `every` seconds, and always the last one.
    """

    def __init__(self, every: float = 5.0) -> None:
        self.every, self.started, self.shown = every, None, 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, what: str, done: int, total: int) -> None:
        import time

        if total <= 0:
            return
        now = time.monotonic()
        self.started = self.started if self.started is not None and done > 0 else now
        finished = done >= total
        if not finished and now - self.shown < (0.2 if self.tty else self.every):
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        tail = f"in {elapsed:.1f} s" if finished else f"ETA {(total - done) / rate:.0f} s" if rate else "ETA ?"
        line = f"data: {what} {done:,}/{total:,} ({rate:,.0f}/s, {tail})"
        if self.tty:
            print(f"\r{line}\x1b[K", end="\n" if finished else "", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)
        if finished:
            self.started = None


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
