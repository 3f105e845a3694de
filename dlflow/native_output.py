"""Silencing what native libraries (TensorFlow, absl, TFLite) print straight to file descriptor 2.

Their start-up lines bypass Python's logging and every log level, so the only way to keep
stderr clean is to point fd 2 at /dev/null while they run. `dlflow --verbose` keeps them:
the CLI leaves TF_CPP_MIN_LOG_LEVEL unset then, and this becomes a no-op.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


def native_logs_wanted() -> bool:
    """True when the user asked for TensorFlow's own log lines (`dlflow --verbose`)."""
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in ("", "0", "1")


@contextlib.contextmanager
def silenced_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (unless native logs are wanted)."""
    if native_logs_wanted():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow(verbose: bool) -> None:
    """Import TensorFlow with its C++ start-up noise silenced, unless `verbose`."""
    if verbose or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*np.object.*")
    with silenced_native_stderr():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
