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
    """Import TensorFlow with its C++ start-up noise silenced, unless `verbose`.

    TensorFlow and absl print start-up lines straight to file descriptor 2 before any log level
    applies, so stderr is pointed at /dev/null while TensorFlow loads.
    """
    if verbose or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*np.object.*")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf  # noqa: F401

        tf.get_logger().setLevel("ERROR")
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
