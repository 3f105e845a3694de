"""The only place that prints: results to stdout, progress and errors to stderr."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from dlflow.errors import DlflowError


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


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


def print_error(error: DlflowError) -> None:
    """`error: <message>` (plus detail lines) on stderr."""
    lines = error.lines()
    print(f"error: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(line if line.startswith(" ") else f"error: {line}", file=sys.stderr)


def quiet_tensorflow(verbose: bool) -> None:
    """Import TensorFlow with its C++ start-up noise silenced, unless `verbose`."""
    if verbose or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    from dlflow.native_output import silenced_native_stderr

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*np.object.*")
    with silenced_native_stderr():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
