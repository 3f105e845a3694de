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
